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

/** Incidents, oldest first, with HR's action and the evidence they rest on. */
export async function listIncidents(db: Db, filter: { employee?: string; runId?: string } = {}) {
  let q = db
    .selectFrom('incidents')
    .leftJoin('disciplinary_actions', 'disciplinary_actions.incident_id', 'incidents.id')
    .leftJoin('audit_verdicts', 'audit_verdicts.id', 'incidents.verdict_id')
    .select([
      'incidents.id',
      'incidents.reported_at',
      'incidents.model_id as employee',
      'incidents.run_id',
      'incidents.violation',
      'incidents.severity',
      'incidents.message',
      'incidents.evidence',
      'disciplinary_actions.action',
      'disciplinary_actions.policy_version',
      'disciplinary_actions.expires_at',
      'disciplinary_actions.enforced',
      'audit_verdicts.rounds',
    ])
    .orderBy('incidents.reported_at');
  if (filter.employee) q = q.where('incidents.model_id', '=', filter.employee);
  if (filter.runId) q = q.where('incidents.run_id', '=', filter.runId);
  return q.execute();
}
