/**
 * The project's errors, in one place.
 *
 * - `UserError` and its kinds: a problem the person at the keyboard can fix (bad input, a
 *   command the run refuses, a missing key). The CLI prints the message alone and exits 2; the
 *   Manager API answers 4xx with it. Anything else is a fault of ours and keeps its stack.
 * - `failure()`: the typed, non-retryable `ApplicationFailure` an activity throws so that the
 *   workflow can read what went wrong by its type (`FailureType` in governance/types.ts).
 *
 * Safe in workflow code: nothing here touches Node.
 */
import { ApplicationFailure } from '@temporalio/common';

/** A problem the user can fix; its message says what and how. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Missing or invalid settings; every problem is listed. */
export class ConfigError extends UserError {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A Director's action the record refuses (no reason, an unknown or already active employee). */
export class DirectorActionRefused extends UserError {
  override name = 'DirectorActionRefused';
}

/** A task or an output handed to `aura auditor check` that cannot be read. */
export class UnusableInput extends UserError {
  override name = 'UnusableInput';
}

/** A checkpoint file that cannot be read or does not hold a well-formed signed checkpoint. */
export class UnusableCheckpoint extends UserError {
  override name = 'UnusableCheckpoint';
}

/**
 * A typed failure for the workflow to read: non-retryable unless said otherwise (a retry would
 * meet the same answer). `details` travel with it (e.g. the spend that crossed a budget).
 */
export function failure(
  type: string,
  message: string,
  opts: { details?: unknown[]; retryable?: boolean; nextRetryDelayMs?: number } = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !opts.retryable,
    ...(opts.details ? { details: opts.details } : {}),
    ...(opts.nextRetryDelayMs !== undefined ? { nextRetryDelay: opts.nextRetryDelayMs } : {}),
  });
}
