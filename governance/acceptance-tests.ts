/**
 * Who checks whom: a coding task's acceptance tests are written by a tester, never by its coder.
 * Pure rules shared by the plan rules, the Manager, the Auditor and the prompts: which files are
 * the task's tests (the tester's scope), which are its code (the coder's scope), and the two
 * views of one task that the tester and the coder are judged against.
 */
import { matchesAnyGlob } from './glob.js';
import type { TaskSpec } from './schemas.js';

/** The capability of the employees who write acceptance tests. */
export const TESTER_CAPABILITY = 'tester';

/** Paths that look like tests: a test folder, or a name marked test/spec. */
const TEST_PATH =
  /(?:^|\/)(?:tests?|__tests__|spec|specs)\/|(?:^|[./_-])(?:test|spec)s?\.[A-Za-z0-9]+$|_test\.[A-Za-z0-9]+$|(?:^|\/)test_[^/]*$/;

export function isTestPath(glob: string): boolean {
  return TEST_PATH.test(glob);
}

type TestsOf = Pick<TaskSpec, 'scope' | 'tests'> & { acceptance?: { command: string } };

/**
 * The task's acceptance test files (paths or globs): named by the plan; else its scope's
 * test-like paths; else the test files its acceptance command names (`node --test test/x.test.mjs`).
 */
export function testGlobsOf(task: TestsOf): string[] {
  if (task.tests && task.tests.length > 0) return task.tests;
  const inScope = task.scope.filter(isTestPath);
  if (inScope.length > 0) return inScope;
  const words = task.acceptance?.command.split(/\s+/) ?? [];
  return [...new Set(words.filter((w) => COMMAND_PATH.test(w) && !w.includes('..') && isTestPath(w)))];
}

/** A relative file path as a command names it (no option, no variable, no parent folder). */
const COMMAND_PATH = /^[A-Za-z0-9_][A-Za-z0-9_./-]*\.[A-Za-z0-9]+$/;

/** What the coder may write: the scope without the tests. */
export function codeScopeOf(task: TestsOf): string[] {
  const tests = testGlobsOf(task);
  return task.scope.filter((g) => !tests.includes(g));
}

/** Does this task get acceptance tests by a tester (in a run with independent tests)? */
export function needsIndependentTests(task: Pick<TaskSpec, 'capability' | 'criteria'>): boolean {
  return task.capability === 'coder' && (task.criteria?.length ?? 0) > 0;
}

/** The task as its tester is judged: it writes the test files, and nothing else. */
export function testerView(task: TaskSpec): TaskSpec {
  return { ...task, capability: TESTER_CAPABILITY, scope: testGlobsOf(task) };
}

/** The task as its coder is judged: its scope without the frozen tests. */
export function coderView(task: TaskSpec): TaskSpec {
  return { ...task, scope: codeScopeOf(task) };
}

/** A frozen test file as the record keeps it. */
export interface FrozenFile {
  path: string;
  sha256: string;
}

/** A task's frozen acceptance tests: which answer holds them, who wrote them, which version. */
export interface FrozenTests {
  modelRunId: string;
  testerId: string;
  version: number;
  files: FrozenFile[];
}

/** Files of an output that fall in the test globs, and those that do not. */
export function splitTestFiles<F extends { path: string }>(files: F[], tests: string[]): { tests: F[]; other: F[] } {
  return {
    tests: files.filter((f) => matchesAnyGlob(f.path, tests)),
    other: files.filter((f) => !matchesAnyGlob(f.path, tests)),
  };
}

/** Why a coding task cannot be given independent tests as planned, or null. */
export function criteriaProblem(task: TaskSpec): string | null {
  if (task.capability !== 'coder') return null;
  if ((task.criteria?.length ?? 0) === 0)
    return 'a coding task needs acceptance criteria in words ("criteria": inputs → outputs, errors, from the PRD) for its tester';
  const tests = testGlobsOf(task);
  if (tests.length === 0)
    return 'a coding task needs its acceptance test files named ("tests", or test paths in its scope such as test/x.test.js): a tester writes them';
  if (codeScopeOf(task).length === 0) return 'every path of the scope is a test: the coder has nothing to write';
  return null;
}
