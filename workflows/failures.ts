/**
 * Reading activity failures in workflow code, and the one budget gate both workflows use.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { FailureType } from '../governance/failures.js';

export function failureType(err: unknown): string | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? (err.cause.type ?? undefined) : undefined;
}

export function isTimeout(err: unknown): boolean {
  return (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) || failureType(err) === FailureType.EmployeeTimeout;
}

/** The employee's own time limit, enforced inside its activity: the one timeout that is the model's. */
export function isEmployeeTimeout(err: unknown): boolean {
  return failureType(err) === FailureType.EmployeeTimeout;
}

export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure) return err.cause?.message ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Failures that say "this employee cannot take it now": route to someone else, no violation. */
const ROUTE_AROUND: readonly string[] = [FailureType.EmployeeUnavailable, FailureType.ProviderRejected, FailureType.EmployeeCallFailed];

export function isRouteAround(err: unknown): boolean {
  return ROUTE_AROUND.includes(failureType(err) ?? '');
}

/**
 * A model call under the run's budget. A call refused for the budget goes to `onExhausted`,
 * which waits for the Director: 'retry' makes the same call again (a new budget), 'stop' ends.
 */
export async function underBudget<T>(
  call: () => Promise<T>,
  onExhausted: (message: string) => Promise<'retry' | 'stop'>,
): Promise<T | 'stopped'> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (failureType(err) !== FailureType.BudgetExceeded) throw err;
      if ((await onExhausted(failureMessage(err))) === 'stop') return 'stopped';
    }
  }
}
