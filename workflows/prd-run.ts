/**
 * prdRun — the Manager. One run of a PRD:
 *   record start → plan (a planner employee, routed around when it cannot answer) → plan
 *   rules, re-plan with feedback → the Director's plan gate → the task DAG as taskRun children
 *   (bounded parallelism) → final verification of the whole workspace, repaired by a task of
 *   the Manager's when it fails, else escalated to the Director → report.
 * Deterministic: all I/O is in activities; all decisions use pure rules from governance/.
 * The state lives in a PrdRunWorkflow; each phase is a method.
 */
import {
  CancellationScope,
  ParentClosePolicy,
  TemporalFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { Plan, TaskSpec } from '../governance/schemas.js';
import { describeBrokenRules, validatePlan } from '../governance/plan-rules.js';
import { chooseEmployee } from '../governance/routing.js';
import { dependenciesOf, readyTasks, topologicalOrder, type DagNode } from '../governance/dag.js';
import { DEFAULT_MAX_REPAIR_ROUNDS, DEFAULT_MAX_VERIFICATION_REPAIRS, tailOf, verificationRepairTask } from '../governance/repair.js';
import type { VerificationResult } from '../governance/audit-rules.js';
import type {
  Attribution,
  BudgetDecision,
  EmployeeSnapshot,
  PrdRunInput,
  RunBudget,
  RunProgress,
  RunReport,
  RunStatus,
  RunUsage,
  TaskRunInput,
  TaskRunResult,
  VerificationDecision,
} from '../governance/types.js';
import {
  DESCRIPTIONS,
  QUEUES,
  SEARCH_ATTRIBUTES,
  WAITING_FOR_DIRECTOR,
  RUN_COMMAND_SIGNALS,
  RUN_COMMAND_UPDATES,
  budgetExhaustedSignal,
  budgetUpdateSignal,
  runControlSignal,
  statusQuery,
  taskProgressSignal,
  taskWorkflowId,
  verificationDecisionSignal,
  verificationDecisionUpdate,
  type CommandAnswer,
} from './definitions.js';
import { FINAL_RUN_STATUSES, refuseCommand, runCommandOf, type RunCommand, type RunView } from '../governance/director-commands.js';

type RunCommandMessage = keyof typeof RUN_COMMAND_UPDATES;
type AnyArg = { by: string; reason?: string };
/** What a Director command does to the run: as a signal (absent: it has none), and as an Update (its answer's message). */
type RunCommandEffects = {
  [M in RunCommandMessage]: (typeof RUN_COMMAND_UPDATES)[M] extends UpdateDefinition<CommandAnswer, [infer A]>
    ? { signal?: (a: A) => unknown; update: (a: A) => Promise<string> }
    : never;
};
import { runDetails } from './details.js';
import * as roles from './activity-proxies.js';
import { taskRun } from './task-run.js';
import { chargeReviewer } from './reviewers.js';
import { failureMessage, isRouteAround, isTimeout, underBudget } from './failures.js';
import { TIME_LIMITS } from '../governance/time-limits.js';
import { refusedWhenApplied } from './director-identity.js';

export const RUN_DEFAULTS = {
  maxParallel: 2,
  maxReplans: 2,
  maxTasks: 20,
  maxRepairRounds: DEFAULT_MAX_REPAIR_ROUNDS,
  maxVerificationRepairs: DEFAULT_MAX_VERIFICATION_REPAIRS,
  planTimeLimitMs: TIME_LIMITS.planMs,
} as const;

type GateAnswer = Attribution & { kind: 'approve' | 'reject' | 'replan' };
/** A phase that ended the run hands back the report. */
type Finished = { finished: RunReport };
/** The run's options with every default filled in (recorded as such at the start). */
function resolveOptions(input: PrdRunInput) {
  return { ...RUN_DEFAULTS, autoApprove: false, ...(input.options ?? {}) };
}
type Options = ReturnType<typeof resolveOptions>;

/** The plan's tasks as this generation runs them. */
interface Schedule {
  plan: Plan;
  nodes: DagNode[];
  order: string[];
  taskIds: Map<string, string>;
}

export async function prdRun(input: PrdRunInput): Promise<RunReport> {
  return new PrdRunWorkflow(input).run();
}

class PrdRunWorkflow {
  private readonly info = workflowInfo();
  private readonly runId: string;
  private readonly options: Options;
  private readonly state: RunProgress;
  private gate: GateAnswer | null = null;
  /** The open gate's answer has been taken (and is being recorded): the gate is answered. */
  private gateTaken = false;
  private budget: RunBudget | null;
  /** Task workflows still running: each hears the Director's budget decision. */
  private readonly activeTasks = new Set<string>();
  private statusBeforePause: RunStatus | null = null;
  private budgetAnswer: BudgetDecision | null = null;
  private stopped: Attribution | null = null;
  private verificationAnswer: VerificationDecision | null = null;
  /** 1, then 2, 3… each time the Director re-plans after a failed final verification. */
  private generation = 1;
  /** What the planner is told before its first round (after such a re-plan). */
  private planFeedback: string[] = [];
  /** Paused by the Director: running steps finish, nothing new starts. */
  private pausedBy: Attribution | null = null;
  private resumeTo: RunStatus | null = null;
  /** The Director's cancel (null when the cancel came through Temporal itself). */
  private cancelRequest: Attribution | null = null;
  /** Everything the run does; cancelling it cancels the tasks, their model calls and sandboxes. */
  private readonly work = new CancellationScope();
  /** Each task's result as it comes in (for the report of a cancelled run). */
  private readonly taskResults = new Map<string, TaskRunResult>();
  private needsDirector: string | null = null;
  /** Acceptance tests by testers, red before green, reviewers who can say no (older runs: off). */
  private independentTests: boolean | null = null;

  constructor(private readonly input: PrdRunInput) {
    this.runId = input.runId ?? uuid4();
    this.options = resolveOptions(input);
    this.budget = this.options.budget ?? null;
    this.state = {
      runId: this.runId,
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
    this.listen();
  }

  async run(): Promise<RunReport> {
    try {
      return await this.work.run(() => this.execute());
    } catch (err) {
      // Cancelled (by the Director's command, or a cancel request through Temporal): wound down
      // and recorded, never left half-open.
      if (isCancellation(err) && this.work.consideredCancelled && patched('director-cancel'))
        return CancellationScope.nonCancellable(() => this.cancelled());
      // A failure nobody routed around still ends the run on the record, never stuck mid-phase.
      if (!(err instanceof TemporalFailure) || isCancellation(err) || !patched('run-failure-recorded')) throw err;
      return this.finishEarly('failed', `the run stopped on an unexpected failure: ${failureMessage(err)}`);
    }
  }

  private async execute(): Promise<RunReport> {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.runStatus, value: 'planning' },
      { key: SEARCH_ATTRIBUTES.project, value: this.input.project },
      { key: SEARCH_ATTRIBUTES.runId, value: this.runId },
    ]);
    const runStart = await roles
      .ledger('record run start')
      .recordRunStarted({ runId: this.runId, project: this.input.project, prd: this.input.prd, options: this.options });
    this.budget ??= runStart?.defaultBudget ?? null;
    this.state.budget = this.budget;
    if (patched('independent-tests')) this.independentTests = this.options.independentTests ?? runStart?.independentTests ?? true;

    for (;;) {
      const planned = await this.plan();
      if ('finished' in planned) return planned.finished;
      const rejected = await this.planGate(planned);
      if (rejected) return rejected;
      const results = await this.runTasks(planned);
      if ('finished' in results) return results.finished;
      const verified = await this.verify(planned, results.tasks);
      if (verified !== 'replan') return verified;
      this.generation += 1;
      await this.setStatus('planning');
    }
  }

  // ---- Messages: the Director's commands, the tasks' progress ----
  private listen(): void {
    const { state } = this;
    setHandler(statusQuery, () => state, { description: DESCRIPTIONS.status });
    const gate = (kind: GateAnswer['kind']) => (a: { by: string; reason?: string }) => {
      this.gate = { kind, by: a.by || 'director', reason: a.reason ?? '' };
    };
    // Each Director command's effect on the run: as a signal (runs started before Updates; tools
    // that can only signal) and as an Update, which answers once it took effect.
    const until = (changed: () => boolean) => condition(() => changed() || FINAL_RUN_STATUSES.includes(state.status));
    // An answer once the run has left the state it was in (`from`; absent: its state when the command came).
    const leaving =
      <A>(apply: (a: A) => unknown, message: (a: A) => string, from?: RunStatus) =>
      async (a: A) => {
        const before = from ?? state.status;
        apply(a);
        await until(() => state.status !== before);
        return message(a);
      };
    // An answer once the effect is done.
    const done =
      <A>(apply: (a: A) => Promise<unknown>, message: (a: A) => string) =>
      async (a: A) => {
        await apply(a);
        return message(a);
      };
    const effects: RunCommandEffects = {
      approvePlan: { signal: gate('approve'), update: leaving(gate('approve'), () => 'plan approved', 'awaiting_approval') },
      rejectPlan: { signal: gate('reject'), update: leaving(gate('reject'), () => 'plan rejected') },
      replan: { signal: gate('replan'), update: leaving(gate('replan'), () => 'the planner gets more rounds', 'plan_escalated') },
      verificationDecision: {
        signal: (d) => (this.verificationAnswer = d),
        update: leaving(
          (d) => (this.verificationAnswer = d),
          (d) => `failed verification: ${d.kind}`,
          'verification_escalated',
        ),
      },
      budgetDecision: {
        signal: (d) => this.decideBudget(d),
        update: done(
          (d) => this.decideBudget(d),
          (d) =>
            d.kind === 'raise'
              ? `budget raised to ${d.budget.maxTokens} tokens, $${d.budget.maxCostUsd}`
              : 'the run stops: its tasks wind down',
        ),
      },
      pause: {
        signal: (a) => this.pause(a),
        update: done(
          (a) => this.pause(a),
          () => 'paused: running steps finish, nothing new starts',
        ),
      },
      resume: {
        signal: (a) => this.resume(a),
        update: done(
          (a) => this.resume(a),
          () => 'resumed',
        ),
      },
      cancel: {
        update: done(
          (a) => this.cancel(a),
          () => 'cancelling: model calls and sandboxes stop, then the run ends cancelled',
        ),
      },
    };
    const messages = Object.keys(RUN_COMMAND_UPDATES) as RunCommandMessage[];
    // Signals first, then Updates, each in the table's order. A signal that does not fit the
    // run's state is kept visible in ignoredSignals, never silently dropped; an Update that does
    // not is refused to its caller.
    for (const m of messages) {
      const signal = (RUN_COMMAND_SIGNALS as Partial<Record<RunCommandMessage, SignalDefinition<[AnyArg]>>>)[m];
      const apply = effects[m].signal as ((a: AnyArg) => unknown) | undefined;
      if (signal && apply) this.onSignal(signal, (a) => runCommandOf(m, a), apply);
    }
    for (const m of messages) {
      const update = RUN_COMMAND_UPDATES[m] as unknown as UpdateDefinition<CommandAnswer, [AnyArg]>;
      this.onUpdate(update, (a) => runCommandOf(m, a), effects[m].update as (a: AnyArg) => Promise<string>);
    }

    // Task → run plumbing (internal; described as such in the Web UI).
    setHandler(
      budgetExhaustedSignal,
      async ({ taskKey, message }) => {
        if (this.stopped) {
          // Already stopped: a task that reaches the budget afterwards is told at once.
          await this.taskHandle(taskKey).signal(budgetUpdateSignal, { stop: this.stopped });
          return;
        }
        await this.pauseForBudget(`task ${taskKey}: ${message}`);
      },
      { description: DESCRIPTIONS.budgetExhausted },
    );
    setHandler(
      taskProgressSignal,
      (p) => {
        const i = state.tasks.findIndex((t) => t.key === p.key);
        const { escalation, ...task } = p;
        if (i >= 0) state.tasks[i] = { ...state.tasks[i], ...task };
        state.escalations = state.escalations.filter((e) => !e.startsWith(`${p.key}: `));
        if (escalation) state.escalations.push(`${p.key}: ${escalation}`);
        this.showState();
      },
      { description: DESCRIPTIONS.taskProgress },
    );
  }

  private view(): RunView {
    return {
      status: this.state.status,
      gateAnswered: this.gate !== null || this.gateTaken,
      verificationAnswered: this.verificationAnswer !== null,
      budgetAnswered: this.budgetAnswer !== null,
      cancelling: this.cancelRequest !== null,
    };
  }

  private onSignal<A extends { by: string }>(def: SignalDefinition<[A]>, command: (a: A) => RunCommand, apply: (a: A) => unknown): void {
    setHandler(
      def,
      async (a: A) => {
        const refused = refuseCommand(command(a), this.view());
        if (refused) this.state.ignoredSignals.push(`${def.name} from ${a?.by} ignored: ${refused}`);
        else await apply(a);
      },
      { description: DESCRIPTIONS[def.name as keyof typeof DESCRIPTIONS] },
    );
  }

  private onUpdate<A extends { by: string }>(
    def: UpdateDefinition<CommandAnswer, [A]>,
    command: (a: A) => RunCommand,
    apply: (a: A) => Promise<string>,
  ): void {
    setHandler(
      def,
      async (a: A) => {
        // Checked again as it takes effect: an earlier command may have changed the run meanwhile
        // (the identity check comes between; workflows/director-identity.ts).
        const refused = refuseCommand(command(a), this.view());
        if (refused) throw refusedWhenApplied(refused);
        const message = await apply(a);
        return { command: def.name, status: this.state.status, message };
      },
      {
        description: DESCRIPTIONS[def.name as keyof typeof DESCRIPTIONS],
        validator: (a: A) => {
          if (!a || typeof a !== 'object' || !a.by?.trim()) throw new Error('who gives the command? "by" is required');
          const refused = refuseCommand(command(a), this.view());
          if (refused) throw new Error(refused);
        },
      },
    );
  }

  // ---- The Director's hand on the whole run: pause, resume, cancel ----
  private async pause(a: Attribution): Promise<void> {
    this.pausedBy = a;
    this.resumeTo = this.state.status;
    // The status, the Director's action and the word to the tasks go out together: the
    // Director's answer waits for one round trip, not three.
    await Promise.all([
      this.setStatus('paused', `paused by ${a.by}: ${a.reason}`),
      roles.ledger('Director pause').recordDirectorAction({
        runId: this.runId,
        director: a.by,
        action: 'pause_run',
        targetId: this.runId,
        reason: a.reason,
        details: { was: this.resumeTo },
      }),
      this.tellTasks({ paused: true }),
    ]);
  }

  private async resume(a: Attribution): Promise<void> {
    const to = this.resumeTo ?? 'running';
    this.pausedBy = null;
    this.resumeTo = null;
    await Promise.all([
      this.setStatus(to),
      roles.ledger('Director resume').recordDirectorAction({
        runId: this.runId,
        director: a.by,
        action: 'resume_run',
        targetId: this.runId,
        reason: a.reason,
        details: { to },
      }),
      this.tellTasks({ paused: false }),
    ]);
  }

  private async cancel(a: Attribution): Promise<void> {
    this.cancelRequest = a;
    await roles.ledger('Director cancel').recordDirectorAction({
      runId: this.runId,
      director: a.by,
      action: 'cancel_run',
      targetId: this.runId,
      reason: a.reason,
      details: { was: this.state.status },
    });
    this.work.cancel();
  }

  /** Nothing new starts while the Director has the run paused. */
  private async whilePaused(): Promise<void> {
    if (this.pausedBy) await condition(() => this.pausedBy === null);
  }

  private async tellTasks(control: { paused: boolean }): Promise<void> {
    // A task that finished meanwhile has nothing to hear.
    await Promise.all(
      [...this.activeTasks].map((key) =>
        this.taskHandle(key)
          .signal(runControlSignal, control)
          .catch(() => undefined),
      ),
    );
  }

  /** The run was cancelled: its tasks wind down (their calls and sandboxes cancelled), every task closes, the run ends cancelled. */
  private async cancelled(): Promise<RunReport> {
    const a = this.cancelRequest;
    if (!a) {
      await roles.ledger('cancel requested').recordEvent({
        runId: this.runId,
        action: 'run.cancel_requested',
        severity: 'critical',
        description:
          'cancellation requested through Temporal (Web UI, temporal CLI or API), not by an Aura command: no Director name or reason was given',
      });
    }
    const reason = a ? `cancelled by ${a.by}: ${a.reason}` : 'cancelled through a Temporal cancellation request (no Director command)';
    await condition(() => this.activeTasks.size === 0, '10 minutes');
    await roles.ledger('close open tasks').closeOpenTasks({ runId: this.runId, reason });
    const tasks = (this.state.plan?.tasks ?? []).map(
      (t) => this.taskResults.get(t.id) ?? { ...emptyResult(t.id), status: 'cancelled' as const },
    );
    return this.finish('cancelled', reason, tasks, null, null);
  }

  /** Checked by the command rules before it is called. */
  private async decideBudget(d: BudgetDecision): Promise<void> {
    const { state } = this;
    this.budgetAnswer = d;
    await roles.ledger(`Director budget ${d.kind}`).recordDirectorAction({
      runId: this.runId,
      director: d.by,
      action: d.kind === 'raise' ? 'raise_budget' : 'stop_run',
      targetId: this.runId,
      reason: d.reason,
      details: d.kind === 'raise' ? { budget: d.budget, previous: this.budget } : {},
    });
    if (d.kind === 'raise') this.budget = d.budget;
    else this.stopped = { by: d.by, reason: d.reason };
    // Tell every running task, waiting or not (one still in a call holds the old budget), then
    // resume (or wind down).
    for (const key of [...this.activeTasks]) {
      await this.taskHandle(key)
        .signal(budgetUpdateSignal, d.kind === 'raise' ? { budget: d.budget } : { stop: { by: d.by, reason: d.reason } })
        .catch((err: unknown) => {
          // A task that ended meanwhile (its result not yet seen here) has nothing to hear; the
          // decision must not fail half-applied for it.
          if (!patched('budget-signal-ended-task')) throw err;
        });
    }
    if (d.kind === 'raise') {
      state.budget = this.budget;
      state.escalations = state.escalations.filter((e) => !e.startsWith('budget: '));
      await this.setStatus(this.statusBeforePause ?? 'running');
      this.statusBeforePause = null;
    }
    this.budgetAnswer = null;
  }

  private async pauseForBudget(why: string): Promise<void> {
    if (this.state.status === 'budget_paused') return;
    this.statusBeforePause = this.state.status;
    this.state.escalations.push(`budget: ${why}`);
    await roles.ledger('budget reached').recordEvent({
      runId: this.runId,
      action: 'run.budget_reached',
      severity: 'critical',
      description: `run paused for the Director: ${why}`,
    });
    await this.setStatus('budget_paused', why);
  }

  // ---- Phase: a plan that passes the rules, from a planner that can answer ----
  private async plan(): Promise<Schedule | Finished> {
    const unavailable: string[] = [];
    for (;;) {
      if (patched('hr-ends-suspensions')) await roles.hr('end expired suspensions').endExpiredSuspensions();
      const roster = await roles.accountant('roster for planning').employeeRoster();
      const planner = chooseEmployee({ employees: roster, capability: 'planner', excluded: unavailable });
      if (!planner) {
        const reason =
          unavailable.length > 0
            ? `no planner left: ${unavailable.join(', ')} could not plan`
            : 'no active employee with the planner capability';
        return { finished: await this.finishEarly('failed', reason) };
      }
      // Employee ids and model names; provider names are ordinary words ("scripted") and stay allowed.
      const modelNames = roster.flatMap((e) => [e.id, e.model]);
      let feedback = [...this.planFeedback];
      let routedAround = false;
      for (let round = 1; round <= this.options.maxReplans + 1 && !routedAround; round++) {
        await this.whilePaused();
        this.state.planAttempts += 1;
        const answer = await this.askPlanner(planner, feedback, round);
        if (answer === 'stopped')
          return { finished: await this.finishEarly('cancelled', `stopped by ${this.stopped!.by} on budget: ${this.stopped!.reason}`) };
        if (answer === 'unavailable') {
          unavailable.push(planner.id);
          routedAround = true;
          continue;
        }
        const validation = answer.parseError
          ? { ok: false as const, broken: [{ rule: 'schema', message: answer.parseError }] }
          : validatePlan(answer.plan, { maxTasks: this.options.maxTasks, modelNames, independentTests: this.independentTests === true });
        if (validation.ok) return this.recordPlan(validation.plan, planner.id);
        feedback = describeBrokenRules(validation.broken);
        this.state.planErrors = feedback;
        await roles.ledger('plan broke the rules').recordEvent({
          runId: this.runId,
          action: 'plan.rejected_by_rules',
          severity: 'warning',
          description: `plan round ${this.state.planAttempts} by ${planner.id} broke ${feedback.length} rule(s)`,
          details: { feedback, modelRunId: answer.modelRunId },
        });
      }
      if (routedAround) continue;

      // Out of rounds: the Director decides whether the planner gets more, or the run ends.
      this.gateTaken = false;
      await this.setStatus(
        'plan_escalated',
        `the plan still breaks ${feedback.length} rule(s) after ${this.options.maxReplans + 1} rounds`,
      );
      const answer = await this.gateAnswer();
      await roles.ledger(`Director ${answer.kind}`).recordDirectorAction({
        runId: this.runId,
        director: answer.by,
        action: answer.kind === 'replan' ? 'replan' : 'reject_plan',
        targetId: this.runId,
        reason: answer.reason,
      });
      if (answer.kind === 'reject') return { finished: await this.finishEarly('rejected', answer.reason) };
      await this.setStatus('planning');
    }
  }

  /** One planning call under the budget; a planner that cannot answer is routed around. */
  private async askPlanner(planner: EmployeeSnapshot, feedback: string[], round: number) {
    try {
      return await underBudget(
        () =>
          roles.employee(planner.provider, this.options.planTimeLimitMs, `${planner.id} plans (round ${round})`).planWithEmployee({
            runId: this.runId,
            employeeId: planner.id,
            prd: this.input.prd,
            feedback,
            round: this.state.planAttempts,
            budget: this.budget,
            timeLimitMs: this.options.planTimeLimitMs,
          }),
        async (message) => {
          await this.pauseForBudget(`planning: ${message}`);
          await condition(() => this.state.status !== 'budget_paused' || this.stopped !== null);
          return this.stopped ? 'stop' : 'retry';
        },
      );
    } catch (err) {
      if (!isRouteAround(err) && !isTimeout(err)) throw err;
      await roles.ledger('route around planner').recordEvent({
        runId: this.runId,
        action: 'plan.planner_unavailable',
        severity: 'warning',
        description: `${planner.id} could not plan: ${failureMessage(err)}; routing to another planner`,
      });
      return 'unavailable' as const;
    }
  }

  private async recordPlan(plan: Plan, planner: string): Promise<Schedule> {
    const taskIds = new Map(plan.tasks.map((t) => [t.id, uuid4()] as const));
    this.state.plan = plan;
    this.state.tasks = plan.tasks.map((t) => ({
      key: t.id,
      title: t.title,
      status: 'pending',
      assignedTo: null,
      attempts: 0,
      reassignments: 0,
      ...(this.generation > 1 ? { workflowId: this.taskWorkflowId(t.id) } : {}),
    }));
    await roles.ledger('record plan').recordPlan({
      runId: this.runId,
      plan,
      planner,
      tasks: plan.tasks.map((t) => ({
        id: taskIds.get(t.id)!,
        key: t.id,
        title: t.title,
        spec: t,
        workflowId: this.taskWorkflowId(t.id),
        ...(this.generation > 1 ? { generation: this.generation } : {}),
      })),
    });
    const nodes = plan.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn }));
    return { plan, nodes, order: topologicalOrder(nodes), taskIds };
  }

  // ---- Phase: the Director's plan gate ----
  private async planGate(s: Schedule): Promise<RunReport | null> {
    if (this.options.autoApprove) {
      await roles.ledger('auto-approved').recordDirectorAction({
        runId: this.runId,
        director: this.options.director ?? 'director',
        action: 'approve_plan',
        targetId: this.runId,
        reason: 'auto-approval chosen when the run was started',
      });
    } else {
      this.gateTaken = false;
      await this.setStatus('awaiting_approval');
      const answer = await this.gateAnswer();
      await roles.ledger(`Director ${answer.kind}`).recordDirectorAction({
        runId: this.runId,
        director: answer.by,
        action: answer.kind === 'approve' ? 'approve_plan' : 'reject_plan',
        targetId: this.runId,
        reason: answer.reason,
      });
      if (answer.kind === 'reject') return this.finishEarly('rejected', answer.reason);
    }
    await this.setStatus('running');
    return null;
  }

  private async gateAnswer(): Promise<GateAnswer> {
    await condition(() => this.gate !== null);
    const answer = this.gate!;
    this.gate = null;
    // Answered until the next gate opens: a second answer arriving while this one is recorded is
    // refused, never kept to answer a later gate.
    this.gateTaken = true;
    return answer;
  }

  // ---- Phase: the task DAG, children whose dependencies are accepted, at most maxParallel at once ----
  private async runTasks(s: Schedule): Promise<{ tasks: TaskRunResult[] } | Finished> {
    const results = new Map<string, TaskRunResult>();
    const accepted = new Set<string>();
    const started = new Set<string>();
    const inFlight = new Map<string, Promise<void>>();
    const launch = async (key: string) => {
      const task = s.plan.tasks.find((t) => t.id === key)!;
      const deps = dependenciesOf(s.nodes, key);
      started.add(key);
      const overridden = s.order
        .filter((k) => deps.has(k) && results.get(k)?.overriddenBy)
        .map((k) => ({ taskKey: k, scope: s.plan.tasks.find((t) => t.id === k)!.scope, by: results.get(k)!.overriddenBy! }));
      const started_ = await this.startTask(task, s.taskIds.get(key)!, {
        baseTaskIds: s.order.filter((k) => deps.has(k)).map((k) => s.taskIds.get(k)!),
        directTaskIds: task.dependsOn.map((k) => s.taskIds.get(k)!),
        ...(overridden.length > 0 ? { overriddenDependencies: overridden } : {}),
      });
      inFlight.set(
        key,
        started_.result.then((r) => {
          results.set(key, r);
          if (r.status === 'accepted') accepted.add(key);
          this.taskResults.set(key, r);
          inFlight.delete(key);
        }),
      );
    };

    for (;;) {
      // No new work while the Director decides on the budget or has paused the run, and none
      // after a stop.
      if (this.state.status === 'budget_paused' && inFlight.size === 0)
        await condition(() => this.state.status !== 'budget_paused' || this.stopped !== null);
      if (inFlight.size === 0) await this.whilePaused();
      for (const key of readyTasks(s.nodes, accepted, started)) {
        if (inFlight.size >= this.options.maxParallel || this.stopped || this.state.status === 'budget_paused' || this.pausedBy) break;
        await launch(key);
      }
      if (inFlight.size === 0) break;
      // While new work is held (a budget pause, the Director's pause) a resume frees the slots
      // at once: a ready task does not wait for an unrelated running one to end.
      if (this.newWorkHeld() && readyTasks(s.nodes, accepted, started).length > 0 && patched('resume-wakes-scheduler')) {
        await Promise.race([...inFlight.values(), condition(() => !this.newWorkHeld() || this.stopped !== null)]);
      } else {
        await Promise.race(inFlight.values());
      }
    }

    const tasks = s.plan.tasks.map((t) => results.get(t.id) ?? { ...emptyResult(t.id), status: 'cancelled' as const });
    if (accepted.size === s.plan.tasks.length) return { tasks };
    const missing = s.plan.tasks.filter((t) => !accepted.has(t.id)).map((t) => t.id);
    const stop = this.stopped;
    const [status, reason]: [RunStatus, string] = stop
      ? ['cancelled', `stopped by ${stop.by} on budget: ${stop.reason}; tasks not accepted: ${missing.join(', ')}`]
      : ['failed', `tasks not accepted: ${missing.join(', ')}`];
    return { finished: await this.finish(status, reason, tasks, null, null) };
  }

  /** No new task starts: the run waits on its budget, or the Director has paused it. */
  private newWorkHeld(): boolean {
    return this.state.status === 'budget_paused' || this.pausedBy !== null;
  }

  /** Starts a task's workflow; once started, hands back the promise of its result. */
  private async startTask(
    task: TaskSpec,
    taskId: string,
    extra: Pick<TaskRunInput, 'baseTaskIds' | 'directTaskIds' | 'repairsWorkspace' | 'overriddenDependencies'>,
  ): Promise<{ result: Promise<TaskRunResult> }> {
    this.activeTasks.add(task.id);
    const handle = await startChild(taskRun, {
      workflowId: this.taskWorkflowId(task.id),
      taskQueue: QUEUES.manager,
      args: [
        {
          runId: this.runId,
          taskId,
          task,
          budget: this.budget,
          maxRepairRounds: this.options.maxRepairRounds,
          ...extra,
          ...(this.independentTests ? { independentTests: true } : {}),
        },
      ],
      staticSummary: `Task ${task.id}: ${task.title}`,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.project, value: this.input.project },
        { key: SEARCH_ATTRIBUTES.runId, value: this.runId },
        { key: SEARCH_ATTRIBUTES.runStatus, value: 'running' },
      ],
    });
    const result = handle.result().then(
      (r) => {
        this.activeTasks.delete(task.id);
        return r;
      },
      (err: unknown) => {
        this.activeTasks.delete(task.id);
        this.state.escalations.push(`${task.id}: task workflow failed: ${err instanceof Error ? err.message : String(err)}`);
        return { ...emptyResult(task.id), status: 'failed' as const };
      },
    );
    return { result };
  }

  // ---- Phase: the whole workspace's check; repaired, else the Director decides ----
  private async verify(s: Schedule, tasks: TaskRunResult[]): Promise<RunReport | 'replan'> {
    await this.setStatus('verifying');
    let taskIds = s.order.map((k) => s.taskIds.get(k)!);
    const box = roles.sandbox(s.plan.verification.timeoutMs, 'final verification');
    const check = () =>
      box.verifyWorkspace({ runId: this.runId, taskIds, command: s.plan.verification.command, timeoutMs: s.plan.verification.timeoutMs });
    let verification = await check();
    // Reviewers who approved work that the final verification then fails: counted against them.
    if (!verification.passed && this.independentTests && patched('reviewer-scores')) await this.chargeApprovers(s, tasks);
    let override: Attribution | null = null;
    let repairs = 0;
    if (!verification.passed && patched('verification-repair')) {
      while (!verification.passed && repairs < this.options.maxVerificationRepairs) {
        await this.whilePaused();
        repairs += 1;
        const repaired = await this.repairWorkspace(s, repairs, verification, taskIds);
        tasks.push(repaired.result);
        if (repaired.result.status !== 'accepted') break;
        taskIds = [...taskIds, repaired.taskId];
        verification = await check();
      }
      if (!verification.passed) {
        const decision = await this.escalateVerification(s, verification, repairs);
        if (decision.kind === 'replan') return 'replan';
        if (decision.kind === 'stop') {
          const exported = await box.exportWorkspace({ runId: this.runId, taskIds });
          return this.finish(
            'cancelled',
            `stopped by ${decision.by} after the final verification failed: ${decision.reason}`,
            tasks,
            this.verificationOf(s, verification),
            exported.dir,
            repairs,
          );
        }
        override = { by: decision.by, reason: decision.reason };
      }
    }
    const exported = await box.exportWorkspace({ runId: this.runId, taskIds });
    const status: RunStatus = verification.passed || override ? 'completed' : 'failed';
    const reason = verification.passed
      ? null
      : override
        ? `accepted by ${override.by} despite a failing final verification (exit ${verification.exitCode}): ${override.reason}`
        : `final verification failed (exit ${verification.exitCode})`;
    return this.finish(status, reason, tasks, this.verificationOf(s, verification), exported.dir, repairs, override);
  }

  private async chargeApprovers(s: Schedule, tasks: TaskRunResult[]): Promise<void> {
    for (const t of tasks) {
      const review = t.checks?.review;
      if (t.status !== 'accepted' || review?.verdict !== 'approve') continue;
      await chargeReviewer({
        runId: this.runId,
        taskId: s.taskIds.get(t.taskKey)!,
        taskKey: t.taskKey,
        reviewerId: review.reviewerId,
        action: 'review.approved_failing_work',
        why: 'approved work that the final verification then failed',
      });
    }
  }

  /** A repair task of the Manager's, routed and governed like any task. */
  private async repairWorkspace(
    s: Schedule,
    n: number,
    failed: VerificationResult,
    baseTaskIds: string[],
  ): Promise<{ taskId: string; result: TaskRunResult }> {
    const task = verificationRepairTask(s.plan, n, failed);
    const taskId = uuid4();
    await roles.ledger('open repair task').recordRepairTask({
      runId: this.runId,
      task: {
        id: taskId,
        key: task.id,
        title: task.title,
        spec: task,
        workflowId: this.taskWorkflowId(task.id),
        ...(this.generation > 1 ? { generation: this.generation } : {}),
      },
      reason: `final verification failed (exit ${failed.exitCode}${failed.timedOut ? ', timed out' : ''})`,
    });
    this.state.tasks.push({
      key: task.id,
      title: task.title,
      status: 'pending',
      assignedTo: null,
      attempts: 0,
      reassignments: 0,
      workflowId: this.taskWorkflowId(task.id),
    });
    const result = await (await this.startTask(task, taskId, { baseTaskIds, directTaskIds: baseTaskIds, repairsWorkspace: true })).result;
    return { taskId, result };
  }

  private async escalateVerification(s: Schedule, failed: VerificationResult, repairs: number): Promise<VerificationDecision> {
    const why = `the final verification still fails after ${repairs} repair task(s) (exit ${failed.exitCode})`;
    this.state.escalations.push(`verification: ${why}; waiting for the Director: accept, replan or stop`);
    await this.setStatus('verification_escalated', why);
    await condition(() => this.verificationAnswer !== null);
    const d = this.verificationAnswer!;
    this.verificationAnswer = null;
    this.state.escalations = this.state.escalations.filter((e) => !e.startsWith('verification: '));
    await roles.ledger(`Director ${d.kind}`).recordDirectorAction({
      runId: this.runId,
      director: d.by,
      action: d.kind === 'accept' ? 'accept_failed_verification' : d.kind === 'replan' ? 'replan_after_verification' : 'stop_run',
      targetId: this.runId,
      reason: d.reason,
      details: { command: s.plan.verification.command, exitCode: failed.exitCode, excerpt: tailOf(failed.excerpt, 1_000) },
    });
    if (d.kind === 'replan') {
      this.planFeedback = [
        `The previous plan's work failed the final verification \`${s.plan.verification.command}\` (exit ${failed.exitCode}); plan so that it passes. Its output ended with: ${tailOf(failed.excerpt, 1_000)}`,
        `The Director asks: ${d.reason}`,
      ];
    }
    return d;
  }

  private verificationOf(s: Schedule, v: VerificationResult): RunReport['verification'] {
    return { command: s.plan.verification.command, passed: v.passed, exitCode: v.exitCode, excerpt: v.excerpt.slice(-1_000) };
  }

  // ---- Status and the report ----
  private async setStatus(status: RunStatus, reason: string | null = null, report?: RunReport): Promise<void> {
    // A paused run moves to its next phase, or ends, only once resumed (the Director's pause
    // holds); a cancel or a stop ends it while paused.
    const ending = FINAL_RUN_STATUSES.includes(status) && (this.stopped !== null || this.work.consideredCancelled);
    if (status !== 'paused' && status !== 'budget_paused' && !ending) await this.whilePaused();
    this.state.status = status;
    this.state.reason = reason;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.runStatus, value: status }]);
    this.showState();
    await roles.ledger(`run ${status}`).recordRunStatus({ runId: this.runId, status, reason, report });
  }

  /**
   * What the Web UI shows of the run: its details (markdown: what it is, where it stands, what
   * the Director must do next), and whether it waits for the Director (a search attribute).
   */
  private showState(): void {
    setCurrentDetails(runDetails(this.state, this.input.prd));
    const waiting =
      WAITING_FOR_DIRECTOR.includes(this.state.status) || this.state.tasks.some((t) => t.status === 'escalated') ? 'yes' : 'no';
    if (waiting !== this.needsDirector && patched('director-control')) {
      this.needsDirector = waiting;
      upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.needsDirector, value: waiting }]);
    }
  }

  private finishEarly(status: RunStatus, reason: string): Promise<RunReport> {
    return this.finish(status, reason, [], null, null);
  }

  private async finish(
    status: RunStatus,
    reason: string | null,
    tasks: TaskRunResult[],
    verification: RunReport['verification'],
    workspaceDir: string | null,
    verificationRepairs = 0,
    verificationOverride: Attribution | null = null,
  ): Promise<RunReport> {
    const report = buildReport(this.state, status, reason, tasks, verification, workspaceDir, await this.usageNow(), this.budget);
    const rounds = tasks.reduce((n, t) => n + t.attempts.reduce((m, a) => m + Math.max(0, (a.rounds ?? 1) - 1), 0), 0);
    if (rounds > 0) report.repairRounds = rounds;
    if (verificationRepairs > 0) report.verificationRepairs = verificationRepairs;
    if (verificationOverride) report.verificationOverride = verificationOverride;
    if (this.independentTests !== null) report.independentTests = this.independentTests;
    this.state.report = report;
    await this.setStatus(status, reason, report);
    return report;
  }

  /** Tokens and cost so far, from the record (runs recorded before this existed: none). */
  private async usageNow(): Promise<RunUsage | null> {
    return patched('run-usage') ? roles.ledger('usage').runUsage({ runId: this.runId }) : null;
  }

  private taskWorkflowId(taskKey: string): string {
    return taskWorkflowId(this.info.workflowId, taskKey, this.generation);
  }

  private taskHandle(taskKey: string) {
    return getExternalWorkflowHandle(this.taskWorkflowId(taskKey));
  }
}

function emptyResult(taskKey: string): TaskRunResult {
  return { taskKey, status: 'cancelled', acceptedBy: null, acceptedModelRunId: null, overriddenBy: null, attempts: [] };
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
    // The planning rounds stay readable once the run has closed (its status is read from here).
    planAttempts: state.planAttempts,
    planErrors: state.planErrors,
    plan: state.plan,
  };
}
