/**
 * The Accountant's arithmetic: the scorecard of one attempt, reputation, thresholds and tiers.
 * Weights and penalties are the seed's; reputation = 0.7 × old + 0.3 × new.
 */
import type { ViolationType } from './types.js';

export const INITIAL_REPUTATION = 50;

export const SCORECARD_WEIGHTS = {
  confidence: 0.25,
  consistency: 0.2,
  accuracy: 0.2,
  productivity: 0.15,
  initiative: 0.1,
  discipline: 0.1,
} as const;
export type ScorecardComponent = keyof typeof SCORECARD_WEIGHTS;
export type ScorecardComponents = Record<ScorecardComponent, number>;

/**
 * Points taken off per violation type (once per type). The seed names four (hallucination,
 * timeout, scope_drift, format = malformed_output); self_assignment weighs like hallucination;
 * failed_verification costs nothing extra because accuracy already drops to 0.
 */
export const PENALTIES: Record<ViolationType, number> = {
  hallucination: 30,
  timeout: 20,
  scope_drift: 15,
  malformed_output: 10,
  failed_verification: 0,
  self_assignment: 30,
  vacuous_tests: 20,
};

/** Thresholds on a capability's reputation. Checked from the bottom up: terminate, warn, promote. */
export const THRESHOLDS = { promote: 80, warn: 50, terminate: 30 } as const;
export type Tier = 'senior' | 'standard' | 'probation' | 'terminated';

/** What the Accountant knows about one attempt. */
export interface AttemptFacts {
  accepted: boolean;
  violations: ViolationType[];
  /** Did the acceptance command pass in the sandbox (null: it did not run). */
  verificationPassed: boolean | null;
  /** The output claims success (e.g. "all tests pass"). */
  claimedSuccess: boolean;
  /** The output parsed as the task-output schema. */
  wellFormed: boolean;
  /** The output includes tests of its own. */
  wroteTests: boolean;
  latencyMs: number | null;
  timeLimitMs: number;
  /** Clean attempts / attempts over the employee's recent attempts in this capability, this one included. */
  recentCleanRate: number;
  /** Rounds the attempt took (1 = its first answer passed); repair rounds cost productivity. */
  rounds?: number;
}

export function scoreComponents(f: AttemptFacts): ScorecardComponents {
  const distinct = new Set(f.violations).size;
  return {
    // Calibrated: claiming success that the sandbox contradicts is the worst; an honest failure is neutral.
    confidence: f.accepted ? 100 : f.claimedSuccess ? 0 : 50,
    consistency: clamp(100 * f.recentCleanRate),
    accuracy: f.verificationPassed ? 100 : 0,
    // An answer that needed repair rounds did the work in that many tries: its share, not all.
    productivity: !f.accepted
      ? 0
      : (f.latencyMs === null ? 50 : clamp(100 * (1 - f.latencyMs / f.timeLimitMs))) / Math.max(1, f.rounds ?? 1),
    initiative: !f.wellFormed ? 0 : f.wroteTests ? 100 : 50,
    discipline: clamp(100 - 50 * distinct),
  };
}

/** Σ weight × component − penalties (each violation type once), within 0..100, in hundredths. */
export function scorecardScore(components: ScorecardComponents, violations: ViolationType[]): number {
  const weighted = (Object.keys(SCORECARD_WEIGHTS) as ScorecardComponent[]).reduce(
    (sum, k) => sum + Math.round(SCORECARD_WEIGHTS[k] * 100) * Math.round(components[k] * 100),
    0,
  ); // in 1/10000ths of a point
  const penalty = [...new Set(violations)].reduce((sum, v) => sum + PENALTIES[v], 0);
  return clamp(Math.round(weighted / 100) / 100 - penalty);
}

export function nextReputation(old: number, score: number): number {
  // In whole hundredths, so a half-way value like 87.995 rounds up instead of drifting down
  // through floating-point error (0.7 × 82.85 is 57.99499… in binary).
  const oldCents = Math.round(old * 100);
  const scoreCents = Math.round(score * 100);
  return Math.round((7 * oldCents + 3 * scoreCents) / 10) / 100;
}

export function tierFor(reputation: number): Tier {
  if (reputation < THRESHOLDS.terminate) return 'terminated';
  if (reputation < THRESHOLDS.warn) return 'probation';
  if (reputation >= THRESHOLDS.promote) return 'senior';
  return 'standard';
}

/** What crossing a threshold asks of HR and the record: promote, warn, terminate, or nothing. */
export function thresholdCrossing(before: number, after: number): 'promote' | 'warn' | 'terminate' | null {
  const from = tierFor(before);
  const to = tierFor(after);
  if (from === to) return null;
  if (to === 'terminated') return 'terminate';
  if (to === 'probation' && from !== 'terminated') return 'warn';
  if (to === 'senior') return 'promote';
  return null;
}

function clamp(n: number): number {
  return Math.max(0, Math.min(100, Math.round(n * 100) / 100));
}
