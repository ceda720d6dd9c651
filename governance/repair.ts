/**
 * Repair and informed reassignment: which findings an employee may repair within its attempt,
 * and what the next round (or the next employee) is told. Pure: used by the Manager and the
 * employee activity alike.
 */
import type { Plan, TaskSpec } from './schemas.js';
import type { Violation, ViolationType } from './types.js';

/** Repair rounds per attempt when the run does not say. */
export const DEFAULT_MAX_REPAIR_ROUNDS = 2;
/** Repair tasks the Manager opens after a failed final verification, when the run does not say. */
export const DEFAULT_MAX_VERIFICATION_REPAIRS = 1;
/** The failing output an employee is shown, at most (its tail: where test runners summarise). */
export const FEEDBACK_EXCERPT_CHARS = 3_000;

/** A finding as an employee is told it: what and why, never who. */
export interface Finding {
  type: ViolationType;
  message: string;
}

/** What the same employee gets back for a repair round. */
export interface RepairFeedback {
  /** The round being repaired (1 = the first answer). */
  round: number;
  /** Its previous answer, whose files it is shown again. */
  previousModelRunId: string;
  command: string;
  /** The failing command's output (its failing tests' blocks first). */
  excerpt: string;
  findings: Finding[];
  /** An independent reviewer rejected the round: its comments (never who). */
  review?: string;
  /** The tester kept (or changed) a disputed test: its answer. */
  disputeAnswer?: string;
}

/** What a later employee learns of an earlier attempt at the same task. */
export interface PriorAttempt {
  attempt: number;
  findings: Finding[];
  excerpt: string;
}

/**
 * Conduct is judged at once, never repaired: an employee that writes outside its scope, changes
 * its assignment or reaches for an unknown package is not offered a second try.
 */
export function isConduct(v: Pick<Violation, 'type' | 'conduct'>): boolean {
  return v.conduct === true || v.type === 'scope_drift' || v.type === 'self_assignment';
}

/** Findings the same employee may repair in another round: some, and none of conduct. */
export function repairable(violations: Pick<Violation, 'type' | 'conduct'>[]): boolean {
  return violations.length > 0 && !violations.some(isConduct);
}

export function findingsOf(violations: Pick<Violation, 'type' | 'message'>[]): Finding[] {
  return violations.map((v) => ({ type: v.type, message: v.message.slice(0, 500) }));
}

export function tailOf(text: string, limit = FEEDBACK_EXCERPT_CHARS): string {
  return text.length <= limit ? text : `…${text.slice(text.length - limit)}`;
}

/**
 * The Manager's repair task after the final verification failed: any file of the workspace
 * (every task's scope), the plan's verification as its acceptance, the failure in its
 * instructions. Routed and governed like any task.
 */
export function verificationRepairTask(
  plan: Plan,
  n: number,
  failure: { exitCode: number | null; timedOut: boolean; excerpt: string },
): TaskSpec {
  const unique = <T>(xs: T[]) => [...new Set(xs)];
  const how = failure.timedOut ? `timed out after ${plan.verification.timeoutMs} ms` : `exited with ${failure.exitCode}`;
  return {
    id: `repair-${n}`,
    title: `Repair the workspace: the final verification failed`,
    instructions: [
      `Every task was accepted on its own, but the whole workspace's check \`${plan.verification.command}\` ${how}.`,
      'Find the cause and fix the code, in whichever files it lies, so that the check passes.',
      'Keep what the tasks built; change only what the fix needs. Answer with every file you change, complete.',
      '',
      'Output of the failing check (the end):',
      tailOf(failure.excerpt),
    ].join('\n'),
    capability: 'coder',
    scope: unique(plan.tasks.flatMap((t) => t.scope)),
    dependsOn: plan.tasks.map((t) => t.id),
    allowedDependencies: unique(plan.tasks.flatMap((t) => t.allowedDependencies)),
    acceptance: plan.verification,
    timeLimitMs: Math.max(120_000, ...plan.tasks.map((t) => t.timeLimitMs)),
  };
}
