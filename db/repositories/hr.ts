import { sql, type Insertable } from 'kysely';
import type { Db } from '../connect.js';
import type { Database } from '../schema.js';
import type { EmployeeStatus } from '../../governance/types.js';
import { insertOnce } from './idempotent.js';
import { appendEvent } from './ledger.js';

/**
 * The disciplinary actions an HR activity already wrote (its keys start with `${base}/`).
 * An exact prefix match: in LIKE, the `_` of a task key ("a_b") would match any character
 * ("a-b") and find another task's actions.
 */
export async function actionsWrittenUnder(db: Db, base: string): Promise<{ action: string | null }[]> {
  return db
    .selectFrom('disciplinary_actions')
    .select(['action'])
    .where(sql<boolean>`starts_with(idempotency_key, ${`${base}/`})`)
    .execute();
}

/**
 * An employee's incidents HR may count, with the action taken on each: only those inside
 * retention (`aura_settings.retention_days`, on the ledger's clock). An incident past retention
 * is never held against anyone, whether or not a purge has removed it yet.
 */
export async function incidentHistory(
  db: Db,
  employeeId: string,
): Promise<{ violation: string; reported_at: Date; action: string | null }[]> {
  return db
    .selectFrom('incidents')
    .leftJoin('disciplinary_actions', 'disciplinary_actions.incident_id', 'incidents.id')
    .select(['incidents.violation', 'incidents.reported_at', 'disciplinary_actions.action'])
    .where('incidents.model_id', '=', employeeId)
    .where(
      sql<boolean>`incidents.reported_at >= aura_now() - make_interval(days => (SELECT value::int FROM aura_settings WHERE key = 'retention_days'))`,
    )
    .execute() as Promise<{ violation: string; reported_at: Date; action: string | null }[]>;
}

/**
 * An employee's status, its row locked until the transaction ends: decisions about one
 * employee are serialised (parallel tasks must not both read "first offense").
 */
export async function lockEmployeeStatus(tx: Db, employeeId: string): Promise<EmployeeStatus> {
  const row = await tx.selectFrom('employees').select(['status']).where('id', '=', employeeId).forUpdate().executeTakeFirstOrThrow();
  return row.status as EmployeeStatus;
}

/** An incident, once per idempotency key. */
export function insertIncident(tx: Db, values: Insertable<Database['incidents']>) {
  return insertOnce(tx, 'incidents', values);
}

/** A disciplinary action (HR's or the Accountant's threshold), once per idempotency key. */
export function insertDisciplinaryAction(tx: Db, values: Insertable<Database['disciplinary_actions']>) {
  return insertOnce(tx, 'disciplinary_actions', values);
}

/** Sets an employee's status (the ledger trigger chains the change). */
export async function setEmployeeStatus(
  tx: Db,
  employeeId: string,
  status: EmployeeStatus,
  suspendedUntil: Date | null,
  at: Date,
): Promise<void> {
  await tx.updateTable('employees').set({ status, suspended_until: suspendedUntil, updated_at: at }).where('id', '=', employeeId).execute();
}

/** Ends every suspension whose expiry is at or before `at`, each with a ledger event. The ids ended. */
export async function endExpiredSuspensions(db: Db, at: Date): Promise<string[]> {
  const expired = await db
    .updateTable('employees')
    .set({ status: 'active', suspended_until: null, updated_at: at })
    .where('status', '=', 'suspended')
    .where('suspended_until', 'is not', null)
    .where('suspended_until', '<=', at)
    .returning(['id'])
    .execute();
  for (const e of expired) {
    await appendEvent(db, {
      idempotencyKey: `suspension-expired/${e.id}/${at.toISOString()}`,
      actor: 'hr',
      source: 'hr',
      action: 'hr.suspension_expired',
      severity: 'warning',
      description: `${e.id}: suspension expired; eligible for work again`,
    });
  }
  return expired.map((e) => e.id);
}
