/**
 * Blame follows cause. A task's failing tests whose output runs through code of a dependency the
 * Director accepted by override failed because of that decision, not because of the employee who
 * met it: the Auditor still records what failed, but HR does not act on it and the Accountant
 * does not count it in the employee's reputation. Pure, so the workflow's choice replays.
 */
import { matchesAnyGlob } from './glob.js';
import type { EmployeeSnapshot, OverriddenDependency, ViolationType } from './types.js';

export interface UpstreamCause {
  taskKey: string;
  /** The dependency's file the failure's output names. */
  file: string;
  by: string;
}

/** Workspace paths named at a location in a failure's output: traceback frames, test runner locations. */
export function pathsIn(text: string): string[] {
  const found = new Set<string>();
  const add = (raw: string) => {
    const path = raw
      .replace(/^file:\/\//, '')
      .replace(/^\/workspace\//, '')
      .replace(/^\.\//, '');
    if (!path.startsWith('/') && !path.split('/').includes('..') && WORKSPACE_PATH.test(path)) found.add(path);
  };
  // Model-made output reaches this (workflow) code: it is read in bounded pieces, each matched by
  // an anchored pattern, so no input makes the matching slow.
  const tail = text.slice(-MAX_SCANNED);
  // node: "at f (file:///workspace/src/a.js:3:11)", "/workspace/test/b.test.js:5:1"
  for (const token of tail.split(/[\s"'`()[\],]+/)) {
    if (token.length === 0 || token.length > MAX_PATH) continue;
    const m = /^(.+?):\d+(?::\d+)?$/.exec(token);
    if (m) add(m[1]!);
  }
  // python: File "/workspace/src/a.py", line 3
  for (const m of tail.matchAll(/File "([^"\n]{1,400})", line \d+/g)) add(m[1]!);
  return [...found];
}

/** How much of a failure's output is read (its end, where a traceback is), and the longest path taken. */
const MAX_SCANNED = 64_000;
const MAX_PATH = 400;
/** A relative path with an extension: folders and a file name of word characters, `@`, `.` and `-`. */
const WORKSPACE_PATH = /^(?:[\w@.-]+\/)*[\w@-][\w@.-]*\.[A-Za-z0-9]+$/;

/**
 * The upstream cause of an attempt's failure, or null when it is the employee's own. Upstream
 * only when every violation is failing tests (a matter of conduct, malformed output or a timeout
 * is always the employee's own) and the failure's output names a file of a dependency the
 * Director accepted by override.
 */
export function upstreamCause(
  violations: { type: ViolationType }[],
  failureText: string,
  overridden: readonly OverriddenDependency[],
): UpstreamCause | null {
  if (overridden.length === 0 || violations.length === 0) return null;
  if (!violations.every((v) => v.type === 'failed_verification')) return null;
  const paths = pathsIn(failureText);
  for (const dep of overridden) {
    const file = paths.find((p) => matchesAnyGlob(p, dep.scope));
    if (file) return { taskKey: dep.taskKey, file, by: dep.by };
  }
  return null;
}

/**
 * Why nobody is left for a capability, employee by employee: who failed here, who is suspended
 * (until when), who is terminated, who lacks nothing but was excluded as the task's tester.
 */
export function nobodyLeft(
  roster: readonly EmployeeSnapshot[],
  capability: string,
  failedHere: readonly { employeeId: string; violations: readonly string[] }[],
  testerId: string | null = null,
): string {
  const failed = [...new Set(failedHere.map((f) => f.employeeId))];
  const head = `no eligible ${capability} left (failed: ${failed.join(', ') || 'none'})`;
  const capable = roster.filter((e) => e.capabilities.includes(capability));
  if (capable.length === 0) return `${head}: no ${capability} on the roster`;
  const why = capable.map((e) => {
    const failures = failedHere.filter((f) => f.employeeId === e.id);
    const parts: string[] = [];
    const types = [...new Set(failures.flatMap((f) => f.violations))];
    if (failures.length > 0) parts.push(types.length > 0 ? `failed here (${types.join(', ')})` : 'could not take it');
    if (e.status === 'suspended') parts.push(`suspended${e.suspendedUntil ? ` until ${e.suspendedUntil}` : ''}`);
    if (e.status === 'terminated') parts.push('terminated');
    if (e.id === testerId) parts.push("wrote the task's acceptance tests");
    return `${e.id} ${parts.join(', ') || 'available'}`;
  });
  return `${head}: ${why.join('; ')}`;
}
