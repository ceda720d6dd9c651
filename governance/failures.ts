/**
 * The failure types activities throw (ApplicationFailure `type`). Workflows match on these
 * names, so they live in one enum-like object and never change meaning.
 */
export const FailureType = {
  /** The employee did not answer within the task's time limit: a `timeout` violation. */
  EmployeeTimeout: 'EmployeeTimeout',
  /** The call failed (429, 5xx, network): retried with backoff; then the task goes elsewhere. */
  EmployeeCallFailed: 'EmployeeCallFailed',
  /** Unknown, suspended or terminated, or on the wrong queue: route again, not a violation. */
  EmployeeUnavailable: 'EmployeeUnavailable',
  /** The provider refused the call (400/401/403/404): never retried; the task goes elsewhere. */
  ProviderRejected: 'ProviderRejected',
  /** The run's token or cost budget is spent: the run pauses for the Director. */
  BudgetExceeded: 'BudgetExceeded',
  /** No sandbox can isolate generated code on this worker: an infrastructure fault, never the employee's. */
  SandboxUnavailable: 'SandboxUnavailable',
  /** Input a person gave is unusable (e.g. a workspace that does not exist). */
  BadInput: 'BadInput',
  /** A row's idempotency key was already written with another payload: recorded, never retried. */
  IdempotencyConflict: 'IdempotencyConflict',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
