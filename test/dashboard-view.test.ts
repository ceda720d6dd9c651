/**
 * The dashboard's pages as text, without a browser: its ES modules (api/dashboard/) imported here
 * over a small stand-in DOM (elements and text nodes only: the page never parses HTML) with the
 * API's answers given. The monitoring page names who tests, who codes, red and green and the
 * review per task; an escalated task on the intervention page shows both sides, the code and its
 * diff, the failing output once, and the override as the dangerous choice; the plan gate shows
 * the PRD (as text), the instructions and the rounds sent back; and the pure pieces (the diff,
 * the submission, the route, which controls a run has) say what they should.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config/config.js';

class FakeNode {
  children: FakeNode[] = [];
  attrs: Record<string, string> = {};
  className = '';
  own: string | null = null;
  classList = { toggle() {}, add() {}, remove() {} };
  constructor(readonly tag: string) {}
  append(...c: FakeNode[]) {
    this.children.push(...c);
  }
  replaceChildren(...c: FakeNode[]) {
    this.children = c;
  }
  setAttribute(k: string, v: string) {
    this.attrs[k] = v;
  }
  addEventListener() {}
  get textContent(): string {
    if (this.own !== null) return this.own;
    const inner = this.children.map((c) => c.textContent).join('');
    return ['td', 'th'].includes(this.tag) ? `${inner}\t` : ['p', 'li', 'tr', 'h2', 'pre'].includes(this.tag) ? `${inner}\n` : inner;
  }
  set textContent(v: string) {
    this.own = v;
  }
  find(pred: (n: FakeNode) => boolean): FakeNode[] {
    return [...(pred(this) ? [this] : []), ...this.children.flatMap((c) => c.find(pred))];
  }
}
class FakeText extends FakeNode {
  constructor(text: string) {
    super('#text');
    this.own = text;
  }
}

type Nodes = Promise<FakeNode[]>;
/* The dashboard's modules are plain JavaScript: what the test calls of them, typed here. */
interface Modules {
  runPage(ctx: Ctx, ref: string): Nodes;
  interventionPage(ctx: Ctx): Nodes;
  lineDiff(a: string, b: string): { op: string; text: string }[];
  hunks(ops: { op: string; text: string }[], context?: number): { op: string; text: string }[];
  compareFiles(
    before: unknown[] | null,
    after: unknown[] | null,
  ): { path: string; change: string; lines: { op: string; text: string }[] }[];
  diffText(lines: { op: string; text: string }[]): string;
  sameOutput(text: string, shown: string): boolean;
  submission(values: Record<string, unknown>): Record<string, unknown>;
  parseRoute(hash: string): { page: string; arg: string | null };
  runControls(ctx: Ctx, run: { runId: string; status: string }): FakeNode | string;
  monitoringList(ctx: Ctx): Nodes;
  answerText(title: string, answer: unknown, opts?: { task?: boolean }): string;
}
interface Ctx {
  api: { call(method: string, path: string): Promise<unknown> };
  me: { role: string } | null;
  setPending(n: number): void;
  refresh(): void;
}

let m: Modules;
beforeAll(async () => {
  const elements = new Map<string, FakeNode>();
  Object.assign(globalThis, {
    Node: FakeNode,
    document: {
      createElement: (tag: string) => new FakeNode(tag),
      createTextNode: (text: string) => new FakeText(text),
      getElementById: (id: string) => elements.get(id) ?? elements.set(id, new FakeNode('div')).get(id),
      querySelectorAll: () => [],
    },
  });
  const load = (name: string) => import(pathToFileURL(join(PROJECT_ROOT, 'api', 'dashboard', name)).href) as Promise<Partial<Modules>>;
  m = Object.assign(
    {},
    ...(await Promise.all(
      ['monitoring.js', 'intervention.js', 'diff.js', 'evidence.js', 'submit.js', 'router.js', 'actions.js'].map(load),
    )),
  ) as Modules;
});

/** The pages over `answers` as the API (by path), signed in with a key of `role`. */
function dashboard(answers: Record<string, unknown>, role = 'director') {
  const ctx: Ctx = {
    api: {
      async call(_method, path) {
        if (!(path in answers)) throw new Error(`no answer for ${path}`);
        return answers[path];
      },
    },
    me: { role },
    setPending() {},
    refresh() {},
  };
  return { runPage: (ref: string) => m.runPage(ctx, ref), interventionPage: () => m.interventionPage(ctx), ctx };
}

const text = (nodes: FakeNode[]) => nodes.map((n) => n.textContent).join('');
const rowOf = (nodes: FakeNode[], task: string) =>
  nodes.flatMap((n) => n.find((x) => x.tag === 'tr' && x.attrs['data-task'] === task))[0]!.textContent.replace(/\n$/, '');

const round = (over: Record<string, unknown>) => ({
  taskKey: 'T1',
  generation: 1,
  attempt: 1,
  round: 1,
  at: '2026-01-01T00:00:00.000Z',
  tokens: 2,
  costUsd: 0,
  error: null,
  exitCode: 1,
  summary: null,
  review: null,
  ...over,
});

function runDetail(over: { report?: unknown; tasks?: unknown[]; attempts?: unknown[] } = {}) {
  return {
    runId: 'r-1',
    workflowId: 'prd-run-r-1',
    temporalUrl: null,
    progress: {
      runId: 'r-1',
      project: 'p',
      status: over.report ? 'completed' : 'running',
      reason: null,
      escalations: [],
      ignoredSignals: [],
      report: over.report ?? null,
      tasks: over.tasks ?? [
        {
          key: 'T1',
          title: 'Add',
          status: 'escalated',
          assignedTo: null,
          attempts: 1,
          reassignments: 0,
          testedBy: 'tester-1',
          phase: 'code',
        },
      ],
    },
    spend: { calls: 3, tokens: 6, costUsd: 0 },
    budget: { maxTokens: 100, maxCostUsd: 1 },
    attempts: over.attempts ?? [
      round({ role: 'tester', employeeId: 'tester-1', phase: 'red', passed: false, summary: 'tests for add' }),
      round({
        role: 'coder',
        employeeId: 'coder-1',
        phase: 'green',
        passed: true,
        exitCode: 0,
        summary: 'adds two numbers',
        review: { reviewerId: 'reviewer-1', verdict: 'reject', comments: 'no overflow check' },
      }),
    ],
    incidents: [],
    actions: [],
  };
}

describe('the dashboard: who checked whom', () => {
  it('monitoring: per task who tests, who codes, red and green and the review; the run says acceptance is independent', async () => {
    const detail = runDetail();
    detail.progress.tasks.push({ key: 'T2', title: 'Sum', status: 'pending', assignedTo: null, attempts: 0, reassignments: 0 });
    const page = dashboard({ '/api/runs/r-1': detail });
    const nodes = await page.runPage('r-1');
    // A task that has not started yet in a run with testers: nothing known, not "self-tested".
    expect(rowOf(nodes, 'T2')).toMatch(/\t-\t-\t-\t-\t$/);
    expect(text(nodes)).toContain('Acceptance: tests by testers (independent)');
    expect(rowOf(nodes, 'T1')).toMatch(/tester-1\tcoder-1\tred: failed, as it must · green: passed\treviewer-1: reject\t$/);
    const rounds = nodes.flatMap((n) => n.find((x) => x.tag === 'table' && x.attrs['aria-label'] === 'Attempts'))[0]!.textContent;
    expect(rounds).toMatch(/tester-1\tred failing\ttester\t-\t/);
    expect(rounds).toMatch(/coder-1\tgreen passed\tcoder\treviewer-1: reject\t/);
  });

  it("monitoring: an ended run's report decides, and a self-tested run says so", async () => {
    const checks = {
      tests: { testerId: 'tester-9', version: 2, files: [], red: { passed: false, exitCode: 1 } },
      testAttempts: [],
      green: { passed: true, exitCode: 0 },
      review: { reviewerId: 'reviewer-9', verdict: 'approve', comments: '' },
      disputes: [],
    };
    const task = { taskKey: 'T1', status: 'accepted', acceptedBy: 'coder-9', attempts: [{ employeeId: 'coder-9' }], checks };
    const ended = dashboard({ '/api/runs/r-1': runDetail({ report: { independentTests: true, tasks: [task] } }) });
    expect(rowOf(await ended.runPage('r-1'), 'T1')).toMatch(
      /tester-9 \(v2\)\tcoder-9\tred: failed, as it must · green: passed\treviewer-9: approve\t$/,
    );

    const plain = round({ role: 'coder', employeeId: 'coder-1', phase: null, passed: true, exitCode: 0 });
    const self = dashboard({
      '/api/runs/r-1': runDetail({
        report: { independentTests: false, tasks: [{ ...task, acceptedBy: 'coder-1', checks: undefined }] },
        tasks: [{ key: 'T1', title: 'Add', status: 'accepted', assignedTo: 'coder-1', attempts: 1, reassignments: 0 }],
        attempts: [plain],
      }),
    });
    const nodes = await self.runPage('r-1');
    expect(text(nodes)).toContain("Self-tested: the plan's own commands decided.");
    expect(text(nodes)).not.toContain('Acceptance: tests by testers');
    expect(rowOf(nodes, 'T1')).toMatch(/\tself-tested\tcoder-1\t-\t-\t$/);
  });

  it('intervention: an escalated task shows both sides, and names the last check red or green', async () => {
    const escalated = () => ({
      kind: 'task',
      runId: 'r-1',
      workflowId: 'prd-run-r-1',
      project: 'p',
      runStatus: 'running',
      taskKey: 'T1',
      question: 'task T1 escalated',
      actions: ['resolve'],
      evidence: {
        escalation: ['T1: reviewer reviewer-1 still rejects round 2 of coder-1: no overflow check'],
        lastCheck: { command: 'node --test', passed: true, exitCode: 0, excerpt: 'ok', phase: 'green' },
        verdicts: [],
        incidents: [],
      },
      temporalUrl: null,
    });
    const page = dashboard({ '/api/intervention': { pending: [escalated()] }, '/api/runs/r-1': runDetail() });
    const all = text(await page.interventionPage());
    expect(all).toContain('Tests: by tester-1 · red: failed, as it must');
    expect(all).toContain('Code: by coder-1 · green: passed');
    expect(all).toContain("The coder's summary: adds two numbers");
    expect(all).toContain('Review by reviewer-1: reject — no overflow check');
    expect(all).toContain("Auditor's evidence — last green run: node --test");
    // Without the run's rounds (Temporal out of reach) the entry still shows, without both sides.
    const alone = dashboard({ '/api/intervention': { pending: [escalated()] } });
    const text2 = text(await alone.interventionPage());
    expect(text2).toContain('task T1 escalated');
    expect(text2).not.toContain('Tests: by');
  });
});

const find = (nodes: FakeNode[] | FakeNode, pred: (n: FakeNode) => boolean) => [nodes].flat().flatMap((n) => n.find(pred));
const labelled = (nodes: FakeNode[], label: string) => find(nodes, (x) => x.attrs['aria-label'] === label)[0];
const buttons = (nodes: FakeNode[]) => find(nodes, (x) => x.tag === 'button');

const ADD_MINUS = { path: 'src/add.js', content: 'export const add = (a, b) => a - b;\n' };
const ADD_TIMES = { path: 'src/add.js', content: 'export const add = (a, b) => a * b;\n' };
const TEST = { path: 'test/add.test.js', content: "test('adds', () => assert.equal(add(2, 3), 5));\n" };
const codeRound = (employeeId: string, attempt: number, files: unknown[] | null) => ({
  modelRunId: `m-${attempt}`,
  employeeId,
  attempt,
  round: 1,
  at: '2026-01-01T00:00:00.000Z',
  files,
  parseError: files ? null : 'files: Required',
  summary: 'add',
});
const FAILING = 'not ok 1 - adds\n  AssertionError: expected 5, got -1\n  at test/add.test.js:4\n# fail 1';

function escalation(over: Record<string, unknown> = {}) {
  return {
    kind: 'task',
    runId: 'r-1',
    workflowId: 'prd-run-r-1',
    project: 'p',
    runStatus: 'running',
    taskKey: 'T1',
    question: 'task T1 escalated',
    actions: ['resolve'],
    evidence: {
      escalation: ['T1: no eligible coder left'],
      lastCheck: { command: 'node --test', passed: false, exitCode: 1, excerpt: `TAP version 13\n${FAILING}\n# pass 0`, phase: null },
      verdicts: [
        {
          employeeId: 'coder-2',
          at: '2026-01-01T00:00:00.000Z',
          rounds: 1,
          violations: [{ type: 'failed_verification', message: 'exited with 1', evidence: { excerpt: FAILING } }],
        },
      ],
      incidents: [
        {
          employeeId: 'coder-2',
          violation: 'failed_verification',
          severity: 2,
          message: 'exited with 1',
          evidence: [{ excerpt: FAILING }],
          at: '2026-01-01T00:00:00.000Z',
        },
        {
          employeeId: 'coder-1',
          violation: 'failed_verification',
          severity: 2,
          message: 'exited with 1',
          evidence: [{ excerpt: 'not ok 1 - a different failure altogether\n# timeout' }],
          at: '2026-01-01T00:00:00.000Z',
        },
      ],
    },
    temporalUrl: null,
    ...over,
  };
}
const eligible = (employees: unknown[]) => ({ taskKey: 'T1', capability: 'coder', testerId: null, employees });
const escalatedPage = (code: unknown, who: unknown[] = []) =>
  dashboard({
    '/api/intervention': { pending: [escalation()] },
    '/api/runs/r-1/tasks/T1/code': code,
    '/api/runs/r-1/tasks/T1/eligible': eligible(who),
  });

describe('the dashboard: deciding with the evidence in view', () => {
  it('an escalation shows the code under judgement and its diff against the round before', async () => {
    const nodes = await escalatedPage({
      current: codeRound('coder-2', 2, [ADD_TIMES, TEST]),
      previous: codeRound('coder-1', 1, [ADD_MINUS, TEST]),
    }).interventionPage();
    const code = labelled(nodes, 'Code under judgement')!.textContent;
    expect(code).toContain('The code under judgement (coder-2, attempt 2 round 1');
    expect(code).toContain('src/add.js (2 lines)');
    expect(code).toContain('export const add = (a, b) => a * b;');
    const diff = labelled(nodes, 'Diff against the previous round')!.textContent;
    expect(diff).toContain('src/add.js — changed');
    expect(diff).toContain('- export const add = (a, b) => a - b;\n+ export const add = (a, b) => a * b;\n');
    expect(diff).not.toContain('test/add.test.js'); // unchanged files are left out
    // The changed lines carry the classes that colour them.
    expect(find(nodes, (x) => x.tag === 'span' && x.className === 'del').map((x) => x.textContent)).toEqual([
      '- export const add = (a, b) => a - b;\n',
    ]);

    const first = text(await escalatedPage({ current: codeRound('coder-1', 1, [ADD_MINUS]), previous: null }).interventionPage());
    expect(first).toContain('The first round: nothing to compare with.');
    const malformed = text(await escalatedPage({ current: codeRound('coder-1', 1, null), previous: null }).interventionPage());
    expect(malformed).toContain('The answer did not parse: files: Required');
    const same = text(
      await escalatedPage({
        current: codeRound('coder-1', 2, [ADD_MINUS]),
        previous: codeRound('coder-1', 1, [ADD_MINUS]),
      }).interventionPage(),
    );
    expect(same).toContain('Nothing changed: the same files as the round before.');
  });

  it('the failing output is shown once, collapsed; a different output is shown too', async () => {
    const nodes = await escalatedPage(null).interventionPage();
    const blocks = find(nodes, (x) => x.tag === 'details');
    expect(blocks.map((b) => b.children[0]!.textContent)).toEqual([
      'the failing test output (6 lines)',
      "the incident's evidence 1 (2 lines)",
    ]);
    expect(blocks.every((b) => b.attrs.open === undefined)).toBe(true);
    const all = text(nodes);
    expect(all.match(/AssertionError: expected 5, got -1/g)).toHaveLength(1);
    expect(all.match(/\(the same output as the failing test output, above\)/g)).toHaveLength(2); // the verdict's and the first incident's
    expect(all).toContain('a different failure altogether');
  });

  it('reassignment offers the eligible employees with their status; overriding is the dangerous button', async () => {
    const nodes = await escalatedPage(null, [
      { id: 'coder-3', provider: 'openai', model: 'gpt', status: 'active', available: true, reputation: 61.5, eligible: true, why: null },
      {
        id: 'coder-9',
        provider: 'gemini',
        model: 'g',
        status: 'active',
        available: false,
        reputation: 50,
        eligible: false,
        why: 'its provider (gemini) is not configured: not in the roster',
      },
    ]).interventionPage();
    const [reassign, cancel, override] = buttons(nodes);
    expect(reassign!.textContent).toBe('Reassign T1');
    expect(reassign!.className).toBe('primary');
    expect(cancel!.textContent).toBe('Cancel T1');
    expect(override!.textContent).toBe("Override: accept T1's last output");
    expect(override!.className).toBe('danger override');

    const { employeeChoice } = (await import(pathToFileURL(join(PROJECT_ROOT, 'api', 'dashboard', 'actions.js')).href)) as {
      employeeChoice(e: unknown): FakeNode;
    };
    const select = employeeChoice(
      eligible([
        { id: 'coder-3', provider: 'openai', model: 'gpt', status: 'active', reputation: 61.5, eligible: true, why: null },
        {
          id: 'coder-9',
          provider: 'gemini',
          model: 'g',
          status: 'active',
          reputation: 50,
          eligible: false,
          why: 'its provider (gemini) is not configured',
        },
      ]),
    );
    const options = select.children;
    expect(options.map((o) => [o.attrs.value, o.attrs.disabled, o.textContent])).toEqual([
      ['coder-3', undefined, 'coder-3 — active, openai gpt, reputation 61.5'],
      ['coder-9', '', 'coder-9 — active, gemini g, reputation 50.0 (not eligible: its provider (gemini) is not configured)'],
    ]);

    // Nobody may take it: the button is off and the page says why.
    const none = await escalatedPage(null, [
      { id: 'coder-9', provider: 'gemini', model: 'g', status: 'suspended', reputation: 50, eligible: false, why: 'suspended' },
    ]).interventionPage();
    expect((buttons(none)[0] as FakeNode & { disabled?: boolean }).disabled).toBe(true);
    expect(text(none)).toContain('No employee may take T1 now: coder-9 (suspended).');
  });

  it("the plan gate shows the PRD as text, each task's instructions and the rounds the rules sent back", async () => {
    const prd = '# Title\n\n<img src=x onerror="alert(1)"> <script>alert(2)</script>\n';
    const plan = {
      summary: 'one task',
      tasks: [
        {
          id: 'T1',
          title: 'Add',
          instructions: 'Write add(a, b).\n<b>not bold</b>',
          capability: 'coder',
          scope: ['src/add.js'],
          dependsOn: [],
          acceptance: { command: 'node --test', timeoutMs: 1000 },
        },
      ],
      verification: { command: 'npm test', timeoutMs: 1000 },
    };
    const gate = {
      kind: 'plan_approval',
      runId: 'r-1',
      workflowId: 'w',
      project: 'p',
      runStatus: 'awaiting_approval',
      taskKey: null,
      question: 'approve or reject the plan',
      actions: ['approve', 'reject'],
      evidence: {
        plan,
        planAttempts: 2,
        planErrors: [],
        prd,
        planRounds: [{ round: 1, at: '2026-01-01T00:00:00.000Z', broken: ['T1: depends on unknown task T9'], planner: 'planner-1' }],
      },
      temporalUrl: null,
    };
    const nodes = await dashboard({ '/api/intervention': { pending: [gate] } }).interventionPage();
    // The PRD is one text node in a <pre>, open: nothing of it became an element.
    const pre = labelled(nodes, 'PRD')!;
    expect(pre.tag).toBe('pre');
    expect(pre.children.map((c) => [c.tag, c.textContent])).toEqual([['#text', prd]]);
    expect(find(nodes, (x) => ['img', 'script', 'h1'].includes(x.tag))).toEqual([]);
    expect(find(nodes, (x) => x.tag === 'b' && x.textContent === 'not bold')).toEqual([]);
    expect(find(nodes, (x) => x.tag === 'details')[0]!.attrs.open).toBe('');
    expect(rowOf(nodes, 'T1')).toContain('Write add(a, b).\n<b>not bold</b>\t');
    expect(labelled(nodes, 'Plan rounds sent back')!.textContent).toContain(
      'Plan rounds sent back by the rules (1):\nRound 1 by planner-1 at 2026-01-01 00:00:00: T1: depends on unknown task T9',
    );
    expect(buttons(nodes).map((b) => b.textContent)).toEqual(['Approve plan', 'Reject plan']);
    // A read-only key sees the evidence, not the buttons.
    const reader = await dashboard({ '/api/intervention': { pending: [gate] } }, 'read').interventionPage();
    expect(buttons(reader)).toEqual([]);
    expect(text(reader)).toContain('Your key may read, not act.');
  });

  it('a run that has not ended has Pause or Resume, and Cancel, on its page and in the runs list; an ended one none', async () => {
    const ctx = dashboard({}).ctx;
    const labels = (status: string) => {
      const c = m.runControls(ctx, { runId: 'r-1', status });
      return typeof c === 'string' ? [] : buttons([c]).map((b) => b.textContent);
    };
    for (const s of ['planning', 'running', 'verifying']) expect(labels(s)).toEqual(['Pause run', 'Cancel run']);
    expect(labels('paused')).toEqual(['Resume run', 'Cancel run']);
    for (const s of ['awaiting_approval', 'plan_escalated', 'budget_paused', 'verification_escalated'])
      expect(labels(s)).toEqual(['Cancel run']);
    for (const s of ['completed', 'failed', 'rejected', 'cancelled']) expect(labels(s)).toEqual([]);
    expect(m.runControls(dashboard({}, 'read').ctx, { runId: 'r-1', status: 'running' })).toMatchObject({ tag: 'p' });
    // The runs list has them on each row of a run that has not ended.
    const line = (runId: string, status: string) => ({ runId, project: 'p', status, startedAt: null, updatedAt: null });
    const runs = { '/api/runs?limit=30': { runs: [line('r-1', 'running'), line('r-2', 'paused'), line('r-3', 'completed')] } };
    const rows = async (role: string) =>
      find(await m.monitoringList(dashboard(runs, role).ctx), (x) => x.tag === 'tr' && !!x.attrs['data-run']).map((tr) => [
        tr.attrs['data-run'],
        buttons([tr]).map((b) => b.textContent),
      ]);
    expect(await rows('director')).toEqual([
      ['r-1', ['Pause run', 'Cancel run']],
      ['r-2', ['Resume run', 'Cancel run']],
      ['r-3', []],
    ]);
    expect((await rows('read')).flatMap(([, b]) => b)).toEqual([]);
  });

  it("a finished run's page shows its report and workspace", async () => {
    const task = { taskKey: 'T1', status: 'accepted', acceptedBy: 'coder-1', overriddenBy: 'dana', attempts: [{ employeeId: 'coder-1' }] };
    const report = {
      runId: 'r-1',
      status: 'completed',
      reason: null,
      tasks: [task],
      reassignments: 0,
      incidents: 1,
      verification: { command: 'npm test', passed: true, exitCode: 0, excerpt: 'ok' },
      usage: { calls: 3, inputTokens: 10, outputTokens: 5, costUsd: 0.5, byEmployee: [] },
    };
    const page = dashboard({
      '/api/runs/r-1': runDetail({
        report,
        tasks: [{ key: 'T1', title: 'Add', status: 'accepted', assignedTo: 'coder-1', attempts: 1, reassignments: 0 }],
      }),
      '/api/runs/r-1/workspace': {
        runId: 'r-1',
        files: [
          { path: 'test/add.test.js', fromTask: 'T1', bytes: 49, content: TEST.content, before: null },
          {
            path: 'src/add.js',
            fromTask: 'R1',
            bytes: 36,
            content: ADD_MINUS.content,
            before: { fromTask: 'T1', content: ADD_TIMES.content },
          },
        ],
        verification: null,
      },
    });
    const nodes = await page.runPage('r-1');
    const reportText = labelled(nodes, 'Report')!.textContent;
    expect(reportText).toContain('Final verification: npm test passed');
    expect(reportText).toContain('T1: accepted from coder-1 (override by dana), 1 attempt(s)');
    expect(reportText).toContain('3 model calls, 15 tokens, $0.5000');
    const files = labelled(nodes, 'Workspace files')!.textContent;
    expect(files).toContain('src/add.js — from R1, 36 bytes');
    // A file a later task rewrote shows what it changed; one written once shows no diff.
    expect(files).toContain("src/add.js: what R1 changed in T1's version");
    expect(files).toContain('- export const add = (a, b) => a * b;\n+ export const add = (a, b) => a - b;\n');
    expect(files).not.toContain('test/add.test.js: what');
    expect(text(nodes)).toContain(
      '2 file(s), as the record holds them: every accepted output, layered in order; 1 rewritten by a later task',
    );
    expect(buttons(nodes).map((b) => b.textContent)).toEqual(['Download the workspace (.tar.gz)']);
  });

  it('the diff, the submission, the route and the answer shown after a command', () => {
    expect(m.diffText(m.hunks(m.lineDiff('a\nb\nc\nd\ne\nf\ng\nh', 'a\nb\nc\nD\ne\nf\ng\nh\ni'), 1))).toBe(
      '…\n  c\n- d\n+ D\n  e\n…\n  h\n+ i',
    );
    expect(
      m.compareFiles([ADD_MINUS, TEST], [ADD_MINUS, { path: 'b.js', content: 'x\ny' }]).map((c) => [c.path, c.change, m.diffText(c.lines)]),
    ).toEqual([
      ['src/add.js', 'same', ''],
      ['b.js', 'added', '+ x\n+ y'],
      ['test/add.test.js', 'removed', ''],
    ]);
    expect(m.sameOutput('not ok 1\n  at x\n# fail 1', 'TAP\nnot ok 1\n  at x\n# fail 1\n# pass 0')).toBe(true);
    expect(m.sameOutput('not ok 1 - other', 'not ok 2 - else')).toBe(false);

    expect(
      m.submission({
        prd: '# P',
        project: ' demo ',
        autoApprove: false,
        independentTests: 'default',
        maxParallel: '',
        maxTokens: '5000',
        maxCostUsd: '0.5',
        maxRepairRounds: '0',
      }),
    ).toEqual({
      prd: '# P',
      project: 'demo',
      autoApprove: false,
      maxTokens: 5000,
      maxCostUsd: 0.5,
      maxRepairRounds: 0,
    });
    expect(m.submission({ prd: 'x', project: 'p', autoApprove: true, independentTests: 'off' })).toMatchObject({
      autoApprove: true,
      independentTests: false,
    });

    expect(m.parseRoute('#/runs/abc%2Fdef')).toEqual({ page: 'monitoring', arg: 'abc/def' });
    expect(m.parseRoute('#/submit')).toEqual({ page: 'submit', arg: null });
    expect(m.parseRoute('#/nowhere')).toEqual({ page: 'overview', arg: null });
    expect(m.parseRoute('')).toEqual({ page: 'overview', arg: null });

    // A task decision is carried out after the answer: the task's status then is not claimed.
    const answer = { command: 'resolve', status: 'escalated', message: 'accept taken for T2', by: 'dana' };
    expect(m.answerText('Accept task T2 anyway', answer, { task: true })).toBe(
      'Accept task T2 anyway: accept taken for T2. Recorded as dana.',
    );
    expect(m.answerText('Pause run', { ...answer, status: 'paused', message: 'paused' })).toBe(
      'Pause run: paused. The run is paused. Recorded as dana.',
    );
  });
});
