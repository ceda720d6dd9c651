/**
 * The Director's retention purge: record the request, check it and sign the horizon, purge,
 * sign what follows. A refused request (inside retention, no reason, a record that does not
 * verify) fails the workflow with the refusal; nothing is removed.
 */
import { retention } from './activity-proxies.js';
import type { PurgeRequestInput, PurgeResult } from '../activities/retention/index.js';

export async function retentionPurge(input: PurgeRequestInput): Promise<PurgeResult> {
  await retention('record purge request').recordPurgeRequest(input);
  const plan = await retention('check and sign horizon').planPurge(input);
  if (plan.horizonSeq === null || plan.merkleRoot === null) {
    return { purgeId: input.purgeId, horizonSeq: null, counts: {}, merkleRoot: null, checkpointAfter: null };
  }
  const counts = await retention('purge').purge({ ...input, horizonSeq: plan.horizonSeq, merkleRoot: plan.merkleRoot });
  const checkpointAfter = await retention('sign after purge').checkpointLedger();
  return { purgeId: input.purgeId, horizonSeq: plan.horizonSeq, counts, merkleRoot: plan.merkleRoot, checkpointAfter };
}

export function retentionPurgeWorkflowId(purgeId: string): string {
  return `retention-purge-${purgeId}`;
}
