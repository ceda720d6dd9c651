/**
 * Idempotency keys that survive resets: a row is written once per workflow execution, step
 * and activity, so a reset workflow or a new run under the same workflow id (whose activity
 * ids start at 1 again) records rows of its own instead of losing them to the first run's.
 * And the one helper that writes once: same payload, the row back; another payload, a
 * recorded conflict and an error.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type RawBuilder } from 'kysely';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { submitRun } from '../director/runs.js';
import { createLedgerActivities } from '../activities/ledger/index.js';
import { IdempotencyConflictError, inTransaction, insertOnce } from '../db/repositories/idempotent.js';
import type { RunReport, TaskRunInput, TaskRunResult } from '../governance/types.js';
import { QUEUES, taskWorkflowId } from '../workflows/definitions.js';
import { SAMPLE_PRD_FILE, startTestEnv, type TestEnv } from './helpers/env.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type ResetRequest = temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest;

const PRD = readFileSync(SAMPLE_PRD_FILE, 'utf8');
const OPTIONS = { autoApprove: true, director: 'test-director' };
/** The tables an activity writes under its own key (exactly), and the ledger (its key, then a suffix). */
const KEYED_ROW: Record<string, string> = {
  planWithEmployee: 'model_runs',
  performTask: 'model_runs',
  reviewOutput: 'model_runs',
  verifyTaskOutput: 'verifications',
  verifyWorkspace: 'verifications',
  auditAttempt: 'audit_verdicts',
  scoreAttempt: 'scores',
};
const EVENT_WRITERS = new Set([
  'recordRunStarted',
  'recordEvent',
  'recordRunStatus',
  'recordPlan',
  'recordDirectorAction',
  'recordTaskStatus',
  'recordInfrastructureIncident',
  'recordRepairTask',
  'planWithEmployee',
  'performTask',
  'inspectRound',
  'auditAttempt',
  'applyPolicy',
  'scoreAttempt',
]);

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
});

afterAll(async () => {
  await env?.teardown();
});

const n = (v: unknown) => Number(String(v ?? 0));

async function history(workflowId: string, runId: string): Promise<HistoryEvent[]> {
  return (await env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
}

interface Step {
  prefix: string;
  type: string;
}

/** The activities an execution and its children completed after `afterEventId`, with their key prefixes. */
async function completedSteps(workflowId: string, runId: string, afterEventId = 0): Promise<Step[]> {
  const events = await history(workflowId, runId);
  const scheduled = new Map(
    events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [n(e.eventId), e.activityTaskScheduledEventAttributes!]),
  );
  const steps: Step[] = [];
  for (const e of events) {
    const done = e.activityTaskCompletedEventAttributes;
    if (!done || n(done.scheduledEventId) <= afterEventId) continue;
    const s = scheduled.get(n(done.scheduledEventId))!;
    steps.push({ prefix: `${workflowId}/${runId}/${s.activityType!.name}/${s.activityId}`, type: s.activityType!.name! });
  }
  for (const e of events) {
    const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (child && n(e.eventId) > afterEventId) steps.push(...(await completedSteps(child.workflowId!, child.runId!)));
  }
  return steps;
}

async function keysOf(table: 'model_runs' | 'verifications' | 'audit_verdicts' | 'scores' | 'audit_events'): Promise<string[]> {
  const rows = await env.db.selectFrom(table).select('idempotency_key').execute();
  return rows.map((r) => r.idempotency_key ?? '');
}

/** Every step the executions completed left its rows under its own key: nothing was dropped. */
async function expectRowsOfEveryStep(steps: Step[]): Promise<void> {
  const events = await keysOf('audit_events');
  for (const step of steps) {
    const table = KEYED_ROW[step.type];
    if (table) expect(await keysOf(table as 'model_runs'), `${step.prefix} in ${table}`).toContain(step.prefix);
    if (!EVENT_WRITERS.has(step.type)) continue;
    expect(
      events.some((k) => k.startsWith(`${step.prefix}/`)),
      `${step.prefix} in audit_events`,
    ).toBe(true);
  }
}

interface Counts {
  events: number;
  modelRuns: number;
}

async function count(table: 'audit_events' | 'model_runs', where: RawBuilder<boolean>): Promise<number> {
  const row = await env.db
    .selectFrom(table)
    .select(sql<string>`count(*)`.as('n'))
    .where(where)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Rows of an orchestra run. */
async function countFor(runId: string): Promise<Counts> {
  return { events: await count('audit_events', sql`run_id = ${runId}`), modelRuns: await count('model_runs', sql`run_id = ${runId}`) };
}

/** Rows written by the activities of one workflow execution (its run id is in their keys). */
async function countOfExecution(executionRunId: string): Promise<Counts> {
  const part = sql<boolean>`strpos(idempotency_key, ${`/${executionRunId}/`}) > 0`;
  return { events: await count('audit_events', part), modelRuns: await count('model_runs', part) };
}

/** The workflow task that started the first task: resetting to it re-runs every task. */
function firstChildStartPoint(events: HistoryEvent[]): number {
  const start = events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
  return n(start!.startChildWorkflowExecutionInitiatedEventAttributes!.workflowTaskCompletedEventId);
}

async function conflictEvents(): Promise<number> {
  return count('audit_events', sql`action = 'idempotency.conflict'`);
}

describe('rows of a reset workflow and of a re-used workflow id', () => {
  let runId: string;
  let workflowId: string;

  it('a reset re-runs the tasks, and every new step records its rows next to the first run’s', async () => {
    ({ runId, workflowId } = await submitRun(env.client, { prd: PRD, project: 'idempotency', options: OPTIONS }));
    const first = await env.client.workflow.getHandle(workflowId).result();
    expect(first.status).toBe('completed');
    const firstExecution = (await env.client.workflow.getHandle(workflowId).describe()).runId;
    const before = await countFor(runId);
    const firstSteps = await completedSteps(workflowId, firstExecution);

    const resetPoint = firstChildStartPoint(await history(workflowId, firstExecution));
    const reset = await env.client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId, runId: firstExecution },
      reason: 'test: re-run the tasks',
      // A number encodes as int64 too.
      workflowTaskFinishEventId: resetPoint as unknown as ResetRequest['workflowTaskFinishEventId'],
      requestId: randomUUID(),
    });
    const resetExecution = reset.runId!;
    const again: RunReport = await env.client.workflow.getHandle(workflowId, resetExecution).result();
    expect(again.status).toBe('completed');

    const after = await countFor(runId);
    const resetSteps = await completedSteps(workflowId, resetExecution, resetPoint);
    const added = { events: 0, modelRuns: 0 };
    for (const execution of new Set(resetSteps.map((s) => s.prefix.split('/')[1]!))) {
      const rows = await countOfExecution(execution);
      added.events += rows.events;
      added.modelRuns += rows.modelRuns;
    }
    // Every task ran again: new model calls and events, none of them lost to the first run's keys.
    expect(resetSteps.filter((s) => s.type === 'performTask').length).toBeGreaterThanOrEqual(3);
    expect(added.modelRuns).toBeGreaterThanOrEqual(3);
    expect(after).toEqual({ events: before.events + added.events, modelRuns: before.modelRuns + added.modelRuns });
    await expectRowsOfEveryStep([...firstSteps, ...resetSteps]);
    expect(await conflictEvents()).toBe(0);
  });

  it('a task run started again under the same workflow id, after the first finished, records its own rows', async () => {
    const childId = taskWorkflowId(workflowId, 'T3');
    const first = await env.client.workflow.getHandle(childId).describe();
    const started = (await history(childId, first.runId))[0]!.workflowExecutionStartedEventAttributes!;
    const input = defaultPayloadConverter.fromPayload<TaskRunInput>(started.input!.payloads![0]!);
    const before = await countFor(runId);
    const firstRows = await countOfExecution(first.runId);

    // Its activity ids start at 1 again: with keys of workflow id and activity id only, every row would be the first run's.
    const handle = await env.client.workflow.start('taskRun', { taskQueue: QUEUES.manager, workflowId: childId, args: [input] });
    const result: TaskRunResult = await handle.result();
    expect(result.status).toBe('accepted');

    const steps = await completedSteps(childId, handle.firstExecutionRunId);
    expect(steps.map((s) => s.prefix.split('/')[3])).toContain('1');
    expect(steps.map((s) => s.type)).toEqual(expect.arrayContaining(['performTask', 'verifyTaskOutput', 'auditAttempt', 'scoreAttempt']));
    await expectRowsOfEveryStep(steps);
    const added = await countOfExecution(handle.firstExecutionRunId);
    expect(added.modelRuns).toBeGreaterThanOrEqual(1);
    expect(await countFor(runId)).toEqual({ events: before.events + added.events, modelRuns: before.modelRuns + added.modelRuns });
    // The first run's rows are all still there.
    expect(await countOfExecution(first.runId)).toEqual(firstRows);
    const task = await env.db
      .selectFrom('task_queue')
      .select(['status', 'accepted_model_run_id'])
      .where('id', '=', input.taskId)
      .executeTakeFirstOrThrow();
    expect(task.status).toBe('accepted');
    expect(task.accepted_model_run_id).toBe(result.acceptedModelRunId);
    expect(await conflictEvents()).toBe(0);
  });
});

describe('insertOnce', () => {
  const event = (key: string, description: string) => ({
    id: randomUUID(),
    idempotency_key: key,
    source: 'manager',
    severity: 'info',
    description,
    actor: 'manager',
    action: 'test.event',
    details: JSON.stringify({ n: 1, list: ['a', 'b'] }),
  });
  const rowsUnder = async (key: string) =>
    env.db
      .selectFrom('audit_events')
      .selectAll()
      .where(sql<boolean>`starts_with(idempotency_key, ${key})`)
      .orderBy('seq')
      .execute();

  it('writes once: the same payload again returns the first row, without an error', async () => {
    const key = `once/${randomUUID()}`;
    const first = await insertOnce(env.db, 'audit_events', event(key, 'the same'));
    const again = await insertOnce(env.db, 'audit_events', event(key, 'the same'));
    expect(again.id).toBe(first.id);
    expect(await rowsUnder(key)).toHaveLength(1);
  });

  it('compares values as PostgreSQL holds them: 49 is 49.00, JSON by value', async () => {
    const runId = randomUUID();
    const key = `once/${runId}`;
    const score = (value: number | string, details: string) => ({
      id: randomUUID(),
      idempotency_key: key,
      employee_id: 'scripted-ada',
      run_id: null,
      task_id: null,
      capability: 'coder',
      score: value,
      reputation_before: 70,
      reputation_after: 63.7,
      details,
      components: '{}',
      tier: 'standard',
    });
    const first = await insertOnce(env.db, 'scores', score(49, '{"a":1,"b":[1,2]}'));
    expect((await insertOnce(env.db, 'scores', score('49.00', '{ "b": [1, 2], "a": 1 }'))).id).toBe(first.id);
  });

  it('refuses a different payload under a key already taken, and records the conflict under a key of its own', async () => {
    const key = `once/${randomUUID()}`;
    const first = await insertOnce(env.db, 'audit_events', event(key, 'the first'));
    const err = await insertOnce(env.db, 'audit_events', event(key, 'another')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyConflictError);
    const conflict = (err as IdempotencyConflictError).conflict;
    expect(conflict).toMatchObject({ table: 'audit_events', key, columns: ['description'] });
    expect(conflict.existingDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(conflict.newDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(conflict.newDigest).not.toBe(conflict.existingDigest);
    // The same conflict again is the same record, not a second one (nor a conflict of its own).
    await expect(insertOnce(env.db, 'audit_events', event(key, 'another'))).rejects.toBeInstanceOf(IdempotencyConflictError);
    const rows = await rowsUnder(key);
    expect(rows.map((r) => [r.idempotency_key, r.action, r.severity])).toEqual([
      [key, 'test.event', 'info'],
      [`${key}:conflict:${conflict.newDigest}`, 'idempotency.conflict', 'critical'],
    ]);
    expect(rows[0]!.id).toBe(first.id);
    expect(rows[0]!.description).toBe('the first');
    const { existingDigest, newDigest } = conflict;
    expect(rows[1]!.details).toMatchObject({ existingDigest, newDigest, columns: ['description'] });
  });

  it('records a conflict raised inside a transaction after the rollback', async () => {
    const key = `once/${randomUUID()}`;
    await insertOnce(env.db, 'audit_events', event(key, 'the first'));
    const marker = `once/${randomUUID()}`;
    const err = await inTransaction(env.db, async (tx) => {
      await insertOnce(tx, 'audit_events', event(marker, 'rolled back with the transaction'));
      return insertOnce(tx, 'audit_events', event(key, 'another'));
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdempotencyConflictError);
    expect((err as IdempotencyConflictError).recorded).toBe(true);
    expect((await rowsUnder(key)).map((r) => r.action)).toEqual(['test.event', 'idempotency.conflict']);
    expect(await rowsUnder(marker)).toHaveLength(0);
  });

  it('reaches the workflow as a non-retryable IdempotencyConflict failure', async () => {
    const ledger = createLedgerActivities({ db: env.db });
    const workflowExecution = { workflowId: `once-${randomUUID()}`, runId: randomUUID() };
    const info = { workflowExecution, activityType: 'recordEvent', activityId: '3', attempt: 1 };
    const runId = randomUUID();
    await new MockActivityEnvironment(info).run(ledger.recordEvent, { runId, action: 'test.step', description: 'the first' });
    const retry = { ...info, attempt: 2 };
    await new MockActivityEnvironment(retry).run(ledger.recordEvent, { runId, action: 'test.step', description: 'the first' });
    const changed = { runId, action: 'test.step', description: 'changed' };
    const err = await new MockActivityEnvironment(retry).run(ledger.recordEvent, changed).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect([(err as ApplicationFailure).type, (err as ApplicationFailure).nonRetryable]).toEqual(['IdempotencyConflict', true]);
    const prefix = `${workflowExecution.workflowId}/${workflowExecution.runId}/recordEvent/3/`;
    expect((await rowsUnder(prefix)).map((r) => r.action)).toEqual(['test.step', 'idempotency.conflict']);
  });
});
