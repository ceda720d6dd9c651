/**
 * The Manager's handles on the other roles: typed activity proxies, one set of options per
 * task queue. Activities come in as types only; their code never enters the workflow bundle.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { AccountantActivities } from '../activities/accountant/index.js';
import type { AuditorActivities } from '../activities/auditor/index.js';
import type { EmployeeActivities } from '../activities/employees/index.js';
import type { HrActivities } from '../activities/hr/index.js';
import type { LedgerActivities } from '../activities/ledger/index.js';
import type { SandboxActivities } from '../activities/sandbox/index.js';
import type { RetentionActivities } from '../activities/retention/index.js';
import { FailureType } from '../governance/failures.js';
import { QUEUES } from './definitions.js';

/**
 * Governance writes are small and idempotent: retried while the database comes back (about four
 * minutes), never for ever. Then the task records an infrastructure incident and escalates.
 */
const governanceOptions = {
  taskQueue: QUEUES.governance,
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 12 },
} as const;

export function ledger(summary?: string) {
  return proxyActivities<LedgerActivities>({ ...governanceOptions, summary });
}
export function auditor(summary?: string) {
  return proxyActivities<AuditorActivities>({ ...governanceOptions, summary });
}
export function hr(summary?: string) {
  return proxyActivities<HrActivities>({ ...governanceOptions, summary });
}
export function accountant(summary?: string) {
  return proxyActivities<AccountantActivities>({ ...governanceOptions, summary });
}
/** The retention purge: verifying and purging a large record may take minutes. */
export function retention(summary?: string) {
  return proxyActivities<RetentionActivities>({
    ...governanceOptions,
    startToCloseTimeout: '30 minutes',
    retry: { ...governanceOptions.retry, nonRetryableErrorTypes: ['RetentionRefused'] },
    summary,
  });
}

/**
 * A model call. The employee's own time limit is enforced inside the activity (a
 * non-retryable EmployeeTimeout); Temporal's timeout is the safety net for a lost worker.
 * Transient call failures are retried a few times, each attempt recorded in model_runs.
 */
export function employee(provider: string, timeLimitMs: number, summary?: string) {
  return proxyActivities<EmployeeActivities>({
    taskQueue: QUEUES.employee(provider),
    startToCloseTimeout: timeLimitMs + 30_000,
    heartbeatTimeout: '10 seconds',
    // A cancelled run waits until the call has really stopped (the activity hears it on its heartbeat).
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    // The provider's own failures are capped at three inside the activity (MODEL_CALL_ATTEMPTS);
    // these attempts also ride out a database or worker fault of a few minutes.
    retry: {
      initialInterval: '2 seconds',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: 12,
      nonRetryableErrorTypes: [
        FailureType.EmployeeTimeout,
        FailureType.EmployeeUnavailable,
        FailureType.ProviderRejected,
        FailureType.BudgetExceeded,
        FailureType.BadInput,
      ],
    },
    summary,
  });
}

/** Untrusted code runs on its own queue, so it can live on hosts of its own. */
export function sandbox(timeoutMs: number, summary?: string) {
  return proxyActivities<SandboxActivities>({
    taskQueue: QUEUES.sandbox,
    startToCloseTimeout: timeoutMs + 60_000,
    heartbeatTimeout: '10 seconds',
    // A cancelled run waits until the process tree is dead.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 5 },
    summary,
  });
}
