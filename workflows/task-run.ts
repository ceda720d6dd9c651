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
import type { EmployeeFailure, VerificationResult } from '../governance/audit-rules.js';
import { findingsOf, tailOf, type PriorAttempt, type RepairFeedback } from '../governance/repair.js';
import type { ReviewOpinion } from '../governance/types.js';
import type { AuditRequest } from '../activities/auditor/index.js';
import type {
  Attribution,
  AttemptSummary,
  EmployeeSnapshot,
  EscalationDecision,
  RunBudget,
  TaskProgress,
  TaskRunInput,
  TaskRunResult,
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
        if (this.progress.status === 'escalated') this.decision = d;
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
        this.decision = d;
        await condition(() => this.decision !== d);
        return { command: 'directorDecision', status: this.progress.status, message: `task ${this.task.id}: ${d.kind} carried out` };
      },
      {
        description: DESCRIPTIONS.directorDecision,
        validator: (d) => {
          if (this.progress.status !== 'escalated' || !this.escalationRoster)
            throw new Error(`task ${this.task.id} is ${this.progress.status}, not waiting for the Director`);
          if (this.decision) throw new Error(`task ${this.task.id} already has a decision to carry out`);
          const invalid = validateDecision(d, this.escalationRoster, this.task.capability, this.attempts);
          if (invalid) throw new Error(invalid);
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

  async run(): Promise<TaskRunResult> {
    try {
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
      let employee = next ?? chooseEmployee({ employees: roster, capability: this.task.capability, excluded: this.failedBy });
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
  private async escalate(roster: EmployeeSnapshot[], why?: string): Promise<EmployeeSnapshot | TaskRunResult> {
    const { runId, taskId } = this.input;
    this.progress.status = 'escalated';
    this.progress.escalation = `${why ?? `no eligible ${this.task.capability} left (failed: ${this.failedBy.join(', ') || 'none'})`}; waiting for the Director`;
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
    for (;;) {
      await condition(() => this.decision !== null);
      const d: EscalationDecision = this.decision!;
      this.decision = null;
      const invalid = validateDecision(d, roster, this.task.capability, this.attempts);
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
      if (d.kind === 'cancel') return this.finish(this.result('cancelled'), `cancelled by ${d.by}: ${d.reason}`);
      if (d.kind === 'accept') {
        const last = this.attempts[this.attempts.length - 1]!;
        return this.finish(
          { ...this.result('accepted'), acceptedBy: last.employeeId, acceptedModelRunId: last.modelRunId, overriddenBy: d.by },
          `accepted by Director override (${d.by}: ${d.reason}) despite ${last.violations.map((v) => v.type).join(', ')}`,
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

  private async judgedAttempt(employee: EmployeeSnapshot, roster: EmployeeSnapshot[], attemptNo: number): Promise<TaskRunResult | null> {
    const { runId, taskId } = this.input;
    const outcome = await this.rounds(employee, attemptNo);
    if (outcome === 'stopped') return this.stopped();
    if (outcome === 'unavailable') return null;

    const review = outcome.modelRunId ? await this.review(employee, roster, outcome.modelRunId) : null;
    if (review === 'stopped') return this.stopped();

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

    if (verdict.clean) {
      summary.score = (
        await roles.accountant(`score ${employee.id}`).scoreAttempt({ ...scoreRequest, accepted: true, violations: [] })
      ).score;
      return this.finish(
        { ...this.result('accepted'), acceptedBy: employee.id, acceptedModelRunId: outcome.modelRunId },
        `accepted from ${employee.id} on attempt ${attemptNo}${outcome.rounds > 1 ? ` after ${outcome.rounds - 1} repair round(s)` : ''}`,
      );
    }

    // Violations: HR acts, the Accountant penalises, the task goes to someone else.
    const hrResult = await roles.hr(`HR on ${employee.id}`).applyPolicy({
      runId,
      taskId,
      taskKey: this.task.id,
      employeeId: employee.id,
      verdictId: verdict.verdictId,
      violations: verdict.violations,
    });
    summary.hrActions = hrResult.actions;
    summary.score = (
      await roles
        .accountant(`penalise ${employee.id}`)
        .scoreAttempt({ ...scoreRequest, accepted: false, violations: verdict.violations.map((v) => v.type) })
    ).score;
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

  // ---- Phase: answer, verify, and repair while the failure is repairable ----
  private async rounds(employee: EmployeeSnapshot, attemptNo: number): Promise<RoundsOutcome | 'stopped' | 'unavailable'> {
    const maxRepairRounds = this.input.maxRepairRounds ?? 0;
    let repair: RepairFeedback | null = null;
    for (let round = 1; ; round++) {
      const answer = await this.work(employee, attemptNo, round, repair);
      if (answer === 'stopped' || answer === 'unavailable') return answer;
      if ('failure' in answer) return { modelRunId: null, verification: null, employeeFailure: answer.failure, rounds: round };

      await this.whileRunPaused();
      const verification = await roles
        .sandbox(this.task.acceptance.timeoutMs, `verify ${this.task.id}${round > 1 ? ` (round ${round})` : ''}`)
        .verifyTaskOutput({
          runId: this.input.runId,
          taskId: this.input.taskId,
          modelRunId: answer.modelRunId,
          baseTaskIds: this.input.baseTaskIds,
          command: this.task.acceptance.command,
          timeoutMs: this.task.acceptance.timeoutMs,
        });
      const outcome = { modelRunId: answer.modelRunId, verification, employeeFailure: null, rounds: round };
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
      };
      this.progress.repairRounds = (this.progress.repairRounds ?? 0) + 1;
      await this.report();
    }
  }

  /** One model call for the task, under the run's budget; routed around when it cannot be made. */
  private async work(
    employee: EmployeeSnapshot,
    attemptNo: number,
    round: number,
    repair: RepairFeedback | null,
  ): Promise<{ modelRunId: string } | { failure: EmployeeFailure } | 'stopped' | 'unavailable'> {
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
              task: this.task,
              baseTaskIds: this.input.baseTaskIds,
              budget: this.budget,
              ...(this.input.directTaskIds ? { directTaskIds: this.input.directTaskIds } : {}),
              attempt: attemptNo,
              round,
              priorAttempts: this.priorAttempts(),
              repair,
            }),
        (message) => this.waitForBudget(message),
      );
      return answer === 'stopped' ? 'stopped' : { modelRunId: answer.modelRunId };
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
  ): Promise<ReviewOpinion | 'stopped' | null> {
    if (!patched('reviewer-opinion')) return null;
    const reviewer = chooseEmployee({ employees: roster, capability: 'reviewer', excluded: [employee.id] });
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
      task: this.task,
      verification: outcome.verification,
      employeeFailure: outcome.employeeFailure,
      baseTaskIds: this.input.baseTaskIds,
      ...(this.input.repairsWorkspace ? { repairsWorkspace: true } : {}),
    };
  }

  /** What went wrong in earlier attempts, for the next employee: findings, never who. */
  private priorAttempts(): PriorAttempt[] {
    return this.attempts
      .filter((a) => !a.clean)
      .map((a) => ({ attempt: a.attempt, findings: findingsOf(a.violations), excerpt: a.excerpt ?? '' }));
  }

  private result(status: TaskRunResult['status']): TaskRunResult {
    return { taskKey: this.task.id, status, acceptedBy: null, acceptedModelRunId: null, overriddenBy: null, attempts: this.attempts };
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
    setCurrentDetails(taskDetails(this.progress, this.task.acceptance.command));
    if (this.parentId) await getExternalWorkflowHandle(this.parentId).signal(taskProgressSignal, { ...this.progress });
  }
}

/** Why a Director decision cannot be carried out, or null when it can. */
function validateDecision(
  d: EscalationDecision,
  roster: EmployeeSnapshot[],
  capability: string,
  attempts: AttemptSummary[],
): string | null {
  if (!d.by?.trim() || !d.reason?.trim()) return 'a decision needs who made it and why';
  if (d.kind === 'accept' && !attempts[attempts.length - 1]?.modelRunId) return 'there is no output to accept';
  if (d.kind === 'reassign') {
    const e = roster.find((x) => x.id === d.employeeId);
    if (!e) return `unknown employee ${d.employeeId}`;
    if (e.status !== 'active') return `${e.id} is ${e.status}`;
    if (!e.capabilities.includes(capability)) return `${e.id} lacks the ${capability} capability`;
  }
  return null;
}
