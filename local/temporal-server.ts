/**
 * The local Temporal dev server when no TEMPORAL_ADDRESS is set: a child process with its
 * state in a sqlite file under AURA_HOME (runs survive a restart), the Web UI on its port, and
 * Aura's search attributes registered.
 *
 * The state file holds every run's history (PRDs, outputs): it and its -wal/-shm are mode 600 in
 * a folder of mode 700. The server itself has no authentication: whoever reaches its port may
 * send it commands (docs/operations.md says how to close that).
 */
import { existsSync } from 'node:fs';
import { chmod, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensurePrivateHome } from '../db/open.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';
import { INSTALL_HINT, ensureTemporalCli } from './temporal-cli.js';

export interface DevServerOptions {
  cliPath: string | null;
  /** Sqlite file for persistent state; null keeps everything in memory (tests). */
  dbFile: string | null;
  port?: number;
  uiPort?: number;
  namespace: string;
  log: (line: string) => void;
  /** SQLite pragmas for the state file (default DEV_SERVER_SQLITE_PRAGMAS; [] for SQLite's own). */
  sqlitePragmas?: string[];
}

/**
 * The state file in write-ahead-log mode, synced at checkpoints rather than at every commit: a
 * governed task is about ten round trips through the server, and this takes 15–25 % off each
 * (docs/benchmarks.md). A killed server loses nothing; a power cut or a kernel crash may lose
 * its last transactions (the governance record, in PostgreSQL, is not affected).
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

export interface RunningTemporal {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions): Promise<RunningTemporal> {
  const cli = await ensureTemporalCli(opts.cliPath, opts.log);
  if (opts.dbFile) {
    await ensurePrivateHome(dirname(opts.dbFile), opts.log);
    await privateStateFiles(opts.dbFile);
  }
  // The server creates its state file and the -wal/-shm beside it with its own umask: 077, for
  // this user alone (the spawned process keeps the umask it was started with; ours is set back).
  const umask = opts.dbFile ? setUmask(0o077) : null;
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
        ip: '127.0.0.1',
        port: opts.port,
        namespace: opts.namespace,
        ...(opts.dbFile ? { dbFilename: opts.dbFile } : {}),
        ...(opts.uiPort ? { ui: true, uiPort: opts.uiPort } : { ui: false }),
        searchAttributes: Object.values(SEARCH_ATTRIBUTES),
        log: { format: 'pretty', level: 'error' },
        extraArgs: opts.dbFile ? (opts.sqlitePragmas ?? DEV_SERVER_SQLITE_PRAGMAS).flatMap((p) => ['--sqlite-pragma', p]) : [],
      },
    });
  } catch (err) {
    throw new Error(`the Temporal dev server did not start (${err instanceof Error ? err.message : String(err)}). ${INSTALL_HINT}`);
  } finally {
    if (umask !== null) process.umask(umask);
  }
  if (opts.dbFile) await privateStateFiles(opts.dbFile);
  return {
    address: env.address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : null,
    stop: () => env.teardown(),
  };
}

/** Sets the process's umask, returning the one before; null where it cannot be set (a worker thread). */
function setUmask(mask: number): number | null {
  try {
    return process.umask(mask);
  } catch {
    return null;
  }
}

/** The state file and its -wal/-shm, mode 600 (an earlier version left them 644); SQLite gives new -wal/-shm the file's mode. */
async function privateStateFiles(dbFile: string): Promise<void> {
  for (const file of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`, `${dbFile}-journal`]) {
    if (!existsSync(file)) continue;
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) await chmod(file, 0o600);
  }
}
