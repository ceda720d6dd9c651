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
