import { describe, expect, it } from 'vitest';
import { attemptScore, INITIAL_REPUTATION, nextReputation, PENALTIES } from '../../governance/scoring.js';
import { VIOLATION_TYPES } from '../../governance/types.js';

describe('PENALTIES and INITIAL_REPUTATION', () => {
  it('has the seed penalties for every violation type', () => {
    expect(PENALTIES).toEqual({
      hallucination: 30,
      timeout: 20,
      scope_drift: 15,
      malformed_output: 10,
      failed_verification: 25,
      self_assignment: 30,
    });
    expect(Object.keys(PENALTIES).sort()).toEqual([...VIOLATION_TYPES].sort());
  });

  it('starts reputations at 50', () => {
    expect(INITIAL_REPUTATION).toBe(50);
  });
});

describe('attemptScore', () => {
  it('accepted clean work scores 100', () => {
    expect(attemptScore(true, [])).toBe(100);
  });

  it('rejected work without violations scores the neutral 50', () => {
    expect(attemptScore(false, [])).toBe(50);
  });

  it('rejected with scope_drift + failed_verification scores 50 - 15 - 25 = 10', () => {
    expect(attemptScore(false, ['scope_drift', 'failed_verification'])).toBe(10);
  });

  it.each(VIOLATION_TYPES.map((v) => [v] as const))('takes the %s penalty off', (v) => {
    expect(attemptScore(true, [v])).toBe(100 - PENALTIES[v]);
  });

  it('clamps at 0', () => {
    expect(attemptScore(false, ['hallucination', 'failed_verification'])).toBe(0); // 50 - 55
    expect(attemptScore(true, [...VIOLATION_TYPES])).toBe(0); // 100 - 130
  });

  it('is exactly 0 when penalties equal the base', () => {
    expect(attemptScore(false, ['failed_verification', 'scope_drift', 'malformed_output'])).toBe(0); // 50 - 50
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

describe('attemptScore counts each violation type once', () => {
  it('charges scope_drift once for several stray files, as HR does', () => {
    expect(attemptScore(false, ['scope_drift', 'scope_drift', 'scope_drift'])).toBe(attemptScore(false, ['scope_drift']));
    expect(attemptScore(true, ['scope_drift', 'scope_drift'])).toBe(85);
  });
});
