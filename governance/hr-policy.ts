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
  /** How long a suspension lasts; null: until the Director reinstates. */
  suspensionDays: number | null;
  /** A repeat offense by an employee already suspended inside the window terminates it. */
  terminateRepeatAfterSuspension: boolean;
}

const SEED_VIOLATIONS: Record<ViolationType, ViolationRule> = {
  hallucination: { severity: 3, action: 'STRIKE' },
  timeout: { severity: 2, action: 'WARNING' },
  scope_drift: { severity: 2, action: 'WARNING' },
  malformed_output: { severity: 2, action: 'WARNING' },
  failed_verification: { severity: 2, action: 'WARNING' },
  self_assignment: { severity: 3, action: 'STRIKE' },
  vacuous_tests: { severity: 2, action: 'WARNING' },
};

/**
 * Version 1, the seed policy: hallucination → STRIKE (3), timeout and scope drift → WARNING (2),
 * repeat offense → SUSPEND (4), the same violation a third time → TERMINATE. Kept because
 * earlier disciplinary actions name it.
 */
export const HR_POLICY_V1: HrPolicy = {
  version: 'hr-policy/1',
  violations: SEED_VIOLATIONS,
  repeatOffense: { severity: 4, action: 'SUSPEND', windowDays: 30 },
  terminateAfterSameViolation: 3,
  suspensionDays: null,
  terminateRepeatAfterSuspension: false,
};

/**
 * Version 2, the full ladder WARNING → STRIKE → SUSPEND (7 days) → TERMINATE: a first offense
 * gets its violation's action; a repeat inside 30 days suspends; a repeat by an employee
 * suspended inside those 30 days, or the same violation a third time, terminates.
 */
export const HR_POLICY_V2: HrPolicy = {
  version: 'hr-policy/2',
  violations: SEED_VIOLATIONS,
  repeatOffense: { severity: 4, action: 'SUSPEND', windowDays: 30 },
  terminateAfterSameViolation: 3,
  suspensionDays: 7,
  terminateRepeatAfterSuspension: true,
};

/** The policy HR applies now. Changing the rules means a new version, never an edit. */
export const CURRENT_HR_POLICY = HR_POLICY_V2;

const ACTION_RANK: Record<DisciplinaryAction, number> = { WARNING: 1, STRIKE: 2, SUSPEND: 3, TERMINATE: 4 };

export interface PastIncident {
  violation: ViolationType;
  /** Age of the incident in days at decision time. */
  ageDays: number;
  /** The disciplinary action taken on it, when known. */
  action?: DisciplinaryAction | null;
}

export interface HrDecision {
  violation: ViolationType;
  severity: number;
  action: DisciplinaryAction;
  reason: string;
}

/**
 * One decision per distinct violation type of this attempt. `history` is the employee's
 * earlier incidents (not including this attempt's).
 */
export function decideActions(violations: ViolationType[], history: PastIncident[], policy: HrPolicy = HR_POLICY_V1): HrDecision[] {
  // Three out-of-scope files in one output are one scope_drift, and two types in one output
  // are not yet a "repeat".
  const distinct = [...new Set(violations)];
  const recent = history.filter((h) => h.ageDays <= policy.repeatOffense.windowDays);
  const isRepeat = recent.length > 0;
  const suspendedRecently = recent.some((h) => h.action === 'SUSPEND');
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
    if (isRepeat && suspendedRecently && policy.terminateRepeatAfterSuspension) {
      return {
        violation,
        severity: policy.repeatOffense.severity + 1,
        action: 'TERMINATE',
        reason: `repeat offense (${violation}) after a suspension inside ${policy.repeatOffense.windowDays} days`,
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
  return actions.reduce<DisciplinaryAction | null>((worst, a) => (worst === null || ACTION_RANK[a] > ACTION_RANK[worst] ? a : worst), null);
}

/** The employee status an action leaves behind; never lifts a harsher status. */
export function statusAfter(current: EmployeeStatus, action: DisciplinaryAction | null): EmployeeStatus {
  if (current === 'terminated' || action === 'TERMINATE') return 'terminated';
  if (current === 'suspended' || action === 'SUSPEND') return 'suspended';
  return 'active';
}

function ordinal(n: number): string {
  const suffix =
    n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

/**
 * The status routing goes by: a suspension whose expiry has passed no longer holds, even before
 * HR has recorded its end (`endExpiredSuspensions`).
 */
export function effectiveStatus(e: { status: EmployeeStatus; suspendedUntil?: string | null }, at: Date): EmployeeStatus {
  return e.status === 'suspended' && e.suspendedUntil && new Date(e.suspendedUntil).getTime() <= at.getTime() ? 'active' : e.status;
}
