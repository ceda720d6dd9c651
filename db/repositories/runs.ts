import { randomUUID } from 'node:crypto';
import type { Db } from '../connect.js';
import { frozenTestRuns } from './acceptance-tests.js';
import { storableJson } from '../storable.js';
import { insertOnce } from './idempotent.js';

export async function upsertProject(db: Db, name: string): Promise<string> {
  const row = await db
    .insertInto('projects')
    .values({ id: randomUUID(), name })
    .onConflict((oc) => oc.column('name').doUpdateSet({ name }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface NewRun {
  id: string;
  projectId: string;
  workflowId: string;
  prd: string;
  options: Record<string, unknown>;
  status: string;
  idempotencyKey: string;
}

/**
 * The run row, once per run id: a reset workflow records its start again under a key of its
 * own, and finds the row (its status has moved on since; the rest must be the same).
 */
export async function insertRun(db: Db, run: NewRun): Promise<void> {
  const row = {
    id: run.id,
    project_id: run.projectId,
    manager_id: 'prdRun',
    status: run.status,
    workflow_id: run.workflowId,
    prd: run.prd,
    options: storableJson(run.options),
    idempotency_key: run.idempotencyKey,
  };
  await insertOnce(db, 'orchestra_runs', row, { by: ['id'], ignore: ['status', 'idempotency_key'] });
}

export interface RunUpdate {
  status?: string;
  reason?: string | null;
  plan?: unknown;
  report?: unknown;
  finished?: boolean;
}

export async function updateRun(db: Db, runId: string, u: RunUpdate): Promise<void> {
  await db
    .updateTable('orchestra_runs')
    .set({
      updated_at: new Date(),
      ...(u.status !== undefined ? { status: u.status } : {}),
      ...(u.reason !== undefined ? { status_reason: u.reason } : {}),
      ...(u.plan !== undefined ? { plan: storableJson(u.plan) } : {}),
      ...(u.report !== undefined ? { report: storableJson(u.report) } : {}),
      ...(u.finished ? { finished_at: new Date() } : {}),
    })
    .where('id', '=', runId)
    .execute();
}

export interface NewTask {
  id: string;
  key: string;
  title: string;
  spec: unknown;
  workflowId: string;
  /** 1, or the generation of a run the Director re-planned. */
  generation?: number;
}

/**
 * `idempotencyKey` is the writing activity's; each task row gets it with its key appended. A
 * task is one row per run, generation and key: the same task again is found; another task id
 * for it (a plan recorded again by a reset workflow) is a conflict, never a dropped row.
 */
export async function insertTasks(db: Db, runId: string, tasks: NewTask[], idempotencyKey: string): Promise<void> {
  for (const [i, t] of tasks.entries()) {
    const row = {
      id: t.id,
      run_id: runId,
      status: 'pending',
      priority: tasks.length - i,
      task_key: t.key,
      title: t.title,
      spec: storableJson(t.spec),
      workflow_id: t.workflowId,
      idempotency_key: `${idempotencyKey}/${t.key}`,
      generation: t.generation ?? 1,
    };
    await insertOnce(db, 'task_queue', row, { by: ['run_id', 'generation', 'task_key'], ignore: ['status', 'idempotency_key'] });
  }
}

export interface TaskUpdate {
  status: string;
  assignedAgent?: string | null;
  acceptedModelRunId?: string | null;
  completed?: boolean;
}

export async function updateTask(db: Db, taskId: string, u: TaskUpdate): Promise<void> {
  await db
    .updateTable('task_queue')
    .set({
      status: u.status,
      updated_at: new Date(),
      ...(u.assignedAgent !== undefined ? { assigned_agent: u.assignedAgent } : {}),
      ...(u.acceptedModelRunId !== undefined ? { accepted_model_run_id: u.acceptedModelRunId } : {}),
      ...(u.completed ? { completed_at: new Date() } : {}),
    })
    .where('id', '=', taskId)
    .execute();
}

/**
 * Closes every task of a run still open (pending, running, paused, escalated) as `cancelled`:
 * a cancelled run leaves no task row open. Returns the keys it closed.
 */
export async function cancelOpenTasks(db: Db, runId: string): Promise<string[]> {
  const rows = await db
    .updateTable('task_queue')
    .set({ status: 'cancelled', updated_at: new Date(), completed_at: new Date() })
    .where('run_id', '=', runId)
    .where('status', 'not in', ['accepted', 'cancelled', 'failed'])
    .returning('task_key')
    .execute();
  return rows.map((r) => r.task_key).sort();
}

/**
 * The accepted model run of each task, in the order asked for (tasks without one are skipped);
 * an accepted task's frozen acceptance tests (a tester's answer) come just before its code.
 */
export async function acceptedModelRuns(db: Db, taskIds: string[]): Promise<{ taskId: string; modelRunId: string }[]> {
  if (taskIds.length === 0) return [];
  const rows = await db.selectFrom('task_queue').select(['id', 'accepted_model_run_id']).where('id', 'in', taskIds).execute();
  const byId = new Map(rows.map((r) => [r.id, r.accepted_model_run_id]));
  const tests = await frozenTestRuns(db, taskIds);
  return taskIds.flatMap((id) => {
    const mr = byId.get(id);
    if (!mr) return [];
    return [...(tests.get(id) ?? []).map((t) => ({ taskId: id, modelRunId: t })), { taskId: id, modelRunId: mr }];
  });
}

/** The run's other accepted tasks of the same generation as `taskId` (a re-plan starts afresh). */
export async function otherAcceptedTasks(db: Db, runId: string, taskId: string): Promise<{ id: string; task_key: string }[]> {
  return db
    .selectFrom('task_queue')
    .select(['id', 'task_key'])
    .where('run_id', '=', runId)
    .where('id', '!=', taskId)
    .where('accepted_model_run_id', 'is not', null)
    .where('generation', '=', (eb) => eb.selectFrom('task_queue as self').select('self.generation').where('self.id', '=', taskId))
    .execute();
}

/** The PRD a run was started with (empty when the run is unknown). */
export async function runPrd(db: Db, runId: string): Promise<string> {
  const row = await db.selectFrom('orchestra_runs').select(['prd']).where('id', '=', runId).executeTakeFirst();
  return row?.prd ?? '';
}
