/** A database of its own for a test file, on the suite's PostgreSQL server: migrated, registry synced. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig, PROJECT_ROOT } from '../../config/config.js';
import { openDatabase, type OpenDatabase } from '../../db/open.js';
import type { Db } from '../../db/connect.js';

export function useThrowawayDatabase(): { readonly db: Db } {
  let database: OpenDatabase | null = null;
  beforeAll(async () => {
    const config = loadConfig({ DATABASE_URL: inject('pgServerUrl'), AURA_HOME: '/tmp' }, PROJECT_ROOT);
    database = await openDatabase(config, () => {}, { databaseName: `aura_t_${randomBytes(5).toString('hex')}`, recreate: true });
  }, 60_000);
  afterAll(async () => database?.close());
  return {
    get db() {
      return database!.db;
    },
  };
}
