/**
 * taskRun — one task of a plan, from routing to acceptance:
 *   route (pure) → attempt: rounds of employee → sandbox (→ repair with the failure shown,
 *   bounded) → reviewer → Auditor on the last round
 *   → clean: score and accept
 *   → violations: HR, score, and reassign to the next eligible employee, who is told what
 *     went wrong before (never who).
 * When nobody eligible is left, the task escalates and waits for the Director.
 *
 * The state lives in a TaskWorkflow; each phase is a method.
 */
import {
  ActivityFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { chooseEmployee } from '../governance/routing.js';
import { nobodyLeft, upstreamCause, type UpstreamCause } from '../governance/blame.js';
import type { EmployeeFailure, VerificationResult } from '../governance/audit-rules.js';
import { findingsOf, tailOf, type PriorAttempt, type RepairFeedback } from '../governance/repair.js';
import type { ReviewOpinion, TaskChecks } from '../governance/types.js';
import {
  TESTER_CAPABILITY,
  codeScopeOf,
  coderView,
  needsIndependentTests,
  testerView,
  type FrozenTests,
} from '../governance/acceptance-tests.js';
import type { TaskSpec } from '../governance/schemas.js';
import type { AuditRequest } from '../activities/auditor/index.js';
import type { TaskResponse } from '../activities/employees/index.js';
import type { ScoreRequest } from '../activities/accountant/index.js';
import { chargeReviewer } from './reviewers.js';
import type {
  Attribution,
  AttemptSummary,
  EmployeeSnapshot,
  EscalationDecision,
  RunBudget,
  TaskProgress,
  TaskRunInput,
  TaskRunResult,
  ViolationType,
} from '../governance/types.js';
import {
  DESCRIPTIONS,
  SEARCH_ATTRIBUTES,
  budgetExhaustedSignal,
  budgetUpdateSignal,
  directorDecisionSignal,
  resolveEscalationUpdate,
  runControlSignal,
  taskProgressSignal,
  taskStatusQuery,
} from './definitions.js';
import { taskDetails } from './details.js';
import * as roles from './activity-proxies.js';
import { failureMessage, isEmployeeTimeout, isRouteAround, isTimeout, underBudget } from './failures.js';
import { TIME_LIMITS } from '../governance/time-limits.js';
import { refusedWhenApplied } from './director-identity.js';

export async function taskRun(input: TaskRunInput): Promise<TaskRunResult> {
  return new TaskWorkflow(input).run();
}

type BudgetAnswer = { budget: RunBudget } | { stop: Attribution };

/** What an attempt's rounds ended with: the last answer and what the sandbox saw of it. */
interface RoundsOutcome {
  modelRunId: string | null;
  verification: VerificationResult | null;
  employeeFailure: EmployeeFailure | null;
  rounds: number;
  /** Runs with independent tests: the reviewer's opinion of the last round (asked within the rounds). */
  review?: ReviewOpinion | null;
  /** A dispute of a frozen test that the tester could not answer: the Director decides. */
  unresolvedDispute?: string;
}

class TaskWorkflow {
  private readonly failedBy: string[] = [];
  private readonly attempts: AttemptSummary[] = [];
  private readonly progress: TaskProgress & { escalation: string | null };
  private decision: EscalationDecision | null = null;
  private budget: RunBudget | null;
  private budgetAnswer: BudgetAnswer | null = null;
  private readonly parentId = workflowInfo().parent?.workflowId;
  /** The run is paused by the Director: what runs finishes, nothing new starts. */
  private runPaused = false;
  /** Who may be named while the task waits for the Director (the roster it escalated with). */
  private escalationRoster: EmployeeSnapshot[] | null = null;
  /** The capability the Director's reassignment must have (a tester while the tests are missing). */
  private escalationCapability: string | null = null;
  /** The roster is read again when the Director answers (a reinstated employee is eligible at once). */
  private rosterAtDecision = false;
  private rosterReadFor: EscalationDecision | null = null;
  /** Acceptance tests by a tester, red before green, a reviewer who can say no (decided in run()). */
  private independent = false;
  /** The task's frozen acceptance tests, once a tester's tests passed red and the Auditor. */
  private frozen: FrozenTests | null = null;
  private readonly checks: TaskChecks = { tests: null, testAttempts: [], green: null, review: null, disputes: [] };
  private readonly failedTesters: string[] = [];

  constructor(private readonly input: TaskRunInput) {
    this.budget = input.budget ?? null;
    this.progress = {
      key: input.task.id,
      title: input.task.title,
      status: 'running',
      assignedTo: null,
      attempts: 0,
      reassignments: 0,
      repairRounds: 0,
      escalation: null,
    };
    setHandler(taskStatusQuery, () => this.progress, { description: DESCRIPTIONS.taskStatus });
    // A decision for a task that is not waiting for one is not kept for later: it is refused, visibly.
    setHandler(
      directorDecisionSignal,
      (d) => {
        // One decision at a time: the one being carried out (the roster read for it) is not replaced.
        if (this.progress.status === 'escalated' && this.rosterAtDecision && this.decision)
          (this.progress.ignoredSignals ??= []).push(
            `directorDecision from ${d?.by} ignored: task ${this.task.id} already has a decision to carry out`,
          );
        else if (this.progress.status === 'escalated') this.decision = d;
        else
          (this.progress.ignoredSignals ??= []).push(
            `directorDecision from ${d?.by} ignored: task ${this.task.id} is ${this.progress.status}, not escalated`,
          );
      },
      { description: DESCRIPTIONS.directorDecision },
    );
    // The Update answers at once: accepted once the task acted on it, or refused with the reason
    // (a decision for a task that is not waiting, an employee who cannot take it).
    setHandler(
      resolveEscalationUpdate,
      async (d) => {
        // Checked again as it takes effect: another decision may have come first (the identity
        // check comes between; workflows/director-identity.ts).
        const fresh = this.rosterAtDecision && d.kind === 'reassign';
        const refused = this.decisionRefused(d, !fresh);
        if (refused) throw refusedWhenApplied(refused);
        if (fresh) {
          this.escalationRoster = await roles.accountant("roster at the Director's decision").employeeRoster();
          this.rosterReadFor = d;
          const now = this.decisionRefused(d);
          if (now) throw refusedWhenApplied(now);
        }
        this.decision = d;
        await condition(() => this.decision !== d);
        return { command: 'directorDecision', status: this.progress.status, message: `task ${this.task.id}: ${d.kind} carried out` };
      },
      {
        description: DESCRIPTIONS.directorDecision,
        validator: (d) => {
          // An employee's status is checked on the roster read when the decision takes effect.
          const refused = this.decisionRefused(d, !this.rosterAtDecision);
          if (refused) throw new Error(refused);
        },
      },
    );
    // The run tells every running task; one not waiting keeps the answer for its next refusal.
    setHandler(
      budgetUpdateSignal,
      (u) => {
        if ('budget' in u) this.budget = u.budget;
        this.budgetAnswer = u;
      },
      { description: DESCRIPTIONS.budgetUpdate },
    );
    setHandler(
      runControlSignal,
      ({ paused }) => {
        this.runPaused = paused;
      },
      { description: DESCRIPTIONS.runControl },
    );
  }

  /** Why a Director's decision does not fit the task now, or null. */
  private decisionRefused(d: EscalationDecision, checkStatus = true): string | null {
    if (this.progress.status !== 'escalated' || !this.escalationRoster)
      return `task ${this.task.id} is ${this.progress.status}, not waiting for the Director`;
    if (this.decision) return `task ${this.task.id} already has a decision to carry out`;
    const roster = checkStatus ? this.escalationRoster : this.escalationRoster.map((e) => ({ ...e, status: 'active' as const }));
    return validateDecision(d, roster, this.escalationCapability ?? this.task.capability, this.attempts, this.testerId());
  }

  /** The run is paused: wait here, before anything new starts (a routing, a call, a sandbox run). */
  private async whileRunPaused(): Promise<void> {
    if (!this.runPaused) return;
    const before = this.progress.status;
    this.progress.status = 'paused';
    await this.report();
    await condition(() => !this.runPaused);
    this.progress.status = before;
    await this.report();
  }

  private get task() {
    return this.input.task;
  }

  /** Why nobody is left to take the task, employee by employee. */
  private nobodyLeft(roster: EmployeeSnapshot[]): string {
    const failedHere = [
      ...this.attempts.map((a) => ({ employeeId: a.employeeId, violations: a.violations.map((v) => v.type) })),
      ...this.failedBy.filter((id) => !this.attempts.some((a) => a.employeeId === id)).map((id) => ({ employeeId: id, violations: [] })),
    ].filter((f) => this.failedBy.includes(f.employeeId));
    return nobodyLeft(roster, this.task.capability, failedHere, this.frozen?.testerId ?? null);
  }

  async run(): Promise<TaskRunResult> {
    try {
      this.independent = this.input.independentTests === true && patched('independent-tests');
      if (this.independent && needsIndependentTests(this.task)) {
        const tests = await this.writeTests();
        if ('taskKey' in tests) return tests;
        this.frozen = tests;
      }
      return await this.route();
    } catch (err) {
      // The run was cancelled: calls and sandbox runs were cancelled with it; the task closes.
      if (!isCancellation(err) || !patched('director-cancel')) throw err;
      return CancellationScope.nonCancellable(() => this.finish(this.result('cancelled'), 'cancelled with the run'));
    }
  }

  private async route(): Promise<TaskRunResult> {
    // The Director's choice after an infrastructure escalation, taken on the next round.
    let next: EmployeeSnapshot | null = null;
    for (;;) {
      await this.whileRunPaused();
      // HR ends the suspensions past their expiry (recorded) before the roster is read.
      if (patched('hr-ends-suspensions')) await roles.hr('end expired suspensions').endExpiredSuspensions();
      const roster = await roles.accountant('roster for routing').employeeRoster();
      // The tester never writes the code it tests.
      const excluded = this.frozen ? [...this.failedBy, this.frozen.testerId] : this.failedBy;
      let employee = next ?? chooseEmployee({ employees: roster, capability: this.task.capability, excluded });
      next = null;
      if (!employee) {
        const answer = await this.escalate(roster);
        if ('taskKey' in answer) return answer;
        employee = answer;
      }
      const result = await this.attempt(employee, roster);
      if (result && 'taskKey' in result) return result;
      next = result;
    }
  }

  // ---- Phase: nobody eligible is left, the human decides ----
  private async escalate(roster: EmployeeSnapshot[], why?: string, capability?: string): Promise<EmployeeSnapshot | TaskRunResult> {
    const { runId, taskId } = this.input;
    this.progress.status = 'escalated';
    this.progress.escalation = `${why ?? this.nobodyLeft(roster)}; waiting for the Director`;
    this.progress.assignedTo = null;
    const description = this.progress.escalation;
    // Runs before this change wrote the escalation twice (an event, then the status change).
    if (!patched('one-escalation-event')) {
      await roles.ledger('escalate to Director').recordEvent({
        runId,
        taskId,
        action: 'task.escalated',
        severity: 'critical',
        description: `task ${this.task.id}: ${description}`,
      });
    }
    await roles
      .ledger('escalate to Director')
      .recordTaskStatus({ runId, taskId, taskKey: this.task.id, status: 'escalated', assignedTo: null, description, severity: 'critical' });
    await this.report();

    // Invalid answers are recorded and waited past.
    this.escalationRoster = roster;
    this.escalationCapability = capability ?? null;
    this.rosterAtDecision = patched('roster-at-decision');
    for (;;) {
      await condition(() => this.decision !== null);
      const d: EscalationDecision = this.decision!;
      if (this.rosterAtDecision && d.kind === 'reassign')
        roster =
          this.rosterReadFor === d ? this.escalationRoster! : await roles.accountant("roster at the Director's decision").employeeRoster();
      this.decision = null;
      const invalid = validateDecision(d, roster, capability ?? this.task.capability, this.attempts, this.testerId());
      await roles.ledger(`Director ${d.kind}`).recordDirectorAction({
        runId,
        director: d.by,
        action: invalid ? `${d.kind}_refused` : `task_${d.kind}`,
        targetId: taskId,
        reason: invalid ? `${d.reason} — refused: ${invalid}` : d.reason,
        details: { taskKey: this.task.id, decision: d },
      });
      if (invalid) continue;
      this.escalationRoster = null;
      this.escalationCapability = null;
      if (d.kind === 'cancel') return this.finish(this.result('cancelled'), `cancelled by ${d.by}: ${d.reason}`);
      if (d.kind === 'accept') {
        const last = this.attempts[this.attempts.length - 1]!;
        return this.finish(
          { ...this.result('accepted'), acceptedBy: last.employeeId, acceptedModelRunId: last.modelRunId, overriddenBy: d.by },
          `accepted by Director override (${d.by}: ${d.reason}) despite ${last.violations.map((v) => v.type).join(', ') || (this.checks.review?.verdict === 'reject' ? "the reviewer's rejection" : 'the escalation')}`,
        );
      }
      return roster.find((e) => e.id === d.employeeId)!;
    }
  }

  // ---- Phase: one employee's attempt, judged on its last round ----
  /** The task's result; null to route again; an employee the Director named after a fault. */
  private async attempt(employee: EmployeeSnapshot, roster: EmployeeSnapshot[]): Promise<TaskRunResult | EmployeeSnapshot | null> {
    const { runId, taskId } = this.input;
    const attemptNo = this.attempts.length + 1;
    Object.assign(this.progress, { status: 'running', escalation: null, assignedTo: employee.id, attempts: attemptNo });
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.model, value: employee.id }]);
    await roles.ledger().recordTaskStatus({
      runId,
      taskId,
      taskKey: this.task.id,
      status: 'running',
      assignedTo: employee.id,
      description: `attempt ${attemptNo} assigned to ${employee.id} (reputation ${employee.reputation})`,
    });
    await this.report();
    try {
      return await this.judgedAttempt(employee, roster, attemptNo);
    } catch (err) {
      // The machine failed, not the model: the database, the sandbox or a worker gave up after
      // its bounded retries. Recorded as an infrastructure incident; the Director decides.
      if (!(err instanceof ActivityFailure) || isCancellation(err) || !patched('infrastructure-escalation')) throw err;
      return this.infrastructureFault(employee, roster, err);
    }
  }

  private async infrastructureFault(
    employee: EmployeeSnapshot,
    roster: EmployeeSnapshot[],
    err: ActivityFailure,
  ): Promise<TaskRunResult | EmployeeSnapshot> {
    const message = failureMessage(err);
    const activity = err.activityType ?? 'an activity';
    try {
      await roles.ledger('infrastructure incident').recordInfrastructureIncident({
        runId: this.input.runId,
        taskId: this.input.taskId,
        taskKey: this.task.id,
        employeeId: employee.id,
        activity,
        message,
      });
    } catch {
      // The record itself is out of reach: the escalation below still waits for the Director.
    }
    return this.escalate(roster, `infrastructure failure in ${activity} (not the employee's fault): ${message}`);
  }

  private async judgedAttempt(
    employee: EmployeeSnapshot,
    roster: EmployeeSnapshot[],
    attemptNo: number,
  ): Promise<TaskRunResult | EmployeeSnapshot | null> {
    const { runId, taskId } = this.input;
    const outcome = await this.rounds(employee, attemptNo, roster);
    if (outcome === 'stopped') return this.stopped();
    if (outcome === 'unavailable') return null;

    // With independent checks the reviewer spoke within the rounds (and could send work back).
    const review = this.independent
      ? (outcome.review ?? null)
      : outcome.modelRunId
        ? await this.review(employee, roster, outcome.modelRunId)
        : null;
    if (review === 'stopped') return this.stopped();
    if (this.frozen && outcome.verification)
      this.checks.green = { passed: outcome.verification.passed, exitCode: outcome.verification.exitCode };

    const verdict = await roles.auditor(`audit ${this.task.id} by ${employee.id}`).auditAttempt({
      ...this.auditRequest(employee, outcome),
      review,
      rounds: outcome.rounds,
    });
    const summary: AttemptSummary = {
      attempt: attemptNo,
      employeeId: employee.id,
      modelRunId: outcome.modelRunId,
      clean: verdict.clean,
      violations: verdict.violations.map((v) => ({ type: v.type, message: v.message })),
      hrActions: [],
      score: null,
      rounds: outcome.rounds,
      ...(outcome.verification && !outcome.verification.passed
        ? { excerpt: tailOf(outcome.verification.excerpt || outcome.verification.skippedReason || '', 1_500) }
        : {}),
    };
    this.attempts.push(summary);
    const scoreRequest = {
      runId,
      taskId,
      taskKey: this.task.id,
      employeeId: employee.id,
      capability: this.task.capability,
      verdictId: verdict.verdictId,
      modelRunId: outcome.modelRunId,
      timeLimitMs: this.task.timeLimitMs,
      rounds: outcome.rounds,
    };

    // The rules find nothing, but the reviewer still rejects the last round (or a dispute found no
    // answer): never silently accepted, the Director decides with both sides in front of them.
    if (verdict.clean && this.independent && (review?.verdict === 'reject' || outcome.unresolvedDispute)) {
      const cleared = outcome.unresolvedDispute ? false : await this.secondOpinion(employee, roster, review!, outcome);
      if (cleared === 'stopped') return this.stopped();
      if (!cleared) return this.contested(employee, roster, review, outcome);
    }

    if (verdict.clean) {
      summary.score = (
        await roles.accountant(`score ${employee.id}`).scoreAttempt({ ...scoreRequest, accepted: true, violations: [] })
      ).score;
      return this.finish(
        { ...this.result('accepted'), acceptedBy: employee.id, acceptedModelRunId: outcome.modelRunId },
        `accepted from ${employee.id} on attempt ${attemptNo}${outcome.rounds > 1 ? ` after ${outcome.rounds - 1} repair round(s)` : ''}`,
      );
    }

    // Failing tests that run through code the Director accepted by override: not the employee's doing.
    const cause = this.upstreamCauseOf(verdict.violations, outcome.verification);
    if (cause) return this.failedUpstream(employee, roster, summary, cause);

    // Violations: HR acts, the Accountant penalises, the task goes to someone else.
    const hrResult = await this.discipline(verdict, summary, scoreRequest);
    this.failedBy.push(employee.id);
    this.progress.reassignments += 1;
    await roles.ledger('reassign').recordEvent({
      runId,
      taskId,
      action: 'task.reassigning',
      severity: 'warning',
      description: `task ${this.task.id}: ${employee.id} failed (${verdict.violations.map((v) => v.type).join(', ')}); reassigning`,
      details: { failedBy: [...this.failedBy], hrActions: hrResult.actions, score: summary.score },
    });
    return null;
  }

  private upstreamCauseOf(
    violations: { type: ViolationType; evidence: { excerpt: string } }[],
    verification: VerificationResult | null,
  ): UpstreamCause | null {
    const overridden = this.input.overriddenDependencies ?? [];
    if (overridden.length === 0 || !patched('blame-follows-cause')) return null;
    const output = [verification?.excerpt ?? '', ...violations.map((v) => v.evidence.excerpt)].join('\n');
    return upstreamCause(violations, output, overridden);
  }

  /**
   * The attempt failed in a dependency's code that the Director accepted by override: recorded
   * as such, not charged by HR nor scored against the employee, and the Director decides at once
   * (another employee would meet the same code).
   */
  private async failedUpstream(
    employee: EmployeeSnapshot,
    roster: EmployeeSnapshot[],
    summary: AttemptSummary,
    cause: UpstreamCause,
  ): Promise<TaskRunResult | EmployeeSnapshot> {
    const where = `${cause.file} of ${cause.taskKey}, which ${cause.by} accepted by override`;
    summary.notCharged = `the failing tests run through ${where}`;
    await roles.ledger('failure caused upstream').recordEvent({
      runId: this.input.runId,
      taskId: this.input.taskId,
      action: 'task.failed_upstream',
      severity: 'warning',
      description: `task ${this.task.id}: ${employee.id}'s attempt ${summary.attempt} fails in ${where}; not charged to ${employee.id} (no HR action, no score)`,
      details: { employeeId: employee.id, attempt: summary.attempt, cause, violations: summary.violations.map((v) => v.type) },
    });
    return this.escalate(
      roster,
      `${employee.id}'s tests fail in ${where} (not charged to ${employee.id}). Reassign (${employee.id} or another ${this.task.capability}, told what failed), accept this output as well, or cancel`,
    );
  }

  /**
   * A rejection that persists on green work gets a second reviewer. When the second approves, the
   * tests and a second reviewer clear the work: it is accepted, and the first reviewer's rejection
   * counts against it (scored as a reviewer's attempt that did not hold). Otherwise: the Director.
   */
  private async secondOpinion(
    employee: EmployeeSnapshot,
    roster: EmployeeSnapshot[],
    first: ReviewOpinion,
    outcome: RoundsOutcome,
  ): Promise<boolean | 'stopped'> {
    if (!outcome.modelRunId || !outcome.verification?.passed) return false;
    const second = await this.review(employee, roster, outcome.modelRunId, [first.reviewerId]);
    if (second === 'stopped') return 'stopped';
    if (second?.verdict !== 'approve') return false;
    await chargeReviewer({
      runId: this.input.runId,
      taskId: this.input.taskId,
      taskKey: this.task.id,
      reviewerId: first.reviewerId,
      action: 'review.overruled',
      why: `rejected work that the frozen tests and ${second.reviewerId} cleared`,
    });
    this.checks.review = { reviewerId: second.reviewerId, verdict: second.verdict, comments: second.comments };
    return true;
  }

  /** Both sides of a contested attempt go to the Director: accept (a recorded override), reassign, or cancel. */
  private async contested(
    employee: EmployeeSnapshot,
    roster: EmployeeSnapshot[],
    review: ReviewOpinion | null,
    outcome: RoundsOutcome,
  ): Promise<TaskRunResult | EmployeeSnapshot> {
    const green = outcome.verification?.passed ? 'pass' : 'fail';
    const why = outcome.unresolvedDispute
      ? `a dispute of the frozen tests found no answer: ${outcome.unresolvedDispute}`
      : `reviewer ${review!.reviewerId} still rejects round ${outcome.rounds} of ${employee.id}: ${review!.comments.slice(0, 500)}`;
    await roles.ledger('contested attempt').recordEvent({
      runId: this.input.runId,
      taskId: this.input.taskId,
      action: outcome.unresolvedDispute ? 'tests.dispute_unresolved' : 'review.rejected',
      severity: 'warning',
      description: `task ${this.task.id}: ${why} (frozen tests: red ${this.checks.tests?.red.passed === false ? 'fail' : 'n/a'}, green ${green})`,
      details: { coder: employee.id, modelRunId: outcome.modelRunId, review, tests: this.checks.tests, green: this.checks.green },
    });
    this.failedBy.push(employee.id);
    return this.escalate(roster, `${why}; the coder's tests: green ${green}. Accept its output (an override), reassign, or cancel`);
  }

  // ---- Phase: a tester writes the acceptance tests, before any code ----
  /** The frozen tests, or the task's result when it ended here (cancelled, stopped). */
  private async writeTests(): Promise<FrozenTests | TaskRunResult> {
    let named: EmployeeSnapshot | null = null;
    for (;;) {
      await this.whileRunPaused();
      const roster = await roles.accountant('roster for the tester').employeeRoster();
      let tester = named ?? chooseEmployee({ employees: roster, capability: TESTER_CAPABILITY, excluded: this.failedTesters });
      named = null;
      if (!tester) {
        const answer = await this.escalate(
          roster,
          roster.some((e) => e.capabilities.includes(TESTER_CAPABILITY))
            ? `no eligible tester left to write the acceptance tests (failed: ${this.failedTesters.join(', ') || 'none'})`
            : 'no employee has the tester capability to write the acceptance tests: add one to the registry and reassign, or cancel and run self-tested (aura submit --self-tested)',
          TESTER_CAPABILITY,
        );
        if ('taskKey' in answer) return answer;
        tester = answer;
      }
      const result = await this.testerAttempt(tester);
      if (result === 'stopped') return this.stopped();
      if (result) return result;
    }
  }

  /** One tester's attempt: rounds of tests → red run (repairable), judged by the Auditor; clean tests are frozen. */
  private async testerAttempt(tester: EmployeeSnapshot): Promise<FrozenTests | 'stopped' | null> {
    const { runId, taskId } = this.input;
    const attemptNo = this.checks.testAttempts.length + 1;
    const view = testerView(this.task);
    Object.assign(this.progress, { status: 'running', escalation: null, assignedTo: tester.id, phase: 'tests' });
    await roles.ledger().recordTaskStatus({
      runId,
      taskId,
      taskKey: this.task.id,
      status: 'running',
      assignedTo: tester.id,
      description: `acceptance tests assigned to ${tester.id} (reputation ${tester.reputation})`,
    });
    await this.report();
    const maxRounds = this.input.maxRepairRounds ?? 0;
    let repair: {
      round: number;
      previousModelRunId: string;
      findings: { type: ViolationType; message: string }[];
      excerpt: string;
    } | null = null;
    let modelRunId: string | null = null;
    let red: VerificationResult | null = null;
    let employeeFailure: EmployeeFailure | null = null;
    let rounds = 0;
    for (let round = 1; ; round++) {
      rounds = round;
      await this.whileRunPaused();
      const answer = await this.call(tester, `${tester.id} writes the acceptance tests of ${this.task.id}`, (e) =>
        e.writeTests({
          runId,
          taskId,
          employeeId: tester.id,
          task: this.task,
          baseTaskIds: this.input.baseTaskIds,
          ...(this.input.directTaskIds ? { directTaskIds: this.input.directTaskIds } : {}),
          attempt: attemptNo,
          round,
          repair,
          budget: this.budget,
        }),
      );
      if (answer === 'stopped') return 'stopped';
      if (answer === 'unavailable') {
        this.failedTesters.push(tester.id);
        return null;
      }
      if ('failure' in answer) {
        employeeFailure = answer.failure;
        break;
      }
      modelRunId = answer.modelRunId;
      await this.whileRunPaused();
      red = await roles.sandbox(this.task.acceptance.timeoutMs, `red: ${this.task.id}'s tests before any code`).verifyTests({
        runId,
        taskId,
        modelRunId,
        baseTaskIds: this.input.baseTaskIds,
        command: this.task.acceptance.command,
        timeoutMs: this.task.acceptance.timeoutMs,
      });
      if ((red.ran && !red.passed) || round > maxRounds) break;
      const inspection = await roles.auditor(`inspect ${this.task.id}'s tests round ${round}`).inspectRound({
        ...this.testerAudit(tester, modelRunId, red, null),
        round,
      });
      if (!inspection.repairable) break;
      repair = { round, previousModelRunId: modelRunId, findings: inspection.findings, excerpt: red.excerpt };
    }
    const verdict = await roles
      .auditor(`audit ${this.task.id}'s tests by ${tester.id}`)
      .auditAttempt({ ...this.testerAudit(tester, modelRunId, red, employeeFailure), rounds });
    const summary: AttemptSummary = {
      attempt: attemptNo,
      employeeId: tester.id,
      modelRunId,
      clean: verdict.clean,
      violations: verdict.violations.map((v) => ({ type: v.type, message: v.message })),
      hrActions: [],
      score: null,
      rounds,
    };
    this.checks.testAttempts.push(summary);
    const scoreRequest = {
      runId,
      taskId,
      taskKey: this.task.id,
      employeeId: tester.id,
      capability: TESTER_CAPABILITY,
      verdictId: verdict.verdictId,
      modelRunId,
      timeLimitMs: this.task.timeLimitMs,
      rounds,
    };
    if (verdict.clean && modelRunId && red) {
      summary.score = (
        await roles.accountant(`score ${tester.id}`).scoreAttempt({ ...scoreRequest, accepted: true, violations: [] })
      ).score;
      const frozen = await roles.ledger(`freeze ${this.task.id}'s tests`).recordFrozenTests({
        runId,
        taskId,
        taskKey: this.task.id,
        testerId: tester.id,
        modelRunId,
        version: 1,
        reason: 'written before the code; failed with nothing implemented (red)',
        decidedBy: tester.id,
      });
      this.checks.tests = { testerId: tester.id, version: 1, files: frozen.files, red: { passed: red.passed, exitCode: red.exitCode } };
      Object.assign(this.progress, { testedBy: tester.id, phase: 'code', assignedTo: null });
      return frozen;
    }
    const hr = await this.discipline(verdict, summary, scoreRequest);
    this.failedTesters.push(tester.id);
    await roles.ledger('tests reassigned').recordEvent({
      runId,
      taskId,
      action: 'tests.reassigning',
      severity: 'warning',
      description: `task ${this.task.id}: the tests of ${tester.id} were not frozen (${verdict.violations.map((v) => v.type).join(', ')}); another tester writes them`,
      details: { failedTesters: [...this.failedTesters], hrActions: hr.actions, score: summary.score },
    });
    return null;
  }

  /** An attempt with violations: HR acts on its author, and the Accountant penalises it. */
  private async discipline(
    verdict: { verdictId: string; violations: { type: ViolationType; message: string; evidence: { excerpt: string; sha256: string } }[] },
    summary: AttemptSummary,
    scoreRequest: Omit<ScoreRequest, 'accepted' | 'violations'>,
  ): Promise<{ actions: AttemptSummary['hrActions'] }> {
    const { employeeId } = scoreRequest;
    const hr = await roles.hr(`HR on ${employeeId}`).applyPolicy({
      runId: this.input.runId,
      taskId: this.input.taskId,
      taskKey: this.task.id,
      employeeId,
      verdictId: verdict.verdictId,
      violations: verdict.violations,
    });
    summary.hrActions = hr.actions;
    summary.score = (
      await roles
        .accountant(`penalise ${employeeId}`)
        .scoreAttempt({ ...scoreRequest, accepted: false, violations: verdict.violations.map((v) => v.type) })
    ).score;
    return hr;
  }

  private testerAudit(
    tester: EmployeeSnapshot,
    modelRunId: string | null,
    red: VerificationResult | null,
    failure: EmployeeFailure | null,
  ): AuditRequest {
    return {
      runId: this.input.runId,
      taskId: this.input.taskId,
      employeeId: tester.id,
      modelRunId,
      task: testerView(this.task),
      verification: null,
      employeeFailure: failure,
      baseTaskIds: this.input.baseTaskIds,
      red,
      plannedPaths: codeScopeOf(this.task),
    };
  }

  /**
   * A model call under the run's budget: its answer, a failure that is the employee's (a timeout, or
   * no usable answer), 'unavailable' when it cannot be made (routed around, recorded), 'stopped'.
   */
  private async call(
    employee: EmployeeSnapshot,
    summary: string,
    make: (e: ReturnType<typeof roles.employee>) => Promise<TaskResponse>,
  ): Promise<TaskResponse | { failure: EmployeeFailure } | 'stopped' | 'unavailable'> {
    try {
      return await underBudget(
        () => make(roles.employee(employee.provider, this.task.timeLimitMs, summary)),
        (message) => this.waitForBudget(message),
      );
    } catch (err) {
      if (isEmployeeTimeout(err)) return { failure: { timedOut: true, message: failureMessage(err) } };
      if (!isRouteAround(err)) throw err;
      await roles.ledger('route around').recordEvent({
        runId: this.input.runId,
        taskId: this.input.taskId,
        action: 'task.employee_unavailable',
        severity: 'warning',
        description: `task ${this.task.id}: ${employee.id} could not take it: ${failureMessage(err)}; routing again`,
      });
      return 'unavailable';
    }
  }

  /** The coder disputes a frozen test: its tester (or another) answers; a test changed is re-frozen. */
  private async dispute(
    coder: EmployeeSnapshot,
    codeModelRunId: string,
    disputes: { test: string; reason: string }[],
    excerpt: string,
  ): Promise<{ decision: 'uphold' | 'reject' | 'unresolved'; reason: string }> {
    const frozen = this.frozen!;
    const roster = await roles.accountant('roster for the dispute').employeeRoster();
    const author = roster.find((e) => e.id === frozen.testerId && e.status === 'active');
    const tester = author ?? chooseEmployee({ employees: roster, capability: TESTER_CAPABILITY, excluded: [coder.id] });
    let answer: { decision: 'uphold' | 'reject' | 'unresolved'; reason: string; modelRunId?: string } = {
      decision: 'unresolved',
      reason: 'no tester could answer',
    };
    if (tester) {
      try {
        const reply = await underBudget(
          () =>
            roles.employee(tester.provider, TIME_LIMITS.reviewMs, `${tester.id} answers a dispute on ${this.task.id}`).answerDispute({
              runId: this.input.runId,
              taskId: this.input.taskId,
              employeeId: tester.id,
              task: this.task,
              codeModelRunId,
              disputes,
              excerpt,
              version: frozen.version,
              budget: this.budget,
            }),
          (message) => this.waitForBudget(message),
        );
        if (reply !== 'stopped') answer = reply;
      } catch (err) {
        answer = { decision: 'unresolved', reason: `${tester.id} could not answer: ${failureMessage(err)}` };
      }
    }
    for (const d of disputes) this.checks.disputes.push({ ...d, decision: answer.decision, answer: answer.reason });
    if (answer.decision === 'uphold' && tester && answer.modelRunId) {
      this.frozen = await roles.ledger(`re-freeze ${this.task.id}'s tests`).recordFrozenTests({
        runId: this.input.runId,
        taskId: this.input.taskId,
        taskKey: this.task.id,
        testerId: frozen.testerId,
        modelRunId: answer.modelRunId,
        version: frozen.version + 1,
        reason: `dispute by ${coder.id} upheld: ${answer.reason}`,
        decidedBy: tester.id,
        dispute: disputes,
      });
      if (this.checks.tests) Object.assign(this.checks.tests, { version: this.frozen.version, files: this.frozen.files });
    } else {
      await roles.ledger('dispute answered').recordEvent({
        runId: this.input.runId,
        taskId: this.input.taskId,
        action: answer.decision === 'reject' ? 'tests.dispute_rejected' : 'tests.dispute_unresolved',
        severity: answer.decision === 'reject' ? 'info' : 'warning',
        description: `task ${this.task.id}: ${coder.id} disputed ${disputes.map((d) => d.test).join(', ')}; ${answer.decision === 'reject' ? `${tester?.id} keeps the tests` : 'no answer'}: ${answer.reason}`,
        details: { disputes, decidedBy: tester?.id ?? null },
      });
    }
    return answer;
  }

  // ---- Phase: answer, verify, and repair while the failure is repairable ----
  private async rounds(
    employee: EmployeeSnapshot,
    attemptNo: number,
    roster: EmployeeSnapshot[],
  ): Promise<RoundsOutcome | 'stopped' | 'unavailable'> {
    const maxRepairRounds = this.input.maxRepairRounds ?? 0;
    let repair: RepairFeedback | null = null;
    for (let round = 1; ; round++) {
      const answer = await this.work(employee, attemptNo, round, repair);
      if (answer === 'stopped' || answer === 'unavailable') return answer;
      if ('failure' in answer) return { modelRunId: null, verification: null, employeeFailure: answer.failure, rounds: round };

      let verification = await this.verifyRound(answer.modelRunId, round);
      let disputeAnswer: string | undefined;
      if (!verification.passed && this.frozen && answer.disputes?.length) {
        const settled = await this.dispute(employee, answer.modelRunId, answer.disputes, verification.excerpt);
        if (settled.decision === 'unresolved')
          return { modelRunId: answer.modelRunId, verification, employeeFailure: null, rounds: round, unresolvedDispute: settled.reason };
        if (settled.decision === 'uphold') verification = await this.verifyRound(answer.modelRunId, round);
        disputeAnswer = `${settled.decision === 'uphold' ? 'upheld, the tests were changed' : 'rejected, the tests stand'}: ${settled.reason}`;
      }
      const outcome: RoundsOutcome = { modelRunId: answer.modelRunId, verification, employeeFailure: null, rounds: round };
      if (this.independent && verification.passed) {
        // A reviewer who can say no: a rejection is a finding, repaired like a failing test.
        const review = await this.review(employee, roster, answer.modelRunId);
        if (review === 'stopped') return 'stopped';
        outcome.review = review;
        if (review) this.checks.review = { reviewerId: review.reviewerId, verdict: review.verdict, comments: review.comments };
        if (review?.verdict !== 'reject' || round > maxRepairRounds) return outcome;
        // Conduct is never repaired, whatever the reviewer asks: the Auditor looks first.
        const inspection = await roles
          .auditor(`inspect ${this.task.id} round ${round}`)
          .inspectRound({ ...this.auditRequest(employee, outcome), round });
        if (inspection.findings.length > 0 && !inspection.repairable) return outcome;
        repair = {
          round,
          previousModelRunId: answer.modelRunId,
          command: this.task.acceptance.command,
          excerpt: '',
          findings: inspection.findings,
          review: review.comments,
        };
        this.progress.repairRounds = (this.progress.repairRounds ?? 0) + 1;
        await this.report();
        continue;
      }
      if (verification.passed || round > maxRepairRounds || !patched('repair-rounds')) return outcome;

      // The Auditor looks first: conduct (scope, assignment, unknown packages) is never repaired.
      const inspection = await roles
        .auditor(`inspect ${this.task.id} round ${round}`)
        .inspectRound({ ...this.auditRequest(employee, outcome), round });
      if (!inspection.repairable) return outcome;
      repair = {
        round,
        previousModelRunId: answer.modelRunId,
        command: this.task.acceptance.command,
        excerpt: tailOf(verification.excerpt || verification.skippedReason || ''),
        findings: inspection.findings,
        ...(disputeAnswer ? { disputeAnswer } : {}),
      };
      this.progress.repairRounds = (this.progress.repairRounds ?? 0) + 1;
      await this.report();
    }
  }

  /** The sandbox on one round's answer (with the frozen tests laid over it: a green run). */
  private async verifyRound(modelRunId: string, round: number): Promise<VerificationResult> {
    await this.whileRunPaused();
    return roles.sandbox(this.task.acceptance.timeoutMs, `verify ${this.task.id}${round > 1 ? ` (round ${round})` : ''}`).verifyTaskOutput({
      runId: this.input.runId,
      taskId: this.input.taskId,
      modelRunId,
      baseTaskIds: this.input.baseTaskIds,
      command: this.task.acceptance.command,
      timeoutMs: this.task.acceptance.timeoutMs,
      ...(this.frozen ? { frozenTests: true } : {}),
    });
  }

  /** What the coder works to: with frozen tests, its scope without them. */
  private get codeTask(): TaskSpec {
    return this.frozen ? coderView(this.task) : this.task;
  }

  private testerId(): string | null {
    return this.frozen?.testerId ?? null;
  }

  /** One model call for the task, under the run's budget; routed around when it cannot be made. */
  private async work(
    employee: EmployeeSnapshot,
    attemptNo: number,
    round: number,
    repair: RepairFeedback | null,
  ): Promise<
    { modelRunId: string; disputes?: { test: string; reason: string }[] } | { failure: EmployeeFailure } | 'stopped' | 'unavailable'
  > {
    const { runId, taskId } = this.input;
    await this.whileRunPaused();
    try {
      const answer = await underBudget(
        () =>
          roles
            .employee(
              employee.provider,
              this.task.timeLimitMs,
              `${employee.id} ${round > 1 ? `repairs (round ${round})` : 'works on'} ${this.task.id}`,
            )
            .performTask({
              runId,
              taskId,
              employeeId: employee.id,
              task: this.codeTask,
              baseTaskIds: this.input.baseTaskIds,
              budget: this.budget,
              ...(this.frozen ? { frozenTests: true } : {}),
              ...(this.input.directTaskIds ? { directTaskIds: this.input.directTaskIds } : {}),
              attempt: attemptNo,
              round,
              priorAttempts: this.priorAttempts(),
              repair,
            }),
        (message) => this.waitForBudget(message),
      );
      return answer === 'stopped'
        ? 'stopped'
        : { modelRunId: answer.modelRunId, ...(answer.disputes ? { disputes: answer.disputes } : {}) };
    } catch (err) {
      // A heartbeat or start-to-close timeout means the worker was lost: the machine's fault.
      if (isEmployeeTimeout(err) || (isTimeout(err) && !patched('lost-worker-is-infrastructure')))
        return { failure: { timedOut: true, message: failureMessage(err) } };
      // Anything but a timeout or a provider's refusal is the machine's fault, not the model's.
      if (!isRouteAround(err) && patched('infrastructure-escalation')) throw err;
      if (!isRouteAround(err)) return { failure: { timedOut: false, message: failureMessage(err) } };
      // Suspended since routing, refused by its provider (401, 404…), or unreachable after
      // retries: recorded, and the task goes to someone else. Not a conduct violation.
      this.failedBy.push(employee.id);
      await roles.ledger('route around').recordEvent({
        runId,
        taskId,
        action: 'task.employee_unavailable',
        severity: 'warning',
        description: `task ${this.task.id}: ${employee.id} could not take it: ${failureMessage(err)}; routing again`,
      });
      return 'unavailable';
    }
  }

  /** An independent reviewer (never the author) may give an opinion: evidence, not a verdict. */
  private async review(
    employee: EmployeeSnapshot,
    roster: EmployeeSnapshot[],
    modelRunId: string,
    alsoExcluded: string[] = [],
  ): Promise<ReviewOpinion | 'stopped' | null> {
    if (!patched('reviewer-opinion')) return null;
    const reviewer = chooseEmployee({ employees: roster, capability: 'reviewer', excluded: [employee.id, ...alsoExcluded] });
    if (!reviewer) return null;
    await this.whileRunPaused();
    try {
      return await underBudget(
        () =>
          roles.employee(reviewer.provider, TIME_LIMITS.reviewMs, `${reviewer.id} reviews ${this.task.id}`).reviewOutput({
            runId: this.input.runId,
            taskId: this.input.taskId,
            employeeId: reviewer.id,
            authorId: employee.id,
            task: this.task,
            modelRunId,
            budget: this.budget,
          }),
        (message) => this.waitForBudget(message),
      );
    } catch {
      return null; // no opinion is not a finding; the rules judge either way
    }
  }

  /**
   * The budget is spent: tell the run, which pauses for the Director, and wait for the answer.
   * An answer that came while the refused call was under way is acted on at once.
   */
  private async waitForBudget(message: string): Promise<'retry' | 'stop'> {
    if (this.budgetAnswer === null) {
      const before = this.progress.status;
      this.progress.status = 'paused';
      if (this.parentId) await getExternalWorkflowHandle(this.parentId).signal(budgetExhaustedSignal, { taskKey: this.task.id, message });
      await this.report();
      await condition(() => this.budgetAnswer !== null);
      this.progress.status = before;
      // The run shows the task working again at once, not at its next report.
      if (patched('budget-answer-reported')) await this.report();
    }
    const answer: BudgetAnswer = this.budgetAnswer!;
    this.budgetAnswer = null;
    return 'stop' in answer ? 'stop' : 'retry';
  }

  private auditRequest(employee: EmployeeSnapshot, outcome: RoundsOutcome): AuditRequest {
    return {
      runId: this.input.runId,
      taskId: this.input.taskId,
      employeeId: employee.id,
      modelRunId: outcome.modelRunId,
      task: this.codeTask,
      verification: outcome.verification,
      employeeFailure: outcome.employeeFailure,
      baseTaskIds: this.input.baseTaskIds,
      ...(this.input.repairsWorkspace ? { repairsWorkspace: true } : {}),
      ...(this.independent ? { frozenTests: true } : {}),
    };
  }

  /** What went wrong in earlier attempts, for the next employee: findings, never who. */
  private priorAttempts(): PriorAttempt[] {
    return this.attempts
      .filter((a) => !a.clean)
      .map((a) => ({ attempt: a.attempt, findings: findingsOf(a.violations), excerpt: a.excerpt ?? '' }));
  }

  private result(status: TaskRunResult['status']): TaskRunResult {
    return {
      taskKey: this.task.id,
      status,
      acceptedBy: null,
      acceptedModelRunId: null,
      overriddenBy: null,
      attempts: this.attempts,
      // An attempt under way when the run was cancelled has no summary, but it was made.
      ...(this.progress.attempts > this.attempts.length ? { attemptsStarted: this.progress.attempts } : {}),
      ...(this.independent ? { checks: this.checks } : {}),
    };
  }

  private stopped(): Promise<TaskRunResult> {
    return this.finish(this.result('cancelled'), 'stopped by the Director: run budget reached');
  }

  private async finish(result: TaskRunResult, description: string): Promise<TaskRunResult> {
    this.progress.status = result.status;
    this.progress.escalation = null;
    // The run shows whose work was accepted (after an escalation nobody was assigned).
    if (result.acceptedBy) this.progress.assignedTo = result.acceptedBy;
    await roles.ledger(`task ${this.task.id} ${result.status}`).recordTaskStatus({
      runId: this.input.runId,
      taskId: this.input.taskId,
      taskKey: this.task.id,
      status: result.status,
      assignedTo: result.acceptedBy,
      acceptedModelRunId: result.acceptedModelRunId,
      description,
    });
    await this.report();
    return result;
  }

  /** Live progress to the run, for its status query (and to the Web UI, as the task's details). */
  private async report(): Promise<void> {
    setCurrentDetails(taskDetails(this.progress, this.task.acceptance.command, this.input.runId));
    if (this.parentId) await getExternalWorkflowHandle(this.parentId).signal(taskProgressSignal, { ...this.progress });
  }
}

/** Why a Director decision cannot be carried out, or null when it can. */
function validateDecision(
  d: EscalationDecision,
  roster: EmployeeSnapshot[],
  capability: string,
  attempts: AttemptSummary[],
  testerId: string | null = null,
): string | null {
  if (!d.by?.trim() || !d.reason?.trim()) return 'a decision needs who made it and why';
  if (d.kind === 'accept' && !attempts[attempts.length - 1]?.modelRunId) return 'there is no output to accept';
  if (d.kind === 'reassign') {
    const e = roster.find((x) => x.id === d.employeeId);
    if (!e) return `${d.employeeId} is not on the roster: no such employee, or its provider is not configured here`;
    if (e.status !== 'active') return `${e.id} is ${e.status}`;
    if (!e.capabilities.includes(capability)) return `${e.id} lacks the ${capability} capability`;
    if (e.id === testerId) return `${e.id} wrote the task's acceptance tests: the maker is never its own checker`;
  }
  return null;
}
