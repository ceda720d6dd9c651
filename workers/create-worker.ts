/**
 * Builds the worker for one task queue with its activities' dependencies. Used by every
 * entry in this folder and by the tests, so what is tested is what runs.
 */
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { AuraConfig } from '../config/config.js';
import type { Db } from '../db/connect.js';
import { createAccountantActivities } from '../activities/accountant/index.js';
import { createAuditorActivities } from '../activities/auditor/index.js';
import { createEmployeeActivities } from '../activities/employees/index.js';
import { createScriptedProvider } from '../activities/employees/scripted.js';
import type { EmployeeProvider } from '../activities/employees/provider.js';
import { createHrActivities } from '../activities/hr/index.js';
import { createLedgerActivities } from '../activities/ledger/index.js';
import { createSandboxActivities } from '../activities/sandbox/index.js';
import { CURRENT_HR_POLICY } from '../governance/hr-policy.js';
import { QUEUES } from '../workflows/definitions.js';

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

export function employeeProvider(name: string, config: AuraConfig): EmployeeProvider {
  switch (name) {
    case 'scripted':
      return createScriptedProvider(config.scriptFile);
    default:
      throw new Error(`employee provider "${name}" has no implementation in this build (known: scripted)`);
  }
}

export async function createWorker(role: QueueRole, deps: WorkerDeps): Promise<Worker> {
  const { connection, namespace, db, config } = deps;
  const common = { connection, namespace };
  if (role === 'manager') {
    return Worker.create({
      ...common,
      taskQueue: QUEUES.manager,
      ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    });
  }
  if (role === 'governance') {
    return Worker.create({
      ...common,
      taskQueue: QUEUES.governance,
      activities: {
        ...createLedgerActivities({ db }),
        ...createAuditorActivities({ db }),
        ...createHrActivities({ db, policy: CURRENT_HR_POLICY, strict: config.strictPolicy }),
        ...createAccountantActivities({ db, strict: config.strictPolicy }),
      },
    });
  }
  if (role === 'sandbox') {
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
    activities: createEmployeeActivities({ db, provider: employeeProvider(provider, config) }),
  });
}
