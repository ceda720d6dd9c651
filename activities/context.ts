/**
 * Where an activity is running, and the idempotency key its writes carry: workflow id, the
 * workflow's run id, the step (activity type) and the activity id. A retried activity finds
 * its earlier rows and never writes twice; a reset or a new run under the same workflow id
 * (whose activity ids start at 1 again) writes rows of its own.
 */
import { Context } from '@temporalio/activity';
import { failure } from '../errors/index.js';
import { createHash } from 'node:crypto';
import { IdempotencyConflictError } from '../db/repositories/idempotent.js';
import { FailureType } from '../governance/failures.js';

export interface ActivityRef {
  workflowId: string;
  /** The workflow execution's run id: a reset or a re-used workflow id gets a new one. */
  runId: string;
  /** The step: the activity type, stable across workflow versions. */
  activityType: string;
  activityId: string;
  attempt: number;
}

/** The failure type of a write refused because its key already holds a different row. */
export const IDEMPOTENCY_CONFLICT = FailureType.IdempotencyConflict;

export function activityRef(): ActivityRef {
  const info = Context.current().info;
  return {
    workflowId: info.workflowExecution?.workflowId ?? info.activityId,
    runId: info.workflowExecution?.runId ?? '-',
    activityType: info.activityType,
    activityId: info.activityId,
    attempt: info.attempt,
  };
}

export function idempotencyKey(ref: ActivityRef, ...parts: (string | number)[]): string {
  return [ref.workflowId, ref.runId, ref.activityType, ref.activityId, ...parts].join('/');
}

/** A repository's conflict as the workflow sees it: a non-retryable `IdempotencyConflict` failure. */
export function asActivityFailure(err: unknown): unknown {
  if (!(err instanceof IdempotencyConflictError)) return err;
  return failure(IDEMPOTENCY_CONFLICT, err.message, { details: [err.conflict] });
}

type ActivityFunctions = Record<string, (...args: never[]) => Promise<unknown>>;

/** Wraps each activity so that an idempotency conflict reaches Temporal as `IdempotencyConflict`. */
export function conflictsAsFailures<T extends ActivityFunctions>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw asActivityFailure(err);
      }
    };
  }
  return wrapped as T;
}

/** Heartbeats when running inside an activity; a no-op elsewhere (e.g. the auditor CLI). */
export function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not in an activity */
  }
}

/** The cancellation signal of the current activity, if any. */
export function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
