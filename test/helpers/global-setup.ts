/**
 * Once per test run: the Temporal CLI (found or built), one PostgreSQL server (DATABASE_URL
 * when set, else an embedded one in a temp folder; each test file makes its own database on
 * it), and the workflow bundle built once and shared by every worker.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ensureTemporalCli, INSTALL_HINT } from '../../client/temporal-cli.js';
import { startEmbeddedPostgres } from '../../db/embedded-postgres.js';
import { WORKFLOWS_PATH } from '../../workers/create-worker.js';

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
    const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres'), port, user: 'aura_test', password: 'aura_test', database: 'postgres' });
    pgServerUrl = pg.url;
    stopPg = pg.stop;
  }

  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } });
  const workflowBundlePath = join(dir, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, bundle.code);

  project.provide('pgServerUrl', pgServerUrl);
  project.provide('temporalCli', cli);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await stopPg?.();
    await rm(dir, { recursive: true, force: true });
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
