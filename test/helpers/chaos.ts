/**
 * The chaos suite's world and trials (scripts/chaos.ts, test/chaos.test.ts).
 *
 * A world of its own: a PostgreSQL server in its own process (data kept across restarts), a
 * Temporal dev server with its state in a sqlite file on a fixed port (a restart on that port
 * keeps every run), each worker kind in its own OS process started from its entry in workers/
 * (what production runs), and the OpenAI-protocol stand-in for model APIs.
 *
 * A trial: a fresh database and a fresh set of workers, one run of a PRD (the scripted sample,
 * or the coding model over the OpenAI protocol; task answers take 2 s and 1.5 s, as models take
 * seconds), one fault or more in the middle of it (kill -9 of a worker kind then a new process
 * after a while; a PostgreSQL restart on the same port and data; a Temporal restart on the same
 * port and sqlite file), and the run must complete. Then the governance rows of the run are
 * counted per table and kind (model_runs by kind, incidents by violation, audit_events by action,
 * …) and compared with an undisturbed run of the same PRD: a row short is lost, a row over is
 * duplicated. Rows that must be one per thing are checked too (one verdict and one score per
 * attempt, one answered call per task round, one HR action per incident, …), and the run's and
 * tasks' rows must end in the state the report gives them. A run that went another way than the
 * undisturbed one (another employee, a violation) fails the trial and is counted against what
 * its own report says. Failed model call attempts are recorded as such and not compared: a
 * fault may add some.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { sql } from 'kysely';
import { loadConfig, PROJECT_ROOT } from '../../config/config.js';
import { createDb, type Db } from '../../db/connect.js';
import { openDatabase } from '../../db/open.js';
import { startDevServer, type RunningTemporal } from '../../local/temporal-server.js';
import { findTemporalCli } from '../../local/temporal-cli.js';
import { isTransientTemporalError, submitRun } from '../../director/runs.js';
import type { RunReport } from '../../governance/types.js';
import { FakeModelServer, requestPrompt, type Responder } from '../fixtures/fake-model-server.js';
import { codingModel } from '../fixtures/coding-model.js';
import { freePort } from './free-port.js';
import { buildWorkflowBundle } from '../../workers/create-worker.js';

export { freePort } from './free-port.js';

// ---- faults and trials ------------------------------------------------------------------------

export const WORKER_KINDS = ['manager', 'governance', 'sandbox', 'employee:scripted', 'employee:openai'] as const;
export type WorkerKind = (typeof WORKER_KINDS)[number];
export type FaultTarget = WorkerKind | 'postgres' | 'temporal';
export const FAULT_TARGETS: readonly FaultTarget[] = [...WORKER_KINDS, 'postgres', 'temporal'];

/** `wordfreq`: the scripted sample (samples/wordfreq). `coding`: the coding model over the OpenAI protocol. */
export type PrdKind = 'wordfreq' | 'coding';

/** Which worker kind an activity runs on. */
export type ActivityKind = 'employee' | 'sandbox' | 'governance';

export interface Fault {
  target: FaultTarget;
  /**
   * Strike once an activity of this kind is running (30 s wait at most). A kill of an activity
   * worker waits a little for one of its own by default (8 s; governance 2 s); restarts strike
   * when they fall due.
   */
  during?: ActivityKind;
  /** When, as a fraction of the undisturbed run's duration. */
  at: number;
  /** How long the worker, PostgreSQL or Temporal stays down. */
  downMs: number;
}

export interface TrialPlan {
  trial: number;
  prd: PrdKind;
  faults: Fault[];
}

/** mulberry32: a small seeded PRNG, so a failing trial can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DOWN_MS: Record<'worker' | 'postgres' | 'temporal', [number, number]> = {
  worker: [500, 8_000],
  postgres: [1_000, 6_000],
  temporal: [1_000, 5_000],
};

function workerOf(prd: PrdKind): WorkerKind[] {
  return ['manager', 'governance', 'sandbox', prd === 'wordfreq' ? 'employee:scripted' : 'employee:openai'];
}

function prdFor(target: FaultTarget, rnd: () => number): PrdKind {
  if (target === 'employee:scripted') return 'wordfreq';
  if (target === 'employee:openai') return 'coding';
  return rnd() < 0.5 ? 'wordfreq' : 'coding';
}

function faultFor(target: FaultTarget, rnd: () => number, at: [number, number], maxDownMs = Infinity): Fault {
  const [lo, most] = DOWN_MS[target === 'postgres' || target === 'temporal' ? target : 'worker'];
  const hi = Math.max(lo, Math.min(most, maxDownMs));
  return { target, at: round(at[0] + rnd() * (at[1] - at[0]), 3), downMs: Math.round(lo + rnd() * (hi - lo)) };
}

/** The faults of one trial, in order, and its PRD (else the one its employee kill needs, else a coin toss). */
export interface TrialLayout {
  prd?: PrdKind;
  targets: (FaultTarget | { target: FaultTarget; during: ActivityKind })[];
}

/**
 * `trials` trials from `seed`. The first fault of each trial walks through the fault targets in
 * a shuffled order (every target comes up before any comes up again); a quarter of the trials
 * stack a second fault of another target later in the run. A kill of an employee worker picks
 * the PRD whose employees it serves; other trials toss a coin. With `layouts`, the targets (and
 * PRDs) are given and only the timings are drawn.
 */
export function planTrials(opts: {
  trials: number;
  seed: number;
  layouts?: TrialLayout[];
  stacked?: number;
  maxDownMs?: number;
}): TrialPlan[] {
  const rnd = prng(opts.seed);
  const deck: FaultTarget[] = [];
  const next = (): FaultTarget => {
    if (deck.length === 0) {
      const fresh = [...FAULT_TARGETS];
      for (let i = fresh.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [fresh[i], fresh[j]] = [fresh[j]!, fresh[i]!];
      }
      deck.push(...fresh);
    }
    return deck.shift()!;
  };
  const plans: TrialPlan[] = [];
  for (let i = 0; i < opts.trials; i++) {
    const layout = opts.layouts?.[i % opts.layouts.length];
    let targets: { target: FaultTarget; during?: ActivityKind }[];
    let prd: PrdKind;
    if (layout) {
      targets = layout.targets.map((t) => (typeof t === 'string' ? { target: t } : t));
      prd = layout.prd ?? prdFor(targets.find((t) => t.target.startsWith('employee:'))?.target ?? 'manager', rnd);
    } else {
      const first = next();
      prd = prdFor(first, rnd);
      targets = [{ target: first }];
      if (rnd() < (opts.stacked ?? 0.25)) {
        const others = FAULT_TARGETS.filter((t) => t !== first && (!t.startsWith('employee:') || workerOf(prd).includes(t as WorkerKind)));
        targets.push({ target: others[Math.floor(rnd() * others.length)]! });
      }
    }
    // Spread over the run: each fault in its own slice of 5%..70% of the undisturbed duration,
    // with a gap between slices.
    const slice = 0.65 / targets.length;
    const gap = targets.length > 1 ? 0.05 : 0;
    const faults = targets.map((t, k) => ({
      ...faultFor(t.target, rnd, [0.05 + k * slice, 0.05 + (k + 1) * slice - gap], opts.maxDownMs),
      ...(t.during ? { during: t.during } : {}),
    }));
    plans.push({ trial: i + 1, prd, faults });
  }
  return plans;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

// ---- the world ----------------------------------------------------------------------------------

const PG_USER = 'aura_chaos';
const PG_PASSWORD = 'aura_chaos';

/** PostgreSQL in a process of its own (scripts/embedded-postgres-server.ts), restartable on its port and data. */
class PostgresProcess {
  private child: ChildProcess | null = null;
  url = '';
  constructor(
    private readonly dataDir: string,
    readonly port: number,
  ) {}

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(PROJECT_ROOT, 'scripts', 'embedded-postgres-server.ts'),
        this.dataDir,
        String(this.port),
        PG_USER,
        PG_PASSWORD,
      ],
      {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    let out = '';
    this.url = await new Promise<string>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`PostgreSQL did not start in 60 s:\n${out}`)), 60_000);
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const ready = /READY (\S+)/.exec(out);
        if (ready) {
          clearTimeout(timer);
          done(ready[1]!);
        }
      });
      child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`PostgreSQL exited with ${code} before it was ready:\n${out}`));
      });
    });
  }

  /** A clean stop (SIGTERM: PostgreSQL's fast shutdown, every connection cut). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  }

  /** Stopped for good: its data goes too (as root it lives where `<dataDir>.location` says). */
  async remove(): Promise<void> {
    await this.stop();
    const pointer = `${this.dataDir}.location`;
    const pgdata = (await readFile(pointer, 'utf8').catch(() => '')).split('\n')[0]?.trim();
    if (pgdata && pgdata.endsWith('/pgdata')) await rm(dirname(pgdata), { recursive: true, force: true });
    await rm(pointer, { force: true });
    await rm(this.dataDir, { recursive: true, force: true });
  }

  serverUrl(database: string): string {
    const u = new URL(this.url);
    u.pathname = `/${database}`;
    return u.toString();
  }
}

/** The Temporal dev server on a fixed port with its state in a sqlite file: a restart keeps every run. */
class TemporalProcess {
  private server: RunningTemporal | null = null;
  constructor(
    private readonly cliPath: string | null,
    private readonly dbFile: string,
    readonly port: number,
  ) {}
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.server = await startDevServer({
      cliPath: this.cliPath,
      dbFile: this.dbFile,
      port: this.port,
      namespace: 'default',
      log: () => {},
    });
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.stop();
  }
}

/** A worker of one kind in its own OS process, from its entry in workers/. */
export class WorkerProcess {
  child: ChildProcess | null = null;
  /** Exits nobody asked for (the harness starts a new process, as a supervisor would). */
  readonly selfExits: string[] = [];
  private expectingExit = false;
  /** Stopped for good: no new process after an exit. */
  private retired = false;
  constructor(
    readonly kind: WorkerKind,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: WriteStream,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 120_000): Promise<void> {
    const entry = join(PROJECT_ROOT, 'workers', `${this.kind.replace(':', '-')}.ts`);
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: PROJECT_ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectingExit = false;
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      this.write(b);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.write(`---- ${new Date().toISOString()} started ${this.kind} pid ${child.pid}\n`);
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`${this.kind} worker did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const check = () => {
        if (out.includes('polling ')) {
          this.write(`---- ${new Date().toISOString()} ${this.kind} pid ${child.pid} polling\n`);
          clearTimeout(timer);
          child.stdout!.off('data', check);
          done();
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        fail(new Error(`${this.kind} worker exited (${code ?? signal}) before it started:\n${out}`));
      });
    });
    child.once('exit', (code, signal) => {
      this.write(`---- ${new Date().toISOString()} ${this.kind} pid ${child.pid} exited (${code ?? signal})\n`);
      if (this.expectingExit || this.child !== child) return;
      this.selfExits.push(`${this.kind} exited by itself (${code ?? signal})`);
      this.child = null;
      // As a supervisor would (compose: restart unless-stopped): a new process after a second.
      setTimeout(() => {
        if (!this.retired)
          void this.start().catch((err) =>
            this.selfExits.push(`${this.kind} could not be restarted: ${(err as Error).message.split('\n')[0]}`),
          );
      }, 1_000);
    });
  }

  /** Into the trial's log, while it is open (a stream's last bytes may come after the trial). */
  private write(chunk: string | Buffer): void {
    if (!this.logFile.writableEnded) this.logFile.write(chunk);
  }

  /** kill -9: no drain, no goodbye. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Drains and stops (SIGTERM); SIGKILL after 15 s. */
  async stop(): Promise<void> {
    this.retired = true;
    const child = this.child;
    if (!child) return;
    const late = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.signal('SIGTERM');
    clearTimeout(late);
  }

  private signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.expectingExit = true;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill(sig);
    });
  }
}

export interface ChaosWorldOptions {
  /** The temporal CLI (else found on PATH or in Go's bin folder). */
  temporalCli?: string | null;
  log?: (line: string) => void;
  /** Keep the session folder (worker logs) after teardown. */
  keep?: boolean;
  /** A workflow bundle built beforehand; else one is built here, once for every worker process. */
  workflowBundle?: string;
}

export class ChaosWorld {
  readonly dir: string;
  private workflowBundle = '';
  private readonly postgres: PostgresProcess;
  private readonly temporal: TemporalProcess;
  private modelServer: { url: string; close(): Promise<void> } | null = null;
  private readonly models = new FakeModelServer();
  private clientConnection: Connection | null = null;
  client!: Client;
  readonly scriptFile: string;
  readonly log: (line: string) => void;

  private constructor(
    dir: string,
    pgPort: number,
    temporalPort: number,
    cli: string | null,
    log: (line: string) => void,
    private readonly keep: boolean,
  ) {
    this.dir = dir;
    this.log = log;
    this.postgres = new PostgresProcess(join(dir, 'postgres'), pgPort);
    this.temporal = new TemporalProcess(cli, join(dir, 'temporal.db'), temporalPort);
    this.scriptFile = chaosScript(dir);
  }

  static async start(opts: ChaosWorldOptions = {}): Promise<ChaosWorld> {
    const log = opts.log ?? (() => {});
    const dir = mkdtempSync(join(tmpdir(), 'aura-chaos-'));
    const cli = opts.temporalCli ?? findTemporalCli(process.env.TEMPORAL_CLI_PATH ?? null);
    const world = new ChaosWorld(dir, await freePort(), await freePort(), cli, log, opts.keep ?? false);
    try {
      // Every manager worker process (and each one after a kill -9) loads this bundle instead of bundling again.
      world.workflowBundle = opts.workflowBundle ?? (await buildWorkflowBundle(join(dir, 'workflow-bundle.js')));
      await world.postgres.start();
      await world.temporal.start();
      world.modelServer = await world.models.start();
      world.clientConnection = await Connection.connect({ address: world.temporal.address });
      world.client = new Client({ connection: world.clientConnection, namespace: 'default' });
    } catch (err) {
      await world.teardown();
      throw err;
    }
    log(
      `chaos world in ${dir}: PostgreSQL on 127.0.0.1:${world.postgres.port}, Temporal on ${world.temporal.address}, model API on ${world.modelServer!.url}`,
    );
    return world;
  }

  get temporalAddress(): string {
    return this.temporal.address;
  }

  async restartPostgres(downMs: number): Promise<void> {
    await this.postgres.stop();
    await sleep(downMs);
    await this.postgres.start();
  }

  async restartTemporal(downMs: number): Promise<void> {
    await this.temporal.stop();
    await sleep(downMs);
    await this.temporal.start();
  }

  /** A fresh database for a trial (migrated, registry synced), and the environment of its workers. */
  async prepare(name: string, prd: PrdKind): Promise<{ databaseUrl: string; workerEnv: NodeJS.ProcessEnv }> {
    if (prd === 'coding') this.models.setDefault(slowCoder(codingModel())); // its first call is rate limited, as in a run of its own
    const home = join(this.dir, name);
    await mkdir(home, { recursive: true });
    const vars: Record<string, string> = {
      DATABASE_OWNER_URL: this.postgres.serverUrl('postgres'),
      TEMPORAL_ADDRESS: this.temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      AURA_HOME: home,
      AURA_SCRIPT_FILE: this.scriptFile,
      AURA_INDEPENDENT_TESTS: 'false',
      AURA_WORKFLOW_BUNDLE: this.workflowBundle,
      ...(prd === 'coding'
        ? {
            AURA_EMPLOYEES_FILE: join(PROJECT_ROOT, 'test', 'fixtures', 'converging', 'employees.json'),
            OPENAI_API_KEY: 'sk-chaos',
            OPENAI_BASE_URL: `${this.modelServer!.url}/v1`,
          }
        : {}),
    };
    const config = loadConfig({ ...vars }, PROJECT_ROOT);
    const database = await openDatabase(config, () => {}, { databaseName: name, recreate: true });
    await database.close();
    // Only what this world says: no key, database or server of the caller's leaks in.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(DATABASE_|POSTGRES_|TEMPORAL_|AURA_|OPENAI_|GEMINI_|OLLAMA_|ENABLE_STRICT)/.test(k)),
    );
    // Workers run as the application role, the owner beside it, as a deployment of both does.
    return {
      databaseUrl: database.url,
      workerEnv: { ...inherited, ...vars, DATABASE_OWNER_URL: database.ownerUrl!, DATABASE_URL: database.url },
    };
  }

  /** Stops everything; the folder (workers' logs) stays with `keep` (here or at start). */
  async teardown(opts: { keep?: boolean } = {}): Promise<void> {
    await this.clientConnection?.close().catch(() => {});
    await this.temporal.stop().catch(() => {});
    await this.modelServer?.close().catch(() => {});
    await this.postgres.remove().catch(() => {});
    if (!this.keep && !opts.keep) await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The coding model taking 1.5 s over a task, as models take seconds (so that a kill lands in the
 * middle of a model call as often as between calls); plans stay quick, under the run's 2 s
 * planning limit.
 */
function slowCoder(model: Responder): Responder {
  return (req) => {
    const answer = model(req);
    return 'reply' in answer && /Do task \S+:/.test(requestPrompt(req)) ? { ...answer, delayMs: 1_500 } : answer;
  };
}

/**
 * The sample script with every task answer taking 2 s, so that a kill lands in the middle of a
 * model call as often as between calls ("from" paths made absolute for its new folder).
 */
function chaosScript(dir: string): string {
  const file = join(PROJECT_ROOT, 'samples', 'wordfreq', 'script.json');
  const script = JSON.parse(readFileSync(file, 'utf8'));
  for (const employee of Object.values(script.employees) as Record<
    string,
    { files?: { from?: string }[]; delayMs?: number; verdict?: string }
  >[]) {
    for (const [key, answer] of Object.entries(employee)) {
      if (key === 'plan' || key.startsWith('review:')) continue;
      answer.files?.forEach((f) => {
        if (f.from) f.from = resolve(dirname(file), f.from);
      });
      answer.delayMs = 2_000;
    }
  }
  const out = join(dir, 'chaos-script.json');
  writeFileSync(out, JSON.stringify(script));
  return out;
}

// ---- a trial --------------------------------------------------------------------------------------

const ACTIVITY_KIND: Record<string, 'employee' | 'sandbox'> = {
  planWithEmployee: 'employee',
  performTask: 'employee',
  reviewOutput: 'employee',
  verifyTaskOutput: 'sandbox',
  verifyWorkspace: 'sandbox',
  exportWorkspace: 'sandbox',
};

function kindOfActivity(type: string): ActivityKind {
  return ACTIVITY_KIND[type] ?? 'governance';
}

function queueKind(target: WorkerKind): ActivityKind | null {
  return target === 'manager' ? null : target.startsWith('employee:') ? 'employee' : (target as 'sandbox' | 'governance');
}

/** The PRD of test/helpers/coding-env.ts (which cannot be imported outside vitest). */
export const CODING_PRD =
  '# Word tally\n\nA module that tallies the words of a text, and a report of the most frequent words built on it.\n';

function submission(prd: PrdKind) {
  return prd === 'wordfreq'
    ? {
        prd: readFileSync(join(PROJECT_ROOT, 'samples', 'wordfreq', 'PRD.md'), 'utf8'),
        project: 'chaos-wordfreq',
        options: { autoApprove: true, director: 'chaos' },
      }
    : { prd: CODING_PRD, project: 'chaos-coding', options: { autoApprove: true, director: 'chaos', planTimeLimitMs: 2_000 } };
}

export interface FaultOutcome {
  fault: Fault;
  /** When it struck, from the run's start (ms); null when the run had ended before its time. */
  atMs: number | null;
  /** Activities started at that moment (type@task), and the killed worker's pid. */
  during: string[];
  pid?: number;
  /** From the fault to the worker/server being back (ms). */
  outageMs: number;
  error?: string;
}

export interface Counted {
  /** Rows per category: table, or table and kind/action. */
  counts: Record<string, number>;
  /** Failed model call attempts, recorded as such (more of them under faults is no duplicate). */
  failedCalls: number;
  /** Rows that repeat what another row says (two verdicts for one attempt, …): category → extra rows. */
  repeats: Record<string, number>;
}

export interface Baseline {
  prd: PrdKind;
  durationMs: number;
  shape: string;
  counted: Counted;
}

export interface TrialResult {
  plan: TrialPlan;
  runId: string | null;
  status: string;
  reason: string | null;
  durationMs: number;
  faults: FaultOutcome[];
  /** Against the undisturbed run when the run went the same way, else against the report. */
  expected: Record<string, number>;
  /** Rows of the undisturbed run (else what the report predicts). */
  expectedRows: number;
  actual: Record<string, number>;
  lost: Record<string, number>;
  duplicated: Record<string, number>;
  failedCalls: number;
  /** Which way the run went: per task, who attempted it, in how many rounds, with what verdict. */
  shape: string | null;
  /** The run took another way than the undisturbed one (who, how often, what verdict). */
  flowChanged: string | null;
  notes: string[];
  /** The workers' output during the trial. */
  logFile: string;
  ok: boolean;
}

/** Sums of a category → n map. */
export const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

export interface TrialOptions {
  /** How long a run may take, faults included (default 4 minutes). */
  completionTimeoutMs?: number;
  /** The undisturbed run of this PRD, to compare with (none: only what the report says is checked). */
  baseline?: Baseline | null;
  /** Duration of an undisturbed run of this PRD, to place the faults (default: the baseline's, else 30 s). */
  expectedDurationMs?: number;
}

/** One trial: fresh database and workers, a run, its faults, the count. */
export async function runTrial(world: ChaosWorld, plan: TrialPlan, opts: TrialOptions = {}): Promise<TrialResult> {
  const name = `chaos_${plan.trial}_${plan.prd}_${Date.now().toString(36)}`;
  const { databaseUrl, workerEnv } = await world.prepare(name, plan.prd);
  const logPath = join(world.dir, `${name}.workers.log`);
  const logFile = createWriteStream(logPath);
  const workers = new Map<WorkerKind, WorkerProcess>(workerOf(plan.prd).map((k) => [k, new WorkerProcess(k, workerEnv, logFile)]));
  const notes: string[] = [];
  const faults: FaultOutcome[] = [];
  let runId: string | null = null;
  let status = 'not started';
  let reason: string | null = null;
  let report: RunReport | null = null;
  let started = Date.now();
  let ended = 0;
  try {
    await Promise.all([...workers.values()].map((w) => w.start()));
    const sub = await submitRun(world.client, submission(plan.prd));
    runId = sub.runId;
    started = Date.now();
    const handle = world.client.workflow.getHandle(sub.workflowId);
    const expectedMs = opts.expectedDurationMs ?? opts.baseline?.durationMs ?? 30_000;
    const faulting = (async () => {
      for (const fault of plan.faults) faults.push(await strike(world, workers, handle, fault, started, expectedMs));
    })();
    const closed = await waitClosed(handle, started + (opts.completionTimeoutMs ?? 240_000));
    ended = Date.now();
    await faulting;
    if (closed) {
      report = await retry(() => handle.result() as Promise<RunReport>, 60_000);
      status = report.status;
      reason = report.reason;
    } else {
      status = 'did not finish';
      const progress = await retry(
        () =>
          world.client.workflow.getHandle(sub.workflowId).query('status') as Promise<{
            status: string;
            escalations: string[];
            tasks: { key: string; status: string }[];
          }>,
        20_000,
      ).catch(() => null);
      reason = progress
        ? `still ${progress.status}; tasks ${progress.tasks.map((t) => `${t.key} ${t.status}`).join(', ')}${progress.escalations.length ? `; escalations: ${progress.escalations.join(' | ')}` : ''}`
        : 'no answer to the status query';
      await handle.terminate('chaos trial over its time').catch(() => {});
    }
  } catch (err) {
    status = 'error';
    reason = (err as Error).message.split('\n').slice(0, 3).join(' ');
  } finally {
    await Promise.all([...workers.values()].map((w) => w.stop()));
    for (const w of workers.values()) notes.push(...w.selfExits);
    logFile.end();
  }
  const durationMs = (ended || Date.now()) - started;

  const db = createDb(databaseUrl, 2);
  let counted: Counted = { counts: {}, failedCalls: 0, repeats: {} };
  try {
    if (runId) counted = await countRows(db, runId);
    if (runId && report) notes.push(...(await stateMismatches(db, runId, report)));
  } finally {
    await db.destroy();
  }
  const shape = report ? runShape(report) : null;
  const baseline = opts.baseline ?? null;
  let expected: Record<string, number>;
  let flowChanged: string | null = null;
  if (baseline && shape === baseline.shape) {
    expected = baseline.counted.counts;
  } else {
    if (baseline && shape) flowChanged = describeFlowChange(baseline.shape, shape);
    expected = report ? expectedFromReport(report, counted.counts) : {};
  }
  const lost: Record<string, number> = {};
  const duplicated: Record<string, number> = {};
  const byBaseline = baseline !== null && flowChanged === null && shape !== null;
  for (const key of new Set([...Object.keys(expected), ...Object.keys(counted.counts)])) {
    if (!byBaseline && !(key in expected)) continue; // the report alone does not say
    const diff = (counted.counts[key] ?? 0) - (expected[key] ?? 0);
    if (diff < 0) lost[key] = -diff;
    if (diff > 0) duplicated[key] = diff;
  }
  for (const [key, n] of Object.entries(counted.repeats)) duplicated[`${key} (repeated)`] = n;
  const ok =
    status === 'completed' &&
    total(lost) === 0 &&
    total(duplicated) === 0 &&
    flowChanged === null &&
    notes.length === 0 &&
    faults.every((f) => !f.error);
  return {
    plan,
    runId,
    status,
    reason,
    durationMs,
    faults,
    expected,
    actual: counted.counts,
    lost,
    duplicated,
    failedCalls: counted.failedCalls,
    shape,
    flowChanged,
    notes,
    logFile: logPath,
    ok,
    expectedRows: baseline ? total(baseline.counted.counts) : total(expected),
  };
}

/** An undisturbed run of a PRD: how long it takes, which way it goes, and its rows. */
export async function runBaseline(world: ChaosWorld, prd: PrdKind, opts: { completionTimeoutMs?: number } = {}): Promise<Baseline> {
  const result = await runTrial(world, { trial: 0, prd, faults: [] }, { completionTimeoutMs: opts.completionTimeoutMs });
  if (result.status !== 'completed' || !result.ok) {
    throw new Error(
      `the undisturbed ${prd} run did not complete cleanly (${result.status}: ${result.reason ?? ''}; lost ${JSON.stringify(result.lost)}, duplicated ${JSON.stringify(result.duplicated)})`,
    );
  }
  return {
    prd,
    durationMs: result.durationMs,
    shape: result.shape!,
    counted: { counts: result.actual, failedCalls: result.failedCalls, repeats: {} },
  };
}

async function strike(
  world: ChaosWorld,
  workers: Map<WorkerKind, WorkerProcess>,
  handle: WorkflowHandle,
  fault: Fault,
  started: number,
  expectedMs: number,
): Promise<FaultOutcome> {
  await sleep(Math.max(0, started + fault.at * expectedMs - Date.now()));
  if (await isClosed(handle)) return { fault, atMs: null, during: [], outageMs: 0 };
  const isWorker = (WORKER_KINDS as readonly string[]).includes(fault.target);
  const worker = isWorker ? workers.get(fault.target as WorkerKind) : undefined;
  if (isWorker && !worker)
    return { fault, atMs: null, during: [], outageMs: 0, error: `no ${fault.target} worker in a ${[...workers.keys()].join(', ')} world` };
  const kind = fault.during ?? (worker ? queueKind(worker.kind) : null);
  let during = await inFlight(world.client, handle);
  // A kill of an activity worker waits a few seconds for one of its activities to be running,
  // so that most kills land in the middle of one rather than between them (`during` likewise).
  // Governance activities last milliseconds: seldom seen running, so not waited for long.
  const armMs = fault.during ? 30_000 : kind === 'governance' ? 2_000 : 8_000;
  for (const until = Date.now() + armMs; kind && !during.some((a) => kindOfActivity(a.type) === kind) && Date.now() < until;) {
    await sleep(150);
    if (await isClosed(handle)) return { fault, atMs: null, during: [], outageMs: 0 };
    during = await inFlight(world.client, handle);
  }
  const atMs = Date.now() - started;
  const shown = (kind ? during.filter((a) => kindOfActivity(a.type) === kind) : during).map((a) =>
    a.task ? `${a.type}@${a.task}` : a.type,
  );
  const t = Date.now();
  try {
    if (worker) {
      const pid = worker.pid;
      await worker.kill9();
      await sleep(fault.downMs);
      await worker.start();
      return { fault, atMs, during: shown, pid, outageMs: Date.now() - t };
    }
    if (fault.target === 'postgres') await world.restartPostgres(fault.downMs);
    else await world.restartTemporal(fault.downMs);
    return { fault, atMs, during: shown, outageMs: Date.now() - t };
  } catch (err) {
    return { fault, atMs, during: shown, outageMs: Date.now() - t, error: (err as Error).message.split('\n')[0] };
  }
}

/** Activities started right now in the run and its task workflows. */
async function inFlight(client: Client, handle: WorkflowHandle): Promise<{ type: string; task: string | null }[]> {
  try {
    const run = await handle.describe();
    const found: { type: string; task: string | null }[] = [];
    const collect = (raw: typeof run.raw, task: string | null) => {
      for (const a of raw.pendingActivities ?? [])
        if (a.state === 2 && a.activityType?.name) found.push({ type: a.activityType.name, task });
    };
    collect(run.raw, null);
    for (const child of run.raw.pendingChildren ?? []) {
      if (!child.workflowId) continue;
      const d = await client.workflow.getHandle(child.workflowId).describe();
      collect(d.raw, /task-([^.]+)$/.exec(child.workflowId)?.[1] ?? child.workflowId);
    }
    return found;
  } catch {
    return []; // Temporal is restarting: nothing known
  }
}

async function isClosed(handle: WorkflowHandle): Promise<boolean> {
  try {
    return (await handle.describe()).status.name !== 'RUNNING';
  } catch {
    return false;
  }
}

async function waitClosed(handle: WorkflowHandle, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    if (await isClosed(handle)) return true;
    await sleep(1_000);
  }
  return false;
}

async function retry<T>(fn: () => Promise<T>, forMs: number): Promise<T> {
  const deadline = Date.now() + forMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientTemporalError(err) || Date.now() > deadline) throw err;
      await sleep(1_000);
    }
  }
}

// ---- counting -------------------------------------------------------------------------------------

/** Every governance row of a run, by table and kind; and rows that say again what another says. */
export async function countRows(db: Db, runId: string): Promise<Counted> {
  const counts: Record<string, number> = {};
  const add = (key: string, n: unknown) => (counts[key] = (counts[key] ?? 0) + Number(n));
  const one = async (
    table: 'orchestra_runs' | 'task_queue' | 'audit_verdicts' | 'scores' | 'director_actions' | 'agent_activity_logs',
    column: 'id' | 'run_id',
  ) =>
    add(
      table,
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where(column, '=', runId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  await one('orchestra_runs', 'id');
  for (const table of ['task_queue', 'audit_verdicts', 'scores', 'director_actions', 'agent_activity_logs'] as const)
    await one(table, 'run_id');
  const grouped = async (q: Promise<{ k: string | null; n: unknown }[]>, prefix: string) => {
    for (const row of await q) add(`${prefix}.${row.k ?? '-'}`, row.n);
  };
  await grouped(
    db
      .selectFrom('model_runs')
      .select(['kind as k', (eb) => eb.fn.countAll().as('n')])
      .where('run_id', '=', runId)
      .where('error', 'is', null)
      .groupBy('kind')
      .execute(),
    'model_runs',
  );
  await grouped(
    db
      .selectFrom('verifications')
      .select(['kind as k', (eb) => eb.fn.countAll().as('n')])
      .where('run_id', '=', runId)
      .groupBy('kind')
      .execute(),
    'verifications',
  );
  await grouped(
    db
      .selectFrom('incidents')
      .select(['violation as k', (eb) => eb.fn.countAll().as('n')])
      .where('run_id', '=', runId)
      .groupBy('violation')
      .execute(),
    'incidents',
  );
  await grouped(
    db
      .selectFrom('disciplinary_actions')
      .select(['action as k', (eb) => eb.fn.countAll().as('n')])
      .where('run_id', '=', runId)
      .groupBy('action')
      .execute(),
    'disciplinary_actions',
  );
  await grouped(
    db
      .selectFrom('audit_events')
      .select(['action as k', (eb) => eb.fn.countAll().as('n')])
      .where('run_id', '=', runId)
      .groupBy('action')
      .execute(),
    'audit_events',
  );
  const failedCalls = Number(
    (
      await db
        .selectFrom('model_runs')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('run_id', '=', runId)
        .where('error', 'is not', null)
        .executeTakeFirstOrThrow()
    ).n,
  );

  // Rows that must be one per thing: the extra ones, per check.
  const repeats: Record<string, number> = {};
  const extra = async (label: string, query: string) => {
    const { rows } = await sql<{ extra: string | null }>`SELECT sum(n - 1) AS extra FROM (${sql.raw(query)}) AS g WHERE n > 1`.execute(db);
    const n = Number(rows[0]?.extra ?? 0);
    if (n > 0) repeats[label] = n;
  };
  const run = `'${runId.replace(/'/g, "''")}'`;
  await extra('audit_verdicts per attempt', `SELECT count(*) AS n FROM audit_verdicts WHERE run_id = ${run} GROUP BY task_id, employee_id`);
  await extra('scores per attempt', `SELECT count(*) AS n FROM scores WHERE run_id = ${run} GROUP BY task_id, employee_id`);
  await extra(
    'model_runs per task round',
    `SELECT count(*) AS n FROM model_runs WHERE run_id = ${run} AND kind = 'task' AND error IS NULL GROUP BY task_id, employee_id, task_attempt, round`,
  );
  await extra(
    'incidents per verdict and violation',
    `SELECT count(*) AS n FROM incidents WHERE run_id = ${run} AND verdict_id IS NOT NULL GROUP BY verdict_id, violation, message`,
  );
  await extra(
    'disciplinary_actions per incident',
    `SELECT count(*) AS n FROM disciplinary_actions WHERE run_id = ${run} AND incident_id IS NOT NULL GROUP BY incident_id`,
  );
  await extra(
    'verifications per model run',
    `SELECT count(*) AS n FROM verifications WHERE run_id = ${run} AND kind = 'task' GROUP BY model_run_id`,
  );
  await extra('task_queue per task', `SELECT count(*) AS n FROM task_queue WHERE run_id = ${run} GROUP BY task_key, generation`);
  await extra(
    'run.started/run.completed events',
    `SELECT count(*) AS n FROM audit_events WHERE run_id = ${run} AND action IN ('run.started', 'run.completed') GROUP BY action`,
  );
  await extra('agent_activity_logs per model run', `SELECT count(*) AS n FROM agent_activity_logs WHERE run_id = ${run} GROUP BY message`);
  return { counts, failedCalls, repeats };
}

/** The run's and its tasks' rows must end in the state the report gives them. */
async function stateMismatches(db: Db, runId: string, report: RunReport): Promise<string[]> {
  const out: string[] = [];
  const run = await db.selectFrom('orchestra_runs').select(['status', 'finished_at', 'report']).where('id', '=', runId).executeTakeFirst();
  if (!run) return ['no orchestra_runs row'];
  if (run.status !== report.status) out.push(`orchestra_runs.status is ${run.status}, the report says ${report.status}`);
  if (run.finished_at === null) out.push('orchestra_runs.finished_at is not set');
  if ((run.report as RunReport | null)?.status !== report.status) out.push('orchestra_runs.report is not the final report');
  const tasks = await db
    .selectFrom('task_queue')
    .select(['task_key', 'status', 'assigned_agent', 'accepted_model_run_id'])
    .where('run_id', '=', runId)
    .execute();
  for (const t of report.tasks) {
    const row = tasks.find((r) => r.task_key === t.taskKey);
    if (!row) out.push(`no task_queue row for ${t.taskKey}`);
    else if (
      row.status !== t.status ||
      (t.status === 'accepted' && (row.assigned_agent !== t.acceptedBy || row.accepted_model_run_id !== t.acceptedModelRunId))
    ) {
      out.push(
        `task_queue ${t.taskKey} is ${row.status} by ${row.assigned_agent ?? '-'}, the report says ${t.status} by ${t.acceptedBy ?? '-'}`,
      );
    }
  }
  return out;
}

/** Which way a run went, from its report: what must match the undisturbed run. */
export function runShape(report: RunReport): string {
  return JSON.stringify({
    status: report.status,
    tasks: report.tasks.map((t) => ({
      task: t.taskKey,
      status: t.status,
      acceptedBy: t.acceptedBy,
      attempts: t.attempts.map(
        (a) =>
          `${a.employeeId} rounds=${a.rounds ?? 1} ${a.clean ? 'clean' : a.violations.map((v) => v.type).join('+')} hr=${a.hrActions.join('+') || '-'}`,
      ),
    })),
    reassignments: report.reassignments,
    incidents: report.incidents,
    repairRounds: report.repairRounds ?? 0,
    verificationRepairs: report.verificationRepairs ?? 0,
    verification: report.verification?.passed ?? null,
  });
}

function describeFlowChange(baseline: string, actual: string): string {
  const a = JSON.parse(baseline) as { tasks: { task: string; attempts: string[] }[] } & Record<string, unknown>;
  const b = JSON.parse(actual) as { tasks: { task: string; attempts: string[] }[] } & Record<string, unknown>;
  for (const t of b.tasks) {
    const base = a.tasks.find((x) => x.task === t.task);
    if (JSON.stringify(base) !== JSON.stringify(t))
      return `${t.task}: ${t.attempts.join(' | ')} (undisturbed: ${base ? base.attempts.join(' | ') : 'no such task'})`;
  }
  for (const key of Object.keys(b))
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key]))
      return `${key}: ${JSON.stringify(b[key])} (undisturbed: ${JSON.stringify(a[key])})`;
  return 'tasks differ';
}

/** What the run's own report says its rows must be (when it went another way than the undisturbed run). */
function expectedFromReport(report: RunReport, actual: Record<string, number>): Record<string, number> {
  const attempts = report.tasks.flatMap((t) => t.attempts);
  const expected: Record<string, number> = {
    orchestra_runs: 1,
    task_queue: report.tasks.length,
    audit_verdicts: attempts.length,
    scores: attempts.filter((a) => a.score !== null).length,
    'model_runs.task': attempts.filter((a) => a.modelRunId !== null).reduce((n, a) => n + (a.rounds ?? 1), 0),
    'verifications.task': attempts.filter((a) => a.modelRunId !== null).reduce((n, a) => n + (a.rounds ?? 1), 0),
    'incidents.infrastructure': 0,
    'audit_events.run.started': 1,
    [`audit_events.run.${report.status}`]: 1,
    'audit_events.task.accepted': report.tasks.filter((t) => t.status === 'accepted').length,
    'audit_events.score.recorded': attempts.filter((a) => a.score !== null).length,
  };
  for (const a of attempts) for (const v of a.violations) expected[`incidents.${v.type}`] = (expected[`incidents.${v.type}`] ?? 0) + 1;
  // Every answered call is logged once, whatever way the run went.
  expected.agent_activity_logs = (actual['model_runs.plan'] ?? 0) + (actual['model_runs.task'] ?? 0) + (actual['model_runs.review'] ?? 0);
  return expected;
}

// ---- printing -------------------------------------------------------------------------------------

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export function describeFault(f: FaultOutcome): string {
  const what =
    f.fault.target === 'postgres'
      ? 'PostgreSQL restart'
      : f.fault.target === 'temporal'
        ? 'Temporal restart'
        : `kill -9 ${f.fault.target}${f.pid ? ` (pid ${f.pid})` : ''}`;
  if (f.atMs === null && f.error) return `${what}: FAILED: ${f.error}`;
  if (f.atMs === null) return `${what}: not done, the run had ended before ${Math.round(f.fault.at * 100)}% of its usual time`;
  const during = f.during.length ? `during ${[...new Set(f.during)].join(', ')}` : 'between activities';
  return `${what} at ${secs(f.atMs)} ${during}; down ${secs(f.fault.downMs)}, back after ${secs(f.outageMs)}${f.error ? `; FAILED: ${f.error}` : ''}`;
}

export const TABLE_HEADER =
  ' #  prd       faults                               status         run    rows (got/expected)  lost  dup  failed calls';

/** One line per trial, then a line per fault and per finding. */
export function formatTrial(r: TrialResult): string {
  const targets = r.plan.faults
    .map((f) => (f.target === 'postgres' ? 'pg-restart' : f.target === 'temporal' ? 'temporal-restart' : `kill ${f.target}`))
    .join(' + ');
  const rows = `${total(r.actual)}/${r.expectedRows}`;
  const line = `${String(r.plan.trial).padStart(2)}  ${r.plan.prd.padEnd(8)}  ${targets.padEnd(35)}  ${r.status.padEnd(13)} ${secs(r.durationMs).padStart(6)}  ${rows.padStart(19)}  ${String(total(r.lost)).padStart(4)} ${String(total(r.duplicated)).padStart(4)}  ${String(r.failedCalls).padStart(4)}${r.ok ? '' : '   << FAIL'}`;
  const details = [
    ...r.faults.map((f) => `      - ${describeFault(f)}`),
    ...(r.status !== 'completed' ? [`      ! run ${r.runId ?? '-'}: ${r.status}${r.reason ? `: ${r.reason}` : ''}`] : []),
    ...(r.flowChanged ? [`      ! went another way than the undisturbed run: ${r.flowChanged}`] : []),
    ...Object.entries(r.lost).map(([k, n]) => `      ! lost ${n} ${k} (got ${r.actual[k] ?? 0}, expected ${r.expected[k] ?? 0})`),
    ...Object.entries(r.duplicated).map(
      ([k, n]) => `      ! ${n} more ${k} than expected (got ${r.actual[k] ?? n}, expected ${r.expected[k] ?? 0})`,
    ),
    ...r.notes.map((n) => `      ! ${n}`),
    ...(r.ok ? [] : [`      workers' output: ${r.logFile}`]),
  ];
  return [line, ...details].join('\n');
}

export interface ChaosTotals {
  trials: number;
  completed: number;
  /** Faults struck, and faults whose run had ended before their time. */
  faults: number;
  missed: number;
  lost: number;
  duplicated: number;
  flowChanges: number;
  failedFaults: number;
  ok: boolean;
}

export function totals(results: TrialResult[]): ChaosTotals {
  const t = {
    trials: results.length,
    completed: results.filter((r) => r.status === 'completed').length,
    faults: results.reduce((n, r) => n + r.faults.filter((f) => f.atMs !== null).length, 0),
    missed: results.reduce((n, r) => n + r.faults.filter((f) => f.atMs === null && !f.error).length, 0),
    lost: results.reduce((n, r) => n + total(r.lost), 0),
    duplicated: results.reduce((n, r) => n + total(r.duplicated), 0),
    flowChanges: results.filter((r) => r.flowChanged !== null).length,
    failedFaults: results.reduce((n, r) => n + r.faults.filter((f) => f.error).length, 0),
  };
  return { ...t, ok: results.every((r) => r.ok) };
}

export function formatTotals(t: ChaosTotals): string {
  return `runs completed ${t.completed}/${t.trials}; faults injected ${t.faults}${t.missed ? ` (${t.missed} more fell after their run had ended)` : ''}; lost rows ${t.lost}; duplicated rows ${t.duplicated}; runs that went another way ${t.flowChanges}${t.failedFaults ? `; faults that could not be injected ${t.failedFaults}` : ''} — ${t.ok ? 'OK' : 'FAILED'}`;
}
