/**
 * prdRun — the Manager. One run of a PRD:
 *   record start → plan (a planner employee) → plan rules, re-plan with feedback →
 *   the Director's plan gate → the task DAG as taskRun children (bounded parallelism) →
 *   final verification of the whole workspace → report.
 * Deterministic: all I/O is in activities; all decisions use pure rules from governance/.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  condition,
  getExternalWorkflowHandle,
  patched,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { FailureType } from '../governance/failures.js';
import type { Plan } from '../governance/schemas.js';
import { describeBrokenRules, validatePlan } from '../governance/plan-rules.js';
import { chooseEmployee } from '../governance/routing.js';
import { readyTasks, topologicalOrder, type DagNode } from '../governance/dag.js';
import type { BudgetDecision, PrdRunInput, RunBudget, RunProgress, RunReport, RunStatus, RunUsage, TaskRunResult } from '../governance/types.js';
import {
  QUEUES,
  SEARCH_ATTRIBUTES,
  approvePlanSignal,
  budgetDecisionSignal,
  budgetExhaustedSignal,
  budgetUpdateSignal,
  rejectPlanSignal,
  replanSignal,
  statusQuery,
  taskProgressSignal,
  taskWorkflowId,
} from './definitions.js';
import * as roles from './activity-proxies.js';
import { taskRun } from './task-run.js';

export const RUN_DEFAULTS = { maxParallel: 2, maxReplans: 2, maxTasks: 20 } as const;

type GateAnswer = { kind: 'approve'; by: string; reason: string } | { kind: 'reject'; by: string; reason: string } | { kind: 'replan'; by: string; reason: string };

export async function prdRun(input: PrdRunInput): Promise<RunReport> {
  const info = workflowInfo();
  const runId = input.runId ?? uuid4();
  const options = { ...RUN_DEFAULTS, autoApprove: false, ...(input.options ?? {}) };
  const director = options.director ?? 'director';

  const state: RunProgress = {
    runId,
    project: input.project,
    status: 'planning',
    planAttempts: 0,
    planErrors: [],
    plan: null,
    tasks: [],
    escalations: [],
    ignoredSignals: [],
    reason: null,
    report: null,
  };
  let gate: GateAnswer | null = null;
  let budget: RunBudget | null = options.budget ?? null;
  /** Task workflows still running: each hears the Director's budget decision. */
  const activeTasks = new Set<string>();
  let statusBeforePause: RunStatus | null = null;
  let budgetAnswer: BudgetDecision | null = null;
  let stopped: { by: string; reason: string } | null = null;
  // Set by a signal handler: read through this, so TypeScript does not narrow it to null.
  const stopOrder = () => stopped as { by: string; reason: string } | null;

  setHandler(statusQuery, () => state);
  // A signal that does not fit the run's state is kept visible, never silently dropped.
  setHandler(approvePlanSignal, ({ by, reason }) => {
    if (state.status === 'awaiting_approval' && !gate) gate = { kind: 'approve', by: by || 'director', reason: reason ?? '' };
    else state.ignoredSignals.push(`approvePlan from ${by} ignored: run is ${state.status}`);
  });
  setHandler(rejectPlanSignal, ({ by, reason }) => {
    if (!reason?.trim()) state.ignoredSignals.push(`rejectPlan from ${by} ignored: a reason is required`);
    else if ((state.status === 'awaiting_approval' || state.status === 'plan_escalated') && !gate) gate = { kind: 'reject', by: by || 'director', reason };
    else state.ignoredSignals.push(`rejectPlan from ${by} ignored: run is ${state.status}`);
  });
  setHandler(replanSignal, ({ by, reason }) => {
    if (state.status === 'plan_escalated' && !gate) gate = { kind: 'replan', by: by || 'director', reason: reason ?? '' };
    else state.ignoredSignals.push(`replan from ${by} ignored: run is ${state.status}`);
  });
  setHandler(budgetExhaustedSignal, async ({ taskKey, message }) => {
    const stop = stopOrder();
    if (stop) {
      // Already stopped: a task that reaches the budget afterwards is told at once.
      await getExternalWorkflowHandle(taskWorkflowId(info.workflowId, taskKey)).signal(budgetUpdateSignal, { stop });
      return;
    }
    await pauseForBudget(`task ${taskKey}: ${message}`);
  });
  setHandler(budgetDecisionSignal, async (d) => {
    if (state.status !== 'budget_paused' || budgetAnswer) {
      state.ignoredSignals.push(`budgetDecision from ${d.by} ignored: run is ${state.status}`);
      return;
    }
    if (!d.reason?.trim() || (d.kind === 'raise' && !(d.budget?.maxTokens > 0 && d.budget?.maxCostUsd >= 0))) {
      state.ignoredSignals.push(`budgetDecision from ${d.by} ignored: it needs a reason${d.kind === 'raise' ? ' and a valid budget' : ''}`);
      return;
    }
    budgetAnswer = d;
    await roles.ledger(`Director budget ${d.kind}`).recordDirectorAction({
      runId,
      director: d.by,
      action: d.kind === 'raise' ? 'raise_budget' : 'stop_run',
      targetId: runId,
      reason: d.reason,
      details: d.kind === 'raise' ? { budget: d.budget, previous: budget } : {},
    });
    if (d.kind === 'raise') budget = d.budget;
    else stopped = { by: d.by, reason: d.reason };
    // Tell every running task, waiting or not (one still in a call holds the old budget), then
    // resume (or wind down).
    for (const key of [...activeTasks]) {
      await getExternalWorkflowHandle(taskWorkflowId(info.workflowId, key)).signal(
        budgetUpdateSignal,
        d.kind === 'raise' ? { budget: d.budget } : { stop: { by: d.by, reason: d.reason } },
      );
    }
    if (d.kind === 'raise') {
      state.budget = budget;
      state.escalations = state.escalations.filter((e) => !e.startsWith('budget: '));
      await setStatus(statusBeforePause ?? 'running');
      statusBeforePause = null;
    }
    budgetAnswer = null;
  });
  setHandler(taskProgressSignal, (p) => {
    const i = state.tasks.findIndex((t) => t.key === p.key);
    const { escalation, ...task } = p;
    if (i >= 0) state.tasks[i] = task;
    state.escalations = state.escalations.filter((e) => !e.startsWith(`${p.key}: `));
    if (escalation) state.escalations.push(`${p.key}: ${escalation}`);
  });

  const setStatus = async (status: RunStatus, reason: string | null = null, report?: RunReport) => {
    state.status = status;
    state.reason = reason;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.runStatus, value: status }]);
    await roles.ledger(`run ${status}`).recordRunStatus({ runId, status, reason, report });
  };
  const finishEarly = async (status: RunStatus, reason: string): Promise<RunReport> => {
    const report = buildReport(state, status, reason, [], null, null, await usageNow(), budget);
    state.report = report;
    await setStatus(status, reason, report);
    return report;
  };
  /** Tokens and cost so far, from the record (runs recorded before this existed: none). */
  const usageNow = async (): Promise<RunUsage | null> => (patched('run-usage') ? roles.ledger('usage').runUsage({ runId }) : null);
  async function pauseForBudget(why: string): Promise<void> {
    if (state.status === 'budget_paused') return;
    statusBeforePause = state.status;
    state.escalations.push(`budget: ${why}`);
    await roles.ledger('budget reached').recordEvent({ runId, action: 'run.budget_reached', severity: 'critical', description: `run paused for the Director: ${why}` });
    await setStatus('budget_paused', why);
  }

  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.runStatus, value: 'planning' },
    { key: SEARCH_ATTRIBUTES.project, value: input.project },
    { key: SEARCH_ATTRIBUTES.runId, value: runId },
  ]);
  const runStart = await roles.ledger('record run start').recordRunStarted({ runId, project: input.project, prd: input.prd, options });
  budget ??= runStart?.defaultBudget ?? null;
  state.budget = budget;

  // ---- Planning, with the plan rules as the judge and bounded re-planning ----
  let plan: Plan | null = null;
  let planner = '';
  while (!plan) {
    const roster = await roles.accountant('roster for planning').employeeRoster();
    const chosen = chooseEmployee({ employees: roster, capability: 'planner', excluded: [] });
    if (!chosen) return finishEarly('failed', 'no active employee with the planner capability');
    planner = chosen.id;
    // Employee ids and model names; provider names are ordinary words ("scripted") and stay allowed.
    const modelNames = roster.flatMap((e) => [e.id, e.model]);
    let feedback: string[] = [];
    for (let round = 1; round <= options.maxReplans + 1 && !plan; round++) {
      state.planAttempts += 1;
      let answer;
      for (;;) {
        try {
          answer = await roles.employee(chosen.provider, 300_000, `${chosen.id} plans (round ${round})`).planWithEmployee({
            runId,
            employeeId: chosen.id,
            prd: input.prd,
            feedback,
            round: state.planAttempts,
            budget,
          });
          break;
        } catch (err) {
          if (!(err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FailureType.BudgetExceeded)) throw err;
          await pauseForBudget(`planning: ${err.cause.message}`);
          await condition(() => state.status !== 'budget_paused' || stopped !== null);
          const stop = stopOrder();
          if (stop) return finishEarly('cancelled', `stopped by ${stop.by} on budget: ${stop.reason}`);
        }
      }
      const validation = answer.parseError
        ? { ok: false as const, broken: [{ rule: 'schema', message: answer.parseError }] }
        : validatePlan(answer.plan, { maxTasks: options.maxTasks, modelNames });
      if (validation.ok) {
        plan = validation.plan;
      } else {
        feedback = describeBrokenRules(validation.broken);
        state.planErrors = feedback;
        await roles.ledger('plan broke the rules').recordEvent({
          runId,
          action: 'plan.rejected_by_rules',
          severity: 'warning',
          description: `plan round ${state.planAttempts} by ${chosen.id} broke ${feedback.length} rule(s)`,
          details: { feedback, modelRunId: answer.modelRunId },
        });
      }
    }
    if (plan) break;

    // Out of rounds: the Director decides whether the planner gets more, or the run ends.
    await setStatus('plan_escalated', `the plan still breaks ${feedback.length} rule(s) after ${options.maxReplans + 1} rounds`);
    await condition(() => gate !== null);
    const answer: GateAnswer = gate!;
    gate = null;
    await roles.ledger(`Director ${answer.kind}`).recordDirectorAction({ runId, director: answer.by, action: answer.kind === 'replan' ? 'replan' : 'reject_plan', targetId: runId, reason: answer.reason });
    if (answer.kind === 'reject') return finishEarly('rejected', answer.reason);
    await setStatus('planning');
  }

  const taskIds = new Map(plan.tasks.map((t) => [t.id, uuid4()] as const));
  state.plan = plan;
  state.tasks = plan.tasks.map((t) => ({ key: t.id, title: t.title, status: 'pending', assignedTo: null, attempts: 0, reassignments: 0 }));
  await roles.ledger('record plan').recordPlan({
    runId,
    plan,
    planner,
    tasks: plan.tasks.map((t) => ({ id: taskIds.get(t.id)!, key: t.id, title: t.title, spec: t, workflowId: taskWorkflowId(info.workflowId, t.id) })),
  });

  // ---- The Director's plan gate ----
  if (options.autoApprove) {
    await roles.ledger('auto-approved').recordDirectorAction({ runId, director, action: 'approve_plan', targetId: runId, reason: 'auto-approval chosen when the run was started' });
  } else {
    await setStatus('awaiting_approval');
    await condition(() => gate !== null);
    const answer: GateAnswer = gate!;
    await roles.ledger(`Director ${answer.kind}`).recordDirectorAction({
      runId,
      director: answer.by,
      action: answer.kind === 'approve' ? 'approve_plan' : 'reject_plan',
      targetId: runId,
      reason: answer.reason,
    });
    if (answer.kind === 'reject') return finishEarly('rejected', answer.reason);
  }
  await setStatus('running');

  // ---- The task DAG: children whose dependencies are accepted, at most maxParallel at once ----
  const nodes: DagNode[] = plan.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn }));
  const order = topologicalOrder(nodes);
  const results = new Map<string, TaskRunResult>();
  const accepted = new Set<string>();
  const started = new Set<string>();
  const inFlight = new Map<string, Promise<void>>();

  const launch = async (key: string) => {
    const task = plan!.tasks.find((t) => t.id === key)!;
    const deps = transitiveDependencies(nodes, key);
    started.add(key);
    activeTasks.add(key);
    const handle = await startChild(taskRun, {
      workflowId: taskWorkflowId(info.workflowId, key),
      taskQueue: QUEUES.manager,
      args: [{ runId, taskId: taskIds.get(key)!, task, baseTaskIds: order.filter((k) => deps.has(k)).map((k) => taskIds.get(k)!), budget }],
      staticSummary: `Task ${key}: ${task.title}`,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.project, value: input.project },
        { key: SEARCH_ATTRIBUTES.runId, value: runId },
        { key: SEARCH_ATTRIBUTES.runStatus, value: 'running' },
      ],
    });
    inFlight.set(
      key,
      handle.result().then(
        (r) => {
          results.set(key, r);
          if (r.status === 'accepted') accepted.add(key);
          inFlight.delete(key);
          activeTasks.delete(key);
        },
        (err: unknown) => {
          results.set(key, { taskKey: key, status: 'failed', acceptedBy: null, acceptedModelRunId: null, overriddenBy: null, attempts: [] });
          state.escalations.push(`${key}: task workflow failed: ${err instanceof Error ? err.message : String(err)}`);
          inFlight.delete(key);
          activeTasks.delete(key);
        },
      ),
    );
  };

  for (;;) {
    // No new work while the Director decides on the budget, and none after a stop.
    if (state.status === 'budget_paused' && inFlight.size === 0) await condition(() => state.status !== 'budget_paused' || stopped !== null);
    for (const key of readyTasks(nodes, accepted, started)) {
      if (inFlight.size >= options.maxParallel || stopped || state.status === 'budget_paused') break;
      await launch(key);
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight.values());
  }

  const taskResults = plan.tasks.map(
    (t) => results.get(t.id) ?? { taskKey: t.id, status: 'cancelled' as const, acceptedBy: null, acceptedModelRunId: null, overriddenBy: null, attempts: [] },
  );
  if (accepted.size < plan.tasks.length) {
    const missing = plan.tasks.filter((t) => !accepted.has(t.id)).map((t) => t.id);
    const stop = stopOrder();
    const [status, reason]: [RunStatus, string] = stop
      ? ['cancelled', `stopped by ${stop.by} on budget: ${stop.reason}; tasks not accepted: ${missing.join(', ')}`]
      : ['failed', `tasks not accepted: ${missing.join(', ')}`];
    const report = buildReport(state, status, reason, taskResults, null, null, await usageNow(), budget);
    state.report = report;
    await setStatus(status, report.reason, report);
    return report;
  }

  // ---- Final verification of the whole workspace, then the report ----
  await setStatus('verifying');
  const orderedTaskIds = order.map((k) => taskIds.get(k)!);
  const box = roles.sandbox(plan.verification.timeoutMs, 'final verification');
  const verification = await box.verifyWorkspace({ runId, taskIds: orderedTaskIds, command: plan.verification.command, timeoutMs: plan.verification.timeoutMs });
  const exported = await box.exportWorkspace({ runId, taskIds: orderedTaskIds });
  const finalStatus: RunStatus = verification.passed ? 'completed' : 'failed';
  const report = buildReport(
    state,
    finalStatus,
    verification.passed ? null : `final verification failed (exit ${verification.exitCode})`,
    taskResults,
    { command: plan.verification.command, passed: verification.passed, exitCode: verification.exitCode, excerpt: verification.excerpt.slice(-1_000) },
    exported.dir,
    await usageNow(),
    budget,
  );
  state.report = report;
  await setStatus(finalStatus, report.reason, report);
  return report;
}

function buildReport(
  state: RunProgress,
  status: RunStatus,
  reason: string | null,
  tasks: TaskRunResult[],
  verification: RunReport['verification'],
  workspaceDir: string | null,
  usage: RunUsage | null = null,
  budget: RunBudget | null = null,
): RunReport {
  return {
    ...(usage ? { usage } : {}),
    ...(budget ? { budget } : {}),
    runId: state.runId,
    project: state.project,
    status,
    reason,
    tasks,
    reassignments: tasks.reduce((n, t) => n + Math.max(0, t.attempts.length - 1), 0),
    incidents: tasks.reduce((n, t) => n + t.attempts.reduce((m, a) => m + new Set(a.violations.map((v) => v.type)).size, 0), 0),
    verification,
    workspaceDir,
  };
}

function transitiveDependencies(nodes: DagNode[], key: string): Set<string> {
  const seen = new Set<string>();
  const visit = (k: string) => {
    for (const d of nodes.find((n) => n.id === k)?.dependsOn ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
    }
  };
  visit(key);
  return seen;
}
