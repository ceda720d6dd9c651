/**
 * Who checked whom, as the Director reads it: the printed report and progress (tester, coder,
 * reviewer, red and green, disputes; independent or self-tested), `aura submit --self-tested`
 * and the API's submit body, and the record's reads (history's freezes and red/green lines, the
 * dashboard's rounds) over a real database holding one task's tests, code and review.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useThrowawayDatabase } from './helpers/database.js';
import { acceptanceLine, formatProgress, formatReport, formatTaskChecks } from '../client/format.js';
import { buildProgram, main } from '../client/cli.js';
import { submitRunBody } from '../api/routes/runs.js';
import { recordEntries, type Labels } from '../director/timeline/index.js';
import { runRecord } from '../db/repositories/history.js';
import { reviewOf, runAttemptRounds, taskEvidence } from '../db/repositories/dashboard.js';
import { insertRun, insertTasks, upsertProject } from '../db/repositories/runs.js';
import { recordModelRun, type NewModelRun } from '../db/repositories/model-runs.js';
import { recordVerification } from '../db/repositories/verifications.js';
import { recordFreeze } from '../db/repositories/acceptance-tests.js';
import type { RunProgress, RunReport, TaskRunResult } from '../governance/types.js';
import type { Client } from '@temporalio/client';
import { buildApi } from '../api/server.js';
import { PROJECT_ROOT, loadConfig } from '../config/config.js';
import type { PrdRunInput } from '../governance/types.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function task(over: Partial<TaskRunResult> = {}): TaskRunResult {
  return {
    taskKey: 'T1',
    status: 'accepted',
    acceptedBy: 'coder-1',
    acceptedModelRunId: null,
    overriddenBy: null,
    attempts: [{ attempt: 1, employeeId: 'coder-1', modelRunId: null, clean: true, violations: [], hrActions: [], score: 90 }],
    checks: {
      tests: {
        testerId: 'tester-1',
        version: 2,
        files: [{ path: 'test/add.test.js', sha256: SHA_A }],
        red: { passed: false, exitCode: 1 },
      },
      testAttempts: [
        {
          attempt: 1,
          employeeId: 'tester-0',
          modelRunId: null,
          clean: false,
          violations: [{ type: 'failed_verification', message: 'passed before any code' }],
          hrActions: ['WARNING'],
          score: null,
        },
        { attempt: 2, employeeId: 'tester-1', modelRunId: null, clean: true, violations: [], hrActions: [], score: null },
      ],
      green: { passed: true, exitCode: 0 },
      review: { reviewerId: 'reviewer-1', verdict: 'approve', comments: 'handles\nnegative numbers' },
      disputes: [{ test: 'test/add.test.js', reason: 'expects the wrong sign', decision: 'uphold', answer: 'fixed in version 2' }],
    },
    ...over,
  };
}

function report(over: Partial<RunReport> = {}): RunReport {
  return {
    runId: 'r-1',
    project: 'p',
    status: 'completed',
    reason: null,
    tasks: [task()],
    reassignments: 0,
    incidents: 0,
    verification: null,
    workspaceDir: null,
    independentTests: true,
    ...over,
  };
}

describe('the printed report: who checked whom', () => {
  it('says at the top how acceptance was decided, and per task the tester, coder, reviewer, red, green and disputes', () => {
    const lines = formatReport(report()).split('\n');
    expect(lines[2]).toMatch(/^ {2}acceptance: tests by testers \(independent\)/);
    const text = lines.join('\n');
    expect(text).toContain(
      `    tests: by tester-1, version 2 (test/add.test.js ${SHA_A.slice(0, 12)}); red: failed before any code, as it must (exit 1)`,
    );
    expect(text).toContain('      tester attempt 1: tester-0 — failed_verification; HR: WARNING');
    expect(text).not.toContain('tester attempt 2');
    expect(text).toContain('    code: by coder-1; green: passed (exit 0)');
    expect(text).toContain('    review: reviewer-1 approve: handles negative numbers');
    expect(text).toContain('    dispute of test/add.test.js: expects the wrong sign → uphold: fixed in version 2');
    // The checks come under their task's line, before its attempts.
    expect(lines.findIndex((l) => l.startsWith('  task T1'))).toBeLessThan(lines.findIndex((l) => l.startsWith('    tests:')));
    expect(lines.findIndex((l) => l.startsWith('    review:'))).toBeLessThan(lines.findIndex((l) => l.startsWith('    attempt 1')));
  });

  it('says "self-tested" for a run without testers, and nothing for a run recorded before the choice', () => {
    const self = formatReport(report({ independentTests: false, tasks: [task({ checks: undefined })] }));
    expect(self).toContain("  self-tested: the plan's own commands decided");
    expect(self).not.toMatch(/acceptance: tests by testers|tests: |review: /);
    const older = formatReport(report({ independentTests: undefined, tasks: [task({ checks: undefined })] }));
    expect(older).not.toMatch(/self-tested|acceptance: /);
    expect(acceptanceLine(undefined)).toBeNull();
  });

  it('names a red run that passed with nothing implemented, a failing green, a coder not accepted and a missing review', () => {
    const t = task({ status: 'failed', acceptedBy: null });
    t.checks = {
      ...t.checks!,
      tests: { ...t.checks!.tests!, red: { passed: true, exitCode: 0 } },
      green: { passed: false, exitCode: 2 },
      review: null,
      disputes: [],
    };
    const lines = formatTaskChecks(t);
    expect(lines[0]).toContain('red: PASSED before any code (exit 0)');
    expect(lines).toContain('    code: by coder-1 (not accepted); green: FAILED (exit 2)');
    expect(lines).toContain('    review: none');
    expect(formatTaskChecks(task({ checks: { tests: null, testAttempts: [], green: null, review: null, disputes: [] } }))[0]).toBe(
      '    tests: none frozen',
    );
  });

  it('shows in progress who is writing the tests and who wrote them', () => {
    const p: RunProgress = {
      runId: 'r-1',
      project: 'p',
      status: 'running',
      planAttempts: 1,
      planErrors: [],
      plan: null,
      tasks: [
        { key: 'T1', title: 'a', status: 'running', assignedTo: 'tester-1', attempts: 0, reassignments: 0, phase: 'tests' },
        {
          key: 'T2',
          title: 'b',
          status: 'running',
          assignedTo: 'coder-1',
          attempts: 1,
          reassignments: 0,
          phase: 'code',
          testedBy: 'tester-2',
        },
        { key: 'T3', title: 'c', status: 'running', assignedTo: 'coder-2', attempts: 1, reassignments: 0 },
      ],
      escalations: [],
      ignoredSignals: [],
      reason: null,
      report: null,
    };
    const lines = formatProgress(p).split('\n');
    expect(lines[1]).toMatch(/T1 .* tester-1 .*\(writing its tests\)$/);
    expect(lines[2]).toMatch(/T2 .* coder-1 .*\(tests by tester-2\)$/);
    expect(lines[3]).not.toContain('(');
  });
});

describe('asking for a self-tested run', () => {
  it('aura submit --self-tested is offered and says what it means', () => {
    const submit = buildProgram().commands.find((c) => c.name() === 'submit')!;
    const help = submit.helpInformation().replace(/\s+/g, ' ');
    expect(help).toContain("--self-tested no tester: the plan's own commands decide acceptance");
    expect(help).toContain('its report says self-tested');
  });

  it('aura submit --self-tested asks the Manager API for independentTests: false; without it, nothing (the default decides)', async () => {
    const bodies: Record<string, unknown>[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/api/whoami') return res.end(JSON.stringify({ name: 'dana', role: 'director' }));
        bodies.push(JSON.parse(text) as Record<string, unknown>);
        res.statusCode = 201;
        res.end(JSON.stringify({ runId: 'r-1', workflowId: 'prd-run-r-1', by: 'dana' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = { url: process.env.AURA_API_URL, key: process.env.AURA_API_KEY };
    const prd = join(mkdtempSync(join(tmpdir(), 'aura-prd-')), 'prd.md');
    writeFileSync(prd, '# Add\n\nAdd two numbers.\n');
    try {
      process.env.AURA_API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      process.env.AURA_API_KEY = 'test-key';
      expect(await main(['node', 'aura', 'submit', prd, '--self-tested'])).toBe(0);
      expect(await main(['node', 'aura', 'submit', prd])).toBe(0);
    } finally {
      for (const [name, value] of [
        ['AURA_API_URL', saved.url],
        ['AURA_API_KEY', saved.key],
      ] as const)
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      server.close();
    }
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toMatchObject({ project: 'prd', independentTests: false });
    expect(bodies[1]).not.toHaveProperty('independentTests');
  });

  it("the Manager API's submit body takes independentTests as a boolean only", () => {
    const base = { prd: '# A PRD\n\nAdd two numbers.', project: 'p' };
    expect(submitRunBody.parse({ ...base, independentTests: false }).independentTests).toBe(false);
    expect(submitRunBody.parse(base).independentTests).toBeUndefined();
    expect(submitRunBody.safeParse({ ...base, independentTests: 'no' }).success).toBe(false);
    expect(submitRunBody.safeParse({ ...base, selfTested: true }).success).toBe(false);
  });
});

describe("the record's reads: freezes, red and green, the rounds and the review", () => {
  const database = useThrowawayDatabase();

  async function seed() {
    const db = database.db;
    const runId = randomUUID();
    const taskId = randomUUID();
    const key = `director-view/${runId}`;
    await insertRun(db, {
      id: runId,
      projectId: await upsertProject(db, 'director-view'),
      workflowId: `prd-run-${runId}`,
      prd: 'p',
      options: {},
      status: 'running',
      idempotencyKey: key,
    });
    await insertTasks(db, runId, [{ id: taskId, key: 'T1', title: 'Add', spec: {}, workflowId: `prd-run-${runId}.task-T1` }], key);
    const call = (kind: NewModelRun['kind'], employeeId: string, output: string): NewModelRun => ({
      id: randomUUID(),
      idempotencyKey: `${key}/${randomUUID()}`,
      runId,
      taskId,
      employeeId,
      kind,
      attempt: 1,
      prompt: 'p',
      promptVersion: 'x/1',
      output,
      inputTokens: 1,
      outputTokens: 1,
      costUsd: 0,
      latencyMs: 1,
      finishReason: 'stop',
      error: null,
      taskAttempt: 1,
      round: 1,
    });
    const result = (passed: boolean, exitCode: number) => ({
      ran: true,
      passed,
      exitCode,
      timedOut: false,
      durationMs: 5,
      excerpt: passed ? 'ok' : 'not ok 1',
      skippedReason: null,
      refusedPaths: [],
      isolation: [],
    });
    const tests = JSON.stringify({ summary: 'tests for add', files: [{ path: 'test/add.test.js', content: 'x' }] });
    const testsRun = await recordModelRun(db, call('tests', 'scripted-grace', tests));
    await recordVerification(db, {
      idempotencyKey: `${key}/red`,
      runId,
      taskId,
      modelRunId: testsRun,
      kind: 'task',
      phase: 'red',
      command: 'node --test',
      result: result(false, 1),
    });
    await recordFreeze(db, {
      idempotencyKey: `${key}/freeze`,
      runId,
      taskId,
      taskKey: 'T1',
      version: 1,
      testerId: 'scripted-grace',
      modelRunId: testsRun,
      files: [{ path: 'test/add.test.js', sha256: SHA_B }],
      reason: 'written',
      decidedBy: 'manager',
    });
    const code = JSON.stringify({ summary: 'adds two numbers', files: [{ path: 'lib/add.js', content: 'y' }] });
    const codeRun = await recordModelRun(db, call('task', 'scripted-ada', code));
    await recordVerification(db, {
      idempotencyKey: `${key}/green`,
      runId,
      taskId,
      modelRunId: codeRun,
      kind: 'task',
      phase: 'green',
      command: 'node --test',
      result: result(true, 0),
    });
    await recordModelRun(db, call('review', 'scripted-reviewer', JSON.stringify({ verdict: 'reject', comments: 'no overflow check' })));
    return { runId, taskId, testsRun, codeRun };
  }

  it('POST /api/runs passes independentTests: false on to the run, leaves it out when not asked, and refuses a non-boolean', async () => {
    const started: PrdRunInput[] = [];
    const client = {
      workflow: { start: async (_name: string, o: { args: PrdRunInput[] }) => void started.push(o.args[0]!) },
    } as unknown as Client;
    const config = loadConfig({ AURA_HOME: '/tmp', MANAGER_API_KEY: 'dana-key-000000000001', MANAGER_API_KEY_NAME: 'dana' }, PROJECT_ROOT);
    const app = await buildApi({ client, db: database.db, config });
    try {
      const post = (body: Record<string, unknown>) =>
        app.inject({
          method: 'POST',
          url: '/api/runs',
          headers: { host: '127.0.0.1:8000', authorization: 'Bearer dana-key-000000000001' },
          payload: { prd: '# Add\n\nAdd two numbers.', project: 'p', ...body },
        });
      expect((await post({ independentTests: false })).statusCode).toBe(201);
      expect((await post({})).statusCode).toBe(201);
      const bad = await post({ independentTests: 'no' });
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toContain('independentTests');
    } finally {
      await app.close();
    }
    expect(started).toHaveLength(2);
    expect(started[0]!.options).toMatchObject({ independentTests: false, director: 'dana' });
    expect(started[1]!.options).not.toHaveProperty('independentTests');
  });

  it('history: each freeze is a line (tester, version, reason, who decided, file hashes), and checks say red or green', async () => {
    const { runId, taskId, testsRun } = await seed();
    const labels: Labels = { ofTask: (id) => (id === taskId ? 'T1' : null), ofWorkflow: () => null };
    const entries = recordEntries(await runRecord(database.db, runId), labels);
    const freeze = entries.find((e) => e.details.table === 'acceptance_tests');
    expect(freeze).toMatchObject({
      who: 'manager',
      task: 'T1',
      what: `acceptance tests frozen: version 1 by tester scripted-grace (written; decided by manager): test/add.test.js sha256 ${SHA_B.slice(0, 12)}`,
      details: {
        version: 1,
        testerId: 'scripted-grace',
        modelRunId: testsRun,
        decidedBy: 'manager',
        files: [{ path: 'test/add.test.js', sha256: SHA_B }],
      },
    });
    const checks = entries.filter((e) => e.details.table === 'verifications');
    expect(checks.map((e) => e.details.phase)).toEqual(['red', 'green']);
    expect(checks[0]!.what).toMatch(/^red run .*`node --test` failed \(exit 1\) in 5 ms, as it must$/);
    expect(checks[1]!.what).toMatch(/^green run .*`node --test` passed in 5 ms$/);
    const tester = entries.find((e) => e.ref === testsRun)!;
    expect(tester.what).toMatch(/^tester answered: acceptance tests/);
  });

  it('dashboard: the rounds say who tested and who coded, red and green, the summary, and the review after the code', async () => {
    const { runId } = await seed();
    const rounds = await runAttemptRounds(database.db, runId);
    expect(rounds.map((r) => [r.role, r.employeeId, r.phase, r.passed, r.summary])).toEqual([
      ['tester', 'scripted-grace', 'red', false, 'tests for add'],
      ['coder', 'scripted-ada', 'green', true, 'adds two numbers'],
    ]);
    expect(rounds[0]!.review).toBeNull();
    expect(rounds[1]!.review).toEqual({ reviewerId: 'scripted-reviewer', verdict: 'reject', comments: 'no overflow check' });
    const [evidence] = await taskEvidence(database.db, runId, ['T1']);
    expect(evidence!.lastCheck).toMatchObject({ phase: 'green', passed: true });
    expect(reviewOf('not json')).toMatchObject({ verdict: 'unsure' });
  });
});
