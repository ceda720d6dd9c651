/**
 * Verified by someone else, against OpenAI-protocol employees that behave like a confident coding
 * model (test/fixtures/confident-model.ts): left alone, its coder ships a bug with tests too weak
 * to see it. With acceptance tests by a tester (the default), the tests are written first, must
 * fail before the code (red) and pass after it (green); the coder cannot edit them; a reviewer's
 * rejection sends the work back; a dispute goes to the tester. Runs go side by side in one world.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config/config.js';
import { resolveEscalation, runStatus, submitRun, waitForReport } from '../director/runs.js';
import type { RunReport } from '../governance/types.js';
import { FakeModelServer } from './fixtures/fake-model-server.js';
import { BUGGY_LOOP, confidentModel } from './fixtures/confident-model.js';
import { eventually, startTestEnv, type TestEnv } from './helpers/env.js';

const PRD = '# Word tally\n\nA module that tallies the words of a text, and a report of the most frequent words built on it.\n';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let env: TestEnv;
let closeServer: () => Promise<void>;
const runs: Record<string, { runId: string; report: Promise<RunReport> }> = {};

function start(name: string, prd: string, options: Record<string, unknown> = {}) {
  return submitRun(env.client, { prd, project: `checks-${name}`, options: { autoApprove: true, director: 'dana', ...options } }).then(
    ({ runId }) => {
      runs[name] = { runId, report: waitForReport(env.client, runId) };
    },
  );
}

beforeAll(async () => {
  const server = new FakeModelServer().setDefault(confidentModel());
  const started = await server.start();
  closeServer = started.close;
  env = await startTestEnv({
    workers: false,
    env: {
      AURA_EMPLOYEES_FILE: join(PROJECT_ROOT, 'test', 'fixtures', 'independent', 'employees.json'),
      OPENAI_API_KEY: 'sk-test-confident-model',
      OPENAI_BASE_URL: `${started.url}/v1`,
      AURA_INDEPENDENT_TESTS: 'true',
    },
  });
  await env.startWorkers(['manager', 'governance', 'sandbox', 'employee:openai']);
  await Promise.all([
    start('weak', PRD),
    start('selfTested', PRD, { independentTests: false }),
    start('lazy', `${PRD}\nScenario: lazy tester\n`),
    start('sneaky', `${PRD}\nScenario: sneaky coder\n`),
    start('picky', `${PRD}\nScenario: picky review\n`),
    start('stubborn', `${PRD}\nScenario: stubborn review\n`),
    start('disputed', `${PRD}\nScenario: disputed test\n`),
  ]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await closeServer?.();
});

async function rows(runId: string) {
  const db = env.db;
  const [verifications, freezes, calls, events, incidents, actions] = await Promise.all([
    db
      .selectFrom('verifications')
      .leftJoin('task_queue', 'task_queue.id', 'verifications.task_id')
      .select(['task_queue.task_key', 'verifications.phase', 'verifications.passed', 'verifications.kind', 'verifications.model_run_id'])
      .where('verifications.run_id', '=', runId)
      .orderBy('verifications.created_at')
      .execute(),
    db.selectFrom('acceptance_tests').selectAll().where('run_id', '=', runId).orderBy('created_at').execute(),
    db
      .selectFrom('model_runs')
      .leftJoin('task_queue', 'task_queue.id', 'model_runs.task_id')
      .select([
        'task_queue.task_key',
        'model_runs.kind',
        'model_runs.employee_id',
        'model_runs.round',
        'model_runs.prompt',
        'model_runs.output',
      ])
      .where('model_runs.run_id', '=', runId)
      .where('model_runs.error', 'is', null)
      .orderBy('model_runs.created_at')
      .execute(),
    db.selectFrom('audit_events').select(['action', 'description', 'details']).where('run_id', '=', runId).orderBy('created_at').execute(),
    db.selectFrom('incidents').select(['model_id', 'violation', 'message']).where('run_id', '=', runId).execute(),
    db.selectFrom('director_actions').select(['director_id', 'action', 'reason']).where('run_id', '=', runId).execute(),
  ]);
  return { verifications, freezes, calls, events, incidents, actions };
}

async function workspaceFile(report: RunReport, path: string): Promise<string> {
  return readFile(join(report.workspaceDir!, path), 'utf8');
}

describe('a confident coder with weak tests', () => {
  it('left to test itself, ships the bug and is accepted: the run says it was self-tested', async () => {
    const report = await runs.selfTested!.report;
    expect(report.status).toBe('completed');
    expect(report.independentTests).toBe(false);
    expect(await workspaceFile(report, 'lib/tally.mjs')).toContain(BUGGY_LOOP);
    const { freezes, verifications } = await rows(runs.selfTested!.runId);
    expect(freezes).toEqual([]);
    expect(verifications.some((v) => v.phase !== null)).toBe(false);
  }, 180_000);

  it("with a tester's tests, completes only with code that passes them: no bug ships", async () => {
    const report = await runs.weak!.report;
    expect(report.status).toBe('completed');
    expect(report.independentTests).toBe(true);
    expect(await workspaceFile(report, 'lib/tally.mjs')).not.toContain(BUGGY_LOOP);
    // The accepted workspace holds the tester's tests, not the coder's weak ones.
    expect(await workspaceFile(report, 'test/tally.test.mjs')).toContain("tallyWords('a b a c')");
  }, 180_000);

  it('records red before green for each task, and the final verification runs every frozen test', async () => {
    const { verifications } = await rows(runs.weak!.runId);
    const t1 = verifications.filter((v) => v.task_key === 'T1').map((v) => [v.phase, v.passed]);
    expect(t1[0]).toEqual(['red', false]);
    expect(t1.slice(1)).toEqual([
      ['green', false],
      ['green', true],
    ]);
    expect(verifications.filter((v) => v.task_key === 'T2').map((v) => [v.phase, v.passed])).toEqual([
      ['red', false],
      ['green', true],
    ]);
    const workspace = verifications.filter((v) => v.kind === 'workspace');
    expect(workspace.map((v) => v.passed)).toEqual([true]);
  }, 180_000);

  it('freezes the tests with their hashes; the tester never writes the code it tests', async () => {
    const report = await runs.weak!.report;
    const { freezes, calls } = await rows(runs.weak!.runId);
    expect(freezes.map((f) => [f.task_key, f.version])).toEqual(
      expect.arrayContaining([
        ['T1', 1],
        ['T2', 1],
      ]),
    );
    for (const f of freezes) {
      const tests = calls.find((c) => c.kind === 'tests' && c.task_key === f.task_key && c.employee_id === f.tester_id)!;
      const files = (JSON.parse(tests.output!) as { files: { path: string; content: string }[] }).files;
      expect(f.files).toEqual(files.map((x) => ({ path: x.path, sha256: sha256(x.content) })));
      const task = report.tasks.find((t) => t.taskKey === f.task_key)!;
      expect(task.acceptedBy).not.toBe(f.tester_id);
      expect(task.checks?.tests?.testerId).toBe(f.tester_id);
      expect(task.checks?.tests?.red.passed).toBe(false);
      expect(task.checks?.green?.passed).toBe(true);
    }
    // The coder saw the frozen tests in its prompt, and its scope no longer names them.
    const coderCall = calls.find((c) => c.kind === 'task' && c.task_key === 'T1')!;
    expect(coderCall.prompt).toContain('FROZEN ACCEPTANCE TESTS');
    expect(coderCall.prompt).toContain('You may write only files matching: lib/tally.mjs\n');
  }, 180_000);
});

describe('a tester whose tests pass with nothing implemented', () => {
  it('gets vacuous_tests and a repair round; its second round is frozen', async () => {
    const report = await runs.lazy!.report;
    expect(report.status).toBe('completed');
    const { verifications, calls, events, freezes } = await rows(runs.lazy!.runId);
    const red = verifications.filter((v) => v.task_key === 'T1' && v.phase === 'red').map((v) => v.passed);
    expect(red).toEqual([true, false]);
    const testCalls = calls.filter((c) => c.kind === 'tests' && c.task_key === 'T1');
    expect(testCalls.map((c) => c.round)).toEqual([1, 2]);
    expect(testCalls[1]!.prompt).toContain('vacuous_tests');
    expect(events.find((e) => e.action === 'audit.round_findings')?.description).toMatch(/vacuous_tests \(repairable\)/);
    const t1 = freezes.find((f) => f.task_key === 'T1')!;
    expect(t1.model_run_id).toBeTruthy();
    expect(report.tasks.find((t) => t.taskKey === 'T1')!.checks?.testAttempts.map((a) => a.rounds)).toEqual([2]);
  }, 180_000);
});

describe('a coder that edits a frozen test', () => {
  it('commits scope drift, is disciplined and the task goes to another coder; the test stays as frozen', async () => {
    const report = await runs.sneaky!.report;
    expect(report.status).toBe('completed');
    const { incidents } = await rows(runs.sneaky!.runId);
    const drift = incidents.filter((i) => i.violation === 'scope_drift');
    expect(drift).toHaveLength(1);
    expect(drift[0]!.message).toContain('frozen acceptance test');
    const t1 = report.tasks.find((t) => t.taskKey === 'T1')!;
    expect(t1.attempts).toHaveLength(2);
    expect(t1.acceptedBy).not.toBe(drift[0]!.model_id);
    expect(await workspaceFile(report, 'test/tally.test.mjs')).toContain("tallyWords('a b a c')");
  }, 180_000);
});

describe('a reviewer who can say no', () => {
  it("sends the work back: the repair round's prompt carries the reviewer's comments", async () => {
    const report = await runs.picky!.report;
    expect(report.status).toBe('completed');
    const { calls } = await rows(runs.picky!.runId);
    const t1 = calls.filter((c) => c.kind === 'task' && c.task_key === 'T1');
    const afterReview = t1.find((c) => c.prompt.includes('An independent reviewer rejected it:'))!;
    expect(afterReview.prompt).toContain('tallyWords must throw a TypeError when text is not a string.');
    expect(await workspaceFile(report, 'lib/tally.mjs')).toContain("typeof text !== 'string'");
    expect(report.tasks.find((t) => t.taskKey === 'T1')!.checks?.review?.verdict).toBe('approve');
  }, 180_000);

  it("escalates a persistent rejection with both sides; the Director's accept is a recorded override", async () => {
    const { runId } = runs.stubborn!;
    const status = await eventually(
      async () => {
        const s = await runStatus(env.client, runId);
        return s.tasks.some((t) => t.status === 'escalated') ? s : null;
      },
      150_000,
      'the stubborn review to escalate',
    );
    const escalation = status.escalations.find((e) => e.startsWith('T1: '))!;
    expect(escalation).toContain('still rejects');
    expect(escalation).toContain('I would structure this differently.');
    expect(escalation).toContain('green pass');
    await resolveEscalation(env.client, runId, 'T1', { kind: 'accept', by: 'dana', reason: 'style only; the tests pass' });
    const report = await runs.stubborn!.report;
    expect(report.status).toBe('completed');
    const t1 = report.tasks.find((t) => t.taskKey === 'T1')!;
    expect(t1.overriddenBy).toBe('dana');
    expect(t1.checks?.review?.verdict).toBe('reject');
    const { actions, events } = await rows(runId);
    expect(actions).toEqual(expect.arrayContaining([expect.objectContaining({ director_id: 'dana', action: 'task_accept' })]));
    expect(events.some((e) => e.action === 'review.rejected')).toBe(true);
  }, 300_000);
});

describe('a disputed test', () => {
  it('upheld by the tester: the test is changed, re-frozen as version 2 with the reason and who decided', async () => {
    const report = await runs.disputed!.report;
    expect(report.status).toBe('completed');
    const { freezes, calls } = await rows(runs.disputed!.runId);
    const t1 = freezes.filter((f) => f.task_key === 'T1');
    expect(t1.map((f) => f.version)).toEqual([1, 2]);
    expect(t1[1]!.reason).toMatch(/^dispute by oa-\S+ upheld: The criteria say words are counted in lower case/);
    expect(t1[1]!.decided_by).toBe(t1[0]!.tester_id);
    expect(t1[1]!.dispute).toEqual([expect.objectContaining({ test: 'test/tally.test.mjs' })]);
    expect(t1[1]!.files).not.toEqual(t1[0]!.files);
    expect(calls.some((c) => c.kind === 'dispute')).toBe(true);
    expect(await workspaceFile(report, 'test/tally.test.mjs')).toContain('{ the: 2 }');
    expect(report.tasks.find((t) => t.taskKey === 'T1')!.checks?.disputes.map((d) => d.decision)).toEqual(['uphold']);
  }, 180_000);
});
