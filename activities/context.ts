/**
 * Where an activity is running, and the idempotency key its writes carry: workflow id +
 * activity id, so a retried activity finds its earlier rows and never writes twice.
 */
import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';

export interface ActivityRef {
  workflowId: string;
  activityId: string;
  attempt: number;
}

export function activityRef(): ActivityRef {
  const info = Context.current().info;
  return { workflowId: info.workflowExecution?.workflowId ?? info.activityId, activityId: info.activityId, attempt: info.attempt };
}

export function idempotencyKey(ref: ActivityRef, ...parts: (string | number)[]): string {
  return [ref.workflowId, ref.activityId, ...parts].join('/');
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
