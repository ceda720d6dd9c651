/**
 * Run budgets: crossing the token budget pauses the run (in planning, and in a task) and asks
 * the Director, who raises it — the run resumes and completes — or stops the run. Never a
 * silent continue.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raiseBudget, runStatus, stopRun, submitRun, waitForReport } from '../director/runs.js';
import { runSpend } from '../db/repositories/usage.js';
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

const paused = (runId: string, why: RegExp = /budget: /) =>
  eventually(
    async () => {
      const s = await runStatus(env.client, runId);
      return s.status === 'budget_paused' && why.test(s.escalations.join('\n')) ? s : null;
    },
    60_000,
    `the run to pause on its budget (${why})`,
  );

describe('run budget', () => {
  it('pauses when the budget is crossed, and resumes when the Director raises it', async () => {
    const { runId } = await submitRun(env.client, {
      prd,
      project: 'budget-raise',
      options: { autoApprove: true, director: 'cfo', budget: { maxTokens: 1, maxCostUsd: 100 } },
    });

    // Planning: the first plan call spends more than 1 token; the re-plan call is refused.
    const inPlanning = await paused(runId);
    expect(inPlanning.escalations.join('\n')).toMatch(/budget: planning: run budget reached: \d+ of 1 tokens/);
    expect(inPlanning.planAttempts).toBe(2);
    const afterPlan = await runSpend(env.db, runId);
    expect(afterPlan.calls).toBe(1);

    // Nothing moves while paused.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await runSpend(env.db, runId)).calls).toBe(1);
    await expect(raiseBudget(env.client, runId, { maxTokens: 1, maxCostUsd: 100 }, 'cfo', 'same again')).rejects.toBeInstanceOf(UserError);
    await expect(raiseBudget(env.client, runId, { maxTokens: 10, maxCostUsd: 100 }, 'cfo', ' ')).rejects.toThrow(/needs a reason/);

    // Just enough for the re-plan: the first task's call then crosses it again, inside a task.
    await raiseBudget(env.client, runId, { maxTokens: afterPlan.tokens + 1, maxCostUsd: 100 }, 'cfo', 'finish planning');
    const inTask = await paused(runId, /budget: task T1: run budget reached/);
    expect(inTask.escalations.join('\n')).not.toMatch(/planning/);
    expect(inTask.tasks.find((t) => t.key === 'T1')?.status).toBe('paused');

    await raiseBudget(env.client, runId, { maxTokens: 10_000_000, maxCostUsd: 100 }, 'cfo', 'approved for the whole run');
    const report = await waitForReport(env.client, runId);
    expect(report.status).toBe('completed');
    expect(report.budget).toEqual({ maxTokens: 10_000_000, maxCostUsd: 100 });
    expect(report.usage!.inputTokens + report.usage!.outputTokens).toBe((await runSpend(env.db, runId)).tokens);

    const actions = await env.db
      .selectFrom('director_actions')
      .select(['action', 'reason', 'director_id'])
      .where('run_id', '=', runId)
      .where('action', '=', 'raise_budget')
      .execute();
    expect(actions.map((a) => a.reason)).toEqual(['finish planning', 'approved for the whole run']);
    const events = await env.db
      .selectFrom('audit_events')
      .select('action')
      .where('run_id', '=', runId)
      .where('action', '=', 'run.budget_reached')
      .execute();
    expect(events).toHaveLength(2);
  });

  it('ends the run when the Director stops it', async () => {
    const { runId } = await submitRun(env.client, {
      prd,
      project: 'budget-stop',
      options: { autoApprove: true, director: 'cfo', budget: { maxTokens: 1, maxCostUsd: 100 } },
    });
    await paused(runId);
    await expect(stopRun(env.client, runId, 'cfo', '')).rejects.toThrow(/needs a reason/);
    await stopRun(env.client, runId, 'cfo', 'not worth it');
    const report = await waitForReport(env.client, runId);
    expect(report.status).toBe('cancelled');
    expect(report.reason).toBe('stopped by cfo on budget: not worth it');
    const run = await env.db
      .selectFrom('orchestra_runs')
      .select(['status', 'status_reason'])
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();
    expect(run).toEqual({ status: 'cancelled', status_reason: 'stopped by cfo on budget: not worth it' });
    const stop = await env.db
      .selectFrom('director_actions')
      .selectAll()
      .where('run_id', '=', runId)
      .where('action', '=', 'stop_run')
      .execute();
    expect(stop).toHaveLength(1);
  });

  it('cannot be raised on a run that is not paused', async () => {
    const { runId } = await submitRun(env.client, { prd, project: 'budget-none', options: { autoApprove: true, director: 'cfo' } });
    await waitForReport(env.client, runId);
    await expect(raiseBudget(env.client, runId, { maxTokens: 5, maxCostUsd: 1 }, 'cfo', 'why not')).rejects.toThrow(
      /cannot raise the budget: run .* is completed/,
    );
  });
});
