/**
 * HR's disciplinary policy as data, and the pure function that applies it. The activity in
 * activities/hr/ only reads history, calls `decideActions`, and writes what it returns.
 */
import type { DisciplinaryAction, EmployeeStatus, ViolationType } from './types.js';

export interface ViolationRule {
  severity: number;
  action: DisciplinaryAction;
}

export interface HrPolicy {
  version: string;
  violations: Record<ViolationType, ViolationRule>;
  /** Any earlier incident of the same employee inside the window makes this a repeat offense. */
  repeatOffense: ViolationRule & { windowDays: number };
  /** The same violation this many times (this one included) terminates the employee. */
  terminateAfterSameViolation: number;
}

/** The seed policy: hallucination → STRIKE (3), timeout and scope drift → WARNING (2). */
export const HR_POLICY_V1: HrPolicy = {
  version: 'hr-policy/1',
  violations: {
    hallucination: { severity: 3, action: 'STRIKE' },
    timeout: { severity: 2, action: 'WARNING' },
    scope_drift: { severity: 2, action: 'WARNING' },
    malformed_output: { severity: 2, action: 'WARNING' },
    failed_verification: { severity: 2, action: 'WARNING' },
    self_assignment: { severity: 3, action: 'STRIKE' },
  },
  repeatOffense: { severity: 4, action: 'SUSPEND', windowDays: 30 },
  terminateAfterSameViolation: 3,
};

const ACTION_RANK: Record<DisciplinaryAction, number> = { WARNING: 1, STRIKE: 2, SUSPEND: 3, TERMINATE: 4 };

export interface PastIncident {
  violation: ViolationType;
  /** Age of the incident in days at decision time. */
  ageDays: number;
}

export interface HrDecision {
  violation: ViolationType;
  severity: number;
  action: DisciplinaryAction;
  reason: string;
}

/**
 * One decision per violation of this attempt. `history` is the employee's earlier incidents
 * (not including this attempt's).
 */
export function decideActions(
  violations: ViolationType[],
  history: PastIncident[],
  policy: HrPolicy = HR_POLICY_V1,
): HrDecision[] {
  // One decision per distinct violation type: three out-of-scope files in one output are one
  // scope_drift, and two types in one output are not yet a "repeat".
  const distinct = [...new Set(violations)];
  const isRepeat = history.some((h) => h.ageDays <= policy.repeatOffense.windowDays);
  return distinct.map((violation) => {
    const rule = policy.violations[violation];
    const sameCount = history.filter((h) => h.violation === violation).length + 1;
    if (sameCount >= policy.terminateAfterSameViolation) {
      return {
        violation,
        severity: policy.repeatOffense.severity + 1,
        action: 'TERMINATE',
        reason: `${violation} for the ${ordinal(sameCount)} time (policy: terminate at ${policy.terminateAfterSameViolation})`,
      };
    }
    if (isRepeat) {
      return {
        violation,
        severity: policy.repeatOffense.severity,
        action: policy.repeatOffense.action,
        reason: `repeat offense: ${violation} with an earlier incident inside ${policy.repeatOffense.windowDays} days`,
      };
    }
    return { violation, severity: rule.severity, action: rule.action, reason: `${violation} (first offense)` };
  });
}

export function mostSevere(actions: DisciplinaryAction[]): DisciplinaryAction | null {
  return actions.reduce<DisciplinaryAction | null>(
    (worst, a) => (worst === null || ACTION_RANK[a] > ACTION_RANK[worst] ? a : worst),
    null,
  );
}

/** The employee status an action leaves behind; never lifts a harsher status. */
export function statusAfter(current: EmployeeStatus, action: DisciplinaryAction | null): EmployeeStatus {
  if (current === 'terminated' || action === 'TERMINATE') return 'terminated';
  if (current === 'suspended' || action === 'SUSPEND') return 'suspended';
  return 'active';
}

function ordinal(n: number): string {
  const suffix = n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th';
  return `${n}${suffix}`;
}
