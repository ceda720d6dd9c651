import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { StorableTextPlugin } from './storable.js';

export type Db = Kysely<Database>;

/**
 * The server is being stopped on purpose (Ctrl-C of `aura up`: the terminal's signal reaches the
 * embedded PostgreSQL too, which then ends every connection): its "terminating connection due to
 * administrator command" is expected then, not news. Process-wide, as the signal is.
 */
let shutdownExpected = false;
export function expectDatabaseShutdown(): void {
  shutdownExpected = true;
}

function lost(where: string, err: Error & { code?: string }): void {
  if (shutdownExpected && err.code === ADMIN_SHUTDOWN) return;
  console.error(`[aura] database connection lost${where}: ${err.message}`);
}
/** SQLSTATE admin_shutdown: the server is shutting down. */
const ADMIN_SHUTDOWN = '57P01';

export function createDb(url: string, maxConnections = 10): Db {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections });
  // An idle connection that the server closes (restart, shutdown on Ctrl-C) is dropped by the
  // pool and reopened on next use; without a listener, pg would crash the process instead.
  pool.on('error', (err) => lost('', err));
  // A connection that breaks while a query holds it (a reset socket when the server goes down)
  // fails that query, and pg also emits 'error' on the client, which the pool listens to only
  // while the client is idle: without a listener of its own, that would crash the process. The
  // broken client is not queryable any more, so the pool drops it when it is released.
  pool.on('connect', (client) => client.on('error', (err) => lost(' during a query', err)));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new StorableTextPlugin()] });
}

/** Why PostgreSQL refuses this login (wrong password, no such role, no LOGIN), or null when it accepts it. */
export async function loginRefusal(login: string | pg.ClientConfig): Promise<string | null> {
  const client = new pg.Client(typeof login === 'string' ? { connectionString: login } : login);
  try {
    await client.connect();
    return null;
  } catch (err) {
    if (String((err as { code?: string }).code ?? '').startsWith('28')) return (err as Error).message;
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
