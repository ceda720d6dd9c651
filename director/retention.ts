/** The Director's retention purge, for the CLI and the Manager API. */
import type { Client } from '@temporalio/client';
import { QUEUES } from '../workflows/definitions.js';
import { retentionPurgeWorkflowId } from '../workflows/retention-purge.js';
import type { PurgeRequestInput, PurgeResult } from '../activities/retention/index.js';
import { UserError } from '../errors/index.js';

/** Runs the `retentionPurge` workflow; its refusal (`RetentionRefused`) is a UserError. */
export async function runPurge(client: Client, input: PurgeRequestInput): Promise<PurgeResult> {
  try {
    return await client.workflow.execute('retentionPurge', {
      taskQueue: QUEUES.manager,
      workflowId: retentionPurgeWorkflowId(input.purgeId),
      args: [input],
    });
  } catch (err) {
    const cause = (err as { cause?: { type?: string; message?: string; cause?: { type?: string; message?: string } } }).cause;
    const failure = cause?.type === 'RetentionRefused' ? cause : cause?.cause?.type === 'RetentionRefused' ? cause.cause : null;
    if (failure) throw new UserError(failure.message ?? 'refused');
    throw err;
  }
}
