import { randomUUID } from 'node:crypto';
import type { Db } from '../connect.js';
import { storableJson } from '../storable.js';
import { insertOnce } from './idempotent.js';

/** An incident of the machine, not of a model: no employee on it (`model_id` null), so HR never counts it. */
export async function insertInfrastructureIncident(
  db: Db,
  i: { idempotencyKey: string; runId: string; taskId: string; message: string; evidence: { excerpt: string; sha256: string }[] },
): Promise<void> {
  await insertOnce(db, 'incidents', {
    id: randomUUID(),
    idempotency_key: i.idempotencyKey,
    model_id: null,
    task_id: i.taskId,
    run_id: i.runId,
    severity: 3,
    status: 'open',
    violation: 'infrastructure',
    message: i.message,
    evidence: storableJson(i.evidence),
    verdict_id: null,
  });
}
