/**
 * A coding task's frozen acceptance tests: each freeze (the first, and each change a dispute
 * brought) is an `acceptance_tests` row with the files' sha256; the task row points at the
 * tester's answer whose files are the tests now.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../connect.js';
import { storableJson } from '../storable.js';
import { inTransaction, insertOnce } from './idempotent.js';
import { getTaskOutputs } from './model-runs.js';

export interface NewFreeze {
  idempotencyKey: string;
  runId: string;
  taskId: string;
  taskKey: string;
  version: number;
  testerId: string;
  modelRunId: string;
  files: { path: string; sha256: string }[];
  reason: string;
  decidedBy: string;
  dispute?: unknown;
}

/** Records the freeze and points the task at the tests, in one transaction. */
export async function recordFreeze(db: Db, f: NewFreeze): Promise<string> {
  return inTransaction(db, async (tx) => {
    const row = await insertOnce(tx, 'acceptance_tests', {
      id: randomUUID(),
      idempotency_key: f.idempotencyKey,
      run_id: f.runId,
      task_id: f.taskId,
      task_key: f.taskKey,
      version: f.version,
      tester_id: f.testerId,
      model_run_id: f.modelRunId,
      files: storableJson(f.files),
      reason: f.reason,
      decided_by: f.decidedBy,
      dispute: f.dispute === undefined ? null : storableJson(f.dispute),
    });
    await tx
      .updateTable('task_queue')
      .set({ tests_model_run_id: f.modelRunId, updated_at: new Date() })
      .where('id', '=', f.taskId)
      .execute();
    return row.id;
  });
}

/** Every freeze of a run's tests, oldest first. */
export async function freezesOfRun(db: Db, runId: string) {
  return db.selectFrom('acceptance_tests').selectAll().where('run_id', '=', runId).orderBy('created_at').orderBy('version').execute();
}

/** The tester answers holding each task's frozen tests, version by version (a later version's file wins). */
export async function frozenTestRuns(db: Db, taskIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (taskIds.length === 0) return out;
  const rows = await db
    .selectFrom('acceptance_tests')
    .select(['task_id', 'model_run_id'])
    .where('task_id', 'in', taskIds)
    .orderBy('version')
    .execute();
  for (const r of rows) if (r.task_id) out.set(r.task_id, [...(out.get(r.task_id) ?? []), r.model_run_id]);
  return out;
}

/** A task's frozen acceptance test files as they stand now (every version layered). */
export async function frozenTestFiles(db: Db, taskId: string): Promise<{ path: string; content: string }[]> {
  const runs = (await frozenTestRuns(db, [taskId])).get(taskId) ?? [];
  const outputs = await getTaskOutputs(db, runs);
  const files = new Map<string, string>();
  for (const id of runs) {
    const parsed = outputs.get(id);
    if (parsed?.ok) for (const f of parsed.output.files) files.set(f.path, f.content);
  }
  return [...files].map(([path, content]) => ({ path, content }));
}

/**
 * Every frozen acceptance test of the task's run and generation (its own included), with the
 * sha256 of its newest version: no coder may change them.
 */
export async function frozenTestHashes(db: Db, runId: string, taskId: string): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('acceptance_tests')
    .innerJoin('task_queue', 'task_queue.id', 'acceptance_tests.task_id')
    .select(['acceptance_tests.files'])
    .orderBy('acceptance_tests.version')
    .where('acceptance_tests.run_id', '=', runId)
    .where('task_queue.generation', '=', (eb) =>
      eb.selectFrom('task_queue as self').select('self.generation').where('self.id', '=', taskId),
    )
    .execute();
  const hashes = new Map<string, string>();
  for (const r of rows) for (const f of r.files as { path: string; sha256: string }[]) hashes.set(f.path, f.sha256);
  return hashes;
}
