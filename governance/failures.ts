/**
 * The failure types activities throw (ApplicationFailure `type`). Workflows match on these
 * names, so they live in one enum-like object and never change meaning.
 */
export const FailureType = {
  /** The employee did not answer within the task's time limit: a `timeout` violation. */
  EmployeeTimeout: 'EmployeeTimeout',
  /** The call failed (network, provider error): retried with backoff, then a violation. */
  EmployeeCallFailed: 'EmployeeCallFailed',
  /** Unknown, suspended or terminated, or on the wrong queue: route again, not a violation. */
  EmployeeUnavailable: 'EmployeeUnavailable',
  /** Input a person gave is unusable (e.g. a workspace that does not exist). */
  BadInput: 'BadInput',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
