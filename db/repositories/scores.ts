import { sql } from 'kysely';
import type { Insertable } from 'kysely';
import type { Db } from '../connect.js';
import type { Database } from '../schema.js';
import type { EmployeeStatus } from '../../governance/types.js';
import { insertOnce } from './idempotent.js';
import { taskOutputOf } from './model-runs.js';

/** Repair rounds per employee and capability: the rounds its scored attempts took beyond the first. */
export async function repairRoundsByCapability(db: Db): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('scores')
    .select(['employee_id', 'capability', sql<string>`sum(greatest(coalesce((details->>'rounds')::int, 1) - 1, 0))`.as('rounds')])
    .groupBy(['employee_id', 'capability'])
    .execute();
  return new Map(rows.map((r) => [`${r.employee_id}/${r.capability}`, Number(r.rounds)]));
}

export interface Scorecard {
  employee: string;
  status: string;
  suspended_until: string | null;
  capability: string;
  reputation: number;
  tier: string;
  attempts: number;
  accepted: number;
  repair_rounds: number;
}

/** The Accountant's scorecards: per capability, best reputation first, with repair rounds. */
export async function scorecards(db: Db): Promise<Scorecard[]> {
  const rows = await db
    .selectFrom('employee_capabilities')
    .innerJoin('employees', 'employees.id', 'employee_capabilities.employee_id')
    .select([
      'employees.id as employee',
      'employees.status',
      'employees.suspended_until',
      'employee_capabilities.capability',
      'employee_capabilities.reputation',
      'employee_capabilities.tier',
      'employee_capabilities.attempts',
      'employee_capabilities.accepted',
    ])
    .orderBy('employee_capabilities.capability')
    .orderBy('employee_capabilities.reputation', 'desc')
    .execute();
  const repairRounds = await repairRoundsByCapability(db);
  return rows.map((r) => ({
    ...r,
    reputation: Number(r.reputation),
    suspended_until: r.suspended_until ? new Date(r.suspended_until).toISOString() : null,
    repair_rounds: repairRounds.get(`${r.employee}/${r.capability}`) ?? 0,
  }));
}

/** An employee's reputation in one capability, or null before its first score there. */
export async function capabilityReputation(tx: Db, employeeId: string, capability: string): Promise<number | null> {
  const row = await tx
    .selectFrom('employee_capabilities')
    .select('reputation')
    .where('employee_id', '=', employeeId)
    .where('capability', '=', capability)
    .executeTakeFirst();
  return row ? Number(row.reputation) : null;
}

/** What the record says of an attempt: the model's output and latency, and the verdict's verification. */
export async function attemptFacts(tx: Db, ids: { modelRunId?: string | null; verdictId?: string | null }) {
  const run = ids.modelRunId
    ? await tx
        .selectFrom('model_runs')
        .select(['output', 'latency_ms', 'parsed_output', 'parse_error'])
        .where('id', '=', ids.modelRunId)
        .executeTakeFirst()
    : undefined;
  const verdict = ids.verdictId
    ? await tx.selectFrom('audit_verdicts').select(['verification']).where('id', '=', ids.verdictId).executeTakeFirst()
    : undefined;
  return {
    parsed: taskOutputOf(run ?? { output: null }),
    latencyMs: run?.latency_ms ?? null,
    verification: verdict?.verification as { passed?: boolean; ran?: boolean } | null | undefined,
  };
}

/** The details of an employee's latest scores in one capability, newest first. */
export async function recentScoreDetails(tx: Db, employeeId: string, capability: string, limit: number): Promise<unknown[]> {
  const rows = await tx
    .selectFrom('scores')
    .select(['details'])
    .where('employee_id', '=', employeeId)
    .where('capability', '=', capability)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.details);
}

/**
 * Records a score once per idempotency key and moves the employee's reputation: the
 * capability's (attempts and acceptances counted) and the overall one, the mean over its
 * capabilities. The overall reputation.
 */
export async function recordScore(
  tx: Db,
  score: Insertable<Database['scores']> & { employee_id: string; capability: string; reputation_after: number; tier: string },
  attempt: { accepted: boolean; at: Date },
  tierOf: (reputation: number) => string,
): Promise<number> {
  await insertOnce(tx, 'scores', score);
  const after = score.reputation_after;
  await tx
    .insertInto('employee_capabilities')
    .values({
      employee_id: score.employee_id,
      capability: score.capability,
      reputation: after,
      tier: score.tier,
      attempts: 1,
      accepted: attempt.accepted ? 1 : 0,
    })
    .onConflict((oc) =>
      oc.columns(['employee_id', 'capability']).doUpdateSet((eb) => ({
        reputation: after,
        tier: score.tier,
        attempts: eb('employee_capabilities.attempts', '+', 1),
        accepted: eb('employee_capabilities.accepted', '+', attempt.accepted ? 1 : 0),
        updated_at: attempt.at,
      })),
    )
    .execute();
  const all = await tx.selectFrom('employee_capabilities').select('reputation').where('employee_id', '=', score.employee_id).execute();
  const overall = Math.round((all.reduce((s, c) => s + Number(c.reputation), 0) / all.length) * 100) / 100;
  await tx
    .updateTable('employees')
    .set({ reputation: overall, tier: tierOf(overall), updated_at: attempt.at })
    .where('id', '=', score.employee_id)
    .execute();
  return overall;
}

/** Ends an employee's employment (a reputation below the termination threshold, enforced). */
export async function terminateEmployee(tx: Db, employeeId: string): Promise<void> {
  const status: EmployeeStatus = 'terminated';
  await tx.updateTable('employees').set({ status, suspended_until: null }).where('id', '=', employeeId).execute();
}
