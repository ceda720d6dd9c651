/**
 * `aura history` and `aura runs` as the Director uses them (a real process, against a real
 * Temporal server and PostgreSQL): a demo-like run with a reassignment and a Director's
 * approval read back as one timeline, Temporal's events and the record's rows in time order;
 * the run list and its filters; a run whose Temporal history is gone; bad input.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvePlan, runStatus, submitRun, waitForReport } from '../director/runs.js';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporalEntries, type TimelineEntry } from '../director/timeline/index.js';
import type { RunLine } from '../director/run-list.js';
import type { RunReport } from '../governance/types.js';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';
import { SAMPLE_PRD_FILE, eventually, startTestEnv, type TestEnv } from './helpers/env.js';
import { aura as runAura, auraBinary } from './helpers/cli.js';

const DIRECTOR = 'Dana Director';
const prd = readFileSync(SAMPLE_PRD_FILE, 'utf8');

let env: TestEnv;
/** The demo-like run: plan re-planned once, approved by the Director, T1 reassigned, completed. */
let done: { runId: string; workflowId: string; report: RunReport };
/** A run left waiting at the plan gate. */
let waiting: { runId: string; workflowId: string };

beforeAll(async () => {
  env = await startTestEnv();
  const a = await submitRun(env.client, { prd, project: 'history-demo', options: { director: DIRECTOR } });
  await eventually(async () => (await runStatus(env.client, a.runId)).status === 'awaiting_approval', 60_000, 'the plan gate');
  await approvePlan(env.client, a.runId, DIRECTOR, 'plan looks right');
  done = { ...a, report: await waitForReport(env.client, a.runId) };
  waiting = await submitRun(env.client, { prd, project: 'history-gate', options: { director: DIRECTOR } });
  await eventually(async () => (await runStatus(env.client, waiting.runId)).status === 'awaiting_approval', 60_000, 'the second plan gate');
});
afterAll(async () => {
  await env?.teardown();
});

/** The CLI, in this process (test/helpers/cli.ts); the text timeline below also runs the real binary once. */
const aura = (args: string[]) => runAura(args, env.childEnv);

async function historyJson(ref: string): Promise<TimelineEntry[]> {
  const r = await aura(['history', ref, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as TimelineEntry[];
}

describe('aura history: one timeline of a run', () => {
  let entries: TimelineEntry[];
  const index = (pred: (e: TimelineEntry) => boolean, what: string): number => {
    const i = entries.findIndex(pred);
    if (i < 0) throw new Error(`no timeline entry for ${what}`);
    return i;
  };
  const event = (e: TimelineEntry) => e.details.event as string | undefined;
  const table = (e: TimelineEntry) => e.details.table as string | undefined;

  beforeAll(async () => {
    expect(done.report.status).toBe('completed');
    entries = await historyJson(done.runId);
  });

  it('is in time order, with Temporal events and record rows interleaved', () => {
    expect(entries.length).toBeGreaterThan(100);
    const times = entries.map((e) => e.at);
    expect(times).toEqual([...times].sort());
    for (const e of entries) expect(e.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // Not two blocks one after the other: the sources alternate all along the run.
    const switches = entries.slice(1).filter((e, i) => e.source !== entries[i]!.source).length;
    expect(switches).toBeGreaterThan(40);
    // The model call of T1's first attempt is recorded while its activity runs, between its
    // scheduling and its completion in Temporal's history.
    const scheduled = index(
      (e) => e.task === 'T1' && event(e) === 'ActivityTaskScheduled' && e.details.activityType === 'performTask' && e.attempt === 1,
      'T1 attempt 1 scheduled',
    );
    const call = index((e) => table(e) === 'model_runs' && e.task === 'T1' && e.attempt === 1, 'T1 attempt 1 model call');
    const completed = index(
      (e) => e.task === 'T1' && event(e) === 'ActivityTaskCompleted' && e.details.activityType === 'performTask' && e.attempt === 1,
      'T1 attempt 1 completed',
    );
    expect(scheduled).toBeLessThan(call);
    expect(call).toBeLessThan(completed);
  });

  it('starts with the run, then the plan, then the Director approval by name, and ends with the completion', async () => {
    expect(entries[0]).toMatchObject({
      source: 'temporal',
      who: 'manager',
      task: null,
      details: { event: 'WorkflowExecutionStarted', workflowType: 'prdRun', project: 'history-demo' },
    });
    expect(entries[0]!.ref).toBe(`${done.workflowId}#1`);
    const started = index((e) => e.details.action === 'run.started', 'run.started');
    const rejectedPlan = index((e) => e.details.action === 'plan.rejected_by_rules', 'the plan sent back');
    const plan = index((e) => e.details.action === 'plan.accepted_by_rules', 'the plan');
    expect(entries[plan]).toMatchObject({
      source: 'record',
      who: 'manager',
      what: expect.stringContaining('passed the plan rules: 3 tasks'),
    });
    const planners = entries.filter((e) => table(e) === 'model_runs' && e.details.kind === 'plan');
    expect(planners.map((e) => [e.who, e.what.match(/plan round \d/)?.[0]])).toEqual([
      ['employee:scripted-planner', 'plan round 1'],
      ['employee:scripted-planner', 'plan round 2'],
    ]);

    const row = await env.db.selectFrom('director_actions').selectAll().where('run_id', '=', done.runId).executeTakeFirstOrThrow();
    const approval = index((e) => e.ref === row.id, 'the approval row');
    expect(entries[approval]).toMatchObject({
      source: 'record',
      who: `director:${DIRECTOR}`,
      what: 'approve_plan: plan looks right',
      details: { table: 'director_actions', director: DIRECTOR },
    });
    // …and the command itself in Temporal's history (a signal, or an update), with the name.
    const command = index(
      (e) =>
        e.source === 'temporal' && /^(signal|update) approvePlan (received|accepted) from Dana Director: plan looks right$/.test(e.what),
      'the approvePlan command',
    );
    expect(entries[command]!.who).toBe(`director:${DIRECTOR}`);
    // The approval is one line in the record: its audit event is folded into the row.
    expect(entries.filter((e) => e.source === 'record' && e.what.includes('approve_plan'))).toHaveLength(1);

    const running = index((e) => e.details.action === 'run.running', 'run.running');
    const firstTask = index((e) => e.task === 'T1' && table(e) === 'model_runs', 'T1 work');
    const completion = index((e) => e.details.action === 'run.completed', 'run.completed');
    expect(started).toBeLessThan(rejectedPlan);
    expect(rejectedPlan).toBeLessThan(plan);
    expect(plan).toBeLessThan(command);
    expect(command).toBeLessThan(approval);
    expect(approval).toBeLessThan(running);
    expect(running).toBeLessThan(firstTask);
    expect(firstTask).toBeLessThan(completion);
    expect(entries.at(-1)).toMatchObject({
      source: 'temporal',
      task: null,
      details: { event: 'WorkflowExecutionCompleted', status: 'completed' },
    });
    expect(entries.at(-1)!.what).toMatch(/^workflow prdRun completed: status completed/);
  });

  it('lists every attempt of every task with its employee, in Temporal and in the record', async () => {
    const calls = await env.db
      .selectFrom('model_runs')
      .select(['id', 'employee_id', 'task_attempt', 'round'])
      .where('run_id', '=', done.runId)
      .where('kind', '=', 'task')
      .execute();
    let n = 0;
    for (const t of done.report.tasks) {
      for (const a of t.attempts) {
        n++;
        const who = `employee:${a.employeeId}`;
        const call = entries.find((e) => e.ref === a.modelRunId)!;
        expect(call).toMatchObject({
          source: 'record',
          who,
          task: t.taskKey,
          attempt: a.attempt,
          details: { table: 'model_runs', kind: 'task', round: 1 },
        });
        expect(call.what).toMatch(/^answered \(round 1\) \(\d+\+\d+ tokens/);
        const work = entries.filter((e) => e.task === t.taskKey && e.attempt === a.attempt && e.details.activityType === 'performTask');
        expect(work.map((e) => [event(e), e.who])).toEqual([
          ['ActivityTaskScheduled', who],
          ['ActivityTaskStarted', who],
          ['ActivityTaskCompleted', who],
        ]);
        expect(work[0]!.what).toBe(`activity performTask scheduled: "${a.employeeId} works on ${t.taskKey}" (on aura-employee-scripted)`);
        expect(work[1]!.what).toBe('activity performTask started, attempt 1');
        expect(work[2]!.what).toContain(`model run ${a.modelRunId}`);
        // The independent reviewer's call on this attempt's output.
        expect(
          entries.filter((e) => e.details.kind === 'review' && e.task === t.taskKey && e.attempt === a.attempt).map((e) => e.who),
        ).toEqual(['employee:scripted-reviewer']);
      }
    }
    expect(n).toBe(calls.length);
    // T1's reassignment, in order: the faulty employee's attempt, HR, the reassignment, the next.
    const t1 = done.report.tasks.find((t) => t.taskKey === 'T1')!;
    expect(t1.attempts.map((a) => a.employeeId)).toEqual(['scripted-overconfident', 'scripted-ada']);
    const reassigning = index((e) => e.details.action === 'task.reassigning', 'task.reassigning');
    expect(entries[reassigning]).toMatchObject({ task: 'T1', attempt: null, who: 'manager' });
    expect(index((e) => e.ref === t1.attempts[0]!.modelRunId, 'attempt 1')).toBeLessThan(reassigning);
    expect(reassigning).toBeLessThan(index((e) => e.ref === t1.attempts[1]!.modelRunId, 'attempt 2'));
    // Each task workflow's start and end, and the parent's view of its children.
    for (const t of done.report.tasks) {
      expect(entries.filter((e) => e.task === t.taskKey && event(e) === 'WorkflowExecutionStarted').map((e) => e.attempt)).toEqual([null]);
      expect(entries.find((e) => e.task === t.taskKey && event(e) === 'WorkflowExecutionCompleted')!.what).toContain('status accepted');
      expect(entries.find((e) => e.task === t.taskKey && event(e) === 'ChildWorkflowExecutionCompleted')!.ref).toMatch(
        new RegExp(`^${done.workflowId}#\\d+$`),
      );
    }
  });

  it('shows every verdict, incident, HR action and score with its row id', async () => {
    const [verdicts, incidents, actions, scores] = await Promise.all([
      env.db.selectFrom('audit_verdicts').selectAll().where('run_id', '=', done.runId).execute(),
      env.db.selectFrom('incidents').selectAll().where('run_id', '=', done.runId).execute(),
      env.db.selectFrom('disciplinary_actions').selectAll().where('run_id', '=', done.runId).execute(),
      env.db.selectFrom('scores').selectAll().where('run_id', '=', done.runId).execute(),
    ]);
    expect([verdicts.length, incidents.length, actions.length, scores.length]).toEqual([4, 3, 4, 4]);
    for (const v of verdicts) {
      const line = entries.find((e) => e.ref === v.id)!;
      expect(line).toMatchObject({
        source: 'record',
        who: 'auditor',
        details: { table: 'audit_verdicts', employeeId: v.employee_id, clean: v.clean },
      });
      expect(line.what).toMatch(
        v.clean
          ? new RegExp(`^verdict on ${v.employee_id}: clean`)
          : /^verdict on scripted-overconfident: scope_drift, hallucination, failed_verification/,
      );
    }
    for (const i of incidents) {
      const sha = (i.evidence as { sha256: string }[])[0]!.sha256;
      const line = entries.find((e) => e.ref === i.id)!;
      expect(line).toMatchObject({
        source: 'record',
        who: 'HR',
        task: 'T1',
        attempt: 1,
        details: { table: 'incidents', verdictId: i.verdict_id, violation: i.violation },
      });
      expect(line.what).toContain(`incident: scripted-overconfident ${i.violation} (severity ${i.severity})`);
      expect(line.what).toContain(`evidence sha256 ${sha.slice(0, 12)}`);
    }
    for (const a of actions) {
      const line = entries.find((e) => e.ref === a.id)!;
      expect(line).toMatchObject({
        source: 'record',
        who: 'HR',
        task: 'T1',
        attempt: 1,
        details: { table: 'disciplinary_actions', incidentId: a.incident_id },
      });
      expect(line.what).toBe(`${a.action} for scripted-overconfident: ${a.reason} [${a.policy_version}]`);
    }
    for (const s of scores) {
      const line = entries.find((e) => e.ref === s.id)!;
      expect(line).toMatchObject({ source: 'record', who: 'accountant', details: { table: 'scores', employeeId: s.employee_id } });
      expect(line.what).toMatch(new RegExp(`^scored ${s.employee_id} ${Number(s.score)} \\(${s.capability}`));
    }
    // The Auditor's and HR's activities in Temporal, attributed to their roles.
    expect(
      entries.find(
        (e) => e.details.activityType === 'auditAttempt' && event(e) === 'ActivityTaskCompleted' && e.attempt === 1 && e.task === 'T1',
      ),
    ).toMatchObject({
      who: 'auditor',
      what: expect.stringContaining('violations: scope_drift, hallucination, failed_verification'),
    });
    expect(entries.find((e) => e.details.activityType === 'applyPolicy' && event(e) === 'ActivityTaskCompleted')).toMatchObject({
      who: 'HR',
      task: 'T1',
      what: expect.stringContaining('actions: WARNING, STRIKE, WARNING'),
    });
    // The order of the failed attempt: verdict, then incidents and HR's actions, then its score.
    const verdict = index((e) => e.ref === verdicts.find((v) => !v.clean)!.id, 'the failing verdict');
    const hr = incidents.map((i) => index((e) => e.ref === i.id, 'an incident'));
    const penalty = index((e) => e.ref === scores.find((s) => Number(s.score) === 0)!.id, 'the penalty');
    for (const i of hr) expect(verdict < i && i < penalty).toBe(true);
    // Folded: no audit event repeats a row shown above.
    expect(
      entries.filter((e) =>
        ['audit.clean', 'audit.violations', 'hr.actions', 'score.recorded', 'score.warn', 'task.answered', 'plan.proposed'].includes(
          e.details.action as string,
        ),
      ),
    ).toEqual([]);
    // Sandbox checks: every acceptance check and the final verification.
    const checks = entries.filter((e) => table(e) === 'verifications');
    expect(checks.map((e) => [e.who, e.task, /passed|failed/.exec(e.what)?.[0]])).toEqual([
      ['sandbox', 'T1', 'failed'],
      ['sandbox', 'T1', 'passed'],
      ['sandbox', 'T2', 'passed'],
      ['sandbox', 'T3', 'passed'],
      ['sandbox', null, 'passed'],
    ]);
  });

  it('prints aligned text lines, each naming its source, who and reference; by workflow id too', async () => {
    // The real binary (bin/aura, a process of its own), as the Director runs it.
    const r = await auraBinary(['history', done.workflowId], env.childEnv);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`run ${done.runId}  workflow ${done.workflowId}  project history-demo  status completed`);
    expect(lines[1]).toMatch(/^\d+ events: \d+ from Temporal's history, \d+ from the governance record; times UTC$/);
    const header = lines[2]!;
    expect(header).toMatch(/^AT \(UTC\) +SOURCE +WHO +TASK +ATTEMPT +WHAT +\[REF\]$/);
    const body = lines.slice(3);
    expect(body).toHaveLength(Number(lines[1]!.split(' ')[0]));
    // Columns line up with the header.
    const col = (name: string) => header.indexOf(name);
    for (const l of body) {
      expect(l.slice(col('SOURCE'), col('SOURCE') + 8).trim()).toMatch(/^(temporal|record)$/);
      expect(l[col('WHO') - 1]).toBe(' ');
      expect(l).toMatch(/\[[^\]]+\]$/);
    }
    const approval = body.find((l) => l.includes('approve_plan: plan looks right'))!;
    expect(approval.slice(col('WHO'), col('TASK')).trim()).toBe(`director:${DIRECTOR}`);
    expect(approval).toMatch(/\[director_actions [0-9a-f-]{36}\]$/);
    const drift = body.find((l) => l.includes('incident: scripted-overconfident scope_drift'))!;
    expect(drift.slice(col('TASK'), col('ATTEMPT')).trim()).toBe('T1');
    expect(drift.slice(col('ATTEMPT'), col('WHAT')).trim()).toBe('1');
    expect(drift).toMatch(/\[incidents [0-9a-f-]{36}\]$/);
    const work = body.find((l) => l.includes('activity performTask scheduled: "scripted-ada works on T1"'))!;
    expect(work.slice(col('SOURCE'), col('WHO')).trim()).toBe('temporal');
    expect(work.slice(col('ATTEMPT'), col('WHAT')).trim()).toBe('2');
    expect(work).toMatch(/\[task-T1 event \d+\]$/);
  });

  it("narrows to one task's lines, or to one source, and says what it left out", async () => {
    const t1 = await aura(['history', done.runId, '--task', 'T1', '--record-only', '--json']);
    expect(t1.code, t1.stderr).toBe(0);
    const picked = JSON.parse(t1.stdout) as TimelineEntry[];
    expect(picked.length).toBeGreaterThan(0);
    expect(picked.length).toBeLessThan(entries.length);
    expect(new Set(picked.map((e) => `${e.task} ${e.source}`))).toEqual(new Set(['T1 record']));
    // Exactly the whole timeline's T1 record lines, in the same order.
    expect(picked).toEqual(entries.filter((e) => e.task === 'T1' && e.source === 'record'));

    const text = await aura(['history', done.runId, '--temporal-only']);
    expect(text.code, text.stderr).toBe(0);
    const temporal = entries.filter((e) => e.source === 'temporal').length;
    expect(text.stdout).toContain(`note: showing Temporal's history only: ${temporal} of ${entries.length} events`);

    const unknown = await aura(['history', done.runId, '--task', 'T9']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/the run has no task T9 in its timeline \(tasks: T1(, T\d)*; 'run' for the run's own lines\)/);
    const both = await aura(['history', done.runId, '--record-only', '--temporal-only']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--record-only and --temporal-only leave nothing: give one');
  });
});

describe('aura runs', () => {
  const runsJson = async (...args: string[]): Promise<RunLine[]> => {
    const r = await aura(['runs', ...args, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as RunLine[];
  };

  it('lists the runs newest first, with what waits on the Director', async () => {
    const all = await runsJson();
    expect(all.map((l) => [l.runId, l.workflowId, l.project, l.status, l.needsDirector, l.waitingFor])).toEqual([
      [waiting.runId, waiting.workflowId, 'history-gate', 'awaiting_approval', true, ['plan approval (approve | reject)']],
      [done.runId, done.workflowId, 'history-demo', 'completed', false, []],
    ]);
    expect(all[1]!.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(all[0]!.finishedAt).toBeNull();
    expect(all[1]!.updatedAt >= all[1]!.startedAt!).toBe(true);

    const r = await aura(['runs']);
    expect(r.code).toBe(0);
    const [header, ...lines] = r.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^RUN ID +WORKFLOW ID +PROJECT +STATUS +STARTED \(UTC\) +LAST CHANGE +WAITS ON THE DIRECTOR$/);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(
        `^${waiting.runId}  ${waiting.workflowId}  history-gate  awaiting_approval  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  .*  plan approval \\(approve \\| reject\\)$`,
      ),
    );
    expect(lines[1]).toMatch(new RegExp(`^${done.runId}  ${done.workflowId}  history-demo  completed +.*  -$`));
  });

  it('filters by status, by what waits on the Director, and by number', async () => {
    expect((await runsJson('--status', 'completed')).map((l) => l.runId)).toEqual([done.runId]);
    expect((await runsJson('--status', 'awaiting_approval,completed')).map((l) => l.runId)).toEqual([waiting.runId, done.runId]);
    expect(await runsJson('--status', 'running')).toEqual([]);
    expect((await runsJson('--needs-director')).map((l) => [l.runId, l.waitingFor])).toEqual([
      [waiting.runId, ['plan approval (approve | reject)']],
    ]);
    expect(await runsJson('--needs-director', '--status', 'completed')).toEqual([]);
    expect((await runsJson('--limit', '1')).map((l) => l.runId)).toEqual([waiting.runId]);
    const none = await aura(['runs', '--status', 'failed']);
    expect(none).toMatchObject({ code: 0, stdout: 'no runs\n' });
  });
});

describe('bad input', () => {
  it.each([
    [
      ['runs', '--status', 'finished'],
      /^aura: unknown run status "finished" for --status: one of planning, awaiting_approval, plan_escalated, running, budget_paused, paused, verifying, verification_escalated, completed, failed, rejected, cancelled\n$/,
    ],
    [['runs', '--status', 'completed,done'], /unknown run status "done"/],
    [['runs', '--limit', '0'], /^aura: --limit must be a whole number from 1 to 10000 \(got "0"\)\n$/],
    [
      ['history', '00000000-0000-4000-8000-000000000000'],
      /^aura: unknown run: 00000000-0000-4000-8000-000000000000 \(no run with this id or workflow id in the governance record, and no such workflow or AuraRunId in Temporal\)\n$/,
    ],
    [['history', 'no-such-workflow'], /^aura: unknown run: no-such-workflow /],
    [['history'], /missing required argument 'run'/],
  ])('aura %j: a clear message, exit 2', async (args, message) => {
    const r = await aura(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('aura history of a run Temporal no longer has', () => {
  it('prints the governance record and says so', async () => {
    await env.client.workflowService.deleteWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: waiting.workflowId },
    });
    await eventually(
      () =>
        env.client.workflow
          .getHandle(waiting.workflowId)
          .fetchHistory()
          .then(
            () => false,
            () => true,
          ),
      30_000,
      'the workflow to be deleted',
    );
    const r = await aura(['history', waiting.runId]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`run ${waiting.runId}  workflow ${waiting.workflowId}  project history-gate  status awaiting_approval`);
    expect(lines[1]).toBe(
      `note: Temporal has no history of ${waiting.workflowId} (purged from the dev server, or past the namespace's retention): the governance record only`,
    );
    const entries = await historyJson(waiting.runId);
    expect(new Set(entries.map((e) => e.source))).toEqual(new Set(['record']));
    expect(entries.map((e) => e.details.action ?? e.details.table)).toEqual([
      'run.started',
      'model_runs',
      'plan.rejected_by_rules',
      'model_runs',
      'plan.accepted_by_rules',
      'run.awaiting_approval',
    ]);
  });
});

describe('aura history of a run only Temporal knows, by its AuraRunId', () => {
  it("finds the workflow by the search attribute and prints Temporal's history, saying the record has none", async () => {
    // Started by hand (as from the Web UI) on a queue no worker polls: it never reaches the record.
    await env.client.workflow.start('prdRun', {
      taskQueue: 'nobody-polls-this',
      workflowId: 'hand-started-run',
      args: [{ prd, project: 'by-hand' }],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.runId, value: 'by-hand-1' }],
    });
    await eventually(
      async () => {
        for await (const _ of env.client.workflow.list({ query: 'AuraRunId = "by-hand-1"' })) return true;
        return false;
      },
      30_000,
      'the search attribute to be visible',
    );
    const r = await aura(['history', 'by-hand-1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('run by-hand-1  workflow hand-started-run');
    expect(lines[1]).toBe("note: the governance record has no run by-hand-1: Temporal's history only");
    expect(lines[2]).toBe("1 events: 1 from Temporal's history, 0 from the governance record; times UTC");
    expect(lines[4]).toMatch(/^\S+Z  temporal  manager +- +- +workflow prdRun started  \[run event 1\]$/);
  });
});

describe('Temporal events a run may hold: retries, failures, timeouts, updates, signals', () => {
  const p = (v: unknown) => ({ payloads: [defaultPayloadConverter.toPayload(v)] });
  const at = (n: number) => ({ seconds: 1_700_000_000 + n, nanos: 123_456_789 });
  const wf = 'prd-run-x.task-T2';
  const events = [
    {
      eventId: 5,
      eventTime: at(0),
      userMetadata: { summary: defaultPayloadConverter.toPayload('e1 works on T2') },
      activityTaskScheduledEventAttributes: {
        activityId: '3',
        activityType: { name: 'performTask' },
        taskQueue: { name: 'aura-employee-openai' },
        input: p({ employeeId: 'e1', attempt: 2, round: 1 }),
      },
    },
    {
      eventId: 6,
      eventTime: at(9),
      activityTaskStartedEventAttributes: { scheduledEventId: 5, attempt: 3, lastFailure: { message: 'connect ECONNRESET' } },
    },
    {
      eventId: 7,
      eventTime: at(10),
      activityTaskFailedEventAttributes: {
        scheduledEventId: 5,
        retryState: 4,
        failure: { message: 'gave up', applicationFailureInfo: { type: 'ProviderUnavailable' } },
      },
    },
    {
      eventId: 8,
      eventTime: at(11),
      activityTaskScheduledEventAttributes: {
        activityId: '4',
        activityType: { name: 'verifyTaskOutput' },
        taskQueue: { name: 'aura-sandbox' },
        input: p({ command: 'npm test' }),
      },
    },
    { eventId: 9, eventTime: at(12), activityTaskStartedEventAttributes: { scheduledEventId: 8, attempt: 1 } },
    {
      eventId: 10,
      eventTime: at(13),
      activityTaskTimedOutEventAttributes: {
        scheduledEventId: 8,
        retryState: 3,
        failure: { message: 'activity timeout', timeoutFailureInfo: { timeoutType: 4 } },
      },
    },
    {
      eventId: 11,
      eventTime: at(14),
      workflowExecutionSignaledEventAttributes: {
        signalName: 'directorDecision',
        identity: 'cli@host',
        input: p({ kind: 'reassign', employeeId: 'e2', by: 'Dana', reason: 'e1 is down' }),
      },
    },
    {
      eventId: 12,
      eventTime: at(15),
      workflowExecutionSignaledEventAttributes: { signalName: 'directorDecision', identity: 'web-ui@host', input: p({ kind: 'cancel' }) },
    },
    {
      eventId: 13,
      eventTime: at(16),
      workflowExecutionUpdateAcceptedEventAttributes: {
        protocolInstanceId: 'u1',
        acceptedRequest: {
          meta: { updateId: 'u1', identity: 'cli@host' },
          input: { name: 'pause', args: p({ by: 'Dana', reason: 'lunch' }) },
        },
      },
    },
    {
      eventId: 14,
      eventTime: at(17),
      workflowExecutionUpdateCompletedEventAttributes: {
        meta: { updateId: 'u1' },
        outcome: { success: p({ command: 'pause', status: 'paused', message: 'run paused' }) },
      },
    },
    {
      eventId: 15,
      eventTime: at(18),
      workflowExecutionUpdateAcceptedEventAttributes: {
        protocolInstanceId: 'u2',
        acceptedRequest: { meta: { updateId: 'u2' }, input: { name: 'resume', args: p({ by: 'Dana', reason: 'back' }) } },
      },
    },
    {
      eventId: 16,
      eventTime: at(19),
      workflowExecutionUpdateCompletedEventAttributes: {
        meta: { updateId: 'u2' },
        outcome: { failure: { message: 'the run is not paused' } },
      },
    },
  ];
  const entries = temporalEntries(wf, events as never, {
    taskOf: (id) => (id === wf ? 'T2' : null),
    decode: (x) => (x ? defaultPayloadConverter.fromPayload(x as never) : undefined),
  });

  it('names attempts, retries, failures and timeouts, and who sent each command', () => {
    expect(entries.map((e) => [e.at, e.who, e.task, e.attempt, e.what, e.ref])).toEqual([
      [
        '2023-11-14T22:13:20.123456Z',
        'employee:e1',
        'T2',
        2,
        'activity performTask scheduled: "e1 works on T2" (on aura-employee-openai)',
        `${wf}#5`,
      ],
      [
        '2023-11-14T22:13:29.123456Z',
        'employee:e1',
        'T2',
        2,
        'activity performTask started, attempt 3 (2 retries; last failure: connect ECONNRESET)',
        `${wf}#6`,
      ],
      [
        '2023-11-14T22:13:30.123456Z',
        'employee:e1',
        'T2',
        2,
        'activity performTask failed on attempt 3: ProviderUnavailable: gave up (maximum attempts reached)',
        `${wf}#7`,
      ],
      ['2023-11-14T22:13:31.123456Z', 'sandbox', 'T2', 2, 'activity verifyTaskOutput scheduled (on aura-sandbox)', `${wf}#8`],
      ['2023-11-14T22:13:32.123456Z', 'sandbox', 'T2', 2, 'activity verifyTaskOutput started, attempt 1', `${wf}#9`],
      [
        '2023-11-14T22:13:33.123456Z',
        'sandbox',
        'T2',
        2,
        'activity verifyTaskOutput timed out (heartbeat) on attempt 1 (timeout)',
        `${wf}#10`,
      ],
      [
        '2023-11-14T22:13:34.123456Z',
        'director:Dana',
        'T2',
        null,
        'signal directorDecision received from Dana (reassign → e2): e1 is down',
        `${wf}#11`,
      ],
      ['2023-11-14T22:13:35.123456Z', 'unattributed (web-ui@host)', 'T2', null, 'signal directorDecision received (cancel)', `${wf}#12`],
      ['2023-11-14T22:13:36.123456Z', 'director:Dana', 'T2', null, 'update pause accepted from Dana: lunch', `${wf}#13`],
      ['2023-11-14T22:13:37.123456Z', 'director:Dana', 'T2', null, 'update pause completed: run paused (now paused)', `${wf}#14`],
      ['2023-11-14T22:13:38.123456Z', 'director:Dana', 'T2', null, 'update resume accepted from Dana: back', `${wf}#15`],
      ['2023-11-14T22:13:39.123456Z', 'director:Dana', 'T2', null, 'update resume completed: refused: the run is not paused', `${wf}#16`],
    ]);
    expect(entries[1]!.details).toMatchObject({
      event: 'ActivityTaskStarted',
      activityType: 'performTask',
      activityId: '3',
      activityAttempt: 3,
      round: 1,
    });
  });
});
