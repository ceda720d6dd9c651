import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { StorableTextPlugin } from './storable.js';

export type Db = Kysely<Database>;

export function createDb(url: string, maxConnections = 10): Db {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections });
  // An idle connection that the server closes (restart, shutdown on Ctrl-C) is dropped by the
  // pool and reopened on next use; without a listener, pg would crash the process instead.
  pool.on('error', (err) => console.error(`[aura] database connection lost: ${err.message}`));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new StorableTextPlugin()] });
}
