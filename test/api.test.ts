/**
 * The Manager API over a real Temporal dev server and PostgreSQL, with the scripted employees of
 * test/fixtures/dashboard (the only coder fails, so its task escalates to the Director):
 * authentication (401 / 403 / 200), every Director command through HTTP, bad input refused with
 * the field named and nothing changed, a PRD over the limit, and the name recorded on every
 * action is the key's owner, never a name in the request.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { PROJECT_ROOT, loadConfig } from '../config/config.js';
import { ConfigError } from '../errors/index.js';
import { buildApi, startApi, BODY_LIMIT_BYTES } from '../api/server.js';
import { MAX_PRD_BYTES } from '../api/schemas.js';
import { eventually, startTestEnv, type TestEnv } from './helpers/env.js';
import { aura as runAura } from './helpers/cli.js';

const DANA_KEY = 'dana-director-key-0001';
const SAM_KEY = 'sam-director-key-0002';
const RILEY_KEY = 'riley-read-only-key-0003';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const PRD = '# Add\n\nAn add(a, b) function with a test.\n';

let env: TestEnv;
let app: FastifyInstance;

beforeAll(async () => {
  env = await startTestEnv({
    env: {
      AURA_EMPLOYEES_FILE: join(PROJECT_ROOT, 'test', 'fixtures', 'dashboard', 'employees.json'),
      AURA_SCRIPT_FILE: join(PROJECT_ROOT, 'test', 'fixtures', 'dashboard', 'script.json'),
      MANAGER_API_KEY: DANA_KEY,
      MANAGER_API_KEY_NAME: 'dana',
      MANAGER_API_KEYS: `sam:director:${sha(SAM_KEY)},riley:read:${sha(RILEY_KEY)}`,
    },
  });
  app = await buildApi({ client: env.client, db: env.db, config: env.config });
});
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function call(
  method: 'GET' | 'POST',
  url: string,
  opts: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
) {
  const key = opts.key === undefined ? DANA_KEY : opts.key;
  const res = await app.inject({
    method,
    url,
    headers: {
      // The app answers only for its own host names (api/guard.ts); this one is not listening.
      host: `127.0.0.1:${env.config.manager.port}`,
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(opts.body !== undefined || opts.raw !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    ...(opts.raw !== undefined ? { payload: opts.raw } : opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
  });
  return {
    status: res.statusCode,
    body: (String(res.headers['content-type'] ?? '').includes('json') ? res.json() : res.body) as Json,
    headers: res.headers,
  };
}

const actionsOf = (runId: string) =>
  env.db
    .selectFrom('director_actions')
    .select(['action', 'director_id', 'reason'])
    .where('run_id', '=', runId)
    .orderBy('created_at')
    .execute();

async function statusOf(runId: string): Promise<Json> {
  const r = await call('GET', `/api/runs/${runId}`);
  expect(r.status).toBe(200);
  return r.body;
}
const until = (runId: string, test: (s: Json) => boolean, what: string, ms = 90_000) =>
  eventually(
    async () => {
      const s = await statusOf(runId);
      return test(s) ? s : null;
    },
    ms,
    what,
  );

function expectError(r: { status: number; body: Json }, status: number, code: string, field?: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error).toMatchObject({ code, message: expect.any(String) });
  if (field) expect(r.body.error.fields.map((f: { field: string }) => f.field)).toContain(field);
}

describe('keys in the configuration', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
  };
  it('names the variable and the entry at fault, never the value', () => {
    expect(problems({ MANAGER_API_KEY: 'short' })).toEqual([
      expect.stringMatching(/^MANAGER_API_KEY: must be at least 12 characters \(value not shown/),
    ]);
    const bad = problems({
      MANAGER_API_KEYS: `ana:director:${sha('a')},bob:admin:${sha('b')},carl:read:xyz,dora:read,eve!:read:${sha('e')},ana2:read:${sha('a')}`,
    });
    expect(bad).toEqual([
      expect.stringMatching(/^MANAGER_API_KEYS: entry 2 has a bad role: director or read/),
      expect.stringMatching(/^MANAGER_API_KEYS: entry 3 has a bad hash/),
      expect.stringMatching(/^MANAGER_API_KEYS: entry 4 is not name:role:sha256hex/),
      expect.stringMatching(/^MANAGER_API_KEYS: entry 5 has a bad name/),
      expect.stringMatching(/^MANAGER_API_KEYS: entry 6 repeats the hash of an earlier entry/),
    ]);
    expect(bad.join('\n')).not.toContain(sha('a'));
    expect(problems({ MANAGER_HOST: 'every interface' })).toEqual([expect.stringMatching(/^MANAGER_HOST: /)]);
  });
  it('MANAGER_API_KEY is the first key, a director named by MANAGER_API_KEY_NAME or AURA_DIRECTOR; only hashes are kept', () => {
    const c = loadConfig({ MANAGER_API_KEY: DANA_KEY, AURA_DIRECTOR: 'dana', MANAGER_API_KEYS: `riley:read:${sha(RILEY_KEY)}` });
    expect(c.manager.keys).toEqual([
      { name: 'dana', role: 'director', sha256: sha(DANA_KEY) },
      { name: 'riley', role: 'read', sha256: sha(RILEY_KEY) },
    ]);
    expect(c.manager.host).toBe('127.0.0.1');
    expect(loadConfig({ MANAGER_API_KEY: DANA_KEY, MANAGER_API_KEY_NAME: 'ops', AURA_DIRECTOR: 'dana' }).manager.keys[0]!.name).toBe('ops');
  });
});

describe('authentication and roles', () => {
  it('401 without a key or with an unknown one, 200 for a read key, 403 when it commands', async () => {
    expectError(await call('GET', '/api/runs', { key: null }), 401, 'unauthorized');
    expectError(await call('GET', '/api/runs', { key: 'not-a-key-at-all' }), 401, 'unauthorized');
    expectError(await call('GET', '/api/runs', { key: null, headers: { authorization: `Basic ${DANA_KEY}` } }), 401, 'unauthorized');
    expect((await call('GET', '/api/runs', { key: RILEY_KEY })).status).toBe(200);
    expect((await call('GET', '/api/whoami', { key: RILEY_KEY })).body).toMatchObject({ name: 'riley', role: 'read' });
    expect((await call('GET', '/api/whoami', { key: SAM_KEY })).body).toMatchObject({ name: 'sam', role: 'director' });
    expect((await call('GET', '/api/whoami')).body).toMatchObject({ name: 'dana', role: 'director' });

    const forbidden = await call('POST', '/api/runs', { key: RILEY_KEY, body: { prd: PRD, project: 'read-only' } });
    expectError(forbidden, 403, 'forbidden');
    expect(forbidden.body.error.message).toContain('riley');
    expect(await env.db.selectFrom('orchestra_runs').select('id').execute()).toEqual([]);

    // Public: the dashboard's page and the OpenAPI document (which lists the routes).
    const page = await call('GET', '/', { key: null });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const doc = await call('GET', '/api/openapi.json', { key: null });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/runs',
        '/api/runs/{run}/approve',
        '/api/runs/{run}/tasks/{task}/resolve',
        '/api/employees/{id}/reinstate',
        '/api/retention/purge',
      ]),
    );
    expect(doc.body.paths['/api/runs'].post.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['prd', 'project']),
    );
    expectError(await call('GET', '/api/nothing-here'), 404, 'not_found');
  });
});

describe('bad input', () => {
  it('400 naming the field, 413 over the body limit, and nothing started or recorded', async () => {
    expectError(await call('POST', '/api/runs', { body: { prd: PRD } }), 400, 'invalid_input', 'project');
    expectError(await call('POST', '/api/runs', { body: { prd: '   \n', project: 'p' } }), 400, 'invalid_input', 'prd');
    expectError(await call('POST', '/api/runs', { body: { prd: 'a\u0000b', project: 'p' } }), 400, 'invalid_input', 'prd');
    expectError(await call('POST', '/api/runs', { body: { prd: PRD, project: 'p', maxParallel: 0 } }), 400, 'invalid_input', 'maxParallel');
    expectError(
      await call('POST', '/api/runs', { body: { prd: PRD, project: 'p', maxCostUsd: 'lots' } }),
      400,
      'invalid_input',
      'maxCostUsd',
    );
    // Nobody names the Director but the key.
    const named = await call('POST', '/api/runs', { body: { prd: PRD, project: 'p', by: 'mallory' } });
    expectError(named, 400, 'invalid_input', 'by');
    expect(named.body.error.fields[0].message).toMatch(/owner of the API key/);

    // A PRD over its limit is named; a body over the request limit is refused whole.
    const big = await call('POST', '/api/runs', { body: { prd: 'x'.repeat(MAX_PRD_BYTES + 1), project: 'p' } });
    expectError(big, 400, 'invalid_input', 'prd');
    expect(big.body.error.message).toContain(`over the limit of ${MAX_PRD_BYTES}`);
    expectError(await call('POST', '/api/runs', { body: { prd: 'x'.repeat(BODY_LIMIT_BYTES + 10), project: 'p' } }), 413, 'too_large');
    expectError(await call('POST', '/api/runs', { raw: '{"prd": "x", ' }), 400, 'invalid_json');
    expectError(await call('GET', '/api/runs?status=sleeping'), 400, 'invalid_input', 'status');
    expectError(await call('GET', '/api/runs?limit=0'), 400, 'invalid_input', 'limit');
    expectError(await call('GET', '/api/incidents?run=not-a-run'), 400, 'invalid_input', 'run');
    expectError(
      await call('POST', '/api/retention/purge', { body: { before: 'yesterday', reason: 'tidy' } }),
      400,
      'invalid_input',
      'before',
    );
    expectError(await call('POST', '/api/employees/s-flaky/reinstate', { body: { reason: ' ' } }), 400, 'invalid_input', 'reason');
    expectError(await call('GET', '/api/runs/no-such-run'), 404, 'not_found');
    expectError(await call('POST', '/api/runs/no-such-run/pause', { body: { reason: 'x' } }), 404, 'not_found');

    expect(await env.db.selectFrom('orchestra_runs').select('id').execute()).toEqual([]);
    expect(await env.db.selectFrom('director_actions').select('id').execute()).toEqual([]);
    const workflows = [];
    for await (const w of env.client.workflow.list({ query: `WorkflowType = 'prdRun'` })) workflows.push(w);
    expect(workflows).toEqual([]);
  });
});

describe('a run steered through the API', () => {
  it('submit, the plan gate, refusals recorded, an escalation with its evidence, an override, the report and the history', async () => {
    const submitted = await call('POST', '/api/runs', { body: { prd: PRD, project: 'api-escalation', maxRepairRounds: 0 } });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    expect(submitted.body).toMatchObject({ runId: expect.any(String), workflowId: `prd-run-${submitted.body.runId}`, by: 'dana' });
    const runId: string = submitted.body.runId;

    expectError(await call('GET', `/api/runs/${runId}/report`), 409, 'not_ready');
    const gate = await until(runId, (s) => s.progress.status === 'awaiting_approval', 'the plan gate');
    expect(gate.progress.plan.tasks.map((t: Json) => t.id)).toEqual(['T1']);
    expect(gate.temporalUrl).toContain(encodeURIComponent(`prd-run-${runId}`));
    // The run's details in the Temporal Web UI link back to its page on the dashboard it came from.
    const details = await (await env.client.workflow.getHandle(`prd-run-${runId}`).describe()).staticDetails();
    expect(details).toBe(`[Open run ${runId} on the Aura dashboard](http://127.0.0.1:8000/#/runs/${runId})`);

    // The intervention list starts from the record, which follows the run a moment later.
    const waiting = await eventually(
      async () => {
        const w = await call('GET', '/api/intervention', { key: RILEY_KEY });
        return (w.body.pending as Json[]).length > 0 ? w : null;
      },
      15_000,
      'the plan gate in the intervention list',
    );
    expect(waiting.body.pending).toEqual([
      expect.objectContaining({
        kind: 'plan_approval',
        runId,
        actions: ['approve', 'reject'],
        evidence: expect.objectContaining({ plan: expect.objectContaining({ summary: 'One small library with its test.' }) }),
      }),
    ]);
    // Beside the plan: the PRD as submitted, and no round sent back (the first plan kept the rules).
    expect(waiting.body.pending[0].evidence).toMatchObject({ prd: PRD, planRounds: [] });

    // Bad input changes nothing; a read key may not; the run refuses what does not fit (recorded).
    expectError(await call('POST', `/api/runs/${runId}/reject`, { body: {} }), 400, 'invalid_input', 'reason');
    expectError(await call('POST', `/api/runs/${runId}/approve`, { key: RILEY_KEY, body: { reason: 'fine' } }), 403, 'forbidden');
    expectError(
      await call('POST', `/api/runs/${runId}/approve`, { key: SAM_KEY, body: { reason: 'fine', by: 'mallory' } }),
      400,
      'invalid_input',
      'by',
    );
    const pause = await call('POST', `/api/runs/${runId}/pause`, { key: SAM_KEY, body: { reason: 'hold on' } });
    expectError(pause, 409, 'refused');
    expect(pause.body.error.message).toMatch(/refused by the run: run is awaiting_approval/);
    expectError(await call('POST', `/api/runs/${runId}/replan`, { key: SAM_KEY, body: { reason: 'more rounds' } }), 409, 'refused');
    expectError(
      await call('POST', `/api/runs/${runId}/verification`, { key: SAM_KEY, body: { decision: 'accept', reason: 'x' } }),
      409,
      'refused',
    );
    expectError(
      await call('POST', `/api/runs/${runId}/verification`, { key: SAM_KEY, body: { decision: 'maybe', reason: 'x' } }),
      400,
      'invalid_input',
      'decision',
    );
    expect((await actionsOf(runId)).map((a) => [a.action, a.director_id])).toEqual([
      ['pause_refused', 'sam'],
      ['replan_refused', 'sam'],
      ['verificationDecision_refused', 'sam'],
    ]);

    const approved = await call('POST', `/api/runs/${runId}/approve`, { key: SAM_KEY, body: { reason: 'plan is fine' } });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ command: 'approvePlan', status: 'running', message: 'plan approved', by: 'sam' });

    // T1 fails its acceptance check; nobody else codes: it waits on the Director, with the evidence.
    await until(runId, (s) => s.progress.tasks.some((t: Json) => t.key === 'T1' && t.status === 'escalated'), 'T1 to escalate');
    const pending = await eventually(
      async () => {
        const p = (await call('GET', '/api/intervention')).body.pending as Json[];
        return p.find((x) => x.kind === 'task' && x.runId === runId && (x.evidence.incidents as Json[]).length > 0);
      },
      30_000,
      'the escalation with its incident',
    );
    expect(pending).toMatchObject({
      taskKey: 'T1',
      actions: ['resolve'],
      evidence: { escalation: [expect.stringMatching(/^T1: no eligible coder left/)] },
    });
    expect(pending.evidence.incidents[0]).toMatchObject({
      employeeId: 's-flaky',
      violation: expect.any(String),
      evidence: expect.any(Array),
    });
    expect(pending.evidence.lastCheck).toMatchObject({ command: 'node --test test/add.test.js', passed: false });
    expect(pending.evidence.lastCheck.excerpt).toMatch(/fail/i);
    const detail = await statusOf(runId);
    expect(detail.attempts).toEqual([expect.objectContaining({ taskKey: 'T1', employeeId: 's-flaky', passed: false })]);
    expect(detail.incidents.length).toBeGreaterThan(0);

    // The code under judgement: s-flaky's one round, with its files; nothing before it.
    const code = await call('GET', `/api/runs/${runId}/tasks/T1/code`, { key: RILEY_KEY });
    expect(code.status, JSON.stringify(code.body)).toBe(200);
    expect(code.body).toMatchObject({
      taskKey: 'T1',
      generation: 1,
      previous: null,
      current: { employeeId: 's-flaky', attempt: 1, parseError: null },
    });
    expect(code.body.current.files).toContainEqual({ path: 'src/add.js', content: 'export const add = (a, b) => a - b;\n' });
    expectError(await call('GET', `/api/runs/${runId}/tasks/T9/code`), 404, 'not_found');
    expectError(await call('GET', `/api/runs/${runId}/tasks/T1/code`, { key: null }), 401, 'unauthorized');
    // Who may take it over: the coders only (s-backup is a tester), each with its status.
    const eligible = await call('GET', `/api/runs/${runId}/tasks/T1/eligible`, { key: RILEY_KEY });
    expect(eligible.status, JSON.stringify(eligible.body)).toBe(200);
    expect(eligible.body).toMatchObject({ taskKey: 'T1', capability: 'coder', testerId: null });
    expect(eligible.body.employees).toEqual([
      expect.objectContaining({ id: 's-flaky', provider: 'scripted', available: true, status: expect.any(String) }),
    ]);
    expect(eligible.body.employees[0].eligible).toBe(eligible.body.employees[0].status === 'active');
    expectError(
      await call('POST', `/api/runs/${runId}/tasks/T1/resolve`, { body: { decision: 'reassign', reason: 'try another' } }),
      400,
      'invalid_input',
      'employeeId',
    );
    expectError(await call('POST', `/api/runs/${runId}/tasks/T9/resolve`, { body: { decision: 'accept', reason: 'x' } }), 404, 'not_found');
    const refused = await call('POST', `/api/runs/${runId}/tasks/T1/resolve`, {
      body: { decision: 'reassign', employeeId: 's-backup', reason: 'the tester can do it' },
    });
    expectError(refused, 409, 'refused');
    expect(refused.body.error.message).toContain('s-backup lacks the coder capability');

    const accepted = await call('POST', `/api/runs/${runId}/tasks/T1/resolve`, {
      body: { decision: 'accept', reason: 'good enough for a spike' },
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body.by).toBe('dana');

    const done = await until(runId, (s) => s.progress.status === 'completed', 'the run to complete');
    expect(done.progress.report.tasks[0]).toMatchObject({ taskKey: 'T1', status: 'accepted', overriddenBy: 'dana' });
    const report = await call('GET', `/api/runs/${runId}/report`, { key: RILEY_KEY });
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ runId, status: 'completed' });

    expect((await actionsOf(runId)).map((a) => [a.action, a.director_id])).toEqual([
      ['pause_refused', 'sam'],
      ['replan_refused', 'sam'],
      ['verificationDecision_refused', 'sam'],
      ['approve_plan', 'sam'],
      ['reassign_refused', 'dana'],
      ['task_accept', 'dana'],
    ]);
    // After the end: a command says how the run ended, and is recorded.
    expectError(await call('POST', `/api/runs/${runId}/cancel`, { body: { reason: 'too late' } }), 409, 'refused');

    const history = await call('GET', `/api/runs/${runId}/history`);
    expect(history.status).toBe(200);
    expect(history.body.entries.map((e: Json) => e.who)).toEqual(
      expect.arrayContaining(['director:sam', 'director:dana', 'employee:s-flaky']),
    );

    // The workspace as the record holds it, as files and as a .tar.gz.
    const ws = await call('GET', `/api/runs/${runId}/workspace`, { key: RILEY_KEY });
    expect(ws.status, JSON.stringify(ws.body)).toBe(200);
    expect(ws.body.files.map((f: Json) => f.before)).toEqual([null, null]); // one task wrote them, nothing rewrote them
    expect(ws.body.files.map((f: Json) => [f.path, f.fromTask])).toEqual([
      ['src/add.js', 'T1'],
      ['test/add.test.js', 'T1'],
    ]);
    expect(ws.body.verification).toMatchObject({ command: 'test -f src/add.js && test -f test/add.test.js', passed: true });
    const tar = await app.inject({
      method: 'GET',
      url: `/api/runs/${runId}/workspace.tar.gz`,
      headers: { host: `127.0.0.1:${env.config.manager.port}`, authorization: `Bearer ${RILEY_KEY}` },
    });
    expect(tar.statusCode).toBe(200);
    expect(tar.headers['content-type']).toBe('application/gzip');
    expect(tar.headers['content-disposition']).toBe(`attachment; filename="aura-${runId.slice(0, 8)}.tar.gz"`);
    const unpacked = mkdtempSync(join(tmpdir(), 'aura-workspace-'));
    try {
      writeFileSync(join(unpacked, 'w.tar.gz'), tar.rawPayload);
      execFileSync('tar', ['-xzf', 'w.tar.gz'], { cwd: unpacked });
      expect(readFileSync(join(unpacked, `aura-${runId.slice(0, 8)}`, 'src', 'add.js'), 'utf8')).toBe(
        'export const add = (a, b) => a - b;\n',
      );
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
    expectError(await call('GET', `/api/runs/${runId}/workspace.tar.gz`, { key: null }), 401, 'unauthorized');
    expectError(await call('GET', '/api/runs/00000000-0000-4000-8000-000000000000/workspace'), 404, 'not_found');

    const list = await call('GET', '/api/runs?status=completed', { key: RILEY_KEY });
    expect(list.body.runs).toEqual([
      expect.objectContaining({ runId, status: 'completed', needsDirector: false, spend: expect.objectContaining({ calls: 2 }) }),
    ]);
    expect((await call('GET', `/api/incidents?run=${runId}`)).body.incidents.length).toBe(detail.incidents.length);
  });

  it('budget: raise, pause and resume, cancel; and a stop', async () => {
    const a = (
      await call('POST', '/api/runs', { body: { prd: PRD, project: 'api-budget', autoApprove: true, maxTokens: 1, maxRepairRounds: 0 } })
    ).body.runId as string;
    const paused = await until(a, (s) => s.progress.status === 'budget_paused', 'the budget pause');
    expect(paused.spend.tokens).toBeGreaterThan(1);
    const budgetItem = await eventually(
      async () => ((await call('GET', '/api/intervention')).body.pending as Json[]).find((p) => p.runId === a && p.kind === 'budget'),
      15_000,
      'the budget pause in the intervention list',
    );
    expect(budgetItem).toMatchObject({
      actions: ['budget', 'stop'],
      evidence: { budget: { maxTokens: 1 }, spend: { tokens: paused.spend.tokens } },
    });
    expectError(
      await call('POST', `/api/runs/${a}/budget`, { body: { maxTokens: 0, maxCostUsd: 1, reason: 'x' } }),
      400,
      'invalid_input',
      'maxTokens',
    );
    expectError(
      await call('POST', `/api/runs/${a}/budget`, { body: { maxTokens: 1, maxCostUsd: 5, reason: 'same again' } }),
      400,
      'invalid_input',
    );
    const raised = await call('POST', `/api/runs/${a}/budget`, { body: { maxTokens: 1_000_000, maxCostUsd: 100, reason: 'approved' } });
    expect(raised.status, JSON.stringify(raised.body)).toBe(200);
    expect(raised.body.by).toBe('dana');

    // The task escalates (nobody else codes). Pause, resume, then cancel the run.
    await until(a, (s) => s.progress.tasks.some((t: Json) => t.status === 'escalated'), 'the escalation');
    const pausedRun = await call('POST', `/api/runs/${a}/pause`, { key: SAM_KEY, body: { reason: 'reviewing spend' } });
    expect(pausedRun.status, JSON.stringify(pausedRun.body)).toBe(200);
    expect(pausedRun.body).toMatchObject({ status: 'paused', by: 'sam' });
    const item = await eventually(
      async () => ((await call('GET', '/api/intervention')).body.pending as Json[]).find((p) => p.runId === a && p.kind === 'paused'),
      30_000,
      'the paused run listed',
    );
    expect(item.evidence.pausedBy).toMatchObject({ by: 'sam', reason: 'reviewing spend' });
    expect((await call('POST', `/api/runs/${a}/resume`, { key: SAM_KEY, body: { reason: 'spend is fine' } })).status).toBe(200);
    const cancelled = await call('POST', `/api/runs/${a}/cancel`, { body: { reason: 'wrong PRD' } });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    const end = await until(a, (s) => s.progress.status === 'cancelled', 'the cancel');
    expect(end.progress.reason).toBe('cancelled by dana: wrong PRD');

    // Two failures: HR and the scorecard have terminated the only coder. The Director reinstates it.
    expect((await env.db.selectFrom('employees').select('status').where('id', '=', 's-flaky').executeTakeFirstOrThrow()).status).not.toBe(
      'active',
    );
    const back = await call('POST', '/api/employees/s-flaky/reinstate', { key: SAM_KEY, body: { reason: 'one more chance' } });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body).toMatchObject({ employeeId: 's-flaky', statusBefore: expect.stringMatching(/^(suspended|terminated)$/), by: 'sam' });

    const b = (await call('POST', '/api/runs', { body: { prd: PRD, project: 'api-stop', autoApprove: true, maxTokens: 1 } })).body
      .runId as string;
    await until(b, (s) => s.progress.status === 'budget_paused', 'the second budget pause');
    expectError(await call('POST', `/api/runs/${b}/stop`, { body: {} }), 400, 'invalid_input', 'reason');
    expect((await call('POST', `/api/runs/${b}/stop`, { key: SAM_KEY, body: { reason: 'not worth it' } })).status).toBe(200);
    await until(b, (s) => s.progress.status === 'cancelled', 'the stop');

    const recorded = [...(await actionsOf(a)), ...(await actionsOf(b))];
    expect(recorded.map((r) => [r.action, r.director_id])).toEqual(
      expect.arrayContaining([
        ['raise_budget', 'dana'],
        ['pause_run', 'sam'],
        ['resume_run', 'sam'],
        ['cancel_run', 'dana'],
        ['stop_run', 'sam'],
      ]),
    );
    expect(recorded.every((r) => ['dana', 'sam'].includes(r.director_id ?? ''))).toBe(true);
  });
});

describe('the plan rejected', () => {
  it('reject ends the run with the reason, recorded as the key owner', async () => {
    const runId = (await call('POST', '/api/runs', { key: SAM_KEY, body: { prd: PRD, project: 'api-reject' } })).body.runId as string;
    await until(runId, (s) => s.progress.status === 'awaiting_approval', 'the plan gate');
    const rejected = await call('POST', `/api/runs/${runId}/reject`, { key: SAM_KEY, body: { reason: 'too broad' } });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body).toMatchObject({ command: 'rejectPlan', by: 'sam' });
    const end = await until(runId, (s) => s.progress.status === 'rejected', 'the rejection');
    expect(end.progress.reason).toContain('too broad');
    expect((await actionsOf(runId)).map((a) => [a.action, a.director_id, a.reason])).toEqual([['reject_plan', 'sam', 'too broad']]);
  });
});

describe('governance', () => {
  it('employees, scorecards, the ledger; reinstate as the key owner; a purge inside retention refused', async () => {
    const employees = await call('GET', '/api/employees', { key: RILEY_KEY });
    expect(employees.status).toBe(200);
    expect(employees.body.employees.map((e: Json) => e.id)).toEqual(['s-backup', 's-flaky', 's-planner']);
    expect(employees.body.counts.byStatus).toBeDefined();
    expect((await call('GET', '/api/scorecards', { key: RILEY_KEY })).body.scorecards.length).toBeGreaterThan(0);
    // The overview reads the record, which the run's ledger activity writes a moment after the run moves.
    const overview = await eventually(
      async () => {
        const o = await call('GET', '/api/overview', { key: RILEY_KEY });
        return o.body.runsByStatus.rejected === 1 ? o : null;
      },
      15_000,
      'the rejection in the record',
    );
    expect(overview.body.runsByStatus).toEqual({ completed: 1, cancelled: 2, rejected: 1 });
    expect(overview.body.runs).toHaveLength(4);

    // An employee suspended by hand (as HR would): the Director lifts it, recorded under the key's owner.
    await env.ownerDb
      .updateTable('employees')
      .set({ status: 'suspended', suspended_until: new Date(Date.now() + 86_400_000) })
      .where('id', '=', 's-backup')
      .execute();
    expectError(await call('POST', '/api/employees/s-backup/reinstate', { key: RILEY_KEY, body: { reason: 'x' } }), 403, 'forbidden');
    const reinstated = await call('POST', '/api/employees/s-backup/reinstate', { key: SAM_KEY, body: { reason: 'served its time' } });
    expect(reinstated.status, JSON.stringify(reinstated.body)).toBe(200);
    expect(reinstated.body).toMatchObject({ statusBefore: 'suspended', status: 'active', by: 'sam' });
    expectError(await call('POST', '/api/employees/s-backup/reinstate', { key: SAM_KEY, body: { reason: 'again' } }), 409, 'refused');
    expectError(await call('POST', '/api/employees/nobody/reinstate', { key: SAM_KEY, body: { reason: 'x' } }), 404, 'not_found');
    const action = await env.db
      .selectFrom('director_actions')
      .select(['director_id', 'reason'])
      .where('action', '=', 'reinstate_employee')
      .orderBy('created_at')
      .execute();
    expect(action).toEqual([
      { director_id: 'sam', reason: 'one more chance' },
      { director_id: 'sam', reason: 'served its time' },
    ]);

    const purge = await call('POST', '/api/retention/purge', { body: { before: new Date().toISOString().slice(0, 10), reason: 'tidy' } });
    expectError(purge, 409, 'refused');
    expect(purge.body.error.message).toMatch(/inside the \d+ days of retention/);

    const verify = await call('GET', '/api/ledger/verify', { key: RILEY_KEY });
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ intact: true });
    expect(verify.body.entries).toBeGreaterThan(0);
  });
});

describe('the CLI through the API', () => {
  it('with AURA_API_URL and AURA_API_KEY, the run commands go through the API and act as the key owner', async () => {
    const listening = await startApi({ client: env.client, db: env.db, config: env.config }, { host: '127.0.0.1', port: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'aura-api-cli-'));
    const prdFile = join(dir, 'prd.md');
    writeFileSync(prdFile, PRD);
    // AURA_DIRECTOR names someone else: through the API it is never used.
    const aura = (args: string[], key = SAM_KEY) =>
      runAura(args, { ...env.childEnv, AURA_API_URL: listening.url, AURA_API_KEY: key, AURA_DIRECTOR: 'mallory' });
    try {
      const submitted = await aura(['submit', prdFile, '--project', 'cli-api', '--max-repair-rounds', '0']);
      expect(submitted.code, submitted.stderr).toBe(0);
      expect(submitted.stderr).toBe(`[aura] via the Manager API at ${listening.url} as sam\n`);
      const runId = /run (\S+) started/.exec(submitted.stdout)![1]!;
      // The next step is said: this run waits at the plan gate.
      expect(submitted.stdout).toContain(
        `next: it plans, then waits at the plan gate; read the plan with 'aura status ${runId}', then 'aura approve ${runId} --reason`,
      );
      // The run records its start in its first step, a moment after the submission answers.
      const row = await eventually(
        () => env.db.selectFrom('orchestra_runs').select(['options']).where('id', '=', runId).executeTakeFirst(),
        30_000,
        'the run recorded',
      );
      expect(row.options).toMatchObject({ director: 'sam' });

      await until(runId, (s) => s.progress.status === 'awaiting_approval', 'the plan gate');
      const status = await aura(['status', runId]);
      expect(status.stdout).toContain('awaiting_approval');
      const bad = await aura(['budget', runId, '--tokens', '10', '--cost', '1', '--reason', 'more']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('cannot raise the budget: run');
      expect((await aura(['status', runId], 'no-such-key-here')).stderr).toContain('aura: unknown API key');
      expect((await aura(['approve', runId], RILEY_KEY)).stderr).toContain("riley's key may read, not command");

      const approved = await aura(['approve', runId, '--reason', 'fine by me']);
      expect(approved.code, approved.stderr).toBe(0);
      expect(approved.stdout).toContain(`plan of run ${runId} approved by sam`);
      const paused = await aura(['pause', runId, '--reason', 'not now']);
      const cancelled = await aura(['cancel', runId, '--reason', 'changed my mind']);
      expect(cancelled.code, cancelled.stderr).toBe(0);
      await until(runId, (s) => s.progress.status === 'cancelled', 'the cancel');
      const late = await aura(['resume', runId, '--reason', 'too late']);
      expect(late.code).toBe(2);
      // Refused by the run while it winds down, or, once it has closed, before it is asked: recorded either way.
      expect(late.stderr).toMatch(/cannot resume the run: (refused by the run: the run is cancelled|run \S+ is cancelled)/);

      const actions = (await actionsOf(runId)).map((a) => [a.action, a.director_id]);
      expect(actions[0]).toEqual(['approve_plan', 'sam']);
      // The pause lands while the run works, or is refused while its task waits: recorded either way, as sam.
      expect(actions.slice(1, -2)).toEqual([[paused.code === 0 ? 'pause_run' : 'pause_refused', 'sam']]);
      expect(actions.slice(-2)).toEqual([
        ['cancel_run', 'sam'],
        ['resume_refused', 'sam'],
      ]);
    } finally {
      await listening.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
