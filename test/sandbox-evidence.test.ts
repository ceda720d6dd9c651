/**
 * What the sandbox keeps of a check's output: the excerpt a repair round is shown carries the
 * failing test's own evidence (a real `node --test` run, passing tests after the failing one),
 * and the full output is stored content-addressed, named by the verification. An exported
 * workspace is its owner's alone.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSandboxActivities, EXCERPT_CHARS, type VerifyTaskRequest } from '../activities/sandbox/index.js';
import { isolationSupport } from '../activities/sandbox/isolation-probe.js';
import { evidenceBlob, storeEvidence } from '../db/repositories/evidence.js';
import { recordModelRun } from '../db/repositories/model-runs.js';
import { insertRun, insertTasks, updateTask, upsertProject } from '../db/repositories/runs.js';
import { recordVerification } from '../db/repositories/verifications.js';
import { useThrowawayDatabase } from './helpers/database.js';

const database = useThrowawayDatabase();

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const CART = `export function total(items) {\n  return items.reduce((sum, i) => sum + i.price, 0) - 1;\n}\n`;

const passingTests = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `test('${prefix} ${i + 1}', () => { assert.ok(total([]) !== undefined); });`).join('\n');

/** Three passing tests, the failing one, then forty passing: the failure is far from the end. */
const FAILING_TESTS = `import test from 'node:test';
import assert from 'node:assert/strict';
import { total } from './src/cart.mjs';
${passingTests('before', 3)}
test('totals the cart', () => { assert.strictEqual(total([{ price: 40 }, { price: 2 }]), 42, 'the cart total'); });
${passingTests('after', 40)}
`;

const PASSING_TESTS = `import test from 'node:test';
import assert from 'node:assert/strict';
import { total } from './src/cart.mjs';
${passingTests('passes', 40)}
`;

/** No isolation on this machine: the code is run unisolated (what is tested is what is kept of the output). */
const unsafe = isolationSupport().problem !== null;
let savedUnsafe: string | undefined;
let workspacesDir = '';
let runId = '';
let taskId = '';
let failingRun = '';
let passingRun = '';

async function taskOutput(files: Record<string, string>, key: string): Promise<string> {
  return recordModelRun(database.db, {
    id: randomUUID(),
    idempotencyKey: `evidence/${runId}/${key}`,
    runId,
    taskId,
    employeeId: 'scripted-ada',
    kind: 'task',
    attempt: 1,
    prompt: 'write the cart',
    promptVersion: 'task/2',
    output: JSON.stringify({ summary: 'the cart', files: Object.entries(files).map(([path, content]) => ({ path, content })) }),
    inputTokens: 1,
    outputTokens: 1,
    costUsd: 0,
    latencyMs: 1,
    finishReason: 'stop',
    error: null,
  });
}

beforeAll(async () => {
  savedUnsafe = process.env.AURA_SANDBOX_UNSAFE;
  if (unsafe) process.env.AURA_SANDBOX_UNSAFE = '1';
  workspacesDir = mkdtempSync(join(tmpdir(), 'aura-evidence-exports-'));
  const db = database.db;
  runId = randomUUID();
  taskId = randomUUID();
  await insertRun(db, {
    id: runId,
    projectId: await upsertProject(db, 'evidence'),
    workflowId: `prd-run-${runId}`,
    prd: '# A cart',
    options: {},
    status: 'running',
    idempotencyKey: `evidence/${runId}`,
  });
  await insertTasks(
    db,
    runId,
    [{ id: taskId, key: 'cart', title: 'The cart', spec: {}, workflowId: `prd-run-${runId}.task-cart` }],
    `evidence/${runId}/plan`,
  );
  failingRun = await taskOutput({ 'src/cart.mjs': CART, 'cart.test.mjs': FAILING_TESTS }, 'failing');
  passingRun = await taskOutput({ 'src/cart.mjs': CART, 'cart.test.mjs': PASSING_TESTS }, 'passing');
});

afterAll(() => {
  if (savedUnsafe === undefined) delete process.env.AURA_SANDBOX_UNSAFE;
  else process.env.AURA_SANDBOX_UNSAFE = savedUnsafe;
  if (workspacesDir) rmSync(workspacesDir, { recursive: true, force: true });
});

/** Runs an activity as Temporal would, under this activity type and id (its idempotency key). */
async function runActivity<A, R>(activityType: string, activityId: string, fn: (arg: A) => Promise<R>, arg: A): Promise<R> {
  const env = new MockActivityEnvironment({
    activityType,
    activityId,
    workflowExecution: { workflowId: `prd-run-${runId}.task-cart`, runId: 'execution-1' },
  });
  return (await env.run(fn, arg)) as R;
}

const request = (modelRunId: string): VerifyTaskRequest => ({
  runId,
  taskId,
  modelRunId,
  baseTaskIds: [],
  command: 'node --test',
  timeoutMs: 60_000,
});

const title = (t: string) => (unsafe ? `${t} — run without isolation: ${isolationSupport().problem}` : t);

describe('the sandbox keeps the evidence of a check', () => {
  it(
    title(
      'a failing node --test run with passes after the failure: the excerpt has the not ok block, the full output is stored by its sha256 and the verification names it',
    ),
    async () => {
      const activities = createSandboxActivities({ db: database.db, workspacesDir });
      const result = await runActivity('verifyTaskOutput', '7', activities.verifyTaskOutput, request(failingRun));
      expect(result.ran).toBe(true);
      expect(result.passed).toBe(false);

      // The full output, content-addressed.
      expect(result.outputSha256).toMatch(/^[0-9a-f]{64}$/);
      const blob = await evidenceBlob(database.db, result.outputSha256!);
      expect(blob).toBeDefined();
      expect(sha256(blob!.content)).toBe(result.outputSha256);
      expect(blob!.bytes).toBe(Buffer.byteLength(blob!.content, 'utf8'));
      expect(blob!.content).toMatch(/^not ok 4 - totals the cart$/m);
      expect(blob!.content).toMatch(/^# pass 43$/m);
      // Its last characters, what the excerpt was before, show only passes.
      const lastChars = blob!.content.slice(-EXCERPT_CHARS);
      expect(lastChars).not.toContain('not ok');
      expect(lastChars).toMatch(/^# fail 1$/m);

      // The excerpt: the failing test's block, whole, and the summary.
      expect(result.excerpt.length).toBeLessThanOrEqual(EXCERPT_CHARS);
      expect(result.excerpt).toMatch(/^not ok 4 - totals the cart$/m);
      expect(result.excerpt).toContain('the cart total');
      expect(result.excerpt).toMatch(/^ {2}expected: 42$/m);
      expect(result.excerpt).toMatch(/^ {2}actual: 41$/m);
      expect(result.excerpt).toMatch(/^# fail 1$/m);
      expect(result.excerpt).toMatch(/^… \(\d+ characters omitted\) …$/m);

      // The verification row names the blob and keeps the excerpt.
      const row = await database.db
        .selectFrom('verifications')
        .selectAll()
        .where('idempotency_key', '=', `prd-run-${runId}.task-cart/execution-1/verifyTaskOutput/7`)
        .executeTakeFirstOrThrow();
      expect(row.output_sha256).toBe(result.outputSha256);
      expect(row.excerpt).toBe(result.excerpt);
      expect(row.passed).toBe(false);
    },
  );

  it('a retried check whose output differs (timings) finds the row it wrote: the first output hash stands, no conflict', async () => {
    const db = database.db;
    const first = await storeEvidence(db, `# Subtest: totals\nnot ok 1 - totals\n  duration_ms: 1.5\n${randomUUID()}`);
    const retried = await storeEvidence(db, `# Subtest: totals\nnot ok 1 - totals\n  duration_ms: 2.25\n${randomUUID()}`);
    const verification = (outputSha256: string, durationMs: number) => ({
      idempotencyKey: `evidence/${runId}/retried`,
      runId,
      taskId,
      modelRunId: failingRun,
      kind: 'task' as const,
      command: 'node --test',
      result: {
        ran: true,
        passed: false,
        exitCode: 1,
        timedOut: false,
        durationMs,
        excerpt: `not ok 1 - totals (${durationMs} ms)`,
        skippedReason: null,
        refusedPaths: [],
        outsideWrites: [],
        // As root each run has a sandbox uid of its own, named in its isolation lines.
        isolation: ['sandbox: bubblewrap', `uid ${1_700_000 + durationMs}`],
        outputSha256,
      },
    });
    const id = await recordVerification(db, verification(first, 15));
    expect(await recordVerification(db, verification(retried, 22))).toBe(id);
    const rows = await db
      .selectFrom('verifications')
      .select(['id', 'output_sha256'])
      .where('idempotency_key', '=', `evidence/${runId}/retried`)
      .execute();
    expect(rows).toEqual([{ id, output_sha256: first }]);
    const conflicts = await db.selectFrom('audit_events').select('id').where('action', '=', 'idempotency.conflict').execute();
    expect(conflicts).toEqual([]);
  });

  it(title('a passing run keeps its last characters as the excerpt, and its full output too'), async () => {
    const activities = createSandboxActivities({ db: database.db, workspacesDir });
    const result = await runActivity('verifyTaskOutput', '9', activities.verifyTaskOutput, request(passingRun));
    expect(result.passed).toBe(true);
    const blob = await evidenceBlob(database.db, result.outputSha256!);
    expect(blob!.content.length).toBeGreaterThan(EXCERPT_CHARS);
    expect(result.excerpt).toBe(`…${blob!.content.slice(-EXCERPT_CHARS)}`);
  });

  it('stores a blob once, named by the sha256 of its stored text, even with a NUL in it; the application cannot remove it', async () => {
    const db = database.db;
    const content = `before\u0000after ${randomUUID()}\n`;
    const name = await storeEvidence(db, content);
    const stored = content.replace('\u0000', '\u2400');
    expect(name).toBe(sha256(stored));
    expect(await storeEvidence(db, content)).toBe(name);
    const rows = await db.selectFrom('evidence_blobs').selectAll().where('sha256', '=', name).execute();
    expect(rows.map((r) => [r.content, r.bytes])).toEqual([[stored, Buffer.byteLength(stored, 'utf8')]]);
    await expect(db.deleteFrom('evidence_blobs').where('sha256', '=', name).execute()).rejects.toThrow(/permission denied/);
    await expect(db.updateTable('evidence_blobs').set({ content: 'changed' }).where('sha256', '=', name).execute()).rejects.toThrow(
      /permission denied/,
    );
  });
});

describe('an exported workspace', () => {
  it('is a folder of mode 0700 with files of mode 0600, whatever the umask', async () => {
    await updateTask(database.db, taskId, { status: 'accepted', acceptedModelRunId: failingRun });
    const activities = createSandboxActivities({ db: database.db, workspacesDir });
    const umask = process.umask(0o022);
    try {
      const exported = await runActivity('exportWorkspace', '10', activities.exportWorkspace, { runId, taskIds: [taskId] });
      expect(exported).toEqual({ dir: join(workspacesDir, runId), files: 2 });
      const mode = (path: string) => statSync(join(exported.dir, path)).mode & 0o777;
      expect(mode('.')).toBe(0o700);
      expect(mode('src')).toBe(0o700);
      expect(mode('src/cart.mjs')).toBe(0o600);
      expect(mode('cart.test.mjs')).toBe(0o600);
    } finally {
      process.umask(umask);
    }
  });
});
