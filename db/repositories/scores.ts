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
