/**
 * A final verification that fails is repaired, not the end: every task passes its own check,
 * but the workspace's `node --test` also runs an edge test that fails. The Manager opens a
 * repair task (any workspace file, the plan's verification as acceptance), routed and governed
 * like any task. When that cannot fix it either, the run escalates to the Director, whose
 * acceptance is a recorded override. When nobody can plan, the run ends failed with its reason.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideVerification, resolveEscalation, runStatus, submitRun, waitForReport } from '../director/runs.js';
import type { RunReport } from '../governance/types.js';
import { eventually, type TestEnv } from './helpers/env.js';
import { CODING_PRD, useCodingEnv, taskCalls } from './helpers/coding-env.js';
import { aura as runAura } from './helpers/cli.js';

const world = useCodingEnv();

const options = { autoApprove: true, director: 'tester', planTimeLimitMs: 2_000 };

describe('a final verification that fails', () => {
  let runId: string;
  let report: RunReport;
  beforeAll(async () => {
    ({ runId } = await submitRun(world.env.client, { prd: `${CODING_PRD}\nEdge cases: unicode\n`, project: 'verify-repair', options }));
    report = await waitForReport(world.env.client, runId);
  }, 180_000);

  it('is repaired by a repair task, and the run completes', async () => {
    expect(report.status).toBe('completed');
    expect(report.verification).toMatchObject({ command: 'node --test', passed: true });
    expect(report.verificationRepairs).toBe(1);
    expect(report.tasks.map((t) => [t.taskKey, t.status, t.acceptedBy])).toEqual([
      ['T1', 'accepted', 'oa-coder-a'],
      ['T2', 'accepted', 'oa-coder-a'],
      ['repair-1', 'accepted', 'oa-coder-a'],
    ]);
    const verifications = await world.env.db
      .selectFrom('verifications')
      .select(['kind', 'passed'])
      .where('run_id', '=', runId)
      .where('kind', '=', 'workspace')
      .orderBy('created_at')
      .execute();
    expect(verifications.map((v) => v.passed)).toEqual([false, true]);
  });

  it('gives the repair task the failing output and the workspace code, and records it like any task', async () => {
    const repair = (await taskCalls(world.env, runId)).find((c) => c.task_key === 'repair-1')!;
    expect(repair.prompt).toContain('Do task repair-1: Repair the workspace');
    expect(repair.prompt).toContain('unicode words'); // the failing edge test, from the check's output
    expect(repair.prompt).toContain('----- BEGIN FILE lib/tally.mjs (in your scope: you may change it) -----');
    const row = await world.env.db
      .selectFrom('task_queue')
      .select(['status', 'accepted_model_run_id'])
      .where('run_id', '=', runId)
      .where('task_key', '=', 'repair-1')
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('accepted');
    expect(row.accepted_model_run_id).not.toBeNull();
    const opened = await world.env.db
      .selectFrom('audit_events')
      .select('description')
      .where('run_id', '=', runId)
      .where('action', '=', 'task.repair_opened')
      .execute();
    expect(opened.map((e) => e.description)).toEqual(['repair task repair-1 opened: final verification failed (exit 1)']);
    // The repair changed T1's file: for the Manager's repair task that is its job, not scope drift.
    expect(await world.env.db.selectFrom('incidents').select('id').where('run_id', '=', runId).execute()).toEqual([]);
  });
});

describe('a final verification that the repair task cannot fix', () => {
  let runId: string;
  beforeAll(async () => {
    ({ runId } = await submitRun(world.env.client, { prd: `${CODING_PRD}\nEdge cases: locale\n`, project: 'verify-escalate', options }));
    await eventually(
      async () => (await runStatus(world.env.client, runId)).tasks.find((t) => t.key === 'repair-1' && t.status === 'escalated'),
      150_000,
      'the repair task to escalate',
    );
    await resolveEscalation(world.env.client, runId, 'repair-1', {
      kind: 'cancel',
      by: 'tester',
      reason: 'no coder can fix the locale order',
    });
    await eventually(
      async () => (await runStatus(world.env.client, runId)).status === 'verification_escalated',
      60_000,
      'the run to escalate its verification',
    );
  }, 240_000);

  it('escalates to the Director with the evidence, after the repair task used its rounds and reassignment', async () => {
    const status = await runStatus(world.env.client, runId);
    expect(status.reason).toBe('the final verification still fails after 1 repair task(s) (exit 1)');
    expect(status.escalations).toEqual([
      'verification: the final verification still fails after 1 repair task(s) (exit 1); waiting for the Director: accept, replan or stop',
    ]);
    const repairCalls = (await taskCalls(world.env, runId)).filter((c) => c.task_key === 'repair-1');
    expect(repairCalls.map((c) => [c.employee_id, c.task_attempt, c.round])).toEqual([
      ['oa-coder-a', 1, 1],
      ['oa-coder-a', 1, 2],
      ['oa-coder-a', 1, 3],
      ['oa-coder-b', 2, 1],
      ['oa-coder-b', 2, 2],
      ['oa-coder-b', 2, 3],
    ]);
    // The run shows its new status first, then records it (an activity): wait for the record.
    const escalatedEvents = () =>
      world.env.db
        .selectFrom('audit_events')
        .select('severity')
        .where('run_id', '=', runId)
        .where('action', '=', 'run.verification_escalated')
        .execute();
    await eventually(async () => (await escalatedEvents()).length > 0, 30_000, 'the escalation to be recorded');
    expect((await escalatedEvents()).length).toBe(1);
    // The repair task's attempts were judged on their last round, and aura incidents says so.
    const out = await runAura(['incidents', '--run', runId], world.env.childEnv);
    expect(out.stdout.match(/acceptance command "node --test" exited with 1 \(after 3 rounds\)/g)).toHaveLength(2);
  });

  it('refuses a decision without a reason, and records the acceptance as an override', async () => {
    await expect(decideVerification(world.env.client, runId, { kind: 'accept', by: 'tester', reason: ' ' })).rejects.toThrow(
      /needs a reason/,
    );
    await decideVerification(world.env.client, runId, { kind: 'accept', by: 'tester', reason: 'locale order is out of scope for now' });
    const report = await waitForReport(world.env.client, runId);
    expect(report.status).toBe('completed');
    expect(report.verification?.passed).toBe(false);
    expect(report.verificationOverride).toEqual({ by: 'tester', reason: 'locale order is out of scope for now' });
    const actions = await world.env.db
      .selectFrom('director_actions')
      .select(['director_id', 'action', 'reason'])
      .where('run_id', '=', runId)
      .where('action', '=', 'accept_failed_verification')
      .execute();
    expect(actions).toEqual([
      { director_id: 'tester', action: 'accept_failed_verification', reason: 'locale order is out of scope for now' },
    ]);
  });
});

describe('a run nobody can plan', () => {
  it('ends failed with the reason and an event, never stuck at planning', async () => {
    world.server.enqueue(
      { status: 401, body: { error: { message: 'no access', type: 'invalid_request_error' } } },
      { status: 404, body: { error: { message: 'model not found', type: 'invalid_request_error' } } },
      { status: 400, body: { error: { message: 'bad request', type: 'invalid_request_error' } } },
    );
    const { runId } = await submitRun(world.env.client, { prd: CODING_PRD, project: 'no-planner', options });
    const report = await waitForReport(world.env.client, runId);
    expect(report.status).toBe('failed');
    expect(report.reason).toBe('no planner left: oa-refusing-planner, oa-slow-planner, oa-planner could not plan');
    const run = await world.env.db
      .selectFrom('orchestra_runs')
      .select(['status', 'status_reason'])
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();
    expect(run).toEqual({ status: 'failed', status_reason: report.reason });
    const events = await world.env.db
      .selectFrom('audit_events')
      .select('action')
      .where('run_id', '=', runId)
      .where('action', 'in', ['plan.planner_unavailable', 'run.failed'])
      .orderBy('seq')
      .execute();
    expect(events.map((e) => e.action)).toEqual([
      'plan.planner_unavailable',
      'plan.planner_unavailable',
      'plan.planner_unavailable',
      'run.failed',
    ]);
  }, 60_000);
});
