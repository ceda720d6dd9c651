/**
 * Builds the worker for one task queue with its activities' dependencies. Used by every
 * entry in this folder and by the tests, so what is tested is what runs.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import type { AuraConfig } from '../config/config.js';
import { ConfigError } from '../errors/index.js';
import type { Db } from '../db/connect.js';
import { createAccountantActivities } from '../activities/accountant/index.js';
import { createAuditorActivities } from '../activities/auditor/index.js';
import { createEmployeeActivities } from '../activities/employees/index.js';
import { createScriptedProvider } from '../activities/employees/scripted.js';
import { createOpenAiCompatibleProvider } from '../activities/employees/openai.js';
import { createOllamaProvider } from '../activities/employees/ollama.js';
import { loadRegistry } from '../config/employee-registry.js';
import type { EmployeeProvider } from '../activities/employees/provider.js';
import { createHrActivities } from '../activities/hr/index.js';
import { createLedgerActivities } from '../activities/ledger/index.js';
import { createSandboxActivities } from '../activities/sandbox/index.js';
import { createRetentionActivities } from '../activities/retention/index.js';
import { startCheckpointer } from '../integrity/checkpointer.js';
import { loadOrCreateSigningKey, type SigningKey } from '../integrity/signing.js';
import { isolationSupport, sandboxMode } from '../activities/sandbox/isolation-probe.js';
import { CURRENT_HR_POLICY } from '../governance/hr-policy.js';
import { QUEUES } from '../workflows/definitions.js';
import { directorSinks } from './director-refusals.js';

/** `manager`, `governance`, `sandbox`, or `employee:<provider>`. */
export type QueueRole = 'manager' | 'governance' | 'sandbox' | `employee:${string}`;

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  db: Db;
  config: AuraConfig;
  /** A pre-built workflow bundle (tests build it once); otherwise workflows/ is bundled at start. */
  workflowBundle?: { codePath: string };
}

export const WORKFLOWS_PATH = join(new URL('..', import.meta.url).pathname, 'workflows', 'index.ts');
/** Interceptors every workflow runs with (bundled with the workflows). */
export const WORKFLOW_INTERCEPTOR_MODULES = [join(new URL('..', import.meta.url).pathname, 'workflows', 'director-identity.ts')];

/**
 * The workflow bundle written to `file`, for workers started later (AURA_WORKFLOW_BUNDLE): the
 * tests and the chaos harness build it once instead of once per worker process.
 */
export async function buildWorkflowBundle(file: string): Promise<string> {
  const bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  await writeFile(file, bundle.code);
  return file;
}

export const KNOWN_PROVIDERS = ['scripted', 'openai', 'gemini', 'ollama'] as const;

export function employeeProvider(name: string, config: AuraConfig): EmployeeProvider {
  const p = config.providers;
  switch (name) {
    case 'scripted':
      return createScriptedProvider(config.scriptFile);
    case 'openai':
      if (!p.openaiApiKey) throw new ConfigError(['provider openai is enabled but OPENAI_API_KEY is not set']);
      return createOpenAiCompatibleProvider({ name: 'openai', apiKey: p.openaiApiKey, baseUrl: p.openaiBaseUrl });
    case 'gemini':
      if (!p.geminiApiKey) throw new ConfigError(['provider gemini is enabled but GEMINI_API_KEY is not set']);
      return createOpenAiCompatibleProvider({ name: 'gemini', apiKey: p.geminiApiKey, baseUrl: p.geminiBaseUrl });
    case 'ollama':
      if (!p.ollamaBaseUrl) throw new ConfigError(['provider ollama is enabled but OLLAMA_BASE_URL is not set']);
      return createOllamaProvider({ host: p.ollamaBaseUrl });
    default:
      throw new ConfigError([`employee provider "${name}" has no implementation (known: ${KNOWN_PROVIDERS.join(', ')})`]);
  }
}

/** Every queue this configuration needs: the Manager's, governance, sandbox, and each enabled provider in the registry. */
export function workerRoles(config: AuraConfig): QueueRole[] {
  const inRegistry = new Set(loadRegistry(config.employeesFile).map((e) => e.provider));
  const providers = config.providers.enabled.filter((p) => inRegistry.has(p));
  return ['manager', 'governance', 'sandbox', ...providers.map((p) => `employee:${p}` as const)];
}

/**
 * A provider queue's worker options from the registry: it runs as many calls at once as its
 * employees' concurrency adds up to, and the strictest rate limit applies to the whole queue,
 * so a slow or throttled provider never holds up another provider's queue.
 */
export function providerWorkerOptions(
  provider: string,
  config: AuraConfig,
): { maxConcurrentActivityTaskExecutions: number; maxTaskQueueActivitiesPerSecond?: number } {
  const mine = loadRegistry(config.employeesFile).filter((e) => e.provider === provider);
  const concurrency = Math.max(
    1,
    mine.reduce((sum, e) => sum + (e.concurrency ?? 2), 0),
  );
  const limits = mine.map((e) => e.rateLimitPerMinute).filter((n): n is number => typeof n === 'number');
  return {
    maxConcurrentActivityTaskExecutions: concurrency,
    ...(limits.length > 0 ? { maxTaskQueueActivitiesPerSecond: Math.min(...limits) / 60 } : {}),
  };
}

/** The ledger's signing key, created on first use (embedded setups); loaded once per worker. */
function ledgerKey(config: AuraConfig): () => SigningKey {
  let key: SigningKey | null = null;
  return () => (key ??= loadOrCreateSigningKey(config.ledger.keyFile));
}

/** The governance worker signs ledger checkpoints while it runs (integrity/checkpointer.ts). */
function withCheckpointer(worker: Worker, db: Db, config: AuraConfig, key: () => SigningKey): Worker {
  const run = worker.run.bind(worker);
  worker.run = async () => {
    const policy = { everyEntries: config.ledger.checkpointEveryEntries, everyMinutes: config.ledger.checkpointEveryMinutes };
    const stop = startCheckpointer(db, key, policy, (line) => console.log(`[aura-worker] ${line}`));
    try {
      return await run();
    } finally {
      await stop();
    }
  };
  return worker;
}

export async function createWorker(role: QueueRole, deps: WorkerDeps): Promise<Worker> {
  const { connection, namespace, db, config } = deps;
  const common = { connection, namespace };
  if (role === 'manager') {
    return Worker.create({
      ...common,
      taskQueue: QUEUES.manager,
      ...(deps.workflowBundle || config.workflowBundle
        ? { workflowBundle: deps.workflowBundle ?? { codePath: config.workflowBundle! } }
        : { workflowsPath: WORKFLOWS_PATH, interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } }),
      sinks: directorSinks(db, config.directorCommands, (line) => console.warn(`[aura-worker] ${line}`)),
    });
  }
  if (role === 'governance') {
    const signingKey = ledgerKey(config);
    const worker = await Worker.create({
      ...common,
      taskQueue: QUEUES.governance,
      activities: {
        ...createLedgerActivities({
          db,
          defaultBudget: config.runBudget,
          independentTests: config.independentTests,
          directorCommands: config.directorCommands,
        }),
        ...createAuditorActivities({ db }),
        ...createHrActivities({ db, policy: CURRENT_HR_POLICY, strict: config.strictPolicy }),
        ...createAccountantActivities({ db, strict: config.strictPolicy }),
        ...createRetentionActivities({ db, signingKey }),
      },
    });
    return withCheckpointer(worker, db, config, signingKey);
  }
  if (role === 'sandbox') {
    // The sandbox is probed once, here rather than on the first verification, and a worker
    // that cannot isolate generated code says so at start.
    const mode = sandboxMode();
    if (mode === 'refused')
      console.warn(
        `[aura-worker] sandbox: generated code will NOT be run: ${isolationSupport().problem}. Install bubblewrap (see docs/governance.md, "The sandbox").`,
      );
    if (mode === 'unsafe')
      console.warn(
        `[aura-worker] sandbox: UNSAFE: generated code runs without isolation (AURA_SANDBOX_UNSAFE; ${isolationSupport().problem}).`,
      );
    return Worker.create({
      ...common,
      taskQueue: QUEUES.sandbox,
      // Each verification is a whole child process tree: two at a time on a small host.
      maxConcurrentActivityTaskExecutions: 2,
      activities: createSandboxActivities({ db, workspacesDir: join(config.home, 'workspaces') }),
    });
  }
  const provider = role.slice('employee:'.length);
  return Worker.create({
    ...common,
    taskQueue: QUEUES.employee(provider),
    ...providerWorkerOptions(provider, config),
    activities: createEmployeeActivities({ db, provider: employeeProvider(provider, config) }),
  });
}
