import { describe, expect, it } from 'vitest';
import {
  CURRENT_HR_POLICY,
  decideActions,
  HR_POLICY_V1,
  HR_POLICY_V2,
  mostSevere,
  statusAfter,
  type HrDecision,
  type HrPolicy,
  type PastIncident,
} from '../../governance/hr-policy.js';
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
    expect(decideActions(['hallucination'], [past('hallucination', 45), past('timeout', 400)])[0]).toMatchObject({
      action: 'STRIKE',
      severity: 3,
    });
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
    expect(decideActions(['scope_drift'], [past('scope_drift', 1), past('scope_drift', 2)])[0]).toMatchObject({
      action: 'TERMINATE',
      severity: 5,
    });
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
    const decisions = decideActions(
      ['hallucination'],
      [past('hallucination', 100), past('hallucination', 200), past('hallucination', 300)],
    );
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

// ---------------------------------------------------------------------------------------------
// Version 2: the full ladder.
// ---------------------------------------------------------------------------------------------

const incident = (violation: ViolationType, ageDays: number, action: DisciplinaryAction | null = null): PastIncident => ({
  violation,
  ageDays,
  action,
});
const v2 = (violations: ViolationType[], history: PastIncident[]): HrDecision[] => decideActions(violations, history, HR_POLICY_V2);

describe('HR_POLICY_V2 and CURRENT_HR_POLICY', () => {
  it('CURRENT_HR_POLICY is V2 (the very same object)', () => {
    expect(CURRENT_HR_POLICY).toBe(HR_POLICY_V2);
    expect(CURRENT_HR_POLICY).not.toBe(HR_POLICY_V1);
  });

  it('has the V2 values', () => {
    expect(HR_POLICY_V2.version).toBe('hr-policy/2');
    expect(HR_POLICY_V2.repeatOffense).toEqual({ severity: 4, action: 'SUSPEND', windowDays: 30 });
    expect(HR_POLICY_V2.terminateAfterSameViolation).toBe(3);
    expect(HR_POLICY_V2.terminateRepeatAfterSuspension).toBe(true);
  });

  it('suspends for 7 days under V2, until reinstated (null) under V1', () => {
    expect(HR_POLICY_V2.suspensionDays).toBe(7);
    expect(HR_POLICY_V1.suspensionDays).toBeNull();
    expect(HR_POLICY_V1.terminateRepeatAfterSuspension).toBe(false);
  });

  it('keeps the same per-violation rules as V1, one for every violation type', () => {
    expect(HR_POLICY_V2.violations).toEqual(HR_POLICY_V1.violations);
    expect(Object.keys(HR_POLICY_V2.violations).sort()).toEqual([...VIOLATION_TYPES].sort());
  });

  it('has a distinct version string from V1', () => {
    expect(HR_POLICY_V2.version).not.toBe(HR_POLICY_V1.version);
  });
});

describe('decideActions under V2: first offense', () => {
  it.each([
    ['hallucination', 'STRIKE', 3],
    ['timeout', 'WARNING', 2],
    ['scope_drift', 'WARNING', 2],
    ['malformed_output', 'WARNING', 2],
    ['failed_verification', 'WARNING', 2],
    ['self_assignment', 'STRIKE', 3],
  ] as const)('%s with no history → %s (severity %i)', (violation, action, severity) => {
    expect(v2([violation], [])).toEqual([{ violation, action, severity, reason: `${violation} (first offense)` }]);
  });

  it.each(VIOLATION_TYPES.map((t) => [t] as const))('%s with only incidents older than 30 days is a first offense', (violation) => {
    const history = [incident(violation === 'timeout' ? 'scope_drift' : 'timeout', 31, 'SUSPEND'), incident(violation, 45, 'WARNING')];
    expect(v2([violation], history)).toEqual([
      {
        violation,
        action: HR_POLICY_V2.violations[violation].action,
        severity: HR_POLICY_V2.violations[violation].severity,
        reason: `${violation} (first offense)`,
      },
    ]);
  });

  it('returns no decisions for no violations, whatever the history', () => {
    expect(v2([], [incident('timeout', 1, 'SUSPEND'), incident('timeout', 2), incident('timeout', 3)])).toEqual([]);
  });
});

describe('decideActions under V2: repeat offense inside the window', () => {
  it.each(VIOLATION_TYPES.map((t) => [t] as const))('%s after any earlier incident inside 30 days → SUSPEND, severity 4', (violation) => {
    const other: ViolationType = violation === 'hallucination' ? 'timeout' : 'hallucination';
    expect(v2([violation], [incident(other, 10, 'STRIKE')])).toEqual([
      { violation, action: 'SUSPEND', severity: 4, reason: `repeat offense: ${violation} with an earlier incident inside 30 days` },
    ]);
  });

  it('an incident exactly 30 days old is inside the window', () => {
    expect(v2(['timeout'], [incident('scope_drift', 30, 'WARNING')])[0]).toMatchObject({ action: 'SUSPEND', severity: 4 });
  });

  it('an incident just over 30 days old is outside the window', () => {
    expect(v2(['timeout'], [incident('scope_drift', 30.001, 'WARNING')])[0]).toMatchObject({ action: 'WARNING', severity: 2 });
  });

  it('an incident of today (age 0) counts', () => {
    expect(v2(['hallucination'], [incident('malformed_output', 0, 'WARNING')])[0]).toMatchObject({ action: 'SUSPEND', severity: 4 });
  });

  it('the same violation a 2nd time inside the window → SUSPEND, not yet TERMINATE', () => {
    expect(v2(['scope_drift'], [incident('scope_drift', 3, 'WARNING')])[0]).toMatchObject({ action: 'SUSPEND', severity: 4 });
  });

  it('an incident with no recorded action still makes a repeat (but not a suspension)', () => {
    expect(v2(['timeout'], [{ violation: 'scope_drift', ageDays: 2 }])[0]).toMatchObject({ action: 'SUSPEND', severity: 4 });
  });
});

describe('decideActions under V2: repeat after a suspension', () => {
  it('a repeat with a SUSPEND inside the window → TERMINATE, severity 5', () => {
    expect(v2(['timeout'], [incident('scope_drift', 5, 'SUSPEND')])).toEqual([
      { violation: 'timeout', action: 'TERMINATE', severity: 5, reason: 'repeat offense (timeout) after a suspension inside 30 days' },
    ]);
  });

  it('the suspension only needs to be one of the recent incidents', () => {
    const history = [incident('timeout', 1, 'WARNING'), incident('hallucination', 20, 'SUSPEND'), incident('scope_drift', 200, 'WARNING')];
    expect(v2(['malformed_output'], history)[0]).toMatchObject({ action: 'TERMINATE', severity: 5 });
  });

  it('a suspension exactly 30 days old still counts', () => {
    expect(v2(['timeout'], [incident('scope_drift', 30, 'SUSPEND')])[0]).toMatchObject({ action: 'TERMINATE', severity: 5 });
  });

  it('a suspension older than the window does not count (and alone is no repeat either)', () => {
    expect(v2(['timeout'], [incident('scope_drift', 31, 'SUSPEND')])).toEqual([
      { violation: 'timeout', action: 'WARNING', severity: 2, reason: 'timeout (first offense)' },
    ]);
  });

  it('an old suspension plus a recent non-suspension incident → only SUSPEND', () => {
    const history = [incident('scope_drift', 60, 'SUSPEND'), incident('hallucination', 4, 'STRIKE')];
    expect(v2(['timeout'], history)[0]).toMatchObject({ action: 'SUSPEND', severity: 4 });
  });

  it.each(['WARNING', 'STRIKE', 'TERMINATE', null] as const)('a recent %s is not a suspension', (action) => {
    expect(v2(['timeout'], [incident('scope_drift', 5, action)])[0]).toMatchObject({ action: 'SUSPEND', severity: 4 });
  });

  it('every violation of the attempt is terminated after a recent suspension', () => {
    const decisions = v2(['timeout', 'hallucination'], [incident('scope_drift', 5, 'SUSPEND')]);
    expect(decisions.map((d) => [d.violation, d.action, d.severity])).toEqual([
      ['timeout', 'TERMINATE', 5],
      ['hallucination', 'TERMINATE', 5],
    ]);
  });
});

describe('decideActions under V2: the same violation a 3rd time', () => {
  it('two earlier incidents of the same type, however old → TERMINATE', () => {
    expect(v2(['hallucination'], [incident('hallucination', 300, 'STRIKE'), incident('hallucination', 500, 'SUSPEND')])).toEqual([
      { violation: 'hallucination', action: 'TERMINATE', severity: 5, reason: 'hallucination for the 3rd time (policy: terminate at 3)' },
    ]);
  });

  it('counts incidents with no recorded action', () => {
    expect(
      v2(
        ['timeout'],
        [
          { violation: 'timeout', ageDays: 100 },
          { violation: 'timeout', ageDays: 200 },
        ],
      )[0],
    ).toMatchObject({ action: 'TERMINATE' });
  });

  it('the same-violation reason wins over the suspension reason when both apply', () => {
    const decisions = v2(['scope_drift'], [incident('scope_drift', 2, 'SUSPEND'), incident('scope_drift', 5, 'WARNING')]);
    expect(decisions[0]!.reason).toBe('scope_drift for the 3rd time (policy: terminate at 3)');
  });

  it('one earlier incident of the same type (old) is not enough', () => {
    expect(v2(['scope_drift'], [incident('scope_drift', 100, 'WARNING')])[0]).toMatchObject({ action: 'WARNING', severity: 2 });
  });

  it('two earlier incidents of other types (old) are not enough', () => {
    expect(v2(['scope_drift'], [incident('timeout', 100), incident('hallucination', 100)])[0]).toMatchObject({ action: 'WARNING' });
  });
});

describe('V1 versus V2', () => {
  const afterSuspension = [incident('scope_drift', 5, 'SUSPEND')];

  it('a repeat after a recent suspension is only SUSPEND under V1, TERMINATE under V2', () => {
    expect(decideActions(['timeout'], afterSuspension, HR_POLICY_V1)).toEqual([
      { violation: 'timeout', action: 'SUSPEND', severity: 4, reason: 'repeat offense: timeout with an earlier incident inside 30 days' },
    ]);
    expect(decideActions(['timeout'], afterSuspension, HR_POLICY_V2)[0]).toMatchObject({ action: 'TERMINATE', severity: 5 });
  });

  it('agree on first offenses, plain repeats and third times', () => {
    const cases: [ViolationType[], PastIncident[]][] = [
      [['hallucination'], []],
      [['timeout'], [incident('scope_drift', 3, 'WARNING')]],
      [['timeout'], [incident('timeout', 300), incident('timeout', 400)]],
      [['scope_drift', 'timeout'], [incident('hallucination', 40, 'SUSPEND')]],
    ];
    for (const [violations, history] of cases) {
      expect(decideActions(violations, history, HR_POLICY_V2), JSON.stringify([violations, history])).toEqual(
        decideActions(violations, history, HR_POLICY_V1),
      );
    }
  });
});

describe('decideActions under V2: decisions and reasons', () => {
  it('duplicates in one attempt give one decision per type, in first-seen order', () => {
    const decisions = v2(['scope_drift', 'hallucination', 'scope_drift', 'hallucination', 'scope_drift'], []);
    expect(decisions.map((d) => [d.violation, d.action, d.severity])).toEqual([
      ['scope_drift', 'WARNING', 2],
      ['hallucination', 'STRIKE', 3],
    ]);
  });

  it('duplicates do not count toward the third-time rule', () => {
    expect(v2(['timeout', 'timeout', 'timeout'], [incident('timeout', 100)]).map((d) => d.action)).toEqual(['WARNING']);
  });

  const scenarios: [string, PastIncident[]][] = [
    ['first offense', []],
    ['repeat', [incident('timeout', 2, 'WARNING')]],
    ['repeat after suspension', [incident('timeout', 2, 'SUSPEND')]],
    ['third time', VIOLATION_TYPES.flatMap((t) => [incident(t, 200), incident(t, 300)])],
  ];

  it.each(scenarios)('every decision (%s) carries a reason naming its violation', (_name, history) => {
    const decisions = v2([...VIOLATION_TYPES], history);
    expect(decisions).toHaveLength(VIOLATION_TYPES.length);
    for (const d of decisions) {
      expect(typeof d.reason).toBe('string');
      expect(d.reason).toContain(d.violation);
      for (const other of VIOLATION_TYPES.filter((t) => t !== d.violation)) expect(d.reason).not.toContain(other);
    }
  });

  it('does not mutate its inputs', () => {
    const violations: ViolationType[] = ['timeout', 'timeout'];
    const history = [incident('timeout', 2, 'SUSPEND')];
    const before = JSON.stringify([violations, history]);
    v2(violations, history);
    expect(JSON.stringify([violations, history])).toBe(before);
  });
});

/**
 * An employee's successive single-violation attempts, `gapDays` apart. Each decision is fed
 * back into the history as it would be by the HR activity (incident + its action), aging
 * the earlier ones.
 */
function walkLadder(
  attempts: ViolationType[],
  gapDays: number | number[],
  policy: HrPolicy = HR_POLICY_V2,
): { decisions: HrDecision[]; statuses: EmployeeStatus[] } {
  let history: PastIncident[] = [];
  let status: EmployeeStatus = 'active';
  const decisions: HrDecision[] = [];
  const statuses: EmployeeStatus[] = [];
  for (const [i, violation] of attempts.entries()) {
    const made = decideActions([violation], history, policy);
    expect(made).toHaveLength(1);
    const d = made[0]!;
    decisions.push(d);
    status = statusAfter(status, mostSevere(made.map((m) => m.action)));
    statuses.push(status);
    // Days until the next attempt.
    const gap = typeof gapDays === 'number' ? gapDays : (gapDays[i] ?? 0);
    history = [...history.map((h) => ({ ...h, ageDays: h.ageDays + gap })), { violation, ageDays: gap, action: d.action }];
  }
  return { decisions, statuses };
}

describe('V2 ladder: successive attempts of one employee', () => {
  it('scope_drift three times, 3 days apart: WARNING → SUSPEND → TERMINATE', () => {
    const { decisions, statuses } = walkLadder(['scope_drift', 'scope_drift', 'scope_drift'], 3);
    expect(decisions.map((d) => [d.action, d.severity])).toEqual([
      ['WARNING', 2],
      ['SUSPEND', 4],
      ['TERMINATE', 5],
    ]);
    expect(decisions[2]!.reason).toBe('scope_drift for the 3rd time (policy: terminate at 3)');
    expect(statuses).toEqual(['active', 'suspended', 'terminated']);
  });

  it('different WARNING-type offenses, 4 days apart: WARNING → SUSPEND → TERMINATE because of the suspension', () => {
    const { decisions, statuses } = walkLadder(['scope_drift', 'timeout', 'malformed_output'], 4);
    expect(decisions.map((d) => [d.violation, d.action, d.severity])).toEqual([
      ['scope_drift', 'WARNING', 2],
      ['timeout', 'SUSPEND', 4],
      ['malformed_output', 'TERMINATE', 5],
    ]);
    expect(decisions[2]!.reason).toBe('repeat offense (malformed_output) after a suspension inside 30 days');
    expect(statuses).toEqual(['active', 'suspended', 'terminated']);
  });

  it('hallucinations, 5 days apart: STRIKE → SUSPEND → TERMINATE', () => {
    const { decisions, statuses } = walkLadder(['hallucination', 'hallucination', 'hallucination'], 5);
    expect(decisions.map((d) => [d.action, d.severity])).toEqual([
      ['STRIKE', 3],
      ['SUSPEND', 4],
      ['TERMINATE', 5],
    ]);
    expect(statuses).toEqual(['active', 'suspended', 'terminated']);
  });

  it('hallucination then other types: STRIKE → SUSPEND → TERMINATE (suspension rule alone)', () => {
    const { decisions } = walkLadder(['hallucination', 'failed_verification', 'timeout'], 2);
    expect(decisions.map((d) => d.action)).toEqual(['STRIKE', 'SUSPEND', 'TERMINATE']);
  });

  it('the same walk under V1 stops at SUSPEND when the types differ', () => {
    const { decisions, statuses } = walkLadder(['scope_drift', 'timeout', 'malformed_output'], 4, HR_POLICY_V1);
    expect(decisions.map((d) => d.action)).toEqual(['WARNING', 'SUSPEND', 'SUSPEND']);
    expect(statuses).toEqual(['active', 'suspended', 'suspended']);
  });

  it('offenses 40 days apart never climb past the first rung for different types', () => {
    const { decisions, statuses } = walkLadder(['scope_drift', 'timeout', 'malformed_output', 'hallucination'], 40);
    expect(decisions.map((d) => d.action)).toEqual(['WARNING', 'WARNING', 'WARNING', 'STRIKE']);
    expect(statuses).toEqual(['active', 'active', 'active', 'active']);
  });

  it('offenses 40 days apart of the same type still terminate on the third', () => {
    const { decisions } = walkLadder(['timeout', 'timeout', 'timeout'], 40);
    expect(decisions.map((d) => d.action)).toEqual(['WARNING', 'WARNING', 'TERMINATE']);
  });

  it('a suspension still inside the window terminates the next offense, 20 days apart', () => {
    // Attempt 3 comes 40 days after attempt 1 (outside) but 20 days after the suspension (inside).
    expect(walkLadder(['scope_drift', 'timeout', 'malformed_output'], 20).decisions.map((d) => d.action)).toEqual([
      'WARNING',
      'SUSPEND',
      'TERMINATE',
    ]);
  });

  it('a suspension that has aged out of the window no longer terminates', () => {
    // WARNING on day 0, SUSPEND on day 3, next offense on day 34: the suspension is 31 days old.
    const { decisions, statuses } = walkLadder(['scope_drift', 'timeout', 'malformed_output'], [3, 31]);
    expect(decisions.map((d) => d.action)).toEqual(['WARNING', 'SUSPEND', 'WARNING']);
    expect(decisions[2]!.reason).toBe('malformed_output (first offense)');
    // statusAfter never lifts the suspension by itself (reinstatement is elsewhere).
    expect(statuses).toEqual(['active', 'suspended', 'suspended']);
  });

  it('with the suspension exactly 30 days old, the next offense still terminates', () => {
    expect(walkLadder(['scope_drift', 'timeout', 'malformed_output'], [3, 30]).decisions.map((d) => d.action)).toEqual([
      'WARNING',
      'SUSPEND',
      'TERMINATE',
    ]);
  });
});

describe('statusAfter and mostSevere with V2 decisions', () => {
  it('mostSevere picks TERMINATE among a V2 attempt terminated for one type only', () => {
    const decisions = v2(['timeout', 'scope_drift'], [incident('timeout', 100), incident('timeout', 200)]);
    const actions = decisions.map((d) => d.action);
    expect(actions).toEqual(['TERMINATE', 'WARNING']);
    expect(mostSevere(actions)).toBe('TERMINATE');
    expect(statusAfter('active', mostSevere(actions))).toBe('terminated');
  });

  it('mostSevere of a first-offense mix is STRIKE, leaving the employee active', () => {
    const actions = v2(['timeout', 'self_assignment', 'scope_drift'], []).map((d) => d.action);
    expect(mostSevere(actions)).toBe('STRIKE');
    expect(statusAfter('active', mostSevere(actions))).toBe('active');
  });

  it('a V2 repeat suspends an active employee', () => {
    const actions = v2(['timeout'], [incident('scope_drift', 1, 'WARNING')]).map((d) => d.action);
    expect(statusAfter('active', mostSevere(actions))).toBe('suspended');
  });

  it('a V2 repeat after a suspension terminates a suspended employee', () => {
    const actions = v2(['timeout'], [incident('scope_drift', 1, 'SUSPEND')]).map((d) => d.action);
    expect(statusAfter('suspended', mostSevere(actions))).toBe('terminated');
  });

  it('a first-offense WARNING does not lift a suspension', () => {
    const actions = v2(['timeout'], []).map((d) => d.action);
    expect(statusAfter('suspended', mostSevere(actions))).toBe('suspended');
  });

  it('no decisions leave the status as it was', () => {
    expect(mostSevere(v2([], []).map((d) => d.action))).toBeNull();
    expect(statusAfter('active', null)).toBe('active');
    expect(statusAfter('suspended', null)).toBe('suspended');
  });
});
