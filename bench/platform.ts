/**
 * The world the governed benchmarks run in, on the embedded defaults: the embedded PostgreSQL
 * (a scratch database `aura_bench`, recreated), a Temporal dev server of its own (SQLite file
 * `AURA_HOME/bench/temporal.db`, removed first, as `aura up` keeps its state in a file), the
 * fixed-latency model server in a child process (bench/model-server.ts) and every worker in
 * another child process (bench/workers.ts: the platform's queues as workers/dev.ts runs them,
 * plus the bare baseline), so its CPU and memory can be read on their own.
 * DATABASE_URL / TEMPORAL_ADDRESS in the environment are honoured, as everywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, loadDotEnv, PROJECT_ROOT, type AuraConfig } from '../config/config.js';
import { openDatabase, type OpenDatabase } from '../db/open.js';
import type { Db } from '../db/connect.js';
import { DEV_SERVER_SQLITE_PRAGMAS, startDevServer } from '../local/temporal-server.js';
import { freePort } from '../test/helpers/free-port.js';
import { childrenOf, commandLine, parentOf } from './proc.js';
import { commandSigningInterceptor } from '../director/command-signer.js';

export const BENCH_EMPLOYEES = join(PROJECT_ROOT, 'bench', 'employees.json');
export const BENCH_DATABASE = 'aura_bench';

export interface BenchWorld {
  config: AuraConfig;
  db: Db;
  client: Client;
  latencyMs: number;
  /** The worker process (every queue, and the bare baseline). */
  workerPid: number;
  modelPid: number;
  /** The Temporal dev server's process, when this world started it. */
  temporalPid: number | null;
  /** The PostgreSQL server's main process (its backends are its children). */
  postgresPid: number | null;
  metricsUrl: string;
  /** The worker's output so far (its warnings and errors). */
  workerOutput(): string;
  stop(): Promise<void>;
}

function spawnNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; output: () => string; waitFor: (re: RegExp, ms: number) => Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bench', script), ...args], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const waitFor = (re: RegExp, ms: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${script} did not start in ${ms} ms:\n${out.slice(-4000)}`)), ms);
      const onExit = (code: number | null) => done(new Error(`${script} exited with ${code} before it started:\n${out.slice(-4000)}`));
      const check = () => {
        const m = re.exec(out);
        if (m) done(null, m);
      };
      function done(err: Error | null, m?: RegExpExecArray) {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve(m!);
      }
      listeners.add(check);
      child.once('exit', onExit);
      check();
    });
  return { child, output: () => out, waitFor };
}

function stopChild(child: ChildProcess, ms = 60_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startBenchWorld(opts: { latencyMs: number; log: (line: string) => void }): Promise<BenchWorld> {
  const { latencyMs, log } = opts;
  loadDotEnv();
  const cleanup: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const fn of cleanup.reverse()) await fn().catch((err) => log(`while stopping: ${String(err)}`));
  };
  try {
    const model = spawnNode('model-server.ts', ['--latency', String(latencyMs)], { ...process.env });
    cleanup.push(() => stopChild(model.child));
    const modelUrl = JSON.parse((await model.waitFor(/^\{"url".*\}$/m, 60_000))[0]).url as string;
    log(`model server on ${modelUrl}, ${latencyMs} ms per call`);

    const env: Record<string, string> = {
      AURA_EMPLOYEES_FILE: BENCH_EMPLOYEES,
      OPENAI_API_KEY: 'sk-bench-local-model',
      OPENAI_BASE_URL: `${modelUrl}/v1`,
      AURA_PROVIDERS: 'openai',
      AURA_TEMPORAL_PORT: String(await freePort()),
      // Acceptance tests by a tester (the default) unless BENCH_INDEPENDENT_TESTS=0 measures the self-tested path.
      AURA_INDEPENDENT_TESTS: process.env.BENCH_INDEPENDENT_TESTS === '0' ? 'false' : 'true',
    };
    const config = loadConfig({ ...process.env, ...env });
    const database: OpenDatabase = await openDatabase(config, log, { databaseName: BENCH_DATABASE, recreate: true });
    cleanup.push(() => database.close());

    let address = config.temporal.address;
    let temporalPid: number | null = null;
    if (!address) {
      // BENCH_TEMPORAL_DB=memory: the dev server without its SQLite file (not the default: compare only).
      const dbFile = process.env.BENCH_TEMPORAL_DB === 'memory' ? null : join(config.home, 'bench', 'temporal.db');
      if (dbFile) await rm(dbFile, { force: true });
      const before = new Set(childrenOf(process.pid));
      // BENCH_TEMPORAL_SQLITE_PRAGMAS: other pragmas for its state file, to compare ("none": SQLite's own).
      const asked = process.env.BENCH_TEMPORAL_SQLITE_PRAGMAS;
      const pragmas = asked === undefined ? DEV_SERVER_SQLITE_PRAGMAS : asked === 'none' ? [] : asked.split(',').filter(Boolean);
      const server = await startDevServer({
        cliPath: config.temporal.cliPath,
        dbFile,
        port: config.temporal.port,
        namespace: config.temporal.namespace,
        log,
        sqlitePragmas: pragmas,
      });
      cleanup.push(() => server.stop());
      address = server.address;
      temporalPid = childrenOf(process.pid).find((pid) => !before.has(pid) && /start-dev/.test(commandLine(pid))) ?? null;
      log(
        `Temporal dev server on ${address} (state ${dbFile ? `in ${dbFile}` : 'in memory'}${pragmas.length ? `; SQLite ${pragmas.join(', ')}` : ''})`,
      );
    }

    const metricsAddress = `127.0.0.1:${await freePort()}`;
    const worker = spawnNode('workers.ts', [], {
      ...process.env,
      ...env,
      DATABASE_URL: database.url,
      ...(database.ownerUrl ? { DATABASE_OWNER_URL: database.ownerUrl } : {}),
      TEMPORAL_ADDRESS: address,
      BENCH_METRICS_ADDRESS: metricsAddress,
    });
    cleanup.push(() => stopChild(worker.child));
    log('bundling workflows and starting the workers (a child process)…');
    await worker.waitFor(/\[aura-worker\] polling /, 180_000);

    const connection = await Connection.connect({ address });
    cleanup.push(() => connection.close());
    // The bench's Director commands are the CLI's: signed (the workers check the proof).
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      interceptors: { workflow: [commandSigningInterceptor({ keyFile: config.directorCommands.keyFile, channel: 'cli' })] },
    });

    // The server's main process is the parent of this connection's backend (when it runs here).
    const backend = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(database.db);
    const postgresPid = parentOf(backend.rows[0]?.pid ?? 0);

    return {
      config,
      db: database.db,
      client,
      latencyMs,
      workerPid: worker.child.pid!,
      modelPid: model.child.pid!,
      temporalPid,
      postgresPid,
      metricsUrl: `http://${metricsAddress}/metrics`,
      workerOutput: worker.output,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
