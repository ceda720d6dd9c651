/**
 * Who checks whom, as pure rules: the tests a tester writes and the code a coder writes are told
 * apart from the plan; a coding task without criteria is refused in a run with independent tests;
 * the Auditor's detectors see vacuous tests, a coder writing a frozen test, and a tester's import
 * of code not written yet.
 */
import { describe, expect, it } from 'vitest';
import { codeScopeOf, criteriaProblem, isTestPath, needsIndependentTests, testGlobsOf } from '../../governance/acceptance-tests.js';
import { detectViolations, type VerificationResult } from '../../governance/audit-rules.js';
import { taskSpecSchema } from '../../governance/schemas.js';
import { validatePlan } from '../../governance/plan-rules.js';

const task = taskSpecSchema.parse({
  id: 'T1',
  title: 'Tally',
  instructions: 'Write lib/tally.mjs.',
  scope: ['lib/tally.mjs', 'test/tally.test.mjs'],
  criteria: ["tallyWords('a b a') returns { a: 2, b: 1 }"],
  acceptance: { command: 'node --test test/tally.test.mjs' },
});
const hash = (s: string) => `h${s.length}`;
const ran = (passed: boolean, excerpt = ''): VerificationResult => ({
  ran: true,
  passed,
  exitCode: passed ? 0 : 1,
  timedOut: false,
  durationMs: 5,
  excerpt,
  skippedReason: null,
  refusedPaths: [],
});
const output = (files: { path: string; content: string }[]) => JSON.stringify({ summary: 'tests', files });

describe('the tests and the code of a task', () => {
  it('tells test paths from code paths', () => {
    for (const p of ['test/a.js', 'tests/x/y.ts', 'src/__tests__/a.ts', 'a.test.mjs', 'pkg/a_test.go', 'spec/a.rb', 'test_a.py'])
      expect(isTestPath(p)).toBe(true);
    for (const p of ['src/a.js', 'lib/testing.mjs', 'contest.js', 'README.md']) expect(isTestPath(p)).toBe(false);
  });

  it("takes the plan's named tests, else the scope's test paths, and leaves the coder the rest", () => {
    expect(testGlobsOf(task)).toEqual(['test/tally.test.mjs']);
    expect(codeScopeOf(task)).toEqual(['lib/tally.mjs']);
    const named = { ...task, tests: ['checks/accept.mjs'], scope: ['lib/**', 'checks/accept.mjs'] };
    expect(testGlobsOf(named)).toEqual(['checks/accept.mjs']);
    expect(codeScopeOf(named)).toEqual(['lib/**']);
  });

  it('else takes the test files its acceptance command names, outside the scope', () => {
    const t = {
      ...task,
      scope: ['lib/tally.mjs'],
      acceptance: { command: 'node --test test/tally.test.mjs test/more.test.mjs', timeoutMs: 1 },
    };
    expect(testGlobsOf(t)).toEqual(['test/tally.test.mjs', 'test/more.test.mjs']);
    expect(codeScopeOf(t)).toEqual(['lib/tally.mjs']);
    expect(criteriaProblem(t)).toBeNull();
    const generic = { ...t, acceptance: { command: 'node --test ../outside.test.js $X', timeoutMs: 1 } };
    expect(testGlobsOf(generic)).toEqual([]);
  });

  it('gives coding tasks with criteria a tester, not writing tasks', () => {
    expect(needsIndependentTests(task)).toBe(true);
    expect(needsIndependentTests({ ...task, criteria: [] })).toBe(false);
    expect(needsIndependentTests({ ...task, capability: 'writer' })).toBe(false);
  });

  it('names what a coding task lacks', () => {
    expect(criteriaProblem(task)).toBeNull();
    expect(criteriaProblem({ ...task, criteria: undefined })).toMatch(/acceptance criteria/);
    expect(criteriaProblem({ ...task, scope: ['lib/tally.mjs'], acceptance: { command: 'npm test', timeoutMs: 1 } })).toMatch(
      /acceptance test files/,
    );
    expect(criteriaProblem({ ...task, scope: ['test/tally.test.mjs'] })).toMatch(/nothing to write/);
  });
});

describe('plan rules with independent tests', () => {
  const raw = (t: Record<string, unknown>) => ({ summary: 's', tasks: [t], verification: { command: 'node --test' } });
  const limits = { maxTasks: 5, modelNames: [], independentTests: true };
  const bare = { id: 'T1', title: 't', instructions: 'i', scope: ['lib/a.mjs', 'test/a.test.mjs'], acceptance: { command: 'node --test' } };

  it('refuses a coding task without criteria, and only in such a run', () => {
    const refused = validatePlan(raw(bare), limits);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.broken.map((b) => b.rule)).toEqual(['criteria']);
    expect(validatePlan(raw(bare), { ...limits, independentTests: false }).ok).toBe(true);
  });

  it('reads acceptanceCriteria as criteria', () => {
    const result = validatePlan(raw({ ...bare, acceptanceCriteria: ['a → b'] }), limits);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.plan.tasks[0]!.criteria).toEqual(['a → b']);
  });
});

describe("the Auditor on a tester's tests and a coder's code", () => {
  const tester = { ...task, capability: 'tester', scope: ['test/tally.test.mjs'] };
  const tests = output([{ path: 'test/tally.test.mjs', content: "import { tallyWords } from '../lib/tally.mjs';\n" }]);

  it('finds vacuous tests when the red run passes (or ran no test), and none when it fails', () => {
    const judge = (red: VerificationResult) =>
      detectViolations({ task: tester, rawOutput: tests, verification: null, employeeFailure: null, red, context: ctx() }, hash).map(
        (v) => v.type,
      );
    expect(judge(ran(true))).toEqual(['vacuous_tests']);
    expect(judge(ran(true, '# tests 0'))).toEqual(['vacuous_tests']);
    expect(judge(ran(false))).toEqual([]);
  });

  it('lets a tester import the module the coder will write, and nothing else that is missing', () => {
    const missing = output([{ path: 'test/tally.test.mjs', content: "import { x } from '../lib/other.mjs';\n" }]);
    const types = (raw: string) =>
      detectViolations(
        { task: tester, rawOutput: raw, verification: null, employeeFailure: null, red: ran(false), context: ctx() },
        hash,
      ).map((v) => v.type);
    expect(types(tests)).toEqual([]);
    expect(types(missing)).toEqual(['hallucination']);
  });

  it('finds scope drift when a coder writes a frozen test, even one its scope would allow', () => {
    const code = output([
      { path: 'lib/tally.mjs', content: 'export const tallyWords = () => ({});\n' },
      { path: 'test/tally.test.mjs', content: 'weaker\n' },
    ]);
    const violations = detectViolations(
      {
        task,
        rawOutput: code,
        verification: ran(true),
        employeeFailure: null,
        context: { ...ctx(), frozenTests: ['test/tally.test.mjs'] },
      },
      hash,
    );
    expect(violations.map((v) => [v.type, v.message])).toEqual([
      ['scope_drift', 'writes "test/tally.test.mjs", a frozen acceptance test written by a tester: dispute it ("disputes"), never edit it'],
    ]);
  });

  it('lets a coder hand a frozen test back exactly as frozen', () => {
    const code = output([
      { path: 'lib/tally.mjs', content: 'export const tallyWords = () => ({});\n' },
      { path: 'test/tally.test.mjs', content: 'as frozen\n' },
    ]);
    const context = { ...ctx(), frozenTests: ['test/tally.test.mjs'], frozenUnchanged: ['test/tally.test.mjs'] };
    expect(
      detectViolations(
        { task: { ...task, scope: ['lib/tally.mjs'] }, rawOutput: code, verification: ran(true), employeeFailure: null, context },
        hash,
      ),
    ).toEqual([]);
  });
});

function ctx() {
  return { workspaceFiles: [], otherTasks: [], builtinModules: ['fs'], plannedPaths: ['lib/tally.mjs'] };
}
