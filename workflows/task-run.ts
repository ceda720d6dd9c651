/**
 * taskRun — one task of a plan, from routing to acceptance:
 *   route (pure) → employee → sandbox verification → auditor
 *   → clean: score and accept
 *   → violations: HR, score, and reassign to the next eligible employee.
 * When nobody eligible is left, the task escalates and waits for the Director.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  condition,
  getExternalWorkflowHandle,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { chooseEmployee } from '../governance/routing.js';
import { FailureType } from '../governance/failures.js';
import type { EmployeeFailure, VerificationResult } from '../governance/audit-rules.js';
import type { ReviewOpinion } from '../activities/employees/index.js';
import type {
  AttemptSummary,
  EmployeeSnapshot,
  EscalationDecision,
  RunBudget,
  TaskProgress,
  TaskRunInput,
  TaskRunResult,
} from '../governance/types.js';
import { SEARCH_ATTRIBUTES, budgetExhaustedSignal, budgetUpdateSignal, directorDecisionSignal, taskProgressSignal, taskStatusQuery } from './definitions.js';
import * as roles from './activity-proxies.js';

export async function taskRun(input: TaskRunInput): Promise<TaskRunResult> {
  const { runId, taskId, task } = input;
  const failedBy: string[] = [];
  const attempts: AttemptSummary[] = [];
  let decision: EscalationDecision | null = null;
  const progress: TaskProgress & { escalation: string | null } = {
    key: task.id,
    title: task.title,
    status: 'running',
    assignedTo: null,
    attempts: 0,
    reassignments: 0,
    escalation: null,
  };

  setHandler(taskStatusQuery, () => progress);
  setHandler(directorDecisionSignal, (d) => {
    decision = d;
  });
  let budget = input.budget ?? null;
  let budgetAnswer: { budget: RunBudget } | { stop: { by: string; reason: string } } | null = null;
  // The run tells every running task; one not waiting keeps the answer for its next refusal.
  setHandler(budgetUpdateSignal, (u) => {
    if ('budget' in u) budget = u.budget;
    budgetAnswer = u;
  });

  const parentId = workflowInfo().parent?.workflowId;
  const report = async () => {
    if (parentId) await getExternalWorkflowHandle(parentId).signal(taskProgressSignal, { ...progress });
  };
  const finish = async (result: TaskRunResult, description: string): Promise<TaskRunResult> => {
    progress.status = result.status;
    progress.escalation = null;
    await roles.ledger(`task ${task.id} ${result.status}`).recordTaskStatus({
      runId,
      taskId,
      taskKey: task.id,
      status: result.status,
      assignedTo: result.acceptedBy,
      acceptedModelRunId: result.acceptedModelRunId,
      description,
    });
    await report();
    return result;
  };

  /**
   * A model call under the run's budget. When the budget is spent the call is refused before it
   * is made; the task tells the run, which pauses for the Director, and waits for the answer:
   * a new budget (the same call is made again) or stop.
   */
  const underBudget = async <T>(call: () => Promise<T>): Promise<T | 'stopped'> => {
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (failureType(err) !== FailureType.BudgetExceeded) throw err;
        // An answer that came while the refused call was under way: act on it at once.
        if (budgetAnswer === null) {
          const before = progress.status;
          progress.status = 'paused';
          if (parentId) await getExternalWorkflowHandle(parentId).signal(budgetExhaustedSignal, { taskKey: task.id, message: failureMessage(err) });
          await report();
          await condition(() => budgetAnswer !== null);
          progress.status = before;
        }
        const answer: { budget: RunBudget } | { stop: { by: string; reason: string } } = budgetAnswer!;
        budgetAnswer = null;
        if ('stop' in answer) return 'stopped';
      }
    }
  };
  const stopped = (by: string) =>
    finish({ taskKey: task.id, status: 'cancelled', acceptedBy: null, acceptedModelRunId: null, overriddenBy: null, attempts }, `stopped by ${by}: run budget reached`);

  let directorChoice: EmployeeSnapshot | null = null;
  for (;;) {
    const roster = await roles.accountant('roster for routing').employeeRoster();
    let chosen = directorChoice ?? chooseEmployee({ employees: roster, capability: task.capability, excluded: failedBy });
    directorChoice = null;

    if (!chosen) {
      // Nobody eligible: the human decides. Invalid answers are recorded and waited past.
      progress.status = 'escalated';
      progress.escalation = `no eligible ${task.capability} left (failed: ${failedBy.join(', ') || 'none'}); waiting for the Director`;
      progress.assignedTo = null;
      await roles.ledger('escalate to Director').recordEvent({
        runId,
        taskId,
        action: 'task.escalated',
        severity: 'critical',
        description: `task ${task.id}: ${progress.escalation}`,
      });
      await roles.ledger().recordTaskStatus({ runId, taskId, taskKey: task.id, status: 'escalated', assignedTo: null, description: progress.escalation });
      await report();

      for (;;) {
        await condition(() => decision !== null);
        const d: EscalationDecision = decision!;
        decision = null;
        const invalid = validateDecision(d, roster, task.capability, attempts);
        await roles.ledger(`Director ${d.kind}`).recordDirectorAction({
          runId,
          director: d.by,
          action: invalid ? `${d.kind}_refused` : `task_${d.kind}`,
          targetId: taskId,
          reason: invalid ? `${d.reason} — refused: ${invalid}` : d.reason,
          details: { taskKey: task.id, decision: d },
        });
        if (invalid) continue;
        if (d.kind === 'cancel') {
          return finish({ taskKey: task.id, status: 'cancelled', acceptedBy: null, acceptedModelRunId: null, overriddenBy: null, attempts }, `cancelled by ${d.by}: ${d.reason}`);
        }
        if (d.kind === 'accept') {
          const last = attempts[attempts.length - 1]!;
          return finish(
            { taskKey: task.id, status: 'accepted', acceptedBy: last.employeeId, acceptedModelRunId: last.modelRunId, overriddenBy: d.by, attempts },
            `accepted by Director override (${d.by}: ${d.reason}) despite ${last.violations.map((v) => v.type).join(', ')}`,
          );
        }
        directorChoice = roster.find((e) => e.id === d.employeeId)!;
        break;
      }
      chosen = directorChoice;
      directorChoice = null;
    }

    const employee = chosen!;
    const attemptNo = attempts.length + 1;
    progress.status = 'running';
    progress.escalation = null;
    progress.assignedTo = employee.id;
    progress.attempts = attemptNo;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.model, value: employee.id }]);
    await roles.ledger().recordTaskStatus({ runId, taskId, taskKey: task.id, status: 'running', assignedTo: employee.id, description: `attempt ${attemptNo} assigned to ${employee.id} (reputation ${employee.reputation})` });
    await report();

    // 1. The employee works.
    let modelRunId: string | null = null;
    let employeeFailure: EmployeeFailure | null = null;
    try {
      const answer = await underBudget(() =>
        roles.employee(employee.provider, task.timeLimitMs, `${employee.id} works on ${task.id}`).performTask({
          runId,
          taskId,
          employeeId: employee.id,
          task,
          baseTaskIds: input.baseTaskIds,
          budget,
        }),
      );
      if (answer === 'stopped') return stopped('the Director');
      modelRunId = answer.modelRunId;
    } catch (err) {
      const type = failureType(err);
      if (type === FailureType.EmployeeUnavailable || type === FailureType.ProviderRejected || type === FailureType.EmployeeCallFailed) {
        // Suspended since routing, refused by its provider (401, 404…), or unreachable after
        // retries: recorded, and the task goes to someone else. Not a conduct violation.
        failedBy.push(employee.id);
        await roles.ledger('route around').recordEvent({
          runId,
          taskId,
          action: 'task.employee_unavailable',
          severity: 'warning',
          description: `task ${task.id}: ${employee.id} could not take it (${type}): ${failureMessage(err)}; routing again`,
        });
        continue;
      }
      employeeFailure = { timedOut: isTimeout(err), message: failureMessage(err) };
    }

    // 2. The sandbox runs the acceptance command on the workspace plus this output.
    let verification: VerificationResult | null = null;
    if (modelRunId) {
      verification = await roles.sandbox(task.acceptance.timeoutMs, `verify ${task.id}`).verifyTaskOutput({
        runId,
        modelRunId,
        baseTaskIds: input.baseTaskIds,
        command: task.acceptance.command,
        timeoutMs: task.acceptance.timeoutMs,
      });
    }

    // 3. An independent reviewer (never the author) may give an opinion: evidence, not a verdict.
    let review: ReviewOpinion | null = null;
    if (modelRunId && patched('reviewer-opinion')) {
      const reviewer = chooseEmployee({ employees: roster, capability: 'reviewer', excluded: [employee.id] });
      if (reviewer) {
        let opinion: ReviewOpinion | 'stopped' | null = null;
        try {
          opinion = await underBudget(() =>
            roles.employee(reviewer.provider, 120_000, `${reviewer.id} reviews ${task.id}`).reviewOutput({
              runId,
              taskId,
              employeeId: reviewer.id,
              authorId: employee.id,
              task,
              modelRunId: modelRunId!,
              budget,
            }),
          );
        } catch {
          opinion = null; // no opinion is not a finding; the rules judge either way
        }
        if (opinion === 'stopped') return stopped('the Director');
        review = opinion;
      }
    }

    // 4. The Auditor judges.
    const verdict = await roles.auditor(`audit ${task.id} by ${employee.id}`).auditAttempt({
      runId,
      taskId,
      employeeId: employee.id,
      modelRunId,
      task,
      verification,
      employeeFailure,
      baseTaskIds: input.baseTaskIds,
      review,
    });
    const summary: AttemptSummary = {
      attempt: attemptNo,
      employeeId: employee.id,
      modelRunId,
      clean: verdict.clean,
      violations: verdict.violations.map((v) => ({ type: v.type, message: v.message })),
      hrActions: [],
      score: null,
    };
    attempts.push(summary);

    if (verdict.clean) {
      const score = await roles.accountant(`score ${employee.id}`).scoreAttempt({
        runId,
        taskId,
        taskKey: task.id,
        employeeId: employee.id,
        capability: task.capability,
        accepted: true,
        violations: [],
        verdictId: verdict.verdictId,
        modelRunId,
        timeLimitMs: task.timeLimitMs,
      });
      summary.score = score.score;
      return finish(
        { taskKey: task.id, status: 'accepted', acceptedBy: employee.id, acceptedModelRunId: modelRunId, overriddenBy: null, attempts },
        `accepted from ${employee.id} on attempt ${attemptNo}`,
      );
    }

    // 5. Violations: HR acts, the Accountant penalises, the task goes to someone else.
    const hrResult = await roles.hr(`HR on ${employee.id}`).applyPolicy({
      runId,
      taskId,
      taskKey: task.id,
      employeeId: employee.id,
      verdictId: verdict.verdictId,
      violations: verdict.violations,
    });
    summary.hrActions = hrResult.actions;
    const score = await roles.accountant(`penalise ${employee.id}`).scoreAttempt({
      runId,
      taskId,
      taskKey: task.id,
      employeeId: employee.id,
      capability: task.capability,
      accepted: false,
      violations: verdict.violations.map((v) => v.type),
      verdictId: verdict.verdictId,
      modelRunId,
      timeLimitMs: task.timeLimitMs,
    });
    summary.score = score.score;
    failedBy.push(employee.id);
    progress.reassignments += 1;
    await roles.ledger('reassign').recordEvent({
      runId,
      taskId,
      action: 'task.reassigning',
      severity: 'warning',
      description: `task ${task.id}: ${employee.id} failed (${verdict.violations.map((v) => v.type).join(', ')}); reassigning`,
      details: { failedBy: [...failedBy], hrActions: hrResult.actions, score: score.score },
    });
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

function failureType(err: unknown): string | undefined {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.type ?? undefined : undefined;
}

function isTimeout(err: unknown): boolean {
  return (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) || failureType(err) === FailureType.EmployeeTimeout;
}

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure) return err.cause?.message ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
