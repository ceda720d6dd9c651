/**
 * Typed helpers the Director's tools use to start, signal and query runs. Each checks the
 * run's state first, so a wrong command fails with a clear message and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type {
  BudgetDecision,
  EscalationDecision,
  PrdRunInput,
  RunBudget,
  RunOptions,
  RunProgress,
  RunReport,
  VerificationDecision,
} from '../governance/types.js';
import {
  QUEUES,
  RUN_COMMAND_SIGNALS,
  RUN_COMMAND_UPDATES,
  SEARCH_ATTRIBUTES,
  directorDecisionSignal,
  resolveEscalationUpdate,
  statusQuery,
  taskWorkflowId,
  type CommandAnswer,
} from '../workflows/definitions.js';
import { directorCommand as directorCommandEntry, type DirectorCommandEntry } from '../governance/director-command-table.js';
import { UserError } from '../errors/index.js';
import type { Db } from '../db/connect.js';
import { commandSigningInterceptor, type CommandSigner } from './command-signer.js';

/** A client of the run workflows; with `signer`, every Director command it sends carries a proof of identity. */
export async function connectClient(address: string, namespace: string, signer?: CommandSigner): Promise<Client> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: '5 seconds' });
    return new Client({ connection, namespace, interceptors: { workflow: signer ? [commandSigningInterceptor(signer)] : [] } });
  } catch (err) {
    throw new UserError(
      `cannot reach Temporal at ${address} (${err instanceof Error ? err.message : String(err)}). Start the stack with "aura up", or set TEMPORAL_ADDRESS.`,
    );
  }
}

export function runWorkflowId(runId: string): string {
  return `prd-run-${runId}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The workflow id the CLI gives a run it starts (a guess for other runs: see resolveRun). */
export function toWorkflowId(runIdOrWorkflowId: string): string {
  return UUID.test(runIdOrWorkflowId) ? runWorkflowId(runIdOrWorkflowId) : runIdOrWorkflowId;
}

/**
 * Finds a run however the Director names it: its workflow id (a run started from the Web UI
 * has whatever id the form gave it), its run id (`prd-run-<id>` when the CLI started it), or
 * the AuraRunId search attribute every run sets.
 */
export async function resolveRun(client: Client, ref: string): Promise<{ workflowId: string; runId: string }> {
  if (!ref?.trim()) throw new UserError('which run? (a run id or a workflow id)');
  const candidates = UUID.test(ref) ? [runWorkflowId(ref), ref] : [ref];
  for (const workflowId of candidates) {
    try {
      const d = await client.workflow.getHandle(workflowId).describe();
      if (d.type !== 'prdRun')
        throw new UserError(`${ref} is a ${d.type} workflow, not a run${d.type === 'taskRun' ? ' (name its run instead)' : ''}`);
      const runId = d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.runId) ?? (UUID.test(ref) && workflowId !== ref ? ref : workflowId);
      return { workflowId, runId };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  const escaped = ref.replace(/['\\]/g, '');
  for await (const wf of client.workflow.list({ query: `AuraRunId = '${escaped}' AND WorkflowType = 'prdRun'` })) {
    return { workflowId: wf.workflowId, runId: ref };
  }
  throw new UserError(`unknown run: ${ref}`);
}

/** A command the run refused: written to the governance record by whoever asked (the run never saw it). */
export interface Refusal {
  runId: string;
  workflowId: string;
  command: string;
  by: string;
  reason: string;
  /** Why the run refused. */
  refusal: string;
  details: Record<string, unknown>;
  /**
   * The run's worker has recorded it already (an Update its validator refused: whichever client
   * sends one, the worker records it, workers/director-refusals.ts); false: refused before the
   * run saw it (the run had ended), recorded by whoever asked.
   */
  recordedByRun: boolean;
}
export type RefusalRecorder = (r: Refusal) => Promise<void>;

/** A refused command into the governance record (the run's history never sees it), unless the run's worker recorded it. */
export async function recordRefusal(db: Db, r: Refusal): Promise<void> {
  if (r.recordedByRun) return;
  // Loaded here, not with this module: the run commands (`aura status`) need no database layer.
  const { recordRefusedCommand } = await import('../db/repositories/director.js');
  return recordRefusedCommand(db, {
    runId: r.runId,
    workflowId: r.workflowId,
    command: r.command,
    director: r.by,
    reason: r.reason,
    refusal: r.refusal,
    details: r.details,
  });
}

/**
 * Sends a Director command as an Update: the answer says what it did, or why it was refused
 * (and the refusal is recorded through `record`). A run started before Updates existed has no
 * handler for it: the command goes as a signal, after the same state check the CLI always made.
 */
async function directorCommand<A extends { by: string; reason?: string }>(
  client: Client,
  target: { workflowId: string; runId: string },
  cmd: {
    update: UpdateDefinition<CommandAnswer, [A]>;
    /** The older path; without one, `legacy` answers by itself. */
    signal?: SignalDefinition<[A]>;
    arg: A;
    what: string;
    /** For a run without the Update: checks (throws a UserError), or answers by other means. */
    legacy: () => Promise<CommandAnswer | void>;
  },
  record?: RefusalRecorder,
): Promise<CommandAnswer> {
  const handle = client.workflow.getHandle(target.workflowId);
  const refuse = async (why: string, byTheRun = true): Promise<never> => {
    await record?.({
      runId: target.runId,
      workflowId: target.workflowId,
      command: cmd.update.name,
      by: cmd.arg.by,
      reason: cmd.arg.reason ?? '',
      refusal: why,
      details: { arg: cmd.arg },
      recordedByRun: byTheRun,
    });
    throw new UserError(`cannot ${cmd.what}: ${byTheRun ? 'refused by the run: ' : ''}${why}`);
  };
  // An ended run has no handler left to answer: say how it ended.
  const ended = async (): Promise<never | void> => {
    const described = await handle.describe().catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new UserError(`unknown run: ${target.workflowId}`);
      throw err;
    });
    if (described.status.name === 'RUNNING') return;
    const how = described.type === 'prdRun' ? (await runStatus(client, target.workflowId)).status : described.status.name.toLowerCase();
    return refuse(`run ${target.runId} is ${how}`, false);
  };
  await ended();
  try {
    return await handle.executeUpdate(cmd.update, { args: [cmd.arg] });
  } catch (err) {
    // The run closed between the look and the command (Temporal then says "not found"): say how it ended.
    if (err instanceof WorkflowNotFoundError) {
      await ended();
      throw new UserError(`unknown run: ${target.workflowId}`);
    }
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    const why = err.cause instanceof Error ? err.cause.message : err.message;
    if (/no registered handler/i.test(why)) {
      const answered = await cmd.legacy();
      if (answered || !cmd.signal)
        return (
          answered ?? {
            command: cmd.update.name,
            status: (await handle.query(statusQuery)).status,
            message: `${cmd.what}: not possible on this run`,
          }
        );
      await handle.signal(cmd.signal, cmd.arg);
      return {
        command: cmd.signal.name,
        status: (await handle.query(statusQuery)).status,
        message: `${cmd.what}: sent as a signal (this run predates Updates)`,
      };
    }
    return refuse(why);
  }
}

/** What a submission asks for, as the Manager API takes it (the CLI builds the same). */
export interface SubmitAsk {
  prd: string;
  project: string;
  autoApprove?: boolean;
  maxParallel?: number;
  /** Absent: the configured default (AURA_RUN_TOKEN_BUDGET). */
  maxTokens?: number;
  /** Absent: the configured default (AURA_RUN_COST_BUDGET_USD). */
  maxCostUsd?: number;
  maxRepairRounds?: number;
  maxVerificationRepairs?: number;
  /** false: self-tested, the plan's own commands decide (absent: the deployment's default). */
  independentTests?: boolean;
}

/** The run's options from a submission, with who submits it and the configured budget for what it leaves out. */
export function runOptions(ask: SubmitAsk, director: string, defaultBudget: RunBudget): RunOptions {
  return {
    autoApprove: ask.autoApprove,
    director,
    ...(ask.maxParallel ? { maxParallel: ask.maxParallel } : {}),
    ...(ask.maxRepairRounds !== undefined ? { maxRepairRounds: ask.maxRepairRounds } : {}),
    ...(ask.maxVerificationRepairs !== undefined ? { maxVerificationRepairs: ask.maxVerificationRepairs } : {}),
    ...(ask.independentTests !== undefined ? { independentTests: ask.independentTests } : {}),
    budget: { maxTokens: ask.maxTokens ?? defaultBudget.maxTokens, maxCostUsd: ask.maxCostUsd ?? defaultBudget.maxCostUsd },
  };
}

/** The Director's answer to an escalated task, as the Manager API takes it (the CLI builds the same). */
export interface ResolveAsk {
  decision: EscalationDecision['kind'];
  /** For reassign: the employee. */
  employeeId?: string;
  reason: string;
}

/** The decision the task receives, with who gives it. */
export function escalationDecision(ask: ResolveAsk, by: string): EscalationDecision {
  return ask.decision === 'reassign'
    ? { kind: 'reassign', employeeId: ask.employeeId ?? '', by, reason: ask.reason }
    : { kind: ask.decision, by, reason: ask.reason };
}

export interface SubmitRequest {
  prd: string;
  project: string;
  options: RunOptions;
  /** The dashboard's address: the run's details in the Temporal Web UI link to its page there. */
  dashboardUrl?: string | null;
}

/** The run's details in the Temporal Web UI (markdown): a link to its page on the dashboard. */
export function runLinkDetails(dashboardUrl: string | null | undefined, runId: string): string | undefined {
  if (!dashboardUrl) return undefined;
  return `[Open run ${runId} on the Aura dashboard](${dashboardUrl.replace(/\/+$/, '')}/#/runs/${encodeURIComponent(runId)})`;
}

export async function submitRun(client: Client, req: SubmitRequest): Promise<{ runId: string; workflowId: string }> {
  if (!req.prd.trim()) throw new UserError('the PRD is empty');
  if (!req.project.trim()) throw new UserError('the project name is empty');
  const runId = randomUUID();
  const workflowId = runWorkflowId(runId);
  const input: PrdRunInput = { prd: req.prd, project: req.project, options: req.options, runId };
  await client.workflow.start('prdRun', {
    taskQueue: QUEUES.manager,
    workflowId,
    args: [input],
    staticSummary: `PRD run for ${req.project}`,
    staticDetails: runLinkDetails(req.dashboardUrl, runId),
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTES.project, value: req.project },
      { key: SEARCH_ATTRIBUTES.runStatus, value: 'planning' },
      { key: SEARCH_ATTRIBUTES.runId, value: runId },
    ],
  });
  return { runId, workflowId };
}

/** The live status of a run (query), or what its final report says once it has closed. */
export async function runStatus(client: Client, runRef: string): Promise<RunProgress> {
  const { workflowId } = await resolveRun(client, runRef);
  const handle = client.workflow.getHandle(workflowId);
  const closed = (await handle.describe()).status.name !== 'RUNNING';
  if (!closed) return handle.query(statusQuery);
  try {
    return progressFromReport(await handle.result());
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    return { ...emptyProgress(runRef), status: 'failed', reason: `the run workflow ended without a report: ${reason}` };
  }
}

function emptyProgress(runId: string): RunProgress {
  return {
    runId,
    project: '',
    status: 'failed',
    planAttempts: 0,
    planErrors: [],
    plan: null,
    tasks: [],
    escalations: [],
    ignoredSignals: [],
    reason: null,
    report: null,
  };
}

function progressFromReport(report: RunReport): RunProgress {
  return {
    ...emptyProgress(report.runId),
    project: report.project,
    status: report.status,
    reason: report.reason,
    report,
    planAttempts: report.planAttempts ?? 0,
    planErrors: report.planErrors ?? [],
    plan: report.plan ?? null,
    tasks: report.tasks.map((t) => ({
      key: t.taskKey,
      title: report.plan?.tasks.find((p) => p.id === t.taskKey)?.title ?? '',
      status: t.status,
      assignedTo: t.acceptedBy,
      attempts: Math.max(t.attempts.length, t.attemptsStarted ?? 0),
      reassignments: Math.max(0, t.attempts.length - 1),
      repairRounds: t.attempts.reduce((n, a) => n + Math.max(0, (a.rounds ?? 1) - 1), 0),
    })),
  };
}

/** The CLI's own check, for runs that can only take signals. */
async function requireStatus(client: Client, runRef: string, allowed: string[], what: string): Promise<RunProgress> {
  const status = await runStatus(client, runRef);
  if (!allowed.includes(status.status)) {
    throw new UserError(`cannot ${what}: run ${runRef} is ${status.status} (needs ${allowed.join(' or ')})`);
  }
  return status;
}

function needsReason(reason: string | undefined, what: string): void {
  if (!reason?.trim()) throw new UserError(`${what} needs a reason (--reason "...")`);
}

export async function resolveEscalation(
  client: Client,
  runRef: string,
  taskKey: string,
  decision: EscalationDecision,
  record?: RefusalRecorder,
): Promise<CommandAnswer> {
  needsReason(decision.reason, 'a decision');
  const run = await resolveRun(client, runRef);
  const status = await runStatus(client, run.workflowId);
  const task = status.tasks.find((t) => t.key === taskKey);
  if (!task) throw new UserError(`run ${runRef} has no task ${taskKey}`);
  // A task that has not started has no workflow to ask.
  if (task.status === 'pending') throw new UserError(`task ${taskKey} is pending, not escalated`);
  const target = { workflowId: task.workflowId ?? taskWorkflowId(run.workflowId, taskKey), runId: run.runId };
  const legacy = async () => {
    if (task.status !== 'escalated') throw new UserError(`task ${taskKey} is ${task.status}, not escalated`);
  };
  // Recorded as the task workflow always named refusals: `<kind>_refused`.
  const recordAs: RefusalRecorder | undefined =
    record && ((r) => record({ ...r, command: decision.kind, details: { ...r.details, taskKey } }));
  return directorCommand(
    client,
    target,
    { update: resolveEscalationUpdate, signal: directorDecisionSignal, arg: decision, what: `${decision.kind} task ${taskKey}`, legacy },
    recordAs,
  );
}

/**
 * Client-side steps beyond the table: raising a budget is checked against the current one
 * before it is sent; a run that predates the cancel command is cancelled through Temporal.
 */
const SPECIAL: Partial<
  Record<
    string,
    {
      before?: (client: Client, runRef: string, arg: never) => Promise<void>;
      legacy?: (client: Client, target: { workflowId: string }) => () => Promise<CommandAnswer | void>;
    }
  >
> = {
  budget: {
    before: async (client, runRef, arg: { budget: RunBudget }) => {
      const { budget } = arg;
      const status = await requireStatus(client, runRef, ['budget_paused'], 'raise the budget');
      if (status.budget && budget.maxTokens <= status.budget.maxTokens && budget.maxCostUsd <= status.budget.maxCostUsd) {
        throw new UserError(
          `the new budget (${budget.maxTokens} tokens, $${budget.maxCostUsd}) does not raise the current one (${status.budget.maxTokens} tokens, $${status.budget.maxCostUsd})`,
        );
      }
    },
    legacy: () => async () => {},
  },
  cancel: {
    legacy: (client, target) => async () => {
      await client.workflow.getHandle(target.workflowId).cancel();
      return { command: 'cancel', status: 'cancelled', message: 'this run predates the cancel command: Temporal was asked to cancel it' };
    },
  },
};

/**
 * Sends one Director command of the table (governance/director-command-table.ts) to a run:
 * checks its argument, finds the run, and sends the Update; a run started before Updates
 * existed gets the signal after the state check the CLI always made, or is told it cannot.
 */
export async function sendRunCommand<A extends { by: string; reason?: string }>(
  client: Client,
  entry: DirectorCommandEntry<unknown, A>,
  runRef: string,
  arg: A,
  record?: RefusalRecorder,
): Promise<CommandAnswer> {
  const bad = entry.check?.(arg);
  if (bad) throw new UserError(bad);
  if (entry.reasonFor) needsReason(arg.reason, entry.reasonFor);
  const special = SPECIAL[entry.verb];
  await special?.before?.(client, runRef, arg as never);
  const target = await resolveRun(client, runRef);
  const what = entry.what(arg);
  const legacy =
    special?.legacy?.(client, target) ??
    (async () => {
      if (entry.legacyRefusal) throw new UserError(entry.legacyRefusal.replace('{run}', runRef));
      if (entry.legacyNeeds) await requireStatus(client, runRef, [...entry.legacyNeeds], what);
    });
  const update = RUN_COMMAND_UPDATES[entry.message] as unknown as UpdateDefinition<CommandAnswer, [A]>;
  const signal = entry.signal
    ? (RUN_COMMAND_SIGNALS as unknown as Partial<Record<string, SignalDefinition<[A]>>>)[entry.message]
    : undefined;
  return directorCommand(client, target, { update, signal, arg, what, legacy }, record);
}

/** The table's entry of a verb, typed by the argument its run takes. */
const command = <A extends { by: string; reason?: string }>(verb: string) => directorCommandEntry(verb) as DirectorCommandEntry<unknown, A>;

// The commands by name, for the callers that name them.
export const approvePlan = (client: Client, runRef: string, by: string, reason?: string, record?: RefusalRecorder) =>
  sendRunCommand(client, command('approve'), runRef, { by, reason }, record);
export const rejectPlan = (client: Client, runRef: string, by: string, reason: string, record?: RefusalRecorder) =>
  sendRunCommand(client, command('reject'), runRef, { by, reason }, record);
export const grantReplan = (client: Client, runRef: string, by: string, reason?: string, record?: RefusalRecorder) =>
  sendRunCommand(client, command('replan'), runRef, { by, reason }, record);
/** The Director's answer when the final verification still fails after repair. */
export const decideVerification = (client: Client, runRef: string, decision: VerificationDecision, record?: RefusalRecorder) =>
  sendRunCommand(client, command<VerificationDecision>('verification'), runRef, decision, record);
/** Raises the budget of a run paused on it; the paused tasks resume. */
export const raiseBudget = (client: Client, runRef: string, budget: RunBudget, by: string, reason: string, record?: RefusalRecorder) =>
  sendRunCommand(client, command<BudgetDecision>('budget'), runRef, { kind: 'raise', budget, by, reason }, record);
/** Stops a run paused on its budget: the waiting tasks are cancelled, the run ends cancelled. */
export const stopRun = (client: Client, runRef: string, by: string, reason: string, record?: RefusalRecorder) =>
  sendRunCommand(client, command<BudgetDecision>('stop'), runRef, { kind: 'stop', by, reason }, record);
/** Pauses any working run: running steps finish, nothing new starts, until it is resumed. */
export const pauseRun = (client: Client, runRef: string, by: string, reason: string, record?: RefusalRecorder) =>
  sendRunCommand(client, command('pause'), runRef, { by, reason }, record);
export const resumeRun = (client: Client, runRef: string, by: string, reason: string, record?: RefusalRecorder) =>
  sendRunCommand(client, command('resume'), runRef, { by, reason }, record);
/**
 * Cancels any run that has not ended: model calls and sandbox runs are cancelled, every task
 * closes, the run ends `cancelled` with the reason. A run started before this existed is
 * cancelled through Temporal itself (recorded by the CLI, since the run cannot name who).
 */
export const cancelRun = (client: Client, runRef: string, by: string, reason: string, record?: RefusalRecorder) =>
  sendRunCommand(client, command('cancel'), runRef, { by, reason }, record);

export async function waitForReport(client: Client, runRef: string): Promise<RunReport> {
  return client.workflow.getHandle((await resolveRun(client, runRef)).workflowId).result();
}

/**
 * Errors that say "Temporal did not answer just now" (server restarting, connection lost, a
 * query that timed out): worth asking again, never worth a stack trace.
 */
export function isTransientTemporalError(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return false;
  const code = (err as { code?: unknown }).code ?? (err as { cause?: { code?: unknown } }).cause?.code;
  // gRPC: 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 13 INTERNAL, 14 UNAVAILABLE
  if (typeof code === 'number' && [4, 8, 13, 14].includes(code)) return true;
  const text = err instanceof Error ? `${err.message} ${err.cause instanceof Error ? err.cause.message : ''}` : String(err);
  return (
    err instanceof ServiceError ||
    /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|ECONNRESET|connection (?:refused|reset|closed)|transport/i.test(text)
  );
}

/**
 * Calls `fn`, asking again after a transient Temporal error (with a short note through
 * `note`), for at most `giveUpAfterMs`; then a clear error, not a stack trace.
 */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  opts: { note: (line: string) => void; giveUpAfterMs: number; what: string },
): Promise<T> {
  const deadline = Date.now() + opts.giveUpAfterMs;
  for (let delay = 500; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientTemporalError(err)) throw err;
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      if (Date.now() + delay > deadline)
        throw new UserError(`${opts.what}: Temporal did not answer (${why}). Is the stack up ("aura up")?`);
      opts.note(`Temporal did not answer (${why}); asking again in ${Math.round(delay / 100) / 10}s`);
      await sleep(delay);
    }
  }
}
