/**
 * Typed helpers the Director's tools use to start, signal and query runs. Each checks the
 * run's state first, so a wrong command fails with a clear message and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import type { EscalationDecision, PrdRunInput, RunBudget, RunOptions, RunProgress, RunReport, VerificationDecision } from '../governance/types.js';
import {
  QUEUES,
  SEARCH_ATTRIBUTES,
  approvePlanSignal,
  budgetDecisionSignal,
  directorDecisionSignal,
  rejectPlanSignal,
  replanSignal,
  statusQuery,
  taskWorkflowId,
  verificationDecisionSignal,
} from '../workflows/definitions.js';

export class UserError extends Error {
  override name = 'UserError';
}

export async function connectClient(address: string, namespace: string): Promise<Client> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: '5 seconds' });
    return new Client({ connection, namespace });
  } catch (err) {
    throw new UserError(
      `cannot reach Temporal at ${address} (${err instanceof Error ? err.message : String(err)}). Start the stack with "aura up", or set TEMPORAL_ADDRESS.`,
    );
  }
}

export function runWorkflowId(runId: string): string {
  return `prd-run-${runId}`;
}

/** Accepts a run id (uuid) or the workflow id itself. */
export function toWorkflowId(runIdOrWorkflowId: string): string {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(runIdOrWorkflowId) ? runWorkflowId(runIdOrWorkflowId) : runIdOrWorkflowId;
}

export interface SubmitRequest {
  prd: string;
  project: string;
  options: RunOptions;
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
    typedSearchAttributes: [
      { key: SEARCH_ATTRIBUTES.project, value: req.project },
      { key: SEARCH_ATTRIBUTES.runStatus, value: 'planning' },
      { key: SEARCH_ATTRIBUTES.runId, value: runId },
    ],
  });
  return { runId, workflowId };
}

/** The live status of a run (query), or what its final report says once it has closed. */
export async function runStatus(client: Client, runIdOrWorkflowId: string): Promise<RunProgress> {
  const handle = client.workflow.getHandle(toWorkflowId(runIdOrWorkflowId));
  let closed: boolean;
  try {
    closed = (await handle.describe()).status.name !== 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UserError(`unknown run: ${runIdOrWorkflowId}`);
    throw err;
  }
  if (!closed) return handle.query(statusQuery);
  try {
    return progressFromReport(await handle.result());
  } catch (err) {
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    return { ...emptyProgress(runIdOrWorkflowId), status: 'failed', reason: `the run workflow ended without a report: ${reason}` };
  }
}

function emptyProgress(runId: string): RunProgress {
  return { runId, project: '', status: 'failed', planAttempts: 0, planErrors: [], plan: null, tasks: [], escalations: [], ignoredSignals: [], reason: null, report: null };
}

function progressFromReport(report: RunReport): RunProgress {
  return {
    ...emptyProgress(report.runId),
    project: report.project,
    status: report.status,
    reason: report.reason,
    report,
    tasks: report.tasks.map((t) => ({
      key: t.taskKey,
      title: '',
      status: t.status,
      assignedTo: t.acceptedBy,
      attempts: t.attempts.length,
      reassignments: Math.max(0, t.attempts.length - 1),
      repairRounds: t.attempts.reduce((n, a) => n + Math.max(0, (a.rounds ?? 1) - 1), 0),
    })),
  };
}

async function requireStatus(client: Client, runId: string, allowed: string[], what: string): Promise<RunProgress> {
  const status = await runStatus(client, runId);
  if (!allowed.includes(status.status)) {
    throw new UserError(`cannot ${what}: run ${runId} is ${status.status} (needs ${allowed.join(' or ')})`);
  }
  return status;
}

export async function approvePlan(client: Client, runId: string, by: string, reason?: string): Promise<void> {
  await requireStatus(client, runId, ['awaiting_approval'], 'approve the plan');
  await client.workflow.getHandle(toWorkflowId(runId)).signal(approvePlanSignal, { by, reason });
}

export async function rejectPlan(client: Client, runId: string, by: string, reason: string): Promise<void> {
  if (!reason?.trim()) throw new UserError('a rejection needs a reason (--reason "...")');
  await requireStatus(client, runId, ['awaiting_approval', 'plan_escalated'], 'reject the plan');
  await client.workflow.getHandle(toWorkflowId(runId)).signal(rejectPlanSignal, { by, reason });
}

export async function grantReplan(client: Client, runId: string, by: string, reason?: string): Promise<void> {
  await requireStatus(client, runId, ['plan_escalated'], 'grant another planning round');
  await client.workflow.getHandle(toWorkflowId(runId)).signal(replanSignal, { by, reason });
}

export async function resolveEscalation(client: Client, runId: string, taskKey: string, decision: EscalationDecision): Promise<void> {
  if (!decision.reason?.trim()) throw new UserError('a decision needs a reason (--reason "...")');
  const status = await runStatus(client, runId);
  const task = status.tasks.find((t) => t.key === taskKey);
  if (!task) throw new UserError(`run ${runId} has no task ${taskKey}`);
  if (task.status !== 'escalated') throw new UserError(`task ${taskKey} is ${task.status}, not escalated`);
  await client.workflow.getHandle(task.workflowId ?? taskWorkflowId(toWorkflowId(runId), taskKey)).signal(directorDecisionSignal, decision);
}

/** The Director's answer when the final verification still fails after repair. */
export async function decideVerification(client: Client, runId: string, decision: VerificationDecision): Promise<void> {
  if (!['accept', 'replan', 'stop'].includes(decision.kind)) throw new UserError(`the decision is accept, replan or stop (got "${decision.kind}")`);
  if (!decision.reason?.trim()) throw new UserError('a decision needs a reason (--reason "...")');
  await requireStatus(client, runId, ['verification_escalated'], `${decision.kind} the failed verification`);
  await client.workflow.getHandle(toWorkflowId(runId)).signal(verificationDecisionSignal, decision);
}

/** Raises the budget of a run paused on it; the paused tasks resume. */
export async function raiseBudget(client: Client, runId: string, budget: RunBudget, by: string, reason: string): Promise<void> {
  if (!reason?.trim()) throw new UserError('a budget change needs a reason (--reason "...")');
  if (!(budget.maxTokens > 0) || !(budget.maxCostUsd >= 0)) throw new UserError('the new budget needs --tokens > 0 and --cost >= 0');
  const status = await requireStatus(client, runId, ['budget_paused'], 'raise the budget');
  if (status.budget && budget.maxTokens <= status.budget.maxTokens && budget.maxCostUsd <= status.budget.maxCostUsd) {
    throw new UserError(`the new budget (${budget.maxTokens} tokens, $${budget.maxCostUsd}) does not raise the current one (${status.budget.maxTokens} tokens, $${status.budget.maxCostUsd})`);
  }
  await client.workflow.getHandle(toWorkflowId(runId)).signal(budgetDecisionSignal, { kind: 'raise', budget, by, reason });
}

/** Stops a run paused on its budget: the waiting tasks are cancelled, the run ends cancelled. */
export async function stopRun(client: Client, runId: string, by: string, reason: string): Promise<void> {
  if (!reason?.trim()) throw new UserError('stopping a run needs a reason (--reason "...")');
  await requireStatus(client, runId, ['budget_paused'], 'stop the run');
  await client.workflow.getHandle(toWorkflowId(runId)).signal(budgetDecisionSignal, { kind: 'stop', by, reason });
}

export async function waitForReport(client: Client, runId: string): Promise<RunReport> {
  return client.workflow.getHandle(toWorkflowId(runId)).result();
}

/**
 * Errors that say "Temporal did not answer just now" (server restarting, connection lost, a
 * query that timed out): worth asking again, never worth a stack trace.
 */
export function isTransientTemporalError(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return false;
  const code = (err as { code?: unknown }).code ?? ((err as { cause?: { code?: unknown } }).cause?.code);
  // gRPC: 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 13 INTERNAL, 14 UNAVAILABLE
  if (typeof code === 'number' && [4, 8, 13, 14].includes(code)) return true;
  const text = err instanceof Error ? `${err.message} ${err.cause instanceof Error ? err.cause.message : ''}` : String(err);
  return err instanceof ServiceError || /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|ECONNRESET|connection (?:refused|reset|closed)|transport/i.test(text);
}

/**
 * Calls `fn`, asking again after a transient Temporal error (with a short note through
 * `note`), for at most `giveUpAfterMs`; then a clear error, not a stack trace.
 */
export async function retryTransient<T>(fn: () => Promise<T>, opts: { note: (line: string) => void; giveUpAfterMs: number; what: string }): Promise<T> {
  const deadline = Date.now() + opts.giveUpAfterMs;
  for (let delay = 500; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientTemporalError(err)) throw err;
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      if (Date.now() + delay > deadline) throw new UserError(`${opts.what}: Temporal did not answer (${why}). Is the stack up ("aura up")?`);
      opts.note(`Temporal did not answer (${why}); asking again in ${Math.round(delay / 100) / 10}s`);
      await sleep(delay);
    }
  }
}
