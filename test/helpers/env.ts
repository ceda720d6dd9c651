/**
 * One test file's world: its own Temporal dev server (in memory), its own database on the
 * shared PostgreSQL server, and — unless asked otherwise — every worker in this process,
 * built by the same code the platform runs. The server's role owns the tables; workers, the
 * CLI and `db` run as the application role, as in production (`ownerDb` is the owner).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig, PROJECT_ROOT, type AuraConfig } from '../../config/config.js';
import { openDatabase, type OpenDatabase } from '../../db/open.js';
import { createDb, type Db } from '../../db/connect.js';
import { startDevServer } from '../../local/temporal-server.js';
import type { QueueRole } from '../../workers/create-worker.js';
import { startWorkers, type RunningWorkers } from '../../workers/start-workers.js';
import { installSdkLogger } from '../../workers/logging.js';
import { commandSigningInterceptor } from '../../director/command-signer.js';
import { runStatus } from '../../director/runs.js';
import type { RunProgress } from '../../governance/types.js';

export interface TestEnv {
  config: AuraConfig;
  /** The application role's connection. */
  db: Db;
  databaseUrl: string;
  /** The tables' owner: for what only the owner may do (schema changes, owner-only settings). */
  ownerDb: Db;
  ownerUrl: string;
  temporalAddress: string;
  /** The dev server's Web UI, when `temporalUiPort` was given; else null. */
  temporalUiUrl: string | null;
  client: Client;
  /** Environment variables that point a child process (worker, CLI) at this world. */
  childEnv: NodeJS.ProcessEnv;
  startWorkers(roles?: QueueRole[]): Promise<void>;
  stopWorkers(): Promise<void>;
  teardown(): Promise<void>;
}

export const ALL_ROLES: QueueRole[] = ['manager', 'governance', 'sandbox', 'employee:scripted'];

export async function startTestEnv(
  opts: { env?: Record<string, string>; workers?: boolean; temporalUiPort?: number } = {},
): Promise<TestEnv> {
  installSdkLogger('WARN');
  const home = await mkdtemp(join(tmpdir(), 'aura-home-'));
  const databaseName = `aura_t_${randomBytes(5).toString('hex')}`;
  const serverUrl = inject('pgServerUrl');
  const envVars: Record<string, string> = {
    DATABASE_OWNER_URL: serverUrl,
    AURA_HOME: home,
    TEMPORAL_CLI_PATH: inject('temporalCli'),
    // Tests of other parts run self-tested plans; test/independent-checks.test.ts and the demo
    // test run the default (acceptance tests by a tester).
    AURA_INDEPENDENT_TESTS: 'false',
    ...opts.env,
  };
  const config = loadConfig({ ...envVars }, PROJECT_ROOT);
  const database: OpenDatabase = await openDatabase(config, () => {}, { databaseName, recreate: true });
  const ownerUrl = database.ownerUrl!;
  const ownerDb = createDb(ownerUrl, 2);

  const server = await startDevServer({
    cliPath: config.temporal.cliPath,
    dbFile: null,
    namespace: 'default',
    uiPort: opts.temporalUiPort,
    log: () => {},
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const clientConnection = await Connection.connect({ address: server.address });
  // The tests give Director commands as the CLI does: signed with this world's command key.
  const client = new Client({
    connection: clientConnection,
    namespace: 'default',
    interceptors: { workflow: [commandSigningInterceptor({ keyFile: config.directorCommands.keyFile, channel: 'cli' })] },
  });

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...envVars,
    DATABASE_URL: database.url,
    DATABASE_OWNER_URL: ownerUrl,
    TEMPORAL_ADDRESS: server.address,
    // Worker processes a test starts take the suite's bundle instead of bundling again.
    AURA_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
  };
  const workerConfig = loadConfig({ ...envVars, DATABASE_URL: database.url, DATABASE_OWNER_URL: ownerUrl }, PROJECT_ROOT);

  let workers: RunningWorkers | null = null;
  const env: TestEnv = {
    config: workerConfig,
    db: database.db,
    databaseUrl: database.url,
    ownerDb,
    ownerUrl,
    temporalAddress: server.address,
    temporalUiUrl: server.uiUrl,
    client,
    childEnv,
    async startWorkers(roles = ALL_ROLES) {
      const bundle = { codePath: inject('workflowBundlePath') };
      workers = await startWorkers(roles, {
        connection,
        namespace: 'default',
        db: database.db,
        config: workerConfig,
        workflowBundle: bundle,
      });
    },
    async stopWorkers() {
      await workers?.stop();
      workers = null;
    },
    async teardown() {
      await env.stopWorkers();
      await clientConnection.close();
      await connection.close();
      await server.stop();
      await ownerDb.destroy();
      await database.close();
      await rm(home, { recursive: true, force: true });
    },
  };
  if (opts.workers !== false) await env.startWorkers();
  return env;
}

/** Polls `fn` until it returns a truthy value or the time is up. */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/** The run's status once its task `key` waits for the Director. */
export function taskEscalated(client: Client, runId: string, key: string, timeoutMs = 90_000): Promise<RunProgress> {
  return eventually(
    async () => {
      const s = await runStatus(client, runId);
      return s.tasks.find((t) => t.key === key)?.status === 'escalated' ? s : null;
    },
    timeoutMs,
    `task ${key} to escalate`,
  );
}

export const SAMPLE_PRD_FILE = join(PROJECT_ROOT, 'samples', 'wordfreq', 'PRD.md');
