/**
 * The Manager's workflows on a real Temporal dev server, with every other role replaced by a
 * stub: plain functions registered on the queues the workflows call (governance, sandbox, one
 * employee provider). No database, no model, no sandbox — the workflows' decisions alone.
 *
 * Each test gives its stubs (defaults: a planner and a coder, a valid plan, every check clean)
 * and reads back what the workflows asked of them, in order.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { AccountantActivities } from '../../activities/accountant/index.js';
import type { AuditorActivities } from '../../activities/auditor/index.js';
import type { EmployeeActivities } from '../../activities/employees/index.js';
import type { HrActivities } from '../../activities/hr/index.js';
import type { LedgerActivities } from '../../activities/ledger/index.js';
import type { SandboxActivities } from '../../activities/sandbox/index.js';
import { failure } from '../../errors/index.js';
import type { VerificationResult } from '../../governance/audit-rules.js';
import type { Plan } from '../../governance/schemas.js';
import type { EmployeeSnapshot, PrdRunInput, RunOptions, RunProgress, ViolationType, Violation } from '../../governance/types.js';
import { QUEUES, SEARCH_ATTRIBUTES, statusQuery } from '../../workflows/definitions.js';
import type { prdRun } from '../../workflows/prd-run.js';
import { installSdkLogger } from '../../workers/logging.js';
import type { RefusedCommand } from '../../workflows/director-identity.js';

/** The one employee provider of the stub world: its queue is `aura-employee-stub`. */
export const STUB_PROVIDER = 'stub';

type GovernanceStubs = Pick<
  LedgerActivities,
  | 'recordRunStarted'
  | 'runUsage'
  | 'recordEvent'
  | 'recordRunStatus'
  | 'recordPlan'
  | 'recordDirectorAction'
  | 'identifyDirector'
  | 'recordTaskStatus'
  | 'recordInfrastructureIncident'
  | 'closeOpenTasks'
  | 'recordRepairTask'
  | 'recordFrozenTests'
> &
  Pick<AuditorActivities, 'inspectRound' | 'auditAttempt'> &
  Pick<HrActivities, 'applyPolicy' | 'endExpiredSuspensions'> &
  Pick<AccountantActivities, 'employeeRoster' | 'scoreAttempt'>;
type SandboxStubs = Pick<SandboxActivities, 'verifyTaskOutput' | 'verifyWorkspace' | 'exportWorkspace' | 'verifyTests'>;
type EmployeeStubs = Pick<EmployeeActivities, 'planWithEmployee' | 'performTask' | 'reviewOutput' | 'writeTests' | 'answerDispute'>;

/** Every activity the Manager's workflows call, by name. */
export type StubActivities = GovernanceStubs & SandboxStubs & EmployeeStubs;
export type ActivityName = keyof StubActivities;
export type InputOf<K extends ActivityName> = Parameters<StubActivities[K]>[0];

const GOVERNANCE: (keyof GovernanceStubs)[] = [
  'recordRunStarted',
  'runUsage',
  'recordEvent',
  'recordRunStatus',
  'recordPlan',
  'recordDirectorAction',
  'identifyDirector',
  'recordTaskStatus',
  'recordInfrastructureIncident',
  'closeOpenTasks',
  'recordRepairTask',
  'recordFrozenTests',
  'inspectRound',
  'auditAttempt',
  'applyPolicy',
  'endExpiredSuspensions',
  'employeeRoster',
  'scoreAttempt',
];
const SANDBOX: (keyof SandboxStubs)[] = ['verifyTaskOutput', 'verifyWorkspace', 'exportWorkspace', 'verifyTests'];
const EMPLOYEE: (keyof EmployeeStubs)[] = ['planWithEmployee', 'performTask', 'reviewOutput', 'writeTests', 'answerDispute'];

// ---- Building blocks for stubs ----

export function employee(id: string, capabilities: string[], extra: Partial<EmployeeSnapshot> = {}): EmployeeSnapshot {
  return { id, provider: STUB_PROVIDER, model: `model-${id}`, capabilities, status: 'active', reputation: 60, ...extra };
}

/** A planner and one coder: enough for any plan of coder tasks. */
export const DEFAULT_ROSTER: EmployeeSnapshot[] = [employee('planner-1', ['planner'], { reputation: 70 }), employee('coder-1', ['coder'])];

/** A plan that passes the plan rules: each task writes under its own folder and runs its own tests. */
export function planOf(tasks: { id: string; dependsOn?: string[] }[]): Plan {
  return {
    summary: 'a plan for the stub world',
    tasks: tasks.map((t) => ({
      id: t.id,
      title: `Part ${t.id}`,
      instructions: `Write part ${t.id} with its tests.`,
      capability: 'coder',
      scope: [`src/${t.id.toLowerCase()}/**`],
      dependsOn: t.dependsOn ?? [],
      allowedDependencies: [],
      acceptance: { command: `node --test src/${t.id.toLowerCase()}`, timeoutMs: 60_000 },
      timeLimitMs: 120_000,
    })),
    verification: { command: 'node --test', timeoutMs: 60_000 },
  };
}

export function passed(): VerificationResult & { isolation: string[] } {
  return {
    ran: true,
    passed: true,
    exitCode: 0,
    timedOut: false,
    durationMs: 5,
    excerpt: 'ok',
    skippedReason: null,
    refusedPaths: [],
    isolation: ['stub'],
  };
}

export function violation(type: ViolationType, message: string): Violation {
  return { type, message, evidence: { excerpt: message, sha256: '0'.repeat(64) } };
}

const unreleased = new Set<() => void>();

/**
 * A promise the test resolves when it wants a stub to go on. One a failed test left
 * unresolved is resolved when the test is cleaned up, so no stub stays blocked.
 */
export function deferred(): { promise: Promise<void>; resolve(): void } {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  const resolve = () => {
    unreleased.delete(resolve);
    release();
  };
  unreleased.add(resolve);
  return { promise, resolve };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- Stubs with defaults, and the record of what was asked of them ----

export interface StubCall {
  seq: number;
  name: ActivityName;
  input: unknown;
  at: number;
}

export interface Stubs {
  readonly activities: StubActivities;
  /** Every call, in the order the workers received them. */
  readonly log: StubCall[];
  /** Activities the workflows called that have no stub (each call fails, visibly). */
  readonly unknownCalls: string[];
  /** The inputs of one activity's calls, in order. */
  calls<K extends ActivityName>(name: K): InputOf<K>[];
  /** The run statuses the Manager recorded, in order. */
  runStatuses(): string[];
  /** The Director's actions as recorded: [action, director, reason]. */
  directorActions(): [string, string, string][];
  /** One task's recorded statuses, in order. */
  taskStatuses(taskKey: string): string[];
  /** Director Updates refused by a run (the worker's sink): [command, refusal]. */
  readonly refusals: [string, string][];
}

/** The defaults: a planner that plans `plan` (one task T1 if none), a coder whose work always passes. */
export function createStubs(overrides: Partial<StubActivities> = {}, opts: { roster?: EmployeeSnapshot[]; plan?: Plan } = {}): Stubs {
  const roster = opts.roster ?? DEFAULT_ROSTER;
  const plan = opts.plan ?? planOf([{ id: 'T1' }]);
  let modelRuns = 0;
  const defaults: StubActivities = {
    recordRunStarted: async () => ({ defaultBudget: null, independentTests: false }),
    runUsage: async () => ({ calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, byEmployee: [] }),
    recordEvent: async () => {},
    recordRunStatus: async () => {},
    recordPlan: async () => {},
    recordDirectorAction: async () => {},
    // The stub world's commands come from the test itself: taken as authenticated.
    identifyDirector: async (c) => ({ by: String((c.args[0] as { by?: unknown }).by), authenticated: true }),
    recordTaskStatus: async () => {},
    recordInfrastructureIncident: async () => {},
    closeOpenTasks: async () => [],
    recordRepairTask: async () => {},
    recordFrozenTests: async (r) => ({ modelRunId: r.modelRunId, testerId: r.testerId, version: r.version, files: [] }),
    inspectRound: async () => ({ repairable: false, findings: [] }),
    auditAttempt: async () => ({ verdictId: randomUUID(), clean: true, violations: [] }),
    applyPolicy: async () => ({ actions: ['WARNING'], statusBefore: 'active', statusAfter: 'active', enforced: true }),
    endExpiredSuspensions: async () => [],
    employeeRoster: async () => roster,
    scoreAttempt: async (r) => ({ score: r.accepted ? 90 : 20, reputationBefore: 60, reputationAfter: r.accepted ? 62 : 55 }),
    verifyTaskOutput: async () => passed(),
    verifyWorkspace: async () => passed(),
    // A tester's tests before any code: they fail (red), as they must.
    verifyTests: async () => ({ ...passed(), passed: false, exitCode: 1, excerpt: 'not ok 1' }),
    exportWorkspace: async (r) => ({ dir: `/stub/workspaces/${r.runId}`, files: 0 }),
    planWithEmployee: async () => ({ modelRunId: `plan-${++modelRuns}`, plan, parseError: null }),
    performTask: async (r) => ({ modelRunId: `mr-${r.task.id}-${r.attempt ?? 1}-${r.round ?? 1}`, summary: 'done', outputChars: 10 }),
    writeTests: async (r) => ({ modelRunId: `tests-${r.task.id}-${r.attempt}-${r.round}`, summary: 'tests', outputChars: 10 }),
    answerDispute: async (r) => ({ modelRunId: `dispute-${++modelRuns}`, decision: 'reject', reason: 'the tests stand', files: [] }),
    reviewOutput: async (r) => ({ reviewerId: r.employeeId, modelRunId: `review-${++modelRuns}`, verdict: 'approve', comments: '' }),
  };
  const impl = { ...defaults, ...overrides };
  const log: StubCall[] = [];
  const activities = {} as Record<ActivityName, (input: unknown) => Promise<unknown>>;
  for (const name of Object.keys(impl) as ActivityName[]) {
    const fn = impl[name] as (input: unknown) => Promise<unknown>;
    activities[name] = (input: unknown) => {
      log.push({ seq: log.length, name, input, at: Date.now() });
      return fn(input);
    };
  }
  const calls = <K extends ActivityName>(name: K) => log.filter((c) => c.name === name).map((c) => c.input as InputOf<K>);
  return {
    activities: activities as unknown as StubActivities,
    log,
    unknownCalls: [],
    refusals: [],
    calls,
    runStatuses: () => calls('recordRunStatus').map((s) => s.status),
    directorActions: () => calls('recordDirectorAction').map((a) => [a.action, a.director, a.reason]),
    taskStatuses: (taskKey) =>
      calls('recordTaskStatus')
        .filter((t) => t.taskKey === taskKey)
        .map((t) => t.status),
  };
}

// ---- The world: a dev server, and workers on every queue the workflows use ----

export interface StubRun {
  runId: string;
  workflowId: string;
  handle: WorkflowHandle<typeof prdRun>;
  status(): Promise<RunProgress>;
}

export interface StubWorld {
  env: TestWorkflowEnvironment;
  /** Puts these stubs behind the workers (until the next call) and returns them. */
  use(overrides?: Partial<StubActivities>, opts?: { roster?: EmployeeSnapshot[]; plan?: Plan }): Stubs;
  startRun(options?: RunOptions, input?: Partial<PrdRunInput>): Promise<StubRun>;
  /** Terminates whatever the last test left running. */
  cleanUp(): Promise<void>;
  teardown(): Promise<void>;
}

export async function startStubWorld(): Promise<StubWorld> {
  installSdkLogger('ERROR');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: inject('temporalCli') },
      ip: '127.0.0.1',
      namespace: 'default',
      ui: false,
      searchAttributes: Object.values(SEARCH_ATTRIBUTES),
      log: { format: 'pretty', level: 'error' },
    },
  });
  let current: Stubs = createStubs();
  // An activity the workflows call that has no stub fails at once, by name (never retried for
  // minutes): the test then shows what the stub world is missing.
  const unknown = async () => {
    const name = Context.current().info.activityType;
    current.unknownCalls.push(name);
    throw failure('StubMissing', `no stub for activity ${name}: add it to test/helpers/stub-activities.ts`);
  };
  const dispatch = (names: ActivityName[]) => ({
    ...Object.fromEntries(
      names.map((name) => [name, (input: unknown) => (current.activities[name] as (i: unknown) => Promise<unknown>)(input)]),
    ),
    default: unknown,
  });
  // A stub a failed test left blocked must not hold the teardown: shutdown is forced after a while.
  const common = { connection: env.nativeConnection, namespace: 'default', shutdownGraceTime: '1s', shutdownForceTime: '5s' };
  const workers = await Promise.all([
    Worker.create({
      ...common,
      taskQueue: QUEUES.manager,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      // Refused Director Updates, which production records (workers/director-refusals.ts).
      sinks: {
        director: {
          refused: {
            callDuringReplay: false,
            fn: (_info: unknown, r: RefusedCommand) => {
              const arg = (r.args?.[0] ?? {}) as { kind?: unknown };
              current.refusals.push([typeof arg.kind === 'string' ? arg.kind : r.update, r.refusal]);
            },
          },
        },
      },
    }),
    Worker.create({ ...common, taskQueue: QUEUES.governance, activities: dispatch(GOVERNANCE) }),
    Worker.create({ ...common, taskQueue: QUEUES.sandbox, activities: dispatch(SANDBOX) }),
    Worker.create({
      ...common,
      taskQueue: QUEUES.employee(STUB_PROVIDER),
      activities: dispatch(EMPLOYEE),
      maxConcurrentActivityTaskExecutions: 20,
    }),
  ]);
  const running = workers.map((w) => w.run());
  let started: WorkflowHandle[] = [];

  return {
    env,
    use(overrides = {}, opts = {}) {
      current = createStubs(overrides, opts);
      return current;
    },
    async startRun(options = {}, input = {}) {
      const runId = randomUUID();
      const workflowId = `stub-run-${runId}`;
      const handle = await env.client.workflow.start<typeof prdRun>('prdRun', {
        taskQueue: QUEUES.manager,
        workflowId,
        args: [
          {
            prd: '# A small tool\nIt does one thing well.',
            project: 'stub-world',
            runId,
            options: { director: 'dana', ...options },
            ...input,
          },
        ],
      });
      started.push(handle);
      return { runId, workflowId, handle, status: () => handle.query(statusQuery) };
    },
    async cleanUp() {
      const handles = started;
      started = [];
      for (const release of [...unreleased]) release();
      await Promise.all(handles.map((h) => h.terminate('test over').catch(() => undefined)));
      if (current.unknownCalls.length > 0)
        throw new Error(`the workflows called activities that have no stub: ${[...new Set(current.unknownCalls)].join(', ')}`);
    },
    async teardown() {
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      await env.teardown();
    },
  };
}

// ---- Waiting and reading answers ----

/** Polls `fn` until it returns something truthy. */
export async function until<T>(
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(50);
  }
}

/** The reason an Update was refused (its validator's message); fails when it was accepted. */
export async function refusal(update: Promise<unknown>): Promise<string> {
  try {
    await update;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return err.cause?.message ?? err.message;
    throw err;
  }
  throw new Error('the Update was accepted; a refusal was expected');
}

/**
 * A stub world for one test file: started before its tests, cleaned up after each (leftover
 * runs terminated, blocked stubs released), torn down at the end.
 */
export function useStubWorld(): StubWorld {
  let current: StubWorld | undefined;
  beforeAll(async () => {
    current = await startStubWorld();
  });
  afterEach(async () => {
    await current?.cleanUp();
  });
  afterAll(async () => {
    await current?.teardown();
  });
  return new Proxy({} as StubWorld, {
    get: (_target, key) => {
      if (!current) throw new Error('the stub world is not started yet (use it inside a test)');
      return current[key as keyof StubWorld];
    },
  });
}
