/**
 * A database of its own for a test file, on the suite's PostgreSQL server: migrated by the
 * server's role (the owner), registry synced; `db` is the application role, as in production.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig, PROJECT_ROOT } from '../../config/config.js';
import { openDatabase, type OpenDatabase } from '../../db/open.js';
import type { Db } from '../../db/connect.js';

export function useThrowawayDatabase(): { readonly db: Db; readonly url: string; readonly ownerUrl: string } {
  let database: OpenDatabase | null = null;
  beforeAll(async () => {
    const config = loadConfig({ DATABASE_OWNER_URL: inject('pgServerUrl'), AURA_HOME: '/tmp' }, PROJECT_ROOT);
    database = await openDatabase(config, () => {}, { databaseName: `aura_t_${randomBytes(5).toString('hex')}`, recreate: true });
  }, 60_000);
  afterAll(async () => database?.close());
  return {
    get db() {
      return database!.db;
    },
    get url() {
      return database!.url;
    },
    /** The tables' owner, for what only the owner may do. */
    get ownerUrl() {
      return database!.ownerUrl!;
    },
  };
}
