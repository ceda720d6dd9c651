/**
 * End to end on a real Temporal server and real PostgreSQL: the sample PRD with the faulty
 * scripted employee → incidents, disciplinary actions, reassignment, a completed run, and
 * every governance row checked in the database.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { submitRun, waitForReport } from '../director/runs.js';
import type { RunReport } from '../governance/types.js';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';
import { verifyLedger } from '../integrity/verify.js';
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
    // It wrote outside its scope, shipped no tests, and claimed "All tests pass".
    expect(t1.attempts[0]!.violations.map((v) => v.type)).toEqual(['scope_drift', 'hallucination', 'failed_verification']);
    expect(t1.attempts[0]!.hrActions).toEqual(['WARNING', 'STRIKE', 'WARNING']);
    expect(t1.acceptedBy).toBe('scripted-ada');
    expect(report.tasks.map((t) => t.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(report.verification).toMatchObject({ command: 'node --test', passed: true, exitCode: 0 });
  });

  it('re-planned once: the first plan broke the plan rules', async () => {
    const events = await env.db
      .selectFrom('audit_events')
      .select(['action', 'details'])
      .where('run_id', '=', runId)
      .where('action', '=', 'plan.rejected_by_rules')
      .execute();
    expect(events).toHaveLength(1);
    const feedback = (events[0]!.details as { feedback: string[] }).feedback.join('\n');
    expect(feedback).toContain('[no-model-named] T1: task sets "assignee"');
    expect(feedback).toMatch(/\[schema\] tasks\.2\.acceptance/);
    const plans = await env.db
      .selectFrom('model_runs')
      .select(['prompt'])
      .where('run_id', '=', runId)
      .where('kind', '=', 'plan')
      .orderBy('created_at')
      .execute();
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
      ['scripted-overconfident', 'hallucination', 3],
      ['scripted-overconfident', 'scope_drift', 2],
    ]);
    const drift = incidents.find((i) => i.violation === 'scope_drift')!;
    expect((drift.evidence as { excerpt: string; sha256: string }[])[0]).toMatchObject({
      excerpt: 'bin/wordfreq.js',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const hr = await env.db
      .selectFrom('disciplinary_actions')
      .selectAll()
      .where('run_id', '=', runId)
      .where('policy_version', '=', 'hr-policy/2')
      .orderBy('severity')
      .execute();
    expect(hr.map((a) => a.action)).toEqual(['WARNING', 'WARNING', 'STRIKE']);
    expect(hr.every((a) => a.model_id === 'scripted-overconfident' && a.expires_at === null)).toBe(true);
    expect(new Set(hr.map((a) => a.incident_id))).toEqual(new Set(incidents.map((i) => i.id)));
    const strike = hr.find((a) => a.action === 'STRIKE')!;
    expect(strike.evidence).toMatchObject({
      verdictId: expect.any(String),
      violations: [expect.objectContaining({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })],
    });
    // Its coder reputation fell from 70 to 49: below the warn threshold, a WARNING from the scorecard.
    const threshold = await env.db
      .selectFrom('disciplinary_actions')
      .selectAll()
      .where('run_id', '=', runId)
      .where('policy_version', '=', 'scorecard/1')
      .execute();
    expect(threshold).toEqual([
      expect.objectContaining({ model_id: 'scripted-overconfident', action: 'WARNING', reason: 'coder reputation 49 fell below 50' }),
    ]);
  });

  it('scores every attempt on the scorecard and moves capability reputations (0.7 × old + 0.3 × new)', async () => {
    const scores = await env.db.selectFrom('scores').selectAll().where('run_id', '=', runId).orderBy('created_at').execute();
    // Rounded: productivity loses a hundredth of a point per 6 ms a call takes (of 120 s), and
    // a loaded machine makes the scripted call take that long.
    expect(scores.map((s) => [s.employee_id, s.capability, Math.round(Number(s.score)), s.tier])).toEqual([
      ['scripted-overconfident', 'coder', 0, 'probation'],
      ['scripted-ada', 'coder', 100, 'standard'],
      ['scripted-ada', 'coder', 100, 'standard'],
      ['scripted-grace', 'writer', 95, 'standard'], // a README: no tests, initiative 50
    ]);
    expect(scores[0]!.components).toEqual({ confidence: 0, consistency: 0, accuracy: 0, productivity: 0, initiative: 50, discipline: 0 });
    expect([Number(scores[0]!.reputation_before), Number(scores[0]!.reputation_after)]).toEqual([70, 49]);
    const caps = await env.db.selectFrom('employee_capabilities').selectAll().execute();
    const rep = Object.fromEntries(caps.map((c) => [`${c.employee_id}/${c.capability}`, Number(c.reputation)]));
    expect(rep['scripted-ada/coder']).toBe(75.5); // 50 → 65 → 75.5
    expect(rep['scripted-overconfident/coder']).toBe(49);
    expect(rep['scripted-grace/writer']).toBe(63.5);
    expect(rep['scripted-grace/coder']).toBe(50); // untouched: reputations are per capability
    const grace = await env.db.selectFrom('employees').select('reputation').where('id', '=', 'scripted-grace').executeTakeFirstOrThrow();
    expect(Number(grace.reputation)).toBe(56.75); // the mean of its capabilities
  });

  it('asks an independent reviewer, and keeps its opinion as evidence only', async () => {
    const verdicts = await env.db
      .selectFrom('audit_verdicts')
      .select(['employee_id', 'clean', 'review'])
      .where('run_id', '=', runId)
      .execute();
    expect(verdicts).toHaveLength(4);
    for (const v of verdicts) expect(v.review).toMatchObject({ reviewerId: 'scripted-reviewer', verdict: 'unsure' });
    const reviews = await env.db
      .selectFrom('model_runs')
      .select(['employee_id', 'prompt_version'])
      .where('run_id', '=', runId)
      .where('kind', '=', 'review')
      .execute();
    expect(reviews).toHaveLength(4);
    expect(reviews.every((r) => r.employee_id === 'scripted-reviewer' && r.prompt_version === 'review/2')).toBe(true);
  });

  it('keeps prompts and outputs in model_runs, with ids only in workflow history', async () => {
    const runs = await env.db
      .selectFrom('model_runs')
      .select(['kind', 'employee_id', 'output', 'prompt_version', 'input_tokens'])
      .where('run_id', '=', runId)
      .where('kind', '=', 'task')
      .execute();
    expect(runs).toHaveLength(4);
    expect(runs.every((r) => r.output && r.prompt_version === 'task/2' && (r.input_tokens ?? 0) > 0)).toBe(true);
    const history = await env.client.workflow.getHandle(`${workflowId}.task-T2`).fetchHistory();
    const json = JSON.stringify(history);
    // The CLI test file's content is in model_runs, not in the task workflow's history.
    expect(json).not.toContain('spawns the real binary');
    const cliOutput = runs.find((r) => r.employee_id === 'scripted-ada' && r.output!.includes('bin/wordfreq.js'));
    expect(cliOutput).toBeDefined();
  });

  it('writes an audit event for every step, each once', async () => {
    const events = await env.db
      .selectFrom('audit_events')
      .select(['action', 'idempotency_key', 'actor'])
      .where('run_id', '=', runId)
      .orderBy('seq')
      .execute();
    const actions = events.map((e) => e.action);
    for (const expected of [
      'run.started',
      'plan.proposed',
      'plan.accepted_by_rules',
      'director.approve_plan',
      'run.running',
      'task.answered',
      'audit.violations',
      'hr.actions',
      'score.recorded',
      'task.reassigning',
      'audit.clean',
      'task.accepted',
      'run.verifying',
      'run.completed',
    ]) {
      expect(actions).toContain(expected);
    }
    expect(new Set(events.map((e) => e.idempotency_key)).size).toBe(events.length);
    const director = await env.db.selectFrom('director_actions').selectAll().where('run_id', '=', runId).execute();
    expect(director).toEqual([expect.objectContaining({ director_id: 'test-director', action: 'approve_plan' })]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE on the governance record', async () => {
    // The application's role has no such right; the triggers refuse even the tables' owner.
    await expect(sql`UPDATE audit_events SET description = 'x'`.execute(env.db)).rejects.toThrow(/permission denied/);
    await expect(sql`UPDATE audit_events SET description = 'x'`.execute(env.ownerDb)).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM incidents`.execute(env.ownerDb)).rejects.toThrow(/append-only/);
    await expect(sql`TRUNCATE disciplinary_actions`.execute(env.ownerDb)).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM scores`.execute(env.ownerDb)).rejects.toThrow(/append-only/);
  });

  it("verifies the run's record, and names the entry of each row a superuser changes behind it", async () => {
    const intact = await verifyLedger(env.db);
    expect(intact.problems).toEqual([]);
    const ofRun = await env.db.selectFrom('ledger_entries').select('seq').where('run_id', '=', runId).execute();
    expect(ofRun.length).toBeGreaterThan(20);
    const behind = (statements: string) =>
      env.ownerDb.transaction().execute(async (tx) => {
        await sql`SET LOCAL session_replication_role = replica`.execute(tx);
        await sql.raw(statements).execute(tx);
      });
    const newest = async (table: string, key: string) =>
      Number(
        (
          await env.db
            .selectFrom('ledger_entries')
            .select((eb) => eb.fn.max('seq').as('seq'))
            .where('row_table', '=', table)
            .where('row_key', '=', key)
            .executeTakeFirstOrThrow()
        ).seq,
      );
    const incident = await env.db.selectFrom('incidents').select('id').where('run_id', '=', runId).executeTakeFirstOrThrow();
    const action = await env.db
      .selectFrom('disciplinary_actions')
      .select(['id', 'model_id'])
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    const cases: [string, string, string, string][] = [
      ['incidents', incident.id, 'row_changed', `UPDATE incidents SET message = 'nothing happened' WHERE id = '${incident.id}'`],
      ['disciplinary_actions', action.id, 'row_deleted', `DELETE FROM disciplinary_actions WHERE id = '${action.id}'`],
      [
        'employees',
        action.model_id!,
        'row_changed',
        `UPDATE employees SET status = 'active', reputation = 99 WHERE id = '${action.model_id}'`,
      ],
    ];
    for (const [table, key, kind, tamper] of cases) {
      const seq = await newest(table, key);
      await behind(`CREATE TABLE kept AS SELECT * FROM ${table} WHERE id = '${key}'; ${tamper}`);
      const report = await verifyLedger(env.db);
      expect(report.firstBad, `${table} ${key}`).toMatchObject({ kind, seq });
      await behind(`DELETE FROM ${table} WHERE id = '${key}'; INSERT INTO ${table} SELECT * FROM kept; DROP TABLE kept`);
      expect((await verifyLedger(env.db)).problems).toEqual([]);
    }
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
    expect(children.sort()).toEqual([
      `${workflowId}.task-T1:scripted-ada`,
      `${workflowId}.task-T2:scripted-ada`,
      `${workflowId}.task-T3:scripted-grace`,
    ]);
  });
});
