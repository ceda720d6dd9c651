/**
 * The Director's plan gate: a run without auto-approval waits for the Director; approval
 * lets it run, rejection ends it with the reason recorded, and a signal that does not fit
 * (a rejection without a reason) changes nothing and is shown in the status.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvePlan, rejectPlan, runStatus, submitRun, waitForReport, toWorkflowId } from '../director/runs.js';
import { rejectPlanSignal } from '../workflows/definitions.js';
import { SAMPLE_PRD_FILE, eventually, startTestEnv, type TestEnv } from './helpers/env.js';
import { UserError } from '../errors/index.js';

let env: TestEnv;
const prd = readFileSync(SAMPLE_PRD_FILE, 'utf8');

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});

async function startAndWaitAtGate(project: string) {
  const { runId } = await submitRun(env.client, { prd, project, options: { director: 'gate-tester' } });
  await eventually(async () => (await runStatus(env.client, runId)).status === 'awaiting_approval', 60_000, 'the plan gate');
  return runId;
}

describe('plan gate', () => {
  it('waits for the Director, then runs to completion once approved', async () => {
    const runId = await startAndWaitAtGate('gate-approve');
    // Waiting: a plan exists, but no task has been given to anyone.
    await new Promise((r) => setTimeout(r, 1_500));
    const waiting = await runStatus(env.client, runId);
    expect(waiting.status).toBe('awaiting_approval');
    expect(waiting.plan?.tasks.map((t) => t.id)).toEqual(['T1', 'T2', 'T3']);
    const taskCalls = await env.db.selectFrom('model_runs').select('id').where('run_id', '=', runId).where('kind', '=', 'task').execute();
    expect(taskCalls).toHaveLength(0);

    await approvePlan(env.client, runId, 'gate-tester', 'looks right');
    const report = await waitForReport(env.client, runId);
    expect(report.status).toBe('completed');
    const actions = await env.db.selectFrom('director_actions').selectAll().where('run_id', '=', runId).execute();
    expect(actions).toEqual([expect.objectContaining({ director_id: 'gate-tester', action: 'approve_plan', reason: 'looks right' })]);
  });

  it('ends a rejected run with the reason recorded, and ignores a rejection without a reason', async () => {
    const runId = await startAndWaitAtGate('gate-reject');

    // The client refuses a reasonless rejection before sending anything…
    await expect(rejectPlan(env.client, runId, 'gate-tester', '  ')).rejects.toBeInstanceOf(UserError);
    // …and a raw signal without one (as from the Web UI) is noted, not obeyed.
    await env.client.workflow.getHandle(toWorkflowId(runId)).signal(rejectPlanSignal, { by: 'web-ui', reason: '' });
    const still = await eventually(async () => {
      const s = await runStatus(env.client, runId);
      return s.ignoredSignals.length > 0 ? s : null;
    });
    expect(still.status).toBe('awaiting_approval');
    expect(still.ignoredSignals[0]).toContain('a reason is required');

    await rejectPlan(env.client, runId, 'gate-tester', 'scope too large for this sprint');
    const report = await waitForReport(env.client, runId);
    expect(report.status).toBe('rejected');
    expect(report.reason).toBe('scope too large for this sprint');

    const run = await env.db.selectFrom('orchestra_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run.status).toBe('rejected');
    expect(run.status_reason).toBe('scope too large for this sprint');
    const actions = await env.db.selectFrom('director_actions').selectAll().where('run_id', '=', runId).execute();
    expect(actions).toEqual([
      expect.objectContaining({ director_id: 'gate-tester', action: 'reject_plan', reason: 'scope too large for this sprint' }),
    ]);
    const taskCalls = await env.db.selectFrom('model_runs').select('id').where('run_id', '=', runId).where('kind', '=', 'task').execute();
    expect(taskCalls).toHaveLength(0);
  });

  it('refuses to approve a run that is not at the gate', async () => {
    const runId = await startAndWaitAtGate('gate-twice');
    await approvePlan(env.client, runId, 'gate-tester');
    await waitForReport(env.client, runId);
    await expect(approvePlan(env.client, runId, 'gate-tester')).rejects.toThrow(/cannot approve the plan: run .* is completed/);
  });
});
