/**
 * Once per test run: the Temporal CLI (found or built), one PostgreSQL server (DATABASE_URL
 * when set, else an embedded one in a temp folder; each test file makes its own database on
 * it), and the workflow bundle built once and shared by every worker.
 *
 * As in production, the server's role is the tables' owner and the application runs as a role
 * of its own (POSTGRES_APP_USER, created here once, before test files open databases at once).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli, INSTALL_HINT } from '../../local/temporal-cli.js';
import { spawn } from 'node:child_process';
import { loadConfig, PROJECT_ROOT } from '../../config/config.js';
import { createDb } from '../../db/connect.js';
import { ensureApplicationLogin } from '../../db/open.js';
import { buildWorkflowBundle } from '../../workers/create-worker.js';
import { freePort } from './free-port.js';

export { freePort } from './free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
    temporalCli: string;
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const log = (l: string) => console.log(`[test setup] ${l}`);
  const dir = await mkdtemp(join(tmpdir(), 'aura-test-'));

  const cli = await ensureTemporalCli(process.env.TEMPORAL_CLI_PATH ?? null, log);
  if (!cli) throw new Error(`the tests need the temporal CLI. ${INSTALL_HINT}`);

  let pgServerUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? null;
  let stopPg: (() => Promise<void>) | null = null;
  if (!pgServerUrl) {
    const port = await freePort();
    log(`embedded PostgreSQL for tests on 127.0.0.1:${port}`);
    // In a process of its own, so that nothing it does can touch this process's exit code.
    // Its data is removed when it stops (as root it lives under AURA_SYSTEM_DIR, not in `dir`).
    const pg = await startPostgresProcess(join(dir, 'postgres'), port);
    pgServerUrl = pg.url;
    stopPg = pg.stop;
  }

  await ensureApplicationRole(pgServerUrl, log);

  const workflowBundlePath = await buildWorkflowBundle(join(dir, 'workflow-bundle.js'));

  project.provide('pgServerUrl', pgServerUrl);
  project.provide('temporalCli', cli);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await stopPg?.();
    await rm(dir, { recursive: true, force: true });
  };
}

/** The application role every test database grants its rights to (openDatabase would create it too, racing). */
async function ensureApplicationRole(serverUrl: string, log: (line: string) => void): Promise<void> {
  const { appUser, appPassword } = loadConfig({}, PROJECT_ROOT).database;
  const appUrl = new URL(serverUrl);
  appUrl.username = encodeURIComponent(appUser);
  appUrl.password = encodeURIComponent(appPassword);
  const owner = createDb(serverUrl, 1);
  try {
    await ensureApplicationLogin(owner, appUrl.toString(), { user: appUser, password: appPassword }, log);
  } finally {
    await owner.destroy();
  }
}

function startPostgresProcess(dataDir: string, port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(PROJECT_ROOT, 'scripts', 'embedded-postgres-server.ts'),
      dataDir,
      String(port),
      'aura_test',
      'aura_test',
      '--ephemeral',
    ],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      const ready = /READY (\S+)/.exec(out);
      if (ready) {
        child.stdout!.off('data', onData);
        resolve({
          url: ready[1]!,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL for tests exited with ${code}:\n${out}`)));
  });
}
