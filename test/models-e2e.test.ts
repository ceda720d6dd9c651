/**
 * Real model employees end to end: OpenAI-, Ollama- and Gemini-configured employees, through
 * the real `openai` and `ollama` clients, talk to a local server that speaks their wire
 * protocols (nothing leaves the machine). Structured output is asked for, a 429 is retried
 * after its Retry-After, a 401 sends the task elsewhere, tokens and cost land in the report
 * and in `aura models`, and the API keys appear nowhere: not in history, logs or tables.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { submitRun, waitForReport } from '../director/runs.js';
import { PROJECT_ROOT } from '../config/config.js';
import type { RunReport } from '../governance/types.js';
import { FakeModelServer, requestPrompt, type RecordedRequest } from './fixtures/fake-model-server.js';
import { SAMPLE_PRD_FILE, startTestEnv, type TestEnv } from './helpers/env.js';
import { startWorkerProcess, type WorkerProcess } from './helpers/worker-process.js';
import { aura as runAura } from './helpers/cli.js';

const OPENAI_KEY = 'sk-aura-test-SECRET-5f1c2e9d8b7a';
const GEMINI_KEY = 'gm-aura-test-SECRET-0a9b8c7d6e5f';

/** What the scripted demo employees would answer, served here as model completions. */
function cannedAnswers() {
  const file = join(PROJECT_ROOT, 'samples', 'wordfreq', 'script.json');
  const script = JSON.parse(readFileSync(file, 'utf8'));
  const withContent = (answer: { summary: string; files: { path: string; from: string }[] }) => ({
    summary: answer.summary,
    files: answer.files.map((f) => ({ path: f.path, content: readFileSync(resolve(dirname(file), f.from), 'utf8') })),
  });
  const plan = script.employees['scripted-planner'].plan[1];
  return {
    plan,
    tasks: {
      T1: withContent(script.employees['scripted-ada'].T1),
      T2: withContent(script.employees['scripted-ada'].T2),
      T3: withContent(script.employees['scripted-grace'].T3),
    } as Record<string, object>,
  };
}

let env: TestEnv;
let server: FakeModelServer;
let stopServer: () => Promise<void>;
let worker: WorkerProcess;
let runId: string;
let workflowId: string;
let report: RunReport;

beforeAll(async () => {
  const answers = cannedAnswers();
  let ollamaTaskCalls = 0;
  server = new FakeModelServer().setDefault((req: RecordedRequest) => {
    const prompt = requestPrompt(req);
    const model = req.body?.model as string;
    if (model === 'broken-model') {
      // A provider that refuses, and echoes the caller's credentials back in its error.
      return {
        status: 401,
        body: { error: { message: `Incorrect API key provided: ${String(req.headers.authorization)}`, type: 'invalid_request_error' } },
      };
    }
    if (req.protocol === 'ollama' && /Do task/.test(prompt) && ++ollamaTaskCalls === 1) return { status: 429, retryAfterSeconds: 1 };
    const usage = { input: 1000, output: 500 };
    if (/You are the planner/.test(prompt)) return { reply: answers.plan, usage };
    if (/independent reviewer/.test(prompt)) return { reply: { verdict: 'approve', comments: 'Does the task, within scope.' }, usage };
    const task = /Do task (\w+):/.exec(prompt)?.[1];
    if (task && answers.tasks[task]) return { reply: answers.tasks[task]!, usage };
    return { status: 500, body: 'unexpected prompt' };
  });
  const started = await server.start();
  stopServer = started.close;
  env = await startTestEnv({
    workers: false,
    env: {
      AURA_EMPLOYEES_FILE: join(PROJECT_ROOT, 'test', 'fixtures', 'models', 'employees.json'),
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: `${started.url}/v1`,
      GEMINI_API_KEY: GEMINI_KEY,
      GEMINI_BASE_URL: `${started.url}/v1beta/openai/`,
      OLLAMA_BASE_URL: started.url,
    },
  });
  // The workers run in their own process, so their logs can be searched for the keys.
  worker = await startWorkerProcess(env.childEnv);
  ({ runId, workflowId } = await submitRun(env.client, {
    prd: readFileSync(SAMPLE_PRD_FILE, 'utf8'),
    project: 'models-e2e',
    options: { autoApprove: true, director: 'model-tester', budget: { maxTokens: 1_000_000, maxCostUsd: 1 } },
  }));
  report = await waitForReport(env.client, runId);
}, 240_000);

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await env?.teardown();
  await stopServer?.();
});

describe('OpenAI, Ollama and Gemini employees', () => {
  it('complete the sample PRD through the real clients', () => {
    expect(report.status).toBe('completed');
    expect(Object.fromEntries(report.tasks.map((t) => [t.taskKey, t.acceptedBy]))).toEqual({
      T1: 'ol-coder',
      T2: 'ol-coder',
      T3: 'gm-writer',
    });
    expect(report.verification?.passed).toBe(true);
  });

  it('speak each wire protocol, with structured output requested', () => {
    const openai = server.requests.filter((r) => r.path === '/v1/chat/completions');
    const gemini = server.requests.filter((r) => r.path === '/v1beta/openai/chat/completions');
    const ollama = server.requests.filter((r) => r.path === '/api/chat');
    expect(openai.length).toBeGreaterThan(0);
    expect(gemini.length).toBeGreaterThan(0);
    expect(ollama.length).toBeGreaterThan(0);
    expect(openai.every((r) => r.headers.authorization === `Bearer ${OPENAI_KEY}`)).toBe(true);
    expect(gemini.every((r) => r.headers.authorization === `Bearer ${GEMINI_KEY}`)).toBe(true);
    const plan = openai.find((r) => /You are the planner/.test(requestPrompt(r)))!;
    expect(plan.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'plan' } });
    expect(ollama.find((r) => /Do task/.test(requestPrompt(r)))!.body.format).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['summary', 'files']),
    });
  });

  it('retry a 429 after its Retry-After, and send a refused (401) task elsewhere without a violation', async () => {
    const calls = await env.db
      .selectFrom('model_runs')
      .innerJoin('task_queue', 'task_queue.id', 'model_runs.task_id')
      .select(['model_runs.employee_id', 'model_runs.attempt', 'model_runs.error', 'task_queue.task_key'])
      .where('model_runs.run_id', '=', runId)
      .where('model_runs.kind', '=', 'task')
      .orderBy('model_runs.created_at')
      .execute();
    const t1 = calls.filter((c) => c.task_key === 'T1');
    expect(t1.map((c) => [c.employee_id, c.attempt, c.error === null ? 'ok' : c.error.split(':').slice(0, 2).join(':')])).toEqual([
      ['oa-broken', 1, 'openai: rejected (HTTP 401)'],
      ['ol-coder', 1, 'ollama: rate_limited (HTTP 429)'],
      ['ol-coder', 2, 'ok'],
    ]);
    const incidents = await env.db.selectFrom('incidents').select('model_id').where('run_id', '=', runId).execute();
    expect(incidents).toEqual([]);
    const routedAround = await env.db
      .selectFrom('audit_events')
      .select('description')
      .where('run_id', '=', runId)
      .where('action', '=', 'task.employee_unavailable')
      .execute();
    expect(routedAround.length).toBe(2); // T1 and T2 were each offered to oa-broken first
  });

  it('account tokens and cost per employee and per run, in the report and in aura models', async () => {
    const usage = report.usage!;
    const byId = Object.fromEntries(usage.byEmployee.map((e) => [e.employeeId, e]));
    expect(byId['oa-planner']).toMatchObject({ calls: 1, inputTokens: 1000, outputTokens: 500, costUsd: 0.00045 });
    expect(byId['ol-coder']).toMatchObject({ inputTokens: 2000, outputTokens: 1000, costUsd: 0 });
    expect(byId['gm-writer']!.costUsd).toBeCloseTo((byId['gm-writer']!.inputTokens * 0.1 + byId['gm-writer']!.outputTokens * 0.4) / 1e6, 9);
    expect(usage.costUsd).toBeCloseTo(
      usage.byEmployee.reduce((s, e) => s + e.costUsd, 0),
      9,
    );
    expect(usage.inputTokens).toBe(usage.byEmployee.reduce((s, e) => s + e.inputTokens, 0));

    const out = await runAura(['models', '--json'], env.childEnv);
    const models = JSON.parse(out.stdout) as {
      id: string;
      calls: number;
      inputTokens: number;
      outputTokens: number;
      costUsd: number;
      available: boolean;
      status: string;
      reputation: number;
    }[];
    const planner = models.find((m) => m.id === 'oa-planner')!;
    expect(planner).toMatchObject({ calls: 1, inputTokens: 1000, outputTokens: 500, costUsd: 0.00045, available: true, status: 'active' });
    expect(models.find((m) => m.id === 'scripted-ada')).toBeUndefined(); // not in this registry, never registered here
    const table = await runAura(['models'], env.childEnv);
    expect(table.stdout).toMatch(/oa-planner\s+openai\s+gpt-4o-mini\s+active\s+[\d.]+\s+1\s+1000\s+500\s+0\.0004/);
  });

  it('never let a key into workflow history, logs or the database', async () => {
    const secrets = [OPENAI_KEY, GEMINI_KEY];
    // The keys were really used (so this search can find something) …
    expect(server.requests.some((r) => String(r.headers.authorization).includes(OPENAI_KEY))).toBe(true);
    const haystacks: [string, string][] = [];
    for await (const wf of env.client.workflow.list({ query: `AuraRunId = '${runId}'` })) {
      haystacks.push([`history ${wf.workflowId}`, JSON.stringify(await env.client.workflow.getHandle(wf.workflowId).fetchHistory())]);
    }
    expect(haystacks.length).toBe(4);
    haystacks.push(['worker logs', worker.output()]);
    const tables = await sql<{ tablename: string }>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`.execute(env.db);
    for (const { tablename } of tables.rows) {
      const rows = await sql`SELECT * FROM ${sql.table(tablename)}`.execute(env.db);
      haystacks.push([`table ${tablename}`, JSON.stringify(rows.rows)]);
    }
    expect(haystacks.length).toBeGreaterThan(15);
    const leaks = haystacks.filter(([, text]) => secrets.some((s) => text.includes(s))).map(([where]) => where);
    expect(leaks).toEqual([]);
    // … and the refusal that echoed the key was recorded, scrubbed.
    const refused = await env.db.selectFrom('model_runs').select('error').where('employee_id', '=', 'oa-broken').execute();
    expect(refused[0]!.error).toMatch(/Incorrect API key provided/);
  });
});
