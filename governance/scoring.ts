/**
 * The Accountant's arithmetic. A task attempt earns a score out of 100; the employee's
 * reputation moves toward it: reputation = 0.7 × old + 0.3 × new.
 */
import type { ViolationType } from './types.js';

export const INITIAL_REPUTATION = 50;

/** Points taken off an attempt per violation (the seed's penalties, plus ours for the new types). */
export const PENALTIES: Record<ViolationType, number> = {
  hallucination: 30,
  timeout: 20,
  scope_drift: 15,
  malformed_output: 10,
  failed_verification: 25,
  self_assignment: 30,
};

/**
 * Accepted work starts from 100; rejected work from 50, the neutral reputation. Each violation
 * type costs its penalty once, as HR counts it once (three stray files are one scope drift).
 */
export function attemptScore(accepted: boolean, violations: ViolationType[]): number {
  const base = accepted ? 100 : 50;
  const penalty = [...new Set(violations)].reduce((sum, v) => sum + PENALTIES[v], 0);
  return clamp(base - penalty);
}

export function nextReputation(old: number, score: number): number {
  // In whole hundredths, so a half-way value like 87.995 rounds up instead of drifting down
  // through floating-point error (0.7 × 82.85 is 57.99499… in binary).
  const oldCents = Math.round(old * 100);
  const scoreCents = Math.round(score * 100);
  return Math.round((7 * oldCents + 3 * scoreCents) / 10) / 100;
}

function clamp(n: number): number {
  return Math.max(0, Math.min(100, n));
}

