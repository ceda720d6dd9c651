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
  // A path followed by a line number (node's "path:3:11", python's 'File "path", line 3'), not
  // inside a longer path; "/workspace/" and "file://" prefixes are where the sandbox mounts the files.
  const re = /(?<![\w/.@-])(?:file:\/\/)?(\/workspace\/|\.\/)?((?:[\w@.-]+\/)*[\w@-][\w@.-]*\.[A-Za-z0-9]+)(?::\d+|", line \d+)/g;
  for (const m of text.matchAll(re)) {
    const path = m[2]!;
    if (path.split('/').includes('..')) continue;
    found.add(path);
  }
  return [...found];
}

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
