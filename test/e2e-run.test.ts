/**
 * End to end on a real Temporal server and real PostgreSQL: the sample PRD with the faulty
 * scripted employee → incidents, disciplinary actions, reassignment, a completed run, and
 * every governance row checked in the database.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { submitRun, waitForReport } from '../client/runs.js';
import type { RunReport } from '../governance/types.js';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';
import { SAMPLE_PRD_FILE, startTestEnv, type TestEnv } from './helpers/env.js';

let env: TestEnv;
let runId: string;
let workflowId: string;
let report: RunReport;

beforeAll(async () => {
  env = await startTestEnv();
  ({ runId, workflowId } = await submitRun(env.client, {
    prd: readFileSync(SAMPLE_PRD_FILE, 'utf8'),
    project: 'wordfreq-e2e',
    options: { autoApprove: true, director: 'test-director' },
  }));
  report = await waitForReport(env.client, runId);
});

afterAll(async () => {
  await env?.teardown();
});

describe('a governed run of the sample PRD', () => {
  it('completes, with the faulty employee caught and its task reassigned', () => {
    expect(report.status).toBe('completed');
    expect(report.reassignments).toBe(1);
    const t1 = report.tasks.find((t) => t.taskKey === 'T1')!;
    expect(t1.attempts.map((a) => a.employeeId)).toEqual(['scripted-overconfident', 'scripted-ada']);
    expect(t1.attempts[0]!.violations.map((v) => v.type).sort()).toEqual(['failed_verification', 'scope_drift']);
    expect(t1.attempts[0]!.hrActions).toEqual(['WARNING', 'WARNING']);
    expect(t1.acceptedBy).toBe('scripted-ada');
    expect(report.tasks.map((t) => t.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(report.verification).toMatchObject({ command: 'node --test', passed: true, exitCode: 0 });
  });

  it('re-planned once: the first plan broke the plan rules', async () => {
    const events = await env.db.selectFrom('audit_events').select(['action', 'details']).where('run_id', '=', runId).where('action', '=', 'plan.rejected_by_rules').execute();
    expect(events).toHaveLength(1);
    const feedback = (events[0]!.details as { feedback: string[] }).feedback.join('\n');
    expect(feedback).toContain('[no-model-named] T1: task sets "assignee"');
    expect(feedback).toMatch(/\[schema\] tasks\.2\.acceptance/);
    const plans = await env.db.selectFrom('model_runs').select(['prompt']).where('run_id', '=', runId).where('kind', '=', 'plan').orderBy('created_at').execute();
    expect(plans).toHaveLength(2);
    expect(plans[1]!.prompt).toContain('Your previous plan broke these rules');
  });

  it('records the run, its plan and its tasks', async () => {
    const run = await env.db.selectFrom('orchestra_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run.status).toBe('completed');
    expect(run.workflow_id).toBe(workflowId);
    expect(run.finished_at).not.toBeNull();
    expect((run.report as RunReport).status).toBe('completed');
    const tasks = await env.db.selectFrom('task_queue').selectAll().where('run_id', '=', runId).orderBy('task_key').execute();
    expect(tasks.map((t) => [t.task_key, t.status, t.assigned_agent])).toEqual([
      ['T1', 'accepted', 'scripted-ada'],
      ['T2', 'accepted', 'scripted-ada'],
      ['T3', 'accepted', 'scripted-grace'],
    ]);
    expect(tasks.every((t) => t.accepted_model_run_id !== null)).toBe(true);
  });

  it('records one incident and one disciplinary action per violation, with evidence and policy version', async () => {
    const incidents = await env.db.selectFrom('incidents').selectAll().where('run_id', '=', runId).orderBy('violation').execute();
    expect(incidents.map((i) => [i.model_id, i.violation, i.severity])).toEqual([
      ['scripted-overconfident', 'failed_verification', 2],
      ['scripted-overconfident', 'scope_drift', 2],
    ]);
    const drift = incidents.find((i) => i.violation === 'scope_drift')!;
    expect((drift.evidence as { excerpt: string; sha256: string }[])[0]).toMatchObject({ excerpt: 'bin/wordfreq.js', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const actions = await env.db.selectFrom('disciplinary_actions').selectAll().where('run_id', '=', runId).execute();
    expect(actions).toHaveLength(2);
    expect(actions.every((a) => a.action === 'WARNING' && a.policy_version === 'hr-policy/1' && a.model_id === 'scripted-overconfident')).toBe(true);
    expect(new Set(actions.map((a) => a.incident_id))).toEqual(new Set(incidents.map((i) => i.id)));
  });

  it('scores every attempt and moves reputations (0.7 × old + 0.3 × new)', async () => {
    const scores = await env.db.selectFrom('scores').selectAll().where('run_id', '=', runId).orderBy('created_at').execute();
    expect(scores.map((s) => [s.employee_id, Number(s.score)])).toEqual([
      ['scripted-overconfident', 10],
      ['scripted-ada', 100],
      ['scripted-ada', 100],
      ['scripted-grace', 100],
    ]);
    const faulty = scores[0]!;
    expect(Number(faulty.reputation_before)).toBe(70);
    expect(Number(faulty.reputation_after)).toBe(52);
    const employees = await env.db.selectFrom('employees').select(['id', 'reputation', 'status']).execute();
    const rep = Object.fromEntries(employees.map((e) => [e.id, Number(e.reputation)]));
    expect(rep['scripted-ada']).toBe(75.5); // 50 → 65 → 75.5
    expect(rep['scripted-overconfident']).toBe(52);
  });

  it('keeps prompts and outputs in model_runs, with ids only in workflow history', async () => {
    const runs = await env.db.selectFrom('model_runs').select(['kind', 'employee_id', 'output', 'prompt_version', 'input_tokens']).where('run_id', '=', runId).where('kind', '=', 'task').execute();
    expect(runs).toHaveLength(4);
    expect(runs.every((r) => r.output && r.prompt_version === 'task/1' && (r.input_tokens ?? 0) > 0)).toBe(true);
    const history = await env.client.workflow.getHandle(`${workflowId}.task-T2`).fetchHistory();
    const json = JSON.stringify(history);
    // The CLI test file's content is in model_runs, not in the task workflow's history.
    expect(json).not.toContain('spawns the real binary');
    const cliOutput = runs.find((r) => r.employee_id === 'scripted-ada' && r.output!.includes('bin/wordfreq.js'));
    expect(cliOutput).toBeDefined();
  });

  it('writes an audit event for every step, each once', async () => {
    const events = await env.db.selectFrom('audit_events').select(['action', 'idempotency_key', 'actor']).where('run_id', '=', runId).orderBy('seq').execute();
    const actions = events.map((e) => e.action);
    for (const expected of ['run.started', 'plan.proposed', 'plan.accepted_by_rules', 'director.approve_plan', 'run.running', 'task.answered', 'audit.violations', 'hr.actions', 'score.recorded', 'task.reassigning', 'audit.clean', 'task.accepted', 'run.verifying', 'run.completed']) {
      expect(actions).toContain(expected);
    }
    expect(new Set(events.map((e) => e.idempotency_key)).size).toBe(events.length);
    const director = await env.db.selectFrom('director_actions').selectAll().where('run_id', '=', runId).execute();
    expect(director).toEqual([expect.objectContaining({ director_id: 'test-director', action: 'approve_plan' })]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE on the governance record', async () => {
    await expect(sql`UPDATE audit_events SET description = 'x'`.execute(env.db)).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM incidents`.execute(env.db)).rejects.toThrow(/append-only/);
    await expect(sql`TRUNCATE disciplinary_actions`.execute(env.db)).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM scores`.execute(env.db)).rejects.toThrow(/append-only/);
  });

  it('exports a workspace whose tests pass when run by hand', () => {
    expect(report.workspaceDir).toBeTruthy();
    const out = execFileSync(process.execPath, ['--test'], { cwd: report.workspaceDir!, encoding: 'utf8' });
    expect(out).toMatch(/# pass 28/);
    expect(out).toMatch(/# fail 0/);
  });

  it('sets search attributes on the run and its task workflows', async () => {
    const desc = await env.client.workflow.getHandle(workflowId).describe();
    expect(desc.typedSearchAttributes.get(SEARCH_ATTRIBUTES.runStatus)).toBe('completed');
    expect(desc.typedSearchAttributes.get(SEARCH_ATTRIBUTES.project)).toBe('wordfreq-e2e');
    const children: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `AuraRunId = '${runId}' AND WorkflowType = 'taskRun'` })) {
      children.push(`${wf.workflowId}:${wf.typedSearchAttributes.get(SEARCH_ATTRIBUTES.model)}`);
    }
    expect(children.sort()).toEqual([`${workflowId}.task-T1:scripted-ada`, `${workflowId}.task-T2:scripted-ada`, `${workflowId}.task-T3:scripted-grace`]);
  });
});
