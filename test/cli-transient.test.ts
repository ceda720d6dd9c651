/**
 * `aura submit --follow` and `aura status` ride out a transient Temporal error: a short note and
 * another try, never a stack trace. Tried for real: the Temporal dev server (state in a sqlite
 * file) is stopped and started again on the same port while the CLI follows a run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { Client, Connection, ServiceError } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { loadConfig, PROJECT_ROOT } from '../config/config.js';
import { openDatabase, type OpenDatabase } from '../db/open.js';
import { startDevServer, type RunningTemporal } from '../local/temporal-server.js';
import { isTransientTemporalError, retryTransient } from '../director/runs.js';
import { createWorker } from '../workers/create-worker.js';
import { installSdkLogger } from '../workers/logging.js';
import { eventually } from './helpers/env.js';
import { freePort } from './helpers/global-setup.js';
import { UserError } from '../errors/index.js';

describe('retryTransient', () => {
  const unavailable = () =>
    new ServiceError('14 UNAVAILABLE: connection refused', { cause: Object.assign(new Error('connection refused'), { code: 14 }) });

  it('asks again after a transient error, with a note each time', async () => {
    const notes: string[] = [];
    let calls = 0;
    const value = await retryTransient(
      async () => {
        calls += 1;
        if (calls < 3) throw unavailable();
        return 'answer';
      },
      { note: (l) => notes.push(l), giveUpAfterMs: 10_000, what: 'test' },
    );
    expect(value).toBe('answer');
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/^Temporal did not answer \(14 UNAVAILABLE: connection refused\); asking again in 0\.5s$/);
  });

  it('gives up with a clear error, and passes other errors on at once', async () => {
    await expect(
      retryTransient(() => Promise.reject(unavailable()), { note: () => {}, giveUpAfterMs: 1_000, what: 'status of run r1' }),
    ).rejects.toThrow(
      new UserError('status of run r1: Temporal did not answer (14 UNAVAILABLE: connection refused). Is the stack up ("aura up")?'),
    );
    let calls = 0;
    await expect(
      retryTransient(
        () => {
          calls += 1;
          return Promise.reject(new UserError('unknown run: r2'));
        },
        { note: () => {}, giveUpAfterMs: 10_000, what: 'x' },
      ),
    ).rejects.toThrow('unknown run: r2');
    expect(calls).toBe(1);
    expect(isTransientTemporalError(new Error('unknown run'))).toBe(false);
  });
});

describe('aura submit --follow while the Temporal server restarts', () => {
  let home: string;
  let port: number;
  let server: RunningTemporal | null = null;
  let database: OpenDatabase;
  let worker: Worker;
  let workerConnection: NativeConnection;
  let running: Promise<void>;

  const startServer = async () => {
    server = await startDevServer({
      cliPath: inject('temporalCli'),
      dbFile: join(home, 'temporal.db'),
      port,
      namespace: 'default',
      log: () => {},
    });
  };

  beforeAll(async () => {
    installSdkLogger('ERROR');
    home = await mkdtemp(join(tmpdir(), 'aura-transient-'));
    port = await freePort();
    await startServer();
    const config = loadConfig(
      { DATABASE_OWNER_URL: inject('pgServerUrl'), AURA_HOME: home, TEMPORAL_CLI_PATH: inject('temporalCli') },
      PROJECT_ROOT,
    );
    database = await openDatabase(config, () => {}, { databaseName: `aura_t_${randomBytes(5).toString('hex')}`, recreate: true });
    // Only the Manager's worker: the run stays in planning (its first activity waits for a
    // governance worker), and its status query is answered.
    workerConnection = await NativeConnection.connect({ address: server!.address });
    worker = await createWorker('manager', {
      connection: workerConnection,
      namespace: 'default',
      db: database.db,
      config,
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    running = worker.run();
  }, 120_000);

  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running?.catch(() => {});
    await workerConnection?.close().catch(() => {});
    await server?.stop().catch(() => {});
    await database?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('notes the outage, follows on after the restart, and never prints a stack trace', async () => {
    const prd = join(home, 'prd.md');
    await writeFile(prd, '# A small tool\n\nCount words.\n');
    const child = spawn(join(PROJECT_ROOT, 'bin', 'aura'), ['submit', prd, '--follow'], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        DATABASE_URL: database.url,
        AURA_HOME: home,
        AURA_INDEPENDENT_TESTS: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const runId = (await eventually(async () => /run (\S+) started/.exec(stdout)?.[1], 60_000, 'the run to start'))!;
    await eventually(async () => stdout.includes(': planning'), 30_000, 'the first progress line');

    await server!.stop();
    server = null;
    await eventually(async () => stderr.includes('Temporal did not answer'), 30_000, 'a note about the outage');
    await startServer();

    // Back up: end the run, and the follower prints its end and exits (1: not completed).
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      const client = new Client({ connection, namespace: 'default' });
      await eventually(
        async () => {
          await client.workflow.getHandle(`prd-run-${runId}`).terminate('test: end the run after the restart');
          return true;
        },
        30_000,
        'the restarted server to answer',
      );
    } finally {
      await connection.close();
    }
    expect(await exited).toBe(1);
    expect(stdout).toMatch(/: failed — the run workflow ended without a report/);
    expect(stderr).toMatch(/\[aura\] Temporal did not answer \(.+\); asking again in [\d.]+s/);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 180_000);
});
