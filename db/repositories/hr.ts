import { sql } from 'kysely';
import type { Db } from '../connect.js';

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
export async function incidentHistory(db: Db, employeeId: string): Promise<{ violation: string; reported_at: Date; action: string | null }[]> {
  return db
    .selectFrom('incidents')
    .leftJoin('disciplinary_actions', 'disciplinary_actions.incident_id', 'incidents.id')
    .select(['incidents.violation', 'incidents.reported_at', 'disciplinary_actions.action'])
    .where('incidents.model_id', '=', employeeId)
    .where(sql<boolean>`incidents.reported_at >= aura_now() - make_interval(days => (SELECT value::int FROM aura_settings WHERE key = 'retention_days'))`)
    .execute() as Promise<{ violation: string; reported_at: Date; action: string | null }[]>;
}
