/**
 * Director actions taken outside any run (from the CLI): each is a `director_actions` row and
 * a ledger event in one transaction. No silent overrides.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../connect.js';
import { appendEvent } from './ledger.js';
import { storableJson } from '../storable.js';
import { inTransaction, insertOnce } from './idempotent.js';
import { DirectorActionRefused } from '../../errors/index.js';

/** Lifts a suspension or a termination. Only the Director does this, and it is recorded. */
export async function reinstateEmployee(
  db: Db,
  args: { employeeId: string; director: string; reason: string },
): Promise<{ statusBefore: string }> {
  if (!args.reason.trim()) throw new DirectorActionRefused('a reinstatement needs a reason');
  return inTransaction(db, async (tx) => {
    const employee = await tx
      .selectFrom('employees')
      .select(['status', 'suspended_until'])
      .where('id', '=', args.employeeId)
      .forUpdate()
      .executeTakeFirst();
    if (!employee) throw new DirectorActionRefused(`unknown employee: ${args.employeeId}`);
    if (employee.status === 'active') throw new DirectorActionRefused(`${args.employeeId} is already active`);
    await tx
      .updateTable('employees')
      .set({ status: 'active', suspended_until: null, updated_at: new Date() })
      .where('id', '=', args.employeeId)
      .execute();
    const key = `director/reinstate/${args.employeeId}/${randomUUID()}`;
    await insertDirectorAction(tx, {
      idempotencyKey: key,
      director: args.director,
      action: 'reinstate_employee',
      targetId: null,
      reason: args.reason,
      runId: null,
      details: { employeeId: args.employeeId, statusBefore: employee.status },
    });
    await appendEvent(tx, {
      idempotencyKey: `${key}/event`,
      actor: args.director,
      source: 'director',
      action: 'director.reinstate_employee',
      severity: 'warning',
      description: `${args.director} reinstated ${args.employeeId} (was ${employee.status}): ${args.reason}`,
      details: { employeeId: args.employeeId, statusBefore: employee.status },
    });
    return { statusBefore: employee.status };
  });
}

export interface NewDirectorAction {
  idempotencyKey: string;
  director: string;
  action: string;
  targetId: string | null;
  reason: string;
  runId: string | null;
  details: Record<string, unknown>;
}

/** One `director_actions` row, once per idempotency key. */
export async function insertDirectorAction(db: Db, a: NewDirectorAction): Promise<void> {
  await insertOnce(db, 'director_actions', {
    id: randomUUID(),
    idempotency_key: a.idempotencyKey,
    director_id: a.director,
    action: a.action,
    target_id: a.targetId,
    reason: a.reason,
    run_id: a.runId,
    details: storableJson(a.details),
  });
}

/**
 * A Director command the run refused (its Update validator said no, so the run's history never
 * saw it): recorded here by whoever sent it, as `<command>_refused` with the run's reason.
 */
export async function recordRefusedCommand(
  db: Db,
  r: {
    /** Once per key (a worker's retry writes nothing twice); absent: a fresh one. */
    key?: string;
    runId: string | null;
    workflowId: string;
    command: string;
    director: string;
    reason: string;
    refusal: string;
    details: Record<string, unknown>;
  },
): Promise<void> {
  const key = r.key ?? `director/refused/${r.command}/${randomUUID()}`;
  await inTransaction(db, async (tx) => {
    await insertDirectorAction(tx, {
      idempotencyKey: key,
      director: r.director,
      action: `${r.command}_refused`,
      targetId: r.runId,
      reason: `${r.reason || '(no reason given)'} — refused: ${r.refusal}`,
      runId: r.runId,
      details: { ...r.details, workflowId: r.workflowId, refusal: r.refusal },
    });
    await appendEvent(tx, {
      idempotencyKey: `${key}/event`,
      actor: r.director,
      source: 'director',
      action: 'director.command_refused',
      severity: 'warning',
      runId: r.runId,
      description: `${r.command} from ${r.director} refused: ${r.refusal}`,
      details: { workflowId: r.workflowId },
    });
  });
}
