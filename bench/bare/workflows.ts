/**
 * The baseline the governed task is compared with: a bare Temporal workflow that makes the same
 * model call through one activity, and nothing else (no routing, sandbox, audit, HR, score or
 * record). Its own bundle and task queue (BARE_QUEUE), on the same server as the platform.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BareActivities } from './activities.js';

const { callModel } = proxyActivities<BareActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

export async function bareModelCall(prompt: string): Promise<{ files: number }> {
  return callModel(prompt);
}
