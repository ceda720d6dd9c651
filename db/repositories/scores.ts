import { sql } from 'kysely';
import type { Db } from '../connect.js';

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
