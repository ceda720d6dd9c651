/**
 * The audit ledger: one append-only `audit_events` row per step, written once per idempotency
 * key (a retried activity finds its row already there and writes nothing; a different event
 * under the same key is refused as a conflict, see idempotent.ts).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
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
  const row = {
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
  };
  // The usual case, a new key, in one statement that brings back nothing but that the row went in
  // (the ledger writes one per governance step: what the row holds is not read back). A key
  // already taken goes through insertOnce: the same event again is a retry, another is a conflict.
  const inserted = await sql<{ ok: number }>`
    INSERT INTO audit_events (id, idempotency_key, source, severity, description, actor, action, run_id, task_id, workflow_id, activity_id, details)
    VALUES (${row.id}, ${row.idempotency_key}, ${row.source}, ${row.severity}, ${row.description}, ${row.actor}, ${row.action},
            ${row.run_id}, ${row.task_id}, ${row.workflow_id}, ${row.activity_id}, ${row.details})
    ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1 AS ok`.execute(db);
  if (inserted.rows.length === 0) await insertOnce(db, 'audit_events', row);
}
