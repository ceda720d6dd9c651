/**
 * Employee activities: the only place a model is called. One worker per provider registers
 * them on `aura-employee-<provider>`; the Manager picks the queue from the routed employee.
 * Prompts and outputs go to `model_runs`; the workflow gets ids and a small summary.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/connect.js';
import { failure } from '../../errors/index.js';
import { employeeTerms, getEmployee, type EmployeeTerms } from '../../db/repositories/employees.js';
import { runSpend } from '../../db/repositories/usage.js';
import { countCallFailures, recordModelRun } from '../../db/repositories/model-runs.js';
import { workspaceFiles } from '../../db/repositories/workspace.js';
import { appendEvent } from '../../db/repositories/ledger.js';
import type { TaskSpec } from '../../governance/schemas.js';
import type { EmployeeSnapshot, ReviewOpinion, RunBudget } from '../../governance/types.js';
import { activityRef, cancellationSignal, conflictsAsFailures, heartbeat, idempotencyKey, type ActivityRef } from '../context.js';
import { findByKey, insertOnce } from '../../db/repositories/idempotent.js';
import { FailureType } from '../../governance/failures.js';
import {
  DISPUTE_PROMPT_VERSION,
  PLAN_PROMPT_VERSION,
  REVIEW_PROMPT_VERSION,
  TASK_PROMPT_VERSION,
  TESTS_PROMPT_VERSION,
  disputePrompt,
  planPrompt,
  reviewPrompt,
  taskPrompt,
  testsPrompt,
} from './prompts.js';
import { runPrd } from '../../db/repositories/runs.js';
import { frozenTestFiles } from '../../db/repositories/acceptance-tests.js';
import { parseTaskOutput } from '../../governance/task-output.js';
import { codeScopeOf, testerView } from '../../governance/acceptance-tests.js';
import type { Finding } from '../../governance/repair.js';
import { planJsonSchema, taskOutputJsonSchema } from './json-schema.js';
import { ProviderError } from './provider-errors.js';
import { getModelRun, taskOutputOf } from '../../db/repositories/model-runs.js';
import type { Completion, EmployeeProvider } from './provider.js';

import { CHARS_PER_TOKEN, DEFAULT_CONTEXT_TOKENS, selectContext } from '../../governance/context.js';
import { tailOf, type PriorAttempt, type RepairFeedback } from '../../governance/repair.js';
import { TIME_LIMITS } from '../../governance/time-limits.js';

export interface PlanRequest {
  budget?: RunBudget | null;
  runId: string;
  employeeId: string;
  prd: string;
  feedback: string[];
  round: number;
  /** The planner's time limit (older workflow versions: absent, 5 minutes). */
  timeLimitMs?: number;
}

export interface PlanResponse {
  modelRunId: string;
  /** The parsed JSON the planner returned, or null with the reason. */
  plan: unknown;
  parseError: string | null;
}

export interface TaskRequest {
  budget?: RunBudget | null;
  runId: string;
  taskId: string;
  employeeId: string;
  task: TaskSpec;
  baseTaskIds: string[];
  /** The tasks this one depends on directly (their files rank before the rest); absent: all. */
  directTaskIds?: string[];
  /** Which attempt (assignment) of the task this is, and which repair round of it. */
  attempt?: number;
  round?: number;
  /** Earlier attempts' findings (informed reassignment): what went wrong, never who. */
  priorAttempts?: PriorAttempt[];
  /** A repair round: the previous answer and why it did not pass. */
  repair?: RepairFeedback | null;
  /** The task has frozen acceptance tests (by a tester): shown to the coder as read only. */
  frozenTests?: boolean;
}

/** A tester writes a coding task's acceptance tests, before the code. */
export interface TestsRequest {
  budget?: RunBudget | null;
  runId: string;
  taskId: string;
  employeeId: string;
  task: TaskSpec;
  baseTaskIds: string[];
  directTaskIds?: string[];
  attempt: number;
  round: number;
  /** A repair round: the previous tests, the findings and what the red run printed. */
  repair?: { round: number; previousModelRunId: string; findings: Finding[]; excerpt: string } | null;
}

/** The tester answers a coder's dispute of its frozen tests. */
export interface DisputeRequest {
  budget?: RunBudget | null;
  runId: string;
  taskId: string;
  employeeId: string;
  task: TaskSpec;
  codeModelRunId: string;
  disputes: { test: string; reason: string }[];
  excerpt: string;
  version: number;
}

export interface DisputeAnswer {
  modelRunId: string;
  /** uphold: the tests change (files holds them whole); reject: they stand; unresolved: no usable answer. */
  decision: 'uphold' | 'reject' | 'unresolved';
  reason: string;
  files: { path: string; content: string }[];
}

export interface ReviewRequest {
  budget?: RunBudget | null;
  runId: string;
  taskId: string;
  /** The reviewer: never the author of the output. */
  employeeId: string;
  authorId: string;
  task: TaskSpec;
  modelRunId: string;
}

const REVIEW_VERDICTS = ['approve', 'reject', 'unsure'] as const;
/** Failed answers from a provider before a call is given up (the task then goes elsewhere). */
export const MODEL_CALL_ATTEMPTS = 3;

export interface TaskResponse {
  modelRunId: string;
  /** A small summary for the workflow history; the output itself stays in Postgres. */
  summary: string;
  outputChars: number;
  /** Frozen tests the coder disputes (answers that name none: absent). */
  disputes?: { test: string; reason: string }[];
}

export function createEmployeeActivities(deps: { db: Db; provider: EmployeeProvider }) {
  const { db, provider } = deps;

  async function callAndRecord(args: {
    ref: ActivityRef;
    runId: string;
    taskId: string | null;
    employee: EmployeeSnapshot;
    kind: 'plan' | 'task' | 'review' | 'tests' | 'dispute';
    prompt: string;
    promptVersion: string;
    taskKey: string | null;
    round: number;
    /** Task calls: the attempt this round belongs to (recorded with the round). */
    taskAttempt?: number;
    timeLimitMs: number;
    jsonSchema?: { name: string; schema: Record<string, unknown> };
    budget?: RunBudget | null;
  }): Promise<{ modelRunId: string; text: string }> {
    const successKey = idempotencyKey(args.ref);
    const logAnswer = (modelRunId: string, text: string) =>
      insertOnce(db, 'agent_activity_logs', {
        id: randomUUID(),
        agent_id: args.employee.id,
        task_id: args.taskId,
        run_id: args.runId,
        message: `${LOG_VERB[args.kind]} ${args.kind === 'plan' ? '' : `task ${args.taskKey} `}(${text.length} characters, model run ${modelRunId})`,
        severity: 'info',
        idempotency_key: successKey,
      });
    // A retry after a crash reuses the completed call instead of paying for it twice.
    const done = await findByKey(db, 'model_runs', successKey);
    if (done) {
      // The call was answered before a crash: its log line may not have been written yet.
      await logAnswer(done.id, done.output ?? '');
      return { modelRunId: done.id, text: done.output ?? '' };
    }

    // The run's budget is checked before every call: crossing it pauses the run for the Director.
    if (args.budget && args.runId) {
      const spent = await runSpend(db, args.runId);
      if (spent.tokens >= args.budget.maxTokens || spent.costUsd >= args.budget.maxCostUsd) {
        throw failure(
          FailureType.BudgetExceeded,
          `run budget reached: ${spent.tokens} of ${args.budget.maxTokens} tokens, $${spent.costUsd.toFixed(4)} of $${args.budget.maxCostUsd}`,
          {
            details: [{ spent, budget: args.budget }],
          },
        );
      }
    }

    const timeLimit = AbortSignal.timeout(args.timeLimitMs);
    const cancelled = cancellationSignal();
    const signal = cancelled ? AbortSignal.any([timeLimit, cancelled]) : timeLimit;
    const started = Date.now();
    // What every model_runs row of this call says, success or failure.
    const callRecord = {
      id: randomUUID(),
      runId: args.runId,
      taskId: args.taskId,
      employeeId: args.employee.id,
      kind: args.kind,
      attempt: args.ref.attempt,
      prompt: args.prompt,
      promptVersion: args.promptVersion,
      taskAttempt: args.taskAttempt ?? null,
      round: args.taskAttempt !== undefined ? args.round : null,
    };
    let completion: Completion;
    // Heartbeat while the model thinks, so a lost worker is noticed in seconds, not at the time limit.
    const beat = setInterval(() => heartbeat({ waitingMs: Date.now() - started }), 2_000);
    try {
      completion = await provider.complete({
        employee: args.employee,
        kind: args.kind,
        prompt: args.prompt,
        taskKey: args.taskKey,
        round: args.round,
        signal,
        jsonSchema: args.jsonSchema,
      });
    } catch (err) {
      const timedOut = timeLimit.aborted;
      const wasCancelled = !timedOut && cancelled?.aborted === true;
      const message = timedOut
        ? `time limit of ${args.timeLimitMs} ms exceeded`
        : wasCancelled
          ? 'cancelled: the run was cancelled during the call'
          : errorMessage(err);
      await recordModelRun(db, {
        ...callRecord,
        idempotencyKey: idempotencyKey(args.ref, `attempt-${args.ref.attempt}`, 'error'),
        output: null,
        inputTokens: null,
        outputTokens: null,
        costUsd: null,
        latencyMs: Date.now() - started,
        finishReason: null,
        error: message,
      });
      if (timedOut) {
        throw failure(FailureType.EmployeeTimeout, message);
      }
      // Recorded as a call that did not finish; Temporal hears the cancellation itself.
      if (wasCancelled) throw cancelled!.reason;
      if (err instanceof ProviderError && !err.retryable) {
        // 400/401/403/404: asking again will not help; the Manager routes the task elsewhere.
        throw failure(FailureType.ProviderRejected, message);
      }
      // 429, 5xx, connection errors: retried with backoff, honouring Retry-After, up to
      // MODEL_CALL_ATTEMPTS answers from the provider. The activity's own retries go further, so
      // a database or worker fault (which writes no error row) does not use the model's up.
      const failures = await countCallFailures(db, successKey);
      throw failure(
        FailureType.EmployeeCallFailed,
        failures >= MODEL_CALL_ATTEMPTS ? `${message} (${failures} attempts failed)` : message,
        {
          retryable: failures < MODEL_CALL_ATTEMPTS,
          nextRetryDelayMs: err instanceof ProviderError && err.retryAfterMs !== null ? err.retryAfterMs : undefined,
        },
      );
    } finally {
      clearInterval(beat);
    }
    const modelRunId = await recordModelRun(db, {
      ...callRecord,
      idempotencyKey: successKey,
      output: completion.text,
      inputTokens: completion.inputTokens,
      outputTokens: completion.outputTokens,
      costUsd: priceOf(await employeeTerms(db, args.employee.id), completion),
      latencyMs: Date.now() - started,
      finishReason: completion.finishReason,
      error: null,
    });
    await logAnswer(modelRunId, completion.text);
    return { modelRunId, text: completion.text };
  }

  /**
   * The task prompt: the code the task builds on within the employee's context budget, what
   * earlier attempts got wrong, and for a repair round its own previous answer and the failure.
   */
  async function buildTaskPrompt(req: TaskRequest): Promise<string> {
    const budgetChars = ((await employeeTerms(db, req.employeeId))?.contextTokens ?? DEFAULT_CONTEXT_TOKENS) * CHARS_PER_TOKEN;
    let repair = null;
    let used = 0;
    if (req.repair) {
      const previous = (await getModelRun(db, req.repair.previousModelRunId)) ?? { output: null };
      const raw = previous.output ?? '';
      const parsed = taskOutputOf(previous);
      repair = { ...req.repair, previousFiles: parsed.ok ? parsed.output.files : null, previousRaw: tailOf(raw, 4_000) };
      used = parsed.ok ? parsed.output.files.reduce((n, f) => n + f.content.length, 0) : repair.previousRaw.length;
    }
    const workspace = await workspaceFiles(db, req.baseTaskIds);
    const context = selectContext(workspace, {
      scope: req.task.scope,
      directDependencies: new Set(req.directTaskIds ?? req.baseTaskIds),
      budgetChars: Math.max(0, budgetChars - used),
    });
    const frozenTests = req.frozenTests ? await frozenTestFiles(db, req.taskId) : [];
    return taskPrompt({ task: req.task, context, priorAttempts: req.priorAttempts ?? [], repair, frozenTests });
  }

  async function outputFiles(modelRunId: string): Promise<{ path: string; content: string }[]> {
    const parsed = taskOutputOf((await getModelRun(db, modelRunId)) ?? { output: null });
    return parsed.ok ? parsed.output.files : [];
  }

  /** The tester's prompt: the PRD, the criteria, the workspace as it stands; for a repair, what went wrong. */
  async function buildTestsPrompt(req: TestsRequest): Promise<string> {
    const budgetChars = ((await employeeTerms(db, req.employeeId))?.contextTokens ?? DEFAULT_CONTEXT_TOKENS) * CHARS_PER_TOKEN;
    const prd = await runPrd(db, req.runId);
    let repair = null;
    if (req.repair) {
      const previous = (await getModelRun(db, req.repair.previousModelRunId)) ?? { output: null };
      const parsed = taskOutputOf(previous);
      repair = {
        round: req.repair.round,
        findings: req.repair.findings,
        excerpt: req.repair.excerpt,
        previousFiles: parsed.ok ? parsed.output.files : null,
        previousRaw: tailOf(previous.output ?? '', 4_000),
      };
    }
    const workspace = await workspaceFiles(db, req.baseTaskIds);
    const context = selectContext(workspace, {
      scope: [],
      directDependencies: new Set(req.directTaskIds ?? req.baseTaskIds),
      budgetChars: Math.max(0, budgetChars - prd.length),
    });
    return testsPrompt({ task: testerView(req.task), codeScope: codeScopeOf(req.task), prd, context, repair });
  }

  /**
   * A task answer (a coder's or a tester's): the call recorded with its attempt and round, and an
   * event saying who answered. The answer's files stay in Postgres.
   */
  async function answerForTask(
    req: { runId: string; taskId: string; employeeId: string; task: TaskSpec; budget?: RunBudget | null },
    call: {
      kind: 'task' | 'tests';
      prompt: () => Promise<string>;
      promptVersion: string;
      attempt: number;
      round: number;
      action: string;
      description: (employeeId: string) => string;
    },
  ): Promise<{ modelRunId: string; text: string }> {
    const ref = activityRef();
    const employee = await activeEmployee(req.employeeId);
    const { modelRunId, text } = await callAndRecord({
      ref,
      runId: req.runId,
      taskId: req.taskId,
      employee,
      kind: call.kind,
      prompt: await call.prompt(),
      promptVersion: call.promptVersion,
      taskKey: req.task.id,
      round: call.round,
      taskAttempt: call.attempt,
      timeLimitMs: req.task.timeLimitMs,
      jsonSchema: taskOutputJsonSchema(),
      budget: req.budget,
    });
    await appendEvent(db, {
      idempotencyKey: idempotencyKey(ref, 'event'),
      actor: employee.id,
      action: call.action,
      source: 'employee',
      description: call.description(employee.id),
      runId: req.runId,
      taskId: req.taskId,
      workflowId: ref.workflowId,
      activityId: ref.activityId,
      details:
        call.kind === 'task'
          ? { modelRunId, outputChars: text.length, attempt: call.attempt, round: call.round }
          : { modelRunId, attempt: call.attempt, round: call.round },
    });
    return { modelRunId, text };
  }

  async function activeEmployee(id: string): Promise<EmployeeSnapshot> {
    const employee = await getEmployee(db, id);
    if (!employee) {
      throw failure(FailureType.EmployeeUnavailable, `unknown employee ${id}`);
    }
    if (employee.provider !== provider.name) {
      throw failure(FailureType.EmployeeUnavailable, `employee ${id} belongs to provider ${employee.provider}, not ${provider.name}`);
    }
    // HR may have suspended the employee since the Manager routed to it.
    if (employee.status !== 'active') {
      throw failure(FailureType.EmployeeUnavailable, `employee ${id} is ${employee.status}`);
    }
    return employee;
  }

  return conflictsAsFailures({
    async planWithEmployee(req: PlanRequest): Promise<PlanResponse> {
      const ref = activityRef();
      const employee = await activeEmployee(req.employeeId);
      const { modelRunId, text } = await callAndRecord({
        ref,
        runId: req.runId,
        taskId: null,
        employee,
        kind: 'plan',
        prompt: planPrompt(req.prd, req.feedback),
        promptVersion: PLAN_PROMPT_VERSION,
        taskKey: null,
        round: req.round,
        timeLimitMs: req.timeLimitMs ?? TIME_LIMITS.planMs,
        jsonSchema: planJsonSchema(),
        budget: req.budget,
      });
      await appendEvent(db, {
        idempotencyKey: idempotencyKey(ref, 'event'),
        actor: employee.id,
        action: 'plan.proposed',
        source: 'employee',
        description: `${employee.id} proposed a plan (round ${req.round})`,
        runId: req.runId,
        workflowId: ref.workflowId,
        activityId: ref.activityId,
        details: { modelRunId },
      });
      try {
        return { modelRunId, plan: JSON.parse(text), parseError: null };
      } catch (err) {
        return { modelRunId, plan: null, parseError: `the planner's answer is not JSON: ${errorMessage(err)}` };
      }
    },

    async performTask(req: TaskRequest): Promise<TaskResponse> {
      const attempt = req.attempt ?? 1;
      const round = req.round ?? 1;
      const { modelRunId, text } = await answerForTask(req, {
        kind: 'task',
        prompt: () => buildTaskPrompt(req),
        promptVersion: TASK_PROMPT_VERSION,
        attempt,
        round,
        action: 'task.answered',
        description: (id) => `${id} answered task ${req.task.id}`,
      });
      // Disputes travel with the answer (small); the files stay in Postgres.
      const disputes = req.frozenTests ? disputesOf(text) : [];
      return { modelRunId, summary: text.slice(0, 200), outputChars: text.length, ...(disputes.length > 0 ? { disputes } : {}) };
    },

    /** A tester writes the task's acceptance tests (never the coder: the Manager routes them apart). */
    async writeTests(req: TestsRequest): Promise<TaskResponse> {
      const { modelRunId, text } = await answerForTask(req, {
        kind: 'tests',
        prompt: () => buildTestsPrompt(req),
        promptVersion: TESTS_PROMPT_VERSION,
        attempt: req.attempt,
        round: req.round,
        action: 'tests.written',
        description: (id) => `${id} wrote the acceptance tests of task ${req.task.id}${req.round > 1 ? ` (round ${req.round})` : ''}`,
      });
      return { modelRunId, summary: text.slice(0, 200), outputChars: text.length };
    },

    /** The tester answers a dispute of its frozen tests: uphold (with the corrected files) or reject. */
    async answerDispute(req: DisputeRequest): Promise<DisputeAnswer> {
      const ref = activityRef();
      const employee = await activeEmployee(req.employeeId);
      const [tests, code] = await Promise.all([frozenTestFiles(db, req.taskId), outputFiles(req.codeModelRunId)]);
      const { modelRunId, text } = await callAndRecord({
        ref,
        runId: req.runId,
        taskId: req.taskId,
        employee,
        kind: 'dispute',
        prompt: disputePrompt({ task: req.task, tests, disputes: req.disputes, code, excerpt: req.excerpt }),
        promptVersion: DISPUTE_PROMPT_VERSION,
        taskKey: req.task.id,
        round: req.version,
        timeLimitMs: TIME_LIMITS.reviewMs,
        jsonSchema: DISPUTE_JSON_SCHEMA,
        budget: req.budget,
      });
      return { modelRunId, ...readDisputeAnswer(text) };
    },

    /**
     * An independent opinion on another employee's output. Evidence for the Auditor only:
     * rules stay the judge, and an opinion that is not the asked-for JSON counts as "unsure".
     */
    async reviewOutput(req: ReviewRequest): Promise<ReviewOpinion> {
      const ref = activityRef();
      if (req.employeeId === req.authorId) {
        throw failure(FailureType.BadInput, 'a reviewer never reviews its own output');
      }
      const employee = await activeEmployee(req.employeeId);
      const authored = await getModelRun(db, req.modelRunId);
      const { modelRunId, text } = await callAndRecord({
        ref,
        runId: req.runId,
        taskId: req.taskId,
        employee,
        kind: 'review',
        prompt: reviewPrompt(req.task, authored?.output ?? ''),
        promptVersion: REVIEW_PROMPT_VERSION,
        taskKey: req.task.id,
        round: 1,
        timeLimitMs: TIME_LIMITS.reviewMs,
        jsonSchema: REVIEW_JSON_SCHEMA,
        budget: req.budget,
      });
      let verdict: ReviewOpinion['verdict'] = 'unsure';
      let comments: string;
      try {
        const json = JSON.parse(text) as { verdict?: unknown; comments?: unknown };
        verdict = REVIEW_VERDICTS.includes(json.verdict as ReviewOpinion['verdict'])
          ? (json.verdict as ReviewOpinion['verdict'])
          : 'unsure';
        comments = typeof json.comments === 'string' ? json.comments.slice(0, 2_000) : '';
      } catch {
        comments = `(the review was not JSON: ${text.slice(0, 200)})`;
      }
      return { reviewerId: employee.id, modelRunId, verdict, comments };
    },
  });
}

/** The disputes an answer names (well-formed ones only, at most 20). */
function disputesOf(text: string): { test: string; reason: string }[] {
  const parsed = parseTaskOutput(text);
  return parsed.ok
    ? (parsed.output.disputes ?? []).slice(0, 20).map((d) => ({ test: d.test.slice(0, 500), reason: d.reason.slice(0, 2_000) }))
    : [];
}

const LOG_VERB: Record<'plan' | 'task' | 'review' | 'tests' | 'dispute', string> = {
  plan: 'proposed a plan',
  task: 'answered',
  review: 'reviewed',
  tests: 'wrote the acceptance tests of',
  dispute: 'answered a dispute on',
};

const DISPUTE_JSON_SCHEMA = {
  name: 'dispute_answer',
  schema: {
    type: 'object',
    properties: {
      decision: { type: 'string', enum: ['uphold', 'reject'] },
      summary: { type: 'string' },
      files: {
        type: 'array',
        items: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] },
      },
    },
    required: ['decision', 'summary', 'files'],
  },
};

/**
 * A tester's answer to a dispute: reject (the tests stand), or uphold with the corrected test files
 * as a task output ({summary, files}: they are frozen as the next version). Anything else is no
 * answer, and the dispute goes to the Director.
 */
export function readDisputeAnswer(text: string): Omit<DisputeAnswer, 'modelRunId'> {
  let decision: unknown;
  let reason = '';
  try {
    const json = JSON.parse(text) as { decision?: unknown; summary?: unknown; reason?: unknown };
    decision = json.decision;
    reason = String(json.summary ?? json.reason ?? '').slice(0, 2_000);
  } catch {
    return { decision: 'unresolved', reason: `the answer was not JSON: ${text.slice(0, 200)}`, files: [] };
  }
  if (decision === 'reject') return { decision: 'reject', reason, files: [] };
  const parsed = parseTaskOutput(text);
  if (decision === 'uphold' && parsed.ok && parsed.output.files.length > 0)
    return { decision: 'uphold', reason, files: parsed.output.files };
  return {
    decision: 'unresolved',
    reason:
      decision === 'uphold' ? `upheld without the corrected tests as {summary, files}: ${reason}` : `no decision: ${text.slice(0, 200)}`,
    files: [],
  };
}

const REVIEW_JSON_SCHEMA = {
  name: 'review',
  schema: {
    type: 'object',
    properties: { verdict: { type: 'string', enum: ['approve', 'reject', 'unsure'] }, comments: { type: 'string' } },
    required: ['verdict', 'comments'],
  },
};

export type EmployeeActivities = ReturnType<typeof createEmployeeActivities>;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a call cost: the registry's prices per million tokens, else what the provider said. */
function priceOf(terms: EmployeeTerms | null, c: Completion): number | null {
  if (terms && c.inputTokens !== null && c.outputTokens !== null && (terms.priceInputPerMTok > 0 || terms.priceOutputPerMTok > 0)) {
    return Math.round(((c.inputTokens * terms.priceInputPerMTok + c.outputTokens * terms.priceOutputPerMTok) / 1_000_000) * 1e6) / 1e6;
  }
  return c.costUsd ?? (terms ? 0 : null);
}
