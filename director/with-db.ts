/**
 * The database as it is, for one Director's command (CLI or API): no migration, no registry sync (the workers own
 * those; this CLI may run with other provider settings than they do).
 */
import type { AuraConfig } from '../config/config.js';
import { openDatabase } from '../db/open.js';
import type { Db } from '../db/connect.js';

export async function withDb<T>(ctx: { config: () => AuraConfig }, fn: (db: Db) => Promise<T>): Promise<T> {
  const database = await openDatabase(ctx.config(), () => {}, { migrate: false });
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}
