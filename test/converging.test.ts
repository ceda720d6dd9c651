/**
 * Work that converges, against OpenAI-protocol employees that behave like coding models
 * (test/fixtures/coding-model.ts): T1's first answer has a bug that only its author fixes, with
 * its code and the failing test in front of it; T2 calls T1's module, right only when it has
 * seen T1's code. With repair rounds the run completes with no reassignment; without them the
 * task is reassigned (the next employee is told the findings, not who failed) and escalates.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEscalation, runStatus, submitRun, waitForReport } from '../director/runs.js';
import type { RunReport } from '../governance/types.js';
import { eventually, type TestEnv } from './helpers/env.js';
import { CODING_PRD, useCodingEnv, taskCalls } from './helpers/coding-env.js';
import { aura as runAura } from './helpers/cli.js';

const world = useCodingEnv();

describe('a run that needs context and a repair round', () => {
  let runId: string;
  let report: RunReport;
  beforeAll(async () => {
    ({ runId } = await submitRun(world.env.client, {
      prd: CODING_PRD,
      project: 'converge',
      options: { autoApprove: true, director: 'tester', planTimeLimitMs: 2_000 },
    }));
    report = await waitForReport(world.env.client, runId);
  }, 180_000);

  it('completes with no reassignment, T1 repaired in a second round by the same employee', async () => {
    expect(report.status).toBe('completed');
    expect(report.reassignments).toBe(0);
    expect(report.repairRounds).toBe(1);
    expect(report.verification?.passed).toBe(true);
    const calls = await taskCalls(world.env, runId);
    expect(calls.map((c) => [c.task_key, c.employee_id, c.task_attempt, c.round])).toEqual([
      ['T1', 'oa-coder-a', 1, 1],
      ['T1', 'oa-coder-a', 1, 2],
      ['T2', 'oa-coder-a', 1, 1],
    ]);
    expect(calls.every((c) => c.prompt_version === 'task/2')).toBe(true);
    const t1 = report.tasks.find((t) => t.taskKey === 'T1')!;
    expect(t1.attempts.map((a) => [a.employeeId, a.rounds, a.clean])).toEqual([['oa-coder-a', 2, true]]);
  });

  it('shows the repair round its previous code, the failing output and the findings', async () => {
    const [, repair] = await taskCalls(world.env, runId);
    expect(repair!.prompt).toContain('YOUR PREVIOUS ANSWER (round 1) DID NOT PASS');
    expect(repair!.prompt).toContain('words.slice(0, -1)'); // its own previous code
    expect(repair!.prompt).toMatch(/AssertionError|Expected values/); // the failing test's output
    expect(repair!.prompt).toContain('- failed_verification: acceptance command "node --test test/tally.test.mjs" exited with 1');
  });

  it("gives T2 the code of T1's accepted module, so its call is right first time", async () => {
    const t2 = (await taskCalls(world.env, runId)).find((c) => c.task_key === 'T2')!;
    expect(t2.prompt).toContain(
      '----- BEGIN FILE lib/tally.mjs (from a task this one depends on: use it as it is) -----\nexport function tallyWords(text)',
    );
    expect(t2.prompt).not.toContain('words.slice(0, -1)'); // the accepted version, not the buggy first round
  });

  it('records every round: a model call and a verification each, one clean verdict, no incident', async () => {
    const verifications = await world.env.db
      .selectFrom('verifications')
      .select(['kind', 'passed', 'command'])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute();
    expect(verifications.map((v) => [v.kind, v.command, v.passed])).toEqual([
      ['task', 'node --test test/tally.test.mjs', false],
      ['task', 'node --test test/tally.test.mjs', true],
      ['task', 'node --test test/report.test.mjs', true],
      ['workspace', 'node --test', true],
    ]);
    const verdicts = await world.env.db
      .selectFrom('audit_verdicts')
      .select(['clean', 'rounds'])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute();
    expect(verdicts).toEqual([
      { clean: true, rounds: 2 },
      { clean: true, rounds: 1 },
    ]);
    expect(await world.env.db.selectFrom('incidents').select('id').where('run_id', '=', runId).execute()).toEqual([]);
    const findings = await world.env.db
      .selectFrom('audit_events')
      .select('description')
      .where('run_id', '=', runId)
      .where('action', '=', 'audit.round_findings')
      .execute();
    expect(findings.map((f) => f.description)).toEqual(['task T1 by oa-coder-a, round 1: failed_verification (repairable)']);
  });

  it('counts the repair round in aura scores', async () => {
    const out = await runAura(['scores', '--json'], world.env.childEnv);
    const scores = JSON.parse(out.stdout) as {
      employee: string;
      capability: string;
      repair_rounds: number;
      accepted: number;
      attempts: number;
    }[];
    expect(scores.find((s) => s.employee === 'oa-coder-a' && s.capability === 'coder')).toMatchObject({
      repair_rounds: 1,
      accepted: 2,
      attempts: 2,
    });
  });

  it('routed planning around a refusing and a slow planner, each recorded', async () => {
    const events = await world.env.db
      .selectFrom('audit_events')
      .select('description')
      .where('run_id', '=', runId)
      .where('action', '=', 'plan.planner_unavailable')
      .orderBy('seq')
      .execute();
    expect(events.map((e) => e.description?.split(':')[0])).toEqual([
      'oa-refusing-planner could not plan',
      'oa-slow-planner could not plan',
    ]);
    const plans = await world.env.db
      .selectFrom('model_runs')
      .select(['employee_id', 'error'])
      .where('run_id', '=', runId)
      .where('kind', '=', 'plan')
      .orderBy('created_at')
      .execute();
    expect(plans.map((p) => [p.employee_id, p.error === null])).toEqual([
      ['oa-refusing-planner', false], // 429, retried after its Retry-After
      ['oa-refusing-planner', false], // 401: refused, routed around
      ['oa-slow-planner', false],
      ['oa-planner', true],
    ]);
  });
});

describe('the same run without repair rounds', () => {
  let runId: string;
  beforeAll(async () => {
    ({ runId } = await submitRun(world.env.client, {
      prd: CODING_PRD,
      project: 'no-repair',
      options: { autoApprove: true, director: 'tester', maxRepairRounds: 0, planTimeLimitMs: 2_000 },
    }));
    await eventually(
      async () => (await runStatus(world.env.client, runId)).tasks.find((t) => t.key === 'T1' && t.status === 'escalated'),
      120_000,
      'T1 to escalate',
    );
  }, 180_000);

  it('reassigns T1, then escalates it: every attempt one round, each judged and disciplined', async () => {
    const calls = await taskCalls(world.env, runId);
    expect(calls.map((c) => [c.task_key, c.employee_id, c.task_attempt, c.round])).toEqual([
      ['T1', 'oa-coder-a', 1, 1],
      ['T1', 'oa-coder-b', 2, 1],
    ]);
    const verdicts = await world.env.db
      .selectFrom('audit_verdicts')
      .select(['employee_id', 'clean', 'violations'])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute();
    expect(verdicts.map((v) => [v.employee_id, v.clean, (v.violations as { type: string }[]).map((x) => x.type)])).toEqual([
      ['oa-coder-a', false, ['failed_verification']],
      ['oa-coder-b', false, ['failed_verification']],
    ]);
    const incidents = await world.env.db
      .selectFrom('incidents')
      .select(['model_id', 'violation'])
      .where('run_id', '=', runId)
      .orderBy('reported_at')
      .execute();
    expect(incidents).toEqual([
      { model_id: 'oa-coder-a', violation: 'failed_verification' },
      { model_id: 'oa-coder-b', violation: 'failed_verification' },
    ]);
    expect(
      await world.env.db
        .selectFrom('audit_events')
        .select('id')
        .where('run_id', '=', runId)
        .where('action', '=', 'audit.round_findings')
        .execute(),
    ).toEqual([]);
  });

  it("tells the second employee the first attempt's findings and failing output, never who made them", async () => {
    const second = (await taskCalls(world.env, runId))[1]!;
    expect(second.prompt).toContain('EARLIER ATTEMPTS AT THIS TASK WERE NOT ACCEPTED');
    expect(second.prompt).toContain(
      'Attempt 1:\n- failed_verification: acceptance command "node --test test/tally.test.mjs" exited with 1',
    );
    expect(second.prompt).toMatch(/AssertionError|Expected values/);
    expect(second.prompt).not.toContain('oa-coder-a');
    expect(second.prompt).not.toContain('coder-a');
  });

  it('writes one event for the escalation, and the Director ends it', async () => {
    const escalations = await world.env.db
      .selectFrom('audit_events')
      .select(['action', 'severity'])
      .where('run_id', '=', runId)
      .where('action', '=', 'task.escalated')
      .execute();
    expect(escalations).toEqual([{ action: 'task.escalated', severity: 'critical' }]);
    await resolveEscalation(world.env.client, runId, 'T1', { kind: 'cancel', by: 'tester', reason: 'both coders repeat the bug' });
    const report = await waitForReport(world.env.client, runId);
    expect(report.status).toBe('failed');
    expect(report.reason).toBe('tasks not accepted: T1, T2');
    expect(report.reassignments).toBe(1);
  });
});
