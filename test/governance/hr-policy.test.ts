import { describe, expect, it } from 'vitest';
import { decideActions, HR_POLICY_V1, mostSevere, statusAfter, type HrPolicy, type PastIncident } from '../../governance/hr-policy.js';
import { VIOLATION_TYPES, type DisciplinaryAction, type EmployeeStatus, type ViolationType } from '../../governance/types.js';

const past = (violation: ViolationType, ageDays: number): PastIncident => ({ violation, ageDays });

describe('HR_POLICY_V1', () => {
  it('has the seed values', () => {
    expect(HR_POLICY_V1.version).toBe('hr-policy/1');
    expect(HR_POLICY_V1.violations.hallucination).toEqual({ severity: 3, action: 'STRIKE' });
    expect(HR_POLICY_V1.violations.timeout).toEqual({ severity: 2, action: 'WARNING' });
    expect(HR_POLICY_V1.violations.scope_drift).toEqual({ severity: 2, action: 'WARNING' });
    expect(HR_POLICY_V1.repeatOffense).toEqual({ severity: 4, action: 'SUSPEND', windowDays: 30 });
    expect(HR_POLICY_V1.terminateAfterSameViolation).toBe(3);
  });

  it('has a rule for every violation type', () => {
    for (const type of VIOLATION_TYPES) {
      expect(HR_POLICY_V1.violations[type], type).toBeDefined();
    }
  });
});

describe('decideActions: first offense', () => {
  it.each([
    ['hallucination', 'STRIKE', 3],
    ['timeout', 'WARNING', 2],
    ['scope_drift', 'WARNING', 2],
    ['malformed_output', 'WARNING', 2],
    ['failed_verification', 'WARNING', 2],
    ['self_assignment', 'STRIKE', 3],
  ] as const)('%s with no history → %s (severity %i)', (violation, action, severity) => {
    expect(decideActions([violation], [])).toEqual([{ violation, action, severity, reason: `${violation} (first offense)` }]);
  });

  it('uses the default policy when none is given', () => {
    expect(decideActions(['timeout'], [])).toEqual(decideActions(['timeout'], [], HR_POLICY_V1));
  });

  it('returns no decisions for no violations', () => {
    expect(decideActions([], [past('timeout', 1)])).toEqual([]);
  });

  it('gives two first-offense decisions for two different types in one attempt (not a repeat)', () => {
    const decisions = decideActions(['scope_drift', 'hallucination'], []);
    expect(decisions.map((d) => [d.violation, d.action, d.severity])).toEqual([
      ['scope_drift', 'WARNING', 2],
      ['hallucination', 'STRIKE', 3],
    ]);
  });

  it('gives one decision for duplicate violation types in one attempt', () => {
    const decisions = decideActions(['scope_drift', 'scope_drift', 'scope_drift'], []);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ violation: 'scope_drift', action: 'WARNING', severity: 2 });
  });

  it('keeps duplicates from counting toward termination', () => {
    // Three of the same in one attempt, with no history, is one first offense, not a 3rd time.
    const decisions = decideActions(['timeout', 'timeout', 'timeout'], []);
    expect(decisions.map((d) => d.action)).toEqual(['WARNING']);
  });
});

describe('decideActions: repeat offense', () => {
  it('any earlier incident inside the window → SUSPEND, severity 4, whatever its type', () => {
    const decisions = decideActions(['scope_drift'], [past('timeout', 5)]);
    expect(decisions).toEqual([
      {
        violation: 'scope_drift',
        action: 'SUSPEND',
        severity: 4,
        reason: 'repeat offense: scope_drift with an earlier incident inside 30 days',
      },
    ]);
  });

  it('the same violation a 2nd time inside the window → SUSPEND (not yet TERMINATE)', () => {
    expect(decideActions(['hallucination'], [past('hallucination', 0.5)]).map((d) => [d.action, d.severity])).toEqual([['SUSPEND', 4]]);
  });

  it('an incident exactly at the window edge (30 days) still counts', () => {
    expect(decideActions(['timeout'], [past('scope_drift', 30)])[0]!.action).toBe('SUSPEND');
  });

  it('an earlier incident older than the window is not a repeat', () => {
    expect(decideActions(['timeout'], [past('scope_drift', 30.01)])).toEqual([
      { violation: 'timeout', action: 'WARNING', severity: 2, reason: 'timeout (first offense)' },
    ]);
    expect(decideActions(['hallucination'], [past('hallucination', 45), past('timeout', 400)])[0]).toMatchObject({ action: 'STRIKE', severity: 3 });
  });

  it('one recent incident among old ones makes every violation of the attempt a repeat', () => {
    const decisions = decideActions(['timeout', 'hallucination'], [past('scope_drift', 100), past('scope_drift', 2)]);
    expect(decisions.map((d) => [d.violation, d.action])).toEqual([
      ['timeout', 'SUSPEND'],
      ['hallucination', 'SUSPEND'],
    ]);
  });
});

describe('decideActions: termination', () => {
  it('the same violation for the 3rd time → TERMINATE even if the history is old', () => {
    const decisions = decideActions(['timeout'], [past('timeout', 200), past('timeout', 400)]);
    expect(decisions).toEqual([
      { violation: 'timeout', action: 'TERMINATE', severity: 5, reason: 'timeout for the 3rd time (policy: terminate at 3)' },
    ]);
  });

  it('termination wins over a recent repeat', () => {
    expect(decideActions(['scope_drift'], [past('scope_drift', 1), past('scope_drift', 2)])[0]).toMatchObject({ action: 'TERMINATE', severity: 5 });
  });

  it('counts only the same violation type toward termination', () => {
    // Two earlier incidents, both old and of other types: neither a repeat nor a 3rd time.
    expect(decideActions(['timeout'], [past('scope_drift', 90), past('hallucination', 90)])[0]!.action).toBe('WARNING');
  });

  it('decides each violation of the attempt separately', () => {
    const decisions = decideActions(['timeout', 'scope_drift'], [past('timeout', 100), past('timeout', 200)]);
    expect(decisions.map((d) => [d.violation, d.action, d.severity])).toEqual([
      ['timeout', 'TERMINATE', 5],
      ['scope_drift', 'WARNING', 2],
    ]);
  });

  it('a 4th time is also TERMINATE, with the right ordinal', () => {
    const decisions = decideActions(['hallucination'], [past('hallucination', 100), past('hallucination', 200), past('hallucination', 300)]);
    expect(decisions[0]).toMatchObject({ action: 'TERMINATE', reason: 'hallucination for the 4th time (policy: terminate at 3)' });
  });

  it('follows a custom policy', () => {
    const policy: HrPolicy = {
      ...HR_POLICY_V1,
      version: 'test',
      repeatOffense: { severity: 7, action: 'STRIKE', windowDays: 7 },
      terminateAfterSameViolation: 2,
    };
    expect(decideActions(['timeout'], [past('scope_drift', 6)], policy)[0]).toMatchObject({ action: 'STRIKE', severity: 7 });
    expect(decideActions(['timeout'], [past('scope_drift', 8)], policy)[0]).toMatchObject({ action: 'WARNING', severity: 2 });
    expect(decideActions(['timeout'], [past('timeout', 100)], policy)[0]).toMatchObject({ action: 'TERMINATE', severity: 8 });
  });
});

describe('mostSevere', () => {
  it('returns null for no actions', () => {
    expect(mostSevere([])).toBeNull();
  });

  it.each([
    [['WARNING'], 'WARNING'],
    [['WARNING', 'STRIKE'], 'STRIKE'],
    [['STRIKE', 'WARNING'], 'STRIKE'],
    [['SUSPEND', 'WARNING', 'STRIKE'], 'SUSPEND'],
    [['WARNING', 'TERMINATE', 'SUSPEND', 'STRIKE'], 'TERMINATE'],
    [['TERMINATE', 'SUSPEND'], 'TERMINATE'],
  ] as [DisciplinaryAction[], DisciplinaryAction][])('%j → %s', (actions, expected) => {
    expect(mostSevere(actions)).toBe(expected);
  });
});

describe('statusAfter', () => {
  const table: [EmployeeStatus, DisciplinaryAction | null, EmployeeStatus][] = [
    ['active', null, 'active'],
    ['active', 'WARNING', 'active'],
    ['active', 'STRIKE', 'active'],
    ['active', 'SUSPEND', 'suspended'],
    ['active', 'TERMINATE', 'terminated'],
    ['suspended', null, 'suspended'],
    ['suspended', 'WARNING', 'suspended'],
    ['suspended', 'STRIKE', 'suspended'],
    ['suspended', 'SUSPEND', 'suspended'],
    ['suspended', 'TERMINATE', 'terminated'],
    ['terminated', null, 'terminated'],
    ['terminated', 'WARNING', 'terminated'],
    ['terminated', 'STRIKE', 'terminated'],
    ['terminated', 'SUSPEND', 'terminated'],
    ['terminated', 'TERMINATE', 'terminated'],
  ];

  it.each(table)('%s + %s → %s', (current, action, expected) => {
    expect(statusAfter(current, action)).toBe(expected);
  });
});
