/**
 * The dashboard's pages as text, without a browser: api/dashboard/app.js run in a context with a
 * small stand-in DOM (elements and text nodes only: the page never parses HTML) and the API's
 * answers given. The monitoring page names who tests, who codes, red and green and the review per
 * task; an escalated task on the intervention page shows both sides.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
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

interface Page {
  runPage(ref: string): Promise<FakeNode[]>;
  interventionPage(): Promise<FakeNode[]>;
  api: (method: string, path: string) => Promise<unknown>;
}

/** app.js in a fresh context, with `answers` as the API (by path). */
function dashboard(answers: Record<string, unknown>): Page {
  const source = readFileSync(join(PROJECT_ROOT, 'api', 'dashboard', 'app.js'), 'utf8').replace(/^start\(\);\s*$/m, '');
  const elements = new Map<string, FakeNode>();
  const context: Record<string, unknown> = {
    Node: FakeNode,
    document: {
      createElement: (tag: string) => new FakeNode(tag),
      createTextNode: (text: string) => new FakeText(text),
      getElementById: (id: string) => elements.get(id) ?? elements.set(id, new FakeNode('div')).get(id),
      querySelectorAll: () => [],
    },
    window: { addEventListener() {} },
    sessionStorage: { getItem: () => null, setItem() {}, removeItem() {} },
    location: { hash: '' },
    setInterval,
    console,
  };
  runInNewContext(source, context);
  const page = context as unknown as Page;
  page.api = async (_method, path) => {
    if (!(path in answers)) throw new Error(`no answer for ${path}`);
    return answers[path];
  };
  return page;
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
