/**
 * The audit ledger: one append-only `audit_events` row per step, written once per idempotency
 * key (a retried activity finds its row already there and writes nothing; a different event
 * under the same key is refused as a conflict, see idempotent.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../connect.js';
import { storableJson } from '../storable.js';
import { insertOnce } from './idempotent.js';

export interface LedgerEvent {
  idempotencyKey: string;
  actor: string;
  action: string;
  description: string;
  severity?: 'info' | 'warning' | 'critical';
  source?: string;
  runId?: string | null;
  taskId?: string | null;
  workflowId?: string | null;
  activityId?: string | null;
  details?: Record<string, unknown>;
}

export async function appendEvent(db: Db, e: LedgerEvent): Promise<void> {
  await insertOnce(db, 'audit_events', {
    id: randomUUID(),
    idempotency_key: e.idempotencyKey,
    source: e.source ?? 'manager',
    severity: e.severity ?? 'info',
    description: e.description,
    actor: e.actor,
    action: e.action,
    run_id: e.runId ?? null,
    task_id: e.taskId ?? null,
    workflow_id: e.workflowId ?? null,
    activity_id: e.activityId ?? null,
    details: storableJson(e.details ?? {}),
  });
}
