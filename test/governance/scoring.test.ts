import { describe, expect, it } from 'vitest';
import {
  INITIAL_REPUTATION,
  PENALTIES,
  SCORECARD_WEIGHTS,
  THRESHOLDS,
  nextReputation,
  scoreComponents,
  scorecardScore,
  thresholdCrossing,
  tierFor,
  type AttemptFacts,
} from '../../governance/scoring.js';
import { VIOLATION_TYPES } from '../../governance/types.js';

describe('PENALTIES and INITIAL_REPUTATION', () => {
  it('has the seed penalties for every violation type', () => {
    expect(PENALTIES).toEqual({
      hallucination: 30,
      timeout: 20,
      scope_drift: 15,
      malformed_output: 10,
      failed_verification: 0,
      self_assignment: 30,
      // Not in the seed: a tester's tests that pass with nothing implemented weigh like a timeout.
      vacuous_tests: 20,
    });
    expect(Object.keys(PENALTIES).sort()).toEqual([...VIOLATION_TYPES].sort());
  });

  it('starts reputations at 50', () => {
    expect(INITIAL_REPUTATION).toBe(50);
  });
});

describe('nextReputation', () => {
  it.each([
    [70, 10, 52],
    [50, 100, 65],
    [50, 50, 50],
    [100, 100, 100],
    [0, 0, 0],
    [0, 100, 30],
    [100, 0, 70],
    [65, 100, 75.5],
  ])('0.7 × %d + 0.3 × %d = %d', (old, score, expected) => {
    expect(nextReputation(old, score)).toBe(expected);
  });

  it('rounds to 2 decimals', () => {
    expect(nextReputation(33.33, 0)).toBe(23.33); // 23.331
    expect(nextReputation(12.34, 56)).toBe(25.44); // 25.438
    expect(nextReputation(52.1, 10)).toBe(39.47); // 36.47 + 3
  });

  it('never leaves more than 2 decimals', () => {
    for (let old = 0; old <= 100; old += 0.37) {
      for (const score of [0, 10, 35, 50, 85, 100]) {
        const r = nextReputation(old, score);
        expect(Math.abs(r * 100 - Math.round(r * 100))).toBeLessThan(1e-6);
        expect(Math.abs(r - (0.7 * old + 0.3 * score))).toBeLessThanOrEqual(0.005 + 1e-9);
      }
    }
  });

  it('moves toward the score step by step', () => {
    let rep = INITIAL_REPUTATION;
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      rep = nextReputation(rep, 100);
      seen.push(rep);
    }
    expect(seen).toEqual([65, 75.5, 82.85]);
  });

  // 0.7 * 82.85 + 0.3 * 100 is 87.99499999... in binary floating point; the exact half-way
  // value 87.995 must still round up. This is the 4th clean accepted attempt of an employee
  // starting at INITIAL_REPUTATION.
  it('rounds an exact half-way value up (82.85 and 100 → 88)', () => {
    expect(nextReputation(82.85, 100)).toBe(88);
  });
});

describe('the scorecard (seed weights)', () => {
  const clean: AttemptFacts = {
    accepted: true,
    violations: [],
    verificationPassed: true,
    claimedSuccess: true,
    wellFormed: true,
    wroteTests: true,
    latencyMs: 0,
    timeLimitMs: 60_000,
    recentCleanRate: 1,
  };

  it('weighs confidence .25, consistency .2, accuracy .2, productivity .15, initiative .1, discipline .1', () => {
    expect(SCORECARD_WEIGHTS).toEqual({
      confidence: 0.25,
      consistency: 0.2,
      accuracy: 0.2,
      productivity: 0.15,
      initiative: 0.1,
      discipline: 0.1,
    });
    expect(Object.values(SCORECARD_WEIGHTS).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });

  it('gives a perfect attempt 100', () => {
    expect(scoreComponents(clean)).toEqual({
      confidence: 100,
      consistency: 100,
      accuracy: 100,
      productivity: 100,
      initiative: 100,
      discipline: 100,
    });
    expect(scorecardScore(scoreComponents(clean), [])).toBe(100);
  });

  it('computes a realistic accepted attempt by hand', () => {
    // half the time limit used, no tests written, 3 of 4 recent attempts clean
    const c = scoreComponents({ ...clean, latencyMs: 30_000, wroteTests: false, recentCleanRate: 0.75 });
    expect(c).toEqual({ confidence: 100, consistency: 75, accuracy: 100, productivity: 50, initiative: 50, discipline: 100 });
    // .25×100 + .2×75 + .2×100 + .15×50 + .1×50 + .1×100 = 25 + 15 + 20 + 7.5 + 5 + 10
    expect(scorecardScore(c, [])).toBe(82.5);
  });

  it('scores a failed attempt that claimed success low, penalties once per type', () => {
    const facts: AttemptFacts = {
      ...clean,
      accepted: false,
      violations: ['scope_drift', 'scope_drift', 'failed_verification'],
      verificationPassed: false,
      claimedSuccess: true,
      wroteTests: false,
      recentCleanRate: 0,
    };
    const c = scoreComponents(facts);
    expect(c).toEqual({ confidence: 0, consistency: 0, accuracy: 0, productivity: 0, initiative: 50, discipline: 0 });
    // .1×50 = 5; minus scope_drift 15 (once) and failed_verification 0 → clamped at 0
    expect(scorecardScore(c, facts.violations)).toBe(0);
  });

  it('an honest failure keeps neutral confidence', () => {
    const c = scoreComponents({
      ...clean,
      accepted: false,
      violations: ['failed_verification'],
      verificationPassed: false,
      claimedSuccess: false,
      recentCleanRate: 0.5,
    });
    expect(c.confidence).toBe(50);
    expect(c.discipline).toBe(50);
    // .25×50 + .2×50 + 0 + 0 + .1×100 + .1×50 = 12.5 + 10 + 10 + 5
    expect(scorecardScore(c, ['failed_verification'])).toBe(37.5);
  });

  it.each([
    ['hallucination', 70],
    ['timeout', 80],
    ['scope_drift', 85],
    ['malformed_output', 90],
    ['failed_verification', 100],
    ['self_assignment', 70],
  ] as const)('takes the %s penalty off a perfect card', (v, expected) => {
    expect(scorecardScore(scoreComponents(clean), [v])).toBe(expected);
  });
});

describe('thresholds and tiers (terminate is checked before warn)', () => {
  it('has the seed thresholds', () => {
    expect(THRESHOLDS).toEqual({ promote: 80, warn: 50, terminate: 30 });
  });

  it.each([
    [100, 'senior'],
    [80, 'senior'],
    [79.99, 'standard'],
    [50, 'standard'],
    [49.99, 'probation'],
    [30, 'probation'],
    [29.99, 'terminated'],
    [0, 'terminated'],
  ] as const)('reputation %s is %s', (rep, tier) => {
    expect(tierFor(rep)).toBe(tier);
  });

  it('termination can fire (the seed checked "< 50" first and never reached "< 30")', () => {
    expect(thresholdCrossing(35, 24.5)).toBe('terminate');
    expect(thresholdCrossing(55, 20)).toBe('terminate');
  });

  it('warns when falling below 50, promotes when reaching 80, and is silent otherwise', () => {
    expect(thresholdCrossing(52, 45)).toBe('warn');
    expect(thresholdCrossing(78, 81)).toBe('promote');
    expect(thresholdCrossing(60, 55)).toBeNull();
    expect(thresholdCrossing(45, 40)).toBeNull(); // already on probation: no second warning
    expect(thresholdCrossing(45, 60)).toBeNull(); // recovery is no event
  });

  it('a run of failures from the start walks an employee down to termination', () => {
    let rep = INITIAL_REPUTATION;
    const crossings: string[] = [];
    for (let i = 0; i < 5; i++) {
      const next = nextReputation(rep, 0);
      const c = thresholdCrossing(rep, next);
      if (c) crossings.push(`${c}@${next}`);
      rep = next;
    }
    // 50 → 35 (warn) → 24.5 (terminate) → …
    expect(crossings).toEqual(['warn@35', 'terminate@24.5']);
  });
});
