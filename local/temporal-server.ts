/**
 * The local Temporal dev server when no TEMPORAL_ADDRESS is set: a child process with its
 * state in a sqlite file under AURA_HOME (runs survive a restart), the Web UI on its port, and
 * Aura's search attributes registered.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
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
  if (opts.dbFile) await mkdir(dirname(opts.dbFile), { recursive: true });
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
  }
  return {
    address: env.address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : null,
    stop: () => env.teardown(),
  };
}
