/**
 * `aura history <run>`: one timeline of a run for incident review. Temporal's history of the
 * run's workflow and of its task workflows (what executed: workflows, activities with their
 * attempts, signals, updates, children) joined by time with the governance record in PostgreSQL
 * (what was decided: model calls, sandbox checks, verdicts, incidents, HR actions, scores, the
 * Director's actions, the audit events). Every line names who acted and the row or history
 * event it comes from.
 *
 * An audit event that only announces a row shown beside it (a verdict's `audit.clean`, a
 * score's `score.recorded`, …, written by the same activity), and an employee's log line of a
 * model call, are folded into that row's line.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Payload as SdkPayload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { AuraConfig } from '../config/config.js';
import { findRun, runRecord, type RunHeader, type RunRecord } from '../db/repositories/history.js';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';
import { runWorkflowId } from './runs.js';
import { withDb } from './with-db.js';
import type { Db } from '../db/connect.js';
import { UserError } from '../errors/index.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;
type Failure = temporal.api.failure.v1.IFailure;
/** `db`: a connection already open (the Manager API's); else one is opened for the command. */
export type TimelineCtx = { config: () => AuraConfig; client: (cfg: AuraConfig) => Promise<Client>; db?: Db };

/** One line of the timeline (`--json` prints an array of these). */
export interface TimelineEntry {
  /** ISO 8601, UTC, microseconds. */
  at: string;
  source: 'temporal' | 'record';
  /** `manager`, `auditor`, `HR`, `accountant`, `sandbox`, `employee:<id>`, `director:<name>`. */
  who: string;
  what: string;
  /** Task key (`T1`; a re-planned generation: `g2:T1`), or null for the run itself. */
  task: string | null;
  /** The task's attempt (one per employee it was given to), when known. */
  attempt: number | null;
  /** Record: the row id (its table in `details.table`). Temporal: `<workflow id>#<event id>`. */
  ref: string | null;
  details: Record<string, unknown>;
}

export interface Timeline {
  runId: string | null;
  workflowId: string;
  run: RunHeader | null;
  notes: string[];
  entries: TimelineEntry[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---- Finding the run, reading both records ----

export async function buildTimeline(ctx: TimelineCtx, ref: string): Promise<Timeline> {
  const cfg = ctx.config();
  const using = <T>(fn: (db: Db) => Promise<T>) => (ctx.db ? fn(ctx.db) : withDb(ctx, fn));
  return using(async (db) => {
    const notes: string[] = [];
    let run = await findRun(db, ref);
    let client: Client | null = null;
    try {
      client = await ctx.client(cfg);
    } catch (err) {
      if (!run || !(err instanceof UserError)) throw err;
      notes.push(`Temporal is out of reach (${err.message.split('. ')[0]}): the governance record only`);
    }

    let workflowId = run?.workflowId ?? null;
    let runId = run?.id ?? null;
    if (!run && client) {
      const found = await findInTemporal(client, ref);
      if (!found)
        throw new UserError(
          `unknown run: ${ref} (no run with this id or workflow id in the governance record, and no such workflow or AuraRunId in Temporal)`,
        );
      workflowId = found.workflowId;
      runId = found.runId;
      if (runId) run = await findRun(db, runId);
      if (!run) notes.push(`the governance record has no run ${runId ?? ref}: Temporal's history only`);
    }
    if (!workflowId) throw new UserError(`unknown run: ${ref}`);

    // Run ids in the record are uuids: another AuraRunId value has no rows there.
    const record = runId && UUID.test(runId) ? await runRecord(db, runId) : null;
    const labels = taskLabels(record, workflowId);
    const entries: TimelineEntry[] = record ? recordEntries(record, labels) : [];
    if (client) {
      const histories = await fetchHistories(
        client,
        workflowId,
        record?.tasks.map((t) => t.workflow_id).filter((w): w is string => !!w) ?? [],
        notes,
      );
      const decode = (p: Payload | null | undefined) => decodePayload(client!, p);
      for (const h of histories) entries.push(...temporalEntries(h.workflowId, h.events, { taskOf: labels.ofWorkflow, decode }));
    }
    return { runId, workflowId, run, notes, entries: sortTimeline(entries) };
  });
}

/** A workflow id, a run id whose workflow is `prd-run-<id>`, or an AuraRunId value. */
async function findInTemporal(client: Client, ref: string): Promise<{ workflowId: string; runId: string | null } | null> {
  const candidates = UUID.test(ref) ? [runWorkflowId(ref), ref] : [ref];
  for (const id of candidates) {
    try {
      const d = await client.workflow.getHandle(id).describe();
      return { workflowId: id, runId: d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.runId) ?? (UUID.test(ref) ? ref : null) };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  // The list query takes a quoted value: only plain ids are asked for.
  if (/^[\w.:-]+$/.test(ref)) {
    for await (const w of client.workflow.list({ query: `AuraRunId = "${ref}"`, pageSize: 1 })) {
      return { workflowId: w.workflowId, runId: ref };
    }
  }
  return null;
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof WorkflowNotFoundError ||
    (err as { code?: unknown }).code === 5 ||
    (err as { cause?: { code?: unknown } }).cause?.code === 5
  );
}

async function fetchHistories(
  client: Client,
  workflowId: string,
  taskWorkflowIds: string[],
  notes: string[],
): Promise<{ workflowId: string; events: HistoryEvent[] }[]> {
  const fetch = async (id: string): Promise<HistoryEvent[] | null> => {
    try {
      return (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  };
  const parent = await fetch(workflowId);
  if (!parent) {
    notes.push(
      `Temporal has no history of ${workflowId} (purged from the dev server, or past the namespace's retention): the governance record only`,
    );
    return [];
  }
  const out = [{ workflowId, events: parent }];
  const children = parent.flatMap((e) =>
    e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId
      ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId]
      : [],
  );
  for (const id of new Set([...children, ...taskWorkflowIds])) {
    const events = await fetch(id);
    if (events) out.push({ workflowId: id, events });
    else notes.push(`Temporal has no history of task workflow ${id}`);
  }
  return out;
}

function decodePayload(client: Client, p: Payload | null | undefined): unknown {
  if (!p) return undefined;
  try {
    return client.options.loadedDataConverter.payloadConverter.fromPayload(p as SdkPayload);
  } catch {
    return undefined; // an encoding this client does not know: the line says what it can without it
  }
}

// ---- Task names ----

export interface Labels {
  ofTask(taskId: string | null | undefined): string | null;
  ofWorkflow(workflowId: string | null | undefined): string | null;
}

function taskLabels(record: RunRecord | null, runWorkflow: string): Labels {
  const label = (key: string, generation: number) => (generation > 1 ? `g${generation}:${key}` : key);
  const byId = new Map<string, string>();
  const byWorkflow = new Map<string, string>();
  for (const t of record?.tasks ?? []) {
    byId.set(t.id, label(t.task_key, t.generation));
    if (t.workflow_id) byWorkflow.set(t.workflow_id, label(t.task_key, t.generation));
  }
  return {
    ofTask: (id) => (id ? (byId.get(id) ?? null) : null),
    ofWorkflow: (id) => {
      if (!id || id === runWorkflow) return null;
      const known = byWorkflow.get(id);
      if (known) return known;
      const m = /\.(?:g(\d+)\.)?task-(.+)$/.exec(id);
      return m ? label(m[2]!, Number(m[1] ?? 1)) : null;
    },
  };
}

// ---- The governance record ----

const FOLDED: Record<string, 'modelRuns' | 'verdicts' | 'actions' | 'scores' | 'director' | 'freezes'> = {
  'plan.proposed': 'modelRuns',
  'task.answered': 'modelRuns',
  'audit.violations': 'verdicts',
  'audit.clean': 'verdicts',
  'hr.actions': 'actions',
  'score.recorded': 'scores',
  'score.warn': 'actions',
  'score.terminate': 'actions',
  'tests.frozen': 'freezes',
};

/** What a check was: the red run (frozen tests, no code yet), a green run (code against them), or the plan's own command. */
function checkName(kind: string, phase: string | null | undefined): string {
  if (kind === 'workspace') return 'final verification';
  if (phase === 'red') return 'red run (the frozen tests before any code: must fail)';
  if (phase === 'green') return 'green run (the code against the frozen tests)';
  return 'acceptance check';
}

/** The record's rows of one run as timeline entries (exported for tests). */
export function recordEntries(r: RunRecord, labels: Labels): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const modelRun = new Map(r.modelRuns.map((m) => [m.id, m]));
  const verdict = new Map(r.verdicts.map((v) => [v.id, v]));
  const incident = new Map(r.incidents.map((i) => [i.id, i]));
  const attemptOf = (modelRunId: string | null | undefined) => (modelRunId ? (modelRun.get(modelRunId)?.task_attempt ?? null) : null);
  // A review's call: the attempt of the output it reviewed (named in the verdict).
  const reviewed = new Map<string, string | null>();
  for (const v of r.verdicts) {
    const reviewRun = (v.review as { modelRunId?: unknown } | null)?.modelRunId;
    if (typeof reviewRun === 'string') reviewed.set(reviewRun, v.model_run_id);
  }
  const verdictAttempt = (verdictId: string | null | undefined) => attemptOf(verdictId ? verdict.get(verdictId)?.model_run_id : null);
  const row = (
    table: string,
    at: string,
    e: Omit<TimelineEntry, 'at' | 'source' | 'details'> & { details?: Record<string, unknown> },
  ): TimelineEntry => ({
    at,
    source: 'record',
    who: e.who,
    what: e.what,
    task: e.task,
    attempt: e.attempt,
    ref: e.ref,
    details: { table, ...e.details },
  });

  // The plan round of each planner call, from the event that announced it.
  const planRound = new Map<string, number>();
  for (const e of r.events) {
    const id = (e.details as { modelRunId?: unknown }).modelRunId;
    const round = /\(round (\d+)\)/.exec(e.description ?? '')?.[1];
    if (e.action === 'plan.proposed' && typeof id === 'string' && round) planRound.set(id, Number(round));
  }

  for (const m of r.modelRuns) {
    const spend = `${m.input_tokens ?? 0}+${m.output_tokens ?? 0} tokens${m.cost_usd !== null && Number(m.cost_usd) > 0 ? `, $${Number(m.cost_usd)}` : ''}, ${m.latency_ms ?? '?'} ms${m.finish_reason ? `, ${m.finish_reason}` : ''}`;
    const outcome = m.error ? `call failed: ${m.error}` : 'answered';
    const what =
      m.kind === 'plan'
        ? `planner ${outcome}${planRound.has(m.id) ? ` (plan round ${planRound.get(m.id)})` : ''} (${spend})`
        : m.kind === 'review'
          ? `reviewer ${outcome} (${spend})`
          : m.kind === 'tests'
            ? `tester ${outcome}: acceptance tests${m.round && m.round > 1 ? ` (round ${m.round})` : ''} (${spend})`
            : m.kind === 'dispute'
              ? `tester ${outcome} a dispute of its tests (${spend})`
              : `${outcome}${m.round ? ` (round ${m.round})` : ''} (${spend})`;
    out.push(
      row('model_runs', m.at, {
        who: `employee:${m.employee_id}`,
        what: `${what}${m.output_altered ? '; output stored altered (NUL or lone surrogate)' : ''}`,
        task: labels.ofTask(m.task_id),
        attempt: m.task_attempt ?? (reviewed.has(m.id) ? attemptOf(reviewed.get(m.id)) : null),
        ref: m.id,
        details: {
          kind: m.kind,
          employeeId: m.employee_id,
          round: m.round,
          callAttempt: m.attempt,
          promptVersion: m.prompt_version,
          inputTokens: m.input_tokens,
          outputTokens: m.output_tokens,
          costUsd: m.cost_usd === null ? null : Number(m.cost_usd),
          latencyMs: m.latency_ms,
          finishReason: m.finish_reason,
          error: m.error,
        },
      }),
    );
  }

  for (const v of r.verifications) {
    const outcome = !v.ran
      ? `not run: ${v.skipped_reason ?? 'no reason recorded'}`
      : v.passed
        ? 'passed'
        : `failed (exit ${v.exit_code ?? '-'}${v.timed_out ? ', timed out' : ''})`;
    out.push(
      row('verifications', v.at, {
        who: 'sandbox',
        what: `${checkName(v.kind, v.phase)} \`${v.command}\` ${outcome} in ${v.duration_ms} ms${v.phase === 'red' && v.ran ? (v.passed ? ': PASSED with nothing implemented, the tests check nothing' : ', as it must') : ''}`,
        task: labels.ofTask(v.task_id),
        attempt: attemptOf(v.model_run_id),
        ref: v.id,
        details: {
          kind: v.kind,
          phase: v.phase ?? null,
          command: v.command,
          ran: v.ran,
          passed: v.passed,
          exitCode: v.exit_code,
          timedOut: v.timed_out,
          modelRunId: v.model_run_id,
          round: v.model_run_id ? (modelRun.get(v.model_run_id)?.round ?? null) : null,
          ...(v.output_sha256 ? { outputSha256: v.output_sha256 } : {}),
        },
      }),
    );
  }

  for (const f of r.freezes) {
    const files = (f.files as { path: string; sha256: string }[] | null) ?? [];
    out.push(
      row('acceptance_tests', f.at, {
        who: 'manager',
        what:
          `acceptance tests frozen: version ${f.version} by tester ${f.tester_id} (${f.reason}; decided by ${f.decided_by}): ` +
          (files.map((x) => `${x.path} sha256 ${x.sha256.slice(0, 12)}`).join(', ') || 'no files'),
        task: labels.ofTask(f.task_id) ?? f.task_key,
        attempt: null,
        ref: f.id,
        details: {
          taskKey: f.task_key,
          version: f.version,
          testerId: f.tester_id,
          modelRunId: f.model_run_id,
          files,
          reason: f.reason,
          decidedBy: f.decided_by,
          ...(f.dispute ? { dispute: f.dispute } : {}),
        },
      }),
    );
  }

  for (const v of r.verdicts) {
    const violations = (v.violations as { type: string; message: string; evidence?: { sha256: string } }[]) ?? [];
    const review = v.review as { reviewerId?: string; verdict?: string } | null;
    out.push(
      row('audit_verdicts', v.at, {
        who: 'auditor',
        what:
          `verdict on ${v.employee_id}: ${v.clean ? 'clean' : violations.map((x) => x.type).join(', ')}` +
          `${v.rounds && v.rounds > 1 ? ` (after ${v.rounds} rounds)` : ''}${review?.reviewerId ? `; reviewer ${review.reviewerId}: ${review.verdict ?? '-'} (evidence only)` : ''}`,
        task: labels.ofTask(v.task_id),
        attempt: attemptOf(v.model_run_id),
        ref: v.id,
        details: {
          employeeId: v.employee_id,
          clean: v.clean,
          modelRunId: v.model_run_id,
          rounds: v.rounds,
          violations: violations.map((x) => ({ type: x.type, message: x.message, sha256: x.evidence?.sha256 ?? null })),
          review,
        },
      }),
    );
  }

  for (const i of r.incidents) {
    const evidence = (i.evidence as { excerpt?: string; sha256?: string }[]) ?? [];
    out.push(
      row('incidents', i.at, {
        who: i.model_id ? 'HR' : 'manager',
        what: `incident: ${i.model_id ?? 'infrastructure (no employee)'} ${i.violation} (severity ${i.severity ?? '-'}): ${i.message}${evidence[0]?.sha256 ? `; evidence sha256 ${evidence[0].sha256.slice(0, 12)}` : ''}`,
        task: labels.ofTask(i.task_id),
        attempt: verdictAttempt(i.verdict_id),
        ref: i.id,
        details: {
          employeeId: i.model_id,
          violation: i.violation,
          severity: i.severity,
          status: i.status,
          verdictId: i.verdict_id,
          evidence,
        },
      }),
    );
  }

  // A threshold action (the scorecard's) has no incident: its task is its score's.
  const scoreByBase = new Map(r.scores.map((s) => [s.idempotency_key, s]));
  for (const a of r.actions) {
    const inc = a.incident_id ? incident.get(a.incident_id) : undefined;
    const score = inc ? undefined : scoreByBase.get(a.idempotency_key?.replace(/\/threshold$/, '') ?? '');
    const scoreRun = (score?.details as { modelRunId?: string } | undefined)?.modelRunId;
    out.push(
      row('disciplinary_actions', a.at, {
        who: 'HR',
        what: `${a.action} for ${a.model_id}: ${a.reason}${a.expires_at ? ` until ${new Date(a.expires_at).toISOString()}` : ''} [${a.policy_version}${a.enforced ? '' : ', not enforced'}]`,
        task: labels.ofTask(inc?.task_id ?? score?.task_id),
        attempt: inc ? verdictAttempt(inc.verdict_id) : attemptOf(scoreRun),
        ref: a.id,
        details: {
          employeeId: a.model_id,
          action: a.action,
          severity: a.severity,
          policyVersion: a.policy_version,
          enforced: a.enforced,
          incidentId: a.incident_id,
          expiresAt: a.expires_at ? new Date(a.expires_at).toISOString() : null,
        },
      }),
    );
  }

  for (const s of r.scores) {
    const d = s.details as { modelRunId?: string; verdictId?: string; accepted?: boolean; rounds?: number };
    out.push(
      row('scores', s.at, {
        who: 'accountant',
        what: `scored ${s.employee_id} ${Number(s.score)} (${s.capability}${d.accepted === false ? ', not accepted' : ''}): reputation ${Number(s.reputation_before)} → ${Number(s.reputation_after)}${s.tier ? `, ${s.tier}` : ''}`,
        task: labels.ofTask(s.task_id),
        attempt: attemptOf(d.modelRunId),
        ref: s.id,
        details: {
          employeeId: s.employee_id,
          capability: s.capability,
          score: Number(s.score),
          reputationBefore: Number(s.reputation_before),
          reputationAfter: Number(s.reputation_after),
          tier: s.tier,
          verdictId: d.verdictId ?? null,
          modelRunId: d.modelRunId ?? null,
        },
      }),
    );
  }

  for (const a of r.director) {
    out.push(
      row('director_actions', a.at, {
        who: `director:${a.director_id ?? '(unknown)'}`,
        what: `${a.action}${a.reason ? `: ${a.reason}` : ''}`,
        task: labels.ofTask(a.target_id),
        attempt: null,
        ref: a.id,
        details: {
          director: a.director_id,
          action: a.action,
          targetId: a.target_id,
          reason: a.reason,
          ...(Object.keys(a.details ?? {}).length ? { details: a.details } : {}),
        },
      }),
    );
  }

  // Audit events, but not those that only announce a row shown above (same activity, same fact).
  const keysOf = {
    modelRuns: r.modelRuns.map((x) => x.idempotency_key),
    verdicts: r.verdicts.map((x) => x.idempotency_key),
    actions: r.actions.map((x) => x.idempotency_key ?? ''),
    scores: r.scores.map((x) => x.idempotency_key),
    director: r.director.map((x) => x.idempotency_key ?? ''),
    freezes: r.freezes.map((x) => x.idempotency_key),
  };
  const folded = (action: string, key: string | null) => {
    const table = action.startsWith('director.') ? 'director' : FOLDED[action];
    const base = key?.match(/^(.*)\/(?:event|threshold-event)$/)?.[1];
    return !!table && !!base && keysOf[table].some((k) => k === base || k.startsWith(`${base}/`));
  };
  for (const e of r.events) {
    if (folded(e.action, e.idempotency_key)) continue;
    const d = e.details as { attempt?: unknown; modelRunId?: unknown };
    const attempt =
      (typeof d.attempt === 'number' ? d.attempt : null) ??
      (typeof d.modelRunId === 'string' ? attemptOf(d.modelRunId) : null) ??
      (Number(/\battempt (\d+)/.exec(e.description ?? '')?.[1]) || null);
    out.push(
      row('audit_events', e.at, {
        who: whoOfEvent(e.source, e.actor),
        what: `${e.action}${e.severity && e.severity !== 'info' ? ` [${e.severity}]` : ''}: ${e.description ?? ''}`,
        task: labels.ofTask(e.task_id) ?? labels.ofWorkflow(e.workflow_id),
        attempt,
        ref: e.id,
        details: {
          seq: Number(e.seq),
          action: e.action,
          severity: e.severity,
          actor: e.actor,
          workflowId: e.workflow_id,
          activityId: e.activity_id,
          ...(Object.keys(e.details ?? {}).length ? { details: e.details } : {}),
        },
      }),
    );
  }

  // An employee's log line of a model call says what the call's row says.
  const callKeys = new Set(keysOf.modelRuns);
  for (const l of r.logs) {
    if (l.idempotency_key && callKeys.has(l.idempotency_key)) continue;
    out.push(
      row('agent_activity_logs', l.at, {
        who: `employee:${l.agent_id}`,
        what: `${l.severity ? `[${l.severity}] ` : ''}${l.message ?? ''}`,
        task: labels.ofTask(l.task_id),
        attempt: null,
        ref: l.id,
      }),
    );
  }
  return out;
}

function whoOfEvent(source: string | null, actor: string): string {
  switch (source) {
    case 'employee':
      return `employee:${actor}`;
    case 'director':
      return `director:${actor}`;
    case 'hr':
      return 'HR';
    case 'auditor':
    case 'accountant':
    case 'sandbox':
    case 'manager':
      return source;
    default:
      return actor;
  }
}

// ---- Temporal's history ----

const ACTIVITY_ROLES: Record<string, string> = {
  inspectRound: 'auditor',
  auditAttempt: 'auditor',
  applyPolicy: 'HR',
  scoreAttempt: 'accountant',
  employeeRoster: 'accountant',
  verifyTaskOutput: 'sandbox',
  verifyWorkspace: 'sandbox',
  exportWorkspace: 'sandbox',
};
/** Signals one workflow of the run sends another: the Manager's own plumbing. */
const INTERNAL_SIGNALS = new Set(['taskProgress', 'budgetExhausted', 'budgetUpdate', 'runControl']);
const RETRY_STATES = [
  'unspecified',
  'in progress',
  'non-retryable failure',
  'timeout',
  'maximum attempts reached',
  'no retry policy',
  'internal server error',
  'cancel requested',
];
const TIMEOUT_TYPES = ['unspecified', 'start-to-close', 'schedule-to-start', 'schedule-to-close', 'heartbeat'];

interface ActivityInfo {
  type: string;
  activityId: string;
  summary: string | null;
  who: string;
  attempt: number | null;
  round: number | null;
  startedAttempt?: number;
  startedAt?: string;
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function tsIso(ts: HistoryEvent['eventTime']): string {
  const seconds = Number(ts?.seconds?.toString() ?? 0);
  const nanos = ts?.nanos ?? 0;
  const iso = new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString(); // …SS.mmmZ
  return `${iso.slice(0, -1)}${String(Math.floor(nanos / 1000) % 1000).padStart(3, '0')}Z`;
}

function failureText(f: Failure | null | undefined): string {
  if (!f) return 'no failure recorded';
  const parts = [f.message || '(no message)'];
  for (let c = f.cause, depth = 0; c && depth < 3; c = c.cause, depth++) if (c.message) parts.push(c.message);
  const type = f.applicationFailureInfo?.type;
  return `${type ? `${type}: ` : ''}${parts.join(': ')}`;
}

/** What a Director's (or anyone's) signal or update says, in a few words. */
function describeInput(name: string, input: Obj): string {
  if (name === 'taskProgress')
    return ` ${str(input.key) ?? '?'} ${str(input.status) ?? ''}${str(input.assignedTo) ? ` (${input.assignedTo}, attempt ${num(input.attempts) ?? '?'})` : ''}${str(input.escalation) ? `: ${input.escalation}` : ''}`;
  if (name === 'budgetExhausted') return ` from ${str(input.taskKey) ?? '?'}: ${str(input.message) ?? ''}`;
  const by = str(input.by) ?? str(asObj(input.stop).by);
  const kind = str(input.kind);
  const budget = asObj(input.budget);
  return (
    `${by ? ` from ${by}` : ''}${kind ? ` (${kind}${str(input.employeeId) ? ` → ${input.employeeId}` : ''})` : ''}` +
    `${num(budget.maxTokens) !== undefined ? ` budget ${budget.maxTokens} tokens / $${budget.maxCostUsd}` : ''}${'paused' in input ? ` paused=${String(input.paused)}` : ''}` +
    `${(str(input.reason) ?? str(asObj(input.stop).reason)) ? `: ${str(input.reason) ?? str(asObj(input.stop).reason)}` : ''}`
  );
}

function whoOfInput(name: string, input: Obj, identity: string | null | undefined): string {
  const by = str(input.by) ?? str(asObj(input.stop).by);
  if (INTERNAL_SIGNALS.has(name)) return 'manager';
  if (by) return `director:${by}`;
  return identity ? `unattributed (${identity})` : 'unattributed';
}

/** A few words on what an activity returned, for the lines a review looks for. */
function resultText(result: unknown): string {
  const r = asObj(result);
  const bits: string[] = [];
  if (typeof r.clean === 'boolean') {
    const types = Array.isArray(r.violations) ? r.violations.map((v) => str(asObj(v).type)).filter(Boolean) : [];
    bits.push(r.clean ? 'clean' : `violations: ${types.join(', ')}`);
  }
  if (typeof r.passed === 'boolean') bits.push(r.passed ? 'passed' : `failed (exit ${r.exitCode ?? '-'})`);
  if (Array.isArray(r.actions) && r.actions.length) bits.push(`actions: ${r.actions.join(', ')}`);
  if (num(r.score) !== undefined) bits.push(`score ${r.score}`);
  if (typeof r.repairable === 'boolean') bits.push(r.repairable ? 'repairable' : 'not repairable');
  if (str(r.status)) bits.push(`status ${r.status}`);
  if (str(r.acceptedBy)) bits.push(`accepted from ${r.acceptedBy}`);
  if (str(r.modelRunId)) bits.push(`model run ${r.modelRunId}`);
  if (str(r.verdictId)) bits.push(`verdict ${r.verdictId}`);
  return bits.length ? `: ${bits.join('; ')}` : '';
}

export function temporalEntries(
  workflowId: string,
  events: HistoryEvent[],
  ctx: { taskOf: Labels['ofWorkflow']; decode: (p: Payload | null | undefined) => unknown },
): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const task = ctx.taskOf(workflowId);
  const scheduled = new Map<string, ActivityInfo>();
  const updates = new Map<string, { name: string; who: string }>();
  const children = new Map<string, string>();
  let workflowType = 'workflow';
  let attempt: number | null = null;
  let round: number | null = null;

  for (const e of events) {
    const eventId = String(e.eventId ?? '');
    const base = { at: tsIso(e.eventTime), source: 'temporal' as const, task, ref: `${workflowId}#${eventId}` };
    const push = (who: string, what: string, details: Obj, extra: Partial<TimelineEntry> = {}) =>
      out.push({ ...base, who, what, attempt: null, details: { workflowId, eventId: Number(eventId), ...details }, ...extra });
    const summary = str(ctx.decode(e.userMetadata?.summary));

    if (e.workflowExecutionStartedEventAttributes) {
      const a = e.workflowExecutionStartedEventAttributes;
      workflowType = a.workflowType?.name ?? workflowType;
      const input = asObj(ctx.decode(a.input?.payloads?.[0]));
      const parent = a.parentWorkflowExecution?.workflowId;
      push(
        'manager',
        `workflow ${workflowType} started${summary ? ` ("${summary}")` : ''}${parent ? ` by ${parent}` : ''}${(a.attempt ?? 1) > 1 ? ` (attempt ${a.attempt})` : ''}`,
        {
          event: 'WorkflowExecutionStarted',
          workflowType,
          taskQueue: a.taskQueue?.name,
          parentWorkflowId: parent ?? null,
          project: str(input.project) ?? null,
          identity: a.identity || null,
        },
      );
    } else if (e.workflowExecutionCompletedEventAttributes) {
      const result = ctx.decode(e.workflowExecutionCompletedEventAttributes.result?.payloads?.[0]);
      push('manager', `workflow ${workflowType} completed${resultText(result)}`, {
        event: 'WorkflowExecutionCompleted',
        status: str(asObj(result).status) ?? null,
      });
    } else if (e.workflowExecutionFailedEventAttributes) {
      const a = e.workflowExecutionFailedEventAttributes;
      push('manager', `workflow ${workflowType} failed: ${failureText(a.failure)} (${RETRY_STATES[a.retryState ?? 0] ?? a.retryState})`, {
        event: 'WorkflowExecutionFailed',
        failure: failureText(a.failure),
      });
    } else if (e.workflowExecutionTimedOutEventAttributes) {
      push('manager', `workflow ${workflowType} timed out`, { event: 'WorkflowExecutionTimedOut' });
    } else if (e.workflowExecutionCancelRequestedEventAttributes) {
      const a = e.workflowExecutionCancelRequestedEventAttributes;
      push(
        a.identity ? `unattributed (${a.identity})` : 'unattributed',
        `cancellation of ${workflowType} requested${a.cause ? `: ${a.cause}` : ''}`,
        { event: 'WorkflowExecutionCancelRequested', identity: a.identity || null },
      );
    } else if (e.workflowExecutionCanceledEventAttributes) {
      push('manager', `workflow ${workflowType} cancelled`, { event: 'WorkflowExecutionCanceled' });
    } else if (e.workflowExecutionTerminatedEventAttributes) {
      const a = e.workflowExecutionTerminatedEventAttributes;
      push(
        a.identity ? `unattributed (${a.identity})` : 'unattributed',
        `workflow ${workflowType} terminated${a.reason ? `: ${a.reason}` : ''}`,
        { event: 'WorkflowExecutionTerminated', identity: a.identity || null, reason: a.reason || null },
      );
    } else if (e.workflowExecutionContinuedAsNewEventAttributes) {
      push('manager', `workflow ${workflowType} continued as new`, {
        event: 'WorkflowExecutionContinuedAsNew',
        newRunId: e.workflowExecutionContinuedAsNewEventAttributes.newExecutionRunId,
      });
    } else if (e.workflowTaskFailedEventAttributes) {
      const a = e.workflowTaskFailedEventAttributes;
      push('manager', `workflow task failed (cause ${a.cause ?? '?'}): ${failureText(a.failure)}`, {
        event: 'WorkflowTaskFailed',
        cause: a.cause,
        identity: a.identity || null,
      });
    } else if (e.workflowTaskTimedOutEventAttributes) {
      push('manager', `workflow task timed out (${TIMEOUT_TYPES[e.workflowTaskTimedOutEventAttributes.timeoutType ?? 0] ?? '?'})`, {
        event: 'WorkflowTaskTimedOut',
      });
    } else if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      const type = a.activityType?.name ?? '?';
      const input = asObj(ctx.decode(a.input?.payloads?.[0]));
      const queue = a.taskQueue?.name ?? '';
      // Which attempt of the task (one per employee it went to) and which repair round the
      // following activities belong to.
      if (type === 'performTask') {
        attempt = num(input.attempt) ?? attempt;
        round = num(input.round) ?? 1;
      } else if (type === 'recordTaskStatus' && input.status === 'running') {
        attempt = Number(/^attempt (\d+)/.exec(str(input.description) ?? '')?.[1]) || attempt;
        round = null;
      } else if (type === 'inspectRound') {
        round = num(input.round) ?? round;
      }
      const employee = str(input.employeeId);
      const who = queue.startsWith('aura-employee-')
        ? `employee:${employee ?? queue.slice('aura-employee-'.length)}`
        : (ACTIVITY_ROLES[type] ?? (queue === 'aura-sandbox' ? 'sandbox' : 'manager'));
      // Routing comes before an attempt: it belongs to none.
      const info: ActivityInfo = {
        type,
        activityId: a.activityId ?? '?',
        summary: summary ?? null,
        who,
        attempt: type === 'employeeRoster' ? null : attempt,
        round: type === 'planWithEmployee' ? (num(input.round) ?? null) : type === 'employeeRoster' ? null : round,
      };
      scheduled.set(eventId, info);
      push(
        who,
        `activity ${type} scheduled${summary ? `: "${summary}"` : ''} (on ${queue})`,
        {
          event: 'ActivityTaskScheduled',
          activityType: type,
          activityId: info.activityId,
          summary: info.summary,
          taskQueue: queue,
          ...(employee ? { employeeId: employee } : {}),
          ...(info.round !== null ? { round: info.round } : {}),
        },
        { attempt: info.attempt },
      );
    } else if (e.activityTaskStartedEventAttributes) {
      const a = e.activityTaskStartedEventAttributes;
      const info = scheduled.get(String(a.scheduledEventId ?? ''));
      const n = a.attempt ?? 1;
      if (info) Object.assign(info, { startedAttempt: n, startedAt: base.at });
      const retries = n > 1 ? ` (${n - 1} ${n - 1 === 1 ? 'retry' : 'retries'}; last failure: ${failureText(a.lastFailure)})` : '';
      push(
        info?.who ?? 'manager',
        `activity ${info?.type ?? '?'} started, attempt ${n}${retries}`,
        activityDetails('ActivityTaskStarted', info, n, a.identity),
        { attempt: info ? info.attempt : attempt },
      );
    } else if (e.activityTaskCompletedEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes;
      const info = scheduled.get(String(a.scheduledEventId ?? ''));
      const n = info?.startedAttempt ?? 1;
      const result = ctx.decode(a.result?.payloads?.[0]);
      push(
        info?.who ?? 'manager',
        `activity ${info?.type ?? '?'} completed${n > 1 ? ` on attempt ${n}` : ''}${resultText(result)}`,
        activityDetails('ActivityTaskCompleted', info, n, a.identity),
        { attempt: info ? info.attempt : attempt },
      );
    } else if (e.activityTaskFailedEventAttributes) {
      const a = e.activityTaskFailedEventAttributes;
      const info = scheduled.get(String(a.scheduledEventId ?? ''));
      const n = info?.startedAttempt ?? 1;
      push(
        info?.who ?? 'manager',
        `activity ${info?.type ?? '?'} failed on attempt ${n}: ${failureText(a.failure)} (${RETRY_STATES[a.retryState ?? 0] ?? a.retryState})`,
        { ...activityDetails('ActivityTaskFailed', info, n, a.identity), failure: failureText(a.failure) },
        { attempt: info ? info.attempt : attempt },
      );
    } else if (e.activityTaskTimedOutEventAttributes) {
      const a = e.activityTaskTimedOutEventAttributes;
      const info = scheduled.get(String(a.scheduledEventId ?? ''));
      const n = info?.startedAttempt ?? 1;
      const timeout = TIMEOUT_TYPES[a.failure?.timeoutFailureInfo?.timeoutType ?? 0] ?? '?';
      push(
        info?.who ?? 'manager',
        `activity ${info?.type ?? '?'} timed out (${timeout}) on attempt ${n}${a.failure?.cause ? `: ${failureText(a.failure.cause)}` : ''} (${RETRY_STATES[a.retryState ?? 0] ?? a.retryState})`,
        { ...activityDetails('ActivityTaskTimedOut', info, n), timeout },
        { attempt: info ? info.attempt : attempt },
      );
    } else if (e.activityTaskCancelRequestedEventAttributes) {
      const info = scheduled.get(String(e.activityTaskCancelRequestedEventAttributes.scheduledEventId ?? ''));
      push(
        'manager',
        `cancellation of activity ${info?.type ?? '?'} requested`,
        activityDetails('ActivityTaskCancelRequested', info, info?.startedAttempt ?? null),
        { attempt: info ? info.attempt : attempt },
      );
    } else if (e.activityTaskCanceledEventAttributes) {
      const info = scheduled.get(String(e.activityTaskCanceledEventAttributes.scheduledEventId ?? ''));
      push(
        info?.who ?? 'manager',
        `activity ${info?.type ?? '?'} cancelled`,
        activityDetails('ActivityTaskCanceled', info, info?.startedAttempt ?? null),
        { attempt: info ? info.attempt : attempt },
      );
    } else if (e.workflowExecutionSignaledEventAttributes) {
      const a = e.workflowExecutionSignaledEventAttributes;
      const name = a.signalName ?? '?';
      const input = asObj(ctx.decode(a.input?.payloads?.[0]));
      push(
        whoOfInput(name, input, a.identity),
        `signal ${name} received${describeInput(name, input)}`,
        {
          event: 'WorkflowExecutionSignaled',
          signal: name,
          by: str(input.by) ?? null,
          reason: str(input.reason) ?? null,
          identity: a.identity || null,
        },
        name === 'taskProgress' && str(input.key) ? { task: str(input.key)! } : {},
      );
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      const a = e.workflowExecutionUpdateAcceptedEventAttributes;
      const name = a.acceptedRequest?.input?.name ?? '?';
      const input = asObj(ctx.decode(a.acceptedRequest?.input?.args?.payloads?.[0]));
      const who = whoOfInput(name, input, a.acceptedRequest?.meta?.identity);
      updates.set(a.acceptedRequest?.meta?.updateId || a.protocolInstanceId || '', { name, who });
      push(who, `update ${name} accepted${describeInput(name, input)}`, {
        event: 'WorkflowExecutionUpdateAccepted',
        update: name,
        updateId: a.acceptedRequest?.meta?.updateId ?? null,
        by: str(input.by) ?? null,
        reason: str(input.reason) ?? null,
      });
    } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
      const a = e.workflowExecutionUpdateCompletedEventAttributes;
      const u = updates.get(a.meta?.updateId ?? '') ?? { name: '?', who: 'manager' };
      const answer = asObj(ctx.decode(a.outcome?.success?.payloads?.[0]));
      const outcome = a.outcome?.failure
        ? `refused: ${failureText(a.outcome.failure)}`
        : `${str(answer.message) ?? 'done'}${str(answer.status) ? ` (now ${answer.status})` : ''}`;
      push(u.who, `update ${u.name} completed: ${outcome}`, {
        event: 'WorkflowExecutionUpdateCompleted',
        update: u.name,
        updateId: a.meta?.updateId ?? null,
      });
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
      const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
      const child = a.workflowId ?? '?';
      children.set(eventId, child);
      push(
        'manager',
        `child ${a.workflowType?.name ?? 'workflow'} ${child} initiated`,
        { event: 'StartChildWorkflowExecutionInitiated', childWorkflowId: child },
        { task: ctx.taskOf(child), attempt: null },
      );
    } else if (e.startChildWorkflowExecutionFailedEventAttributes) {
      const a = e.startChildWorkflowExecutionFailedEventAttributes;
      push(
        'manager',
        `child ${a.workflowId} could not start (cause ${a.cause})`,
        { event: 'StartChildWorkflowExecutionFailed', childWorkflowId: a.workflowId },
        { task: ctx.taskOf(a.workflowId), attempt: null },
      );
    } else {
      const child =
        (e.childWorkflowExecutionStartedEventAttributes &&
          (['started', e.childWorkflowExecutionStartedEventAttributes, 'ChildWorkflowExecutionStarted'] as const)) ||
        (e.childWorkflowExecutionCompletedEventAttributes &&
          (['completed', e.childWorkflowExecutionCompletedEventAttributes, 'ChildWorkflowExecutionCompleted'] as const)) ||
        (e.childWorkflowExecutionFailedEventAttributes &&
          (['failed', e.childWorkflowExecutionFailedEventAttributes, 'ChildWorkflowExecutionFailed'] as const)) ||
        (e.childWorkflowExecutionCanceledEventAttributes &&
          (['cancelled', e.childWorkflowExecutionCanceledEventAttributes, 'ChildWorkflowExecutionCanceled'] as const)) ||
        (e.childWorkflowExecutionTimedOutEventAttributes &&
          (['timed out', e.childWorkflowExecutionTimedOutEventAttributes, 'ChildWorkflowExecutionTimedOut'] as const)) ||
        (e.childWorkflowExecutionTerminatedEventAttributes &&
          (['terminated', e.childWorkflowExecutionTerminatedEventAttributes, 'ChildWorkflowExecutionTerminated'] as const)) ||
        null;
      if (!child) continue; // workflow tasks, markers, timers, search attributes, outgoing signals
      const [verb, a, event] = child;
      const childId =
        a.workflowExecution?.workflowId ?? children.get(String((a as { initiatedEventId?: unknown }).initiatedEventId ?? '')) ?? '?';
      const result = 'result' in a ? resultText(ctx.decode(a.result?.payloads?.[0])) : '';
      const failure = 'failure' in a && a.failure ? `: ${failureText(a.failure)}` : '';
      push(
        'manager',
        `child ${a.workflowType?.name ?? 'workflow'} ${childId} ${verb}${result}${failure}`,
        { event, childWorkflowId: childId },
        { task: ctx.taskOf(childId), attempt: null },
      );
    }
  }
  return out;
}

function activityDetails(event: string, info: ActivityInfo | undefined, activityAttempt: number | null, identity?: string | null): Obj {
  return {
    event,
    activityType: info?.type ?? null,
    activityId: info?.activityId ?? null,
    summary: info?.summary ?? null,
    activityAttempt,
    ...(info?.round != null ? { round: info.round } : {}),
    ...(identity ? { worker: identity } : {}),
  };
}

// ---- Order and text ----

/** By time; at the same microsecond, each source keeps its own order (history, then record). */
export function sortTimeline(entries: TimelineEntry[]): TimelineEntry[] {
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.at < b.e.at ? -1 : a.e.at > b.e.at ? 1 : a.i - b.i))
    .map(({ e }) => e);
}

function oneLine(text: string, max = 400): string {
  const flat = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The reference as printed: a row's table and id, or the history event in its workflow. */
function refText(e: TimelineEntry, runWorkflow: string): string {
  if (!e.ref) return '';
  if (e.source === 'record') return `${String(e.details.table)} ${e.ref}`;
  const [wf, id] = [String(e.details.workflowId), String(e.details.eventId)];
  const short = wf === runWorkflow ? 'run' : wf.startsWith(`${runWorkflow}.`) ? wf.slice(runWorkflow.length + 1) : wf;
  return `${short} event ${id}`;
}

export function formatTimeline(t: Timeline): string {
  const lines: string[] = [];
  const r = t.run;
  lines.push(
    `run ${t.runId ?? '(not in the record)'}  workflow ${t.workflowId}${r ? `  project ${r.project ?? '-'}  status ${r.status}${r.reason ? ` (${oneLine(r.reason, 200)})` : ''}` : ''}`,
  );
  for (const n of t.notes) lines.push(`note: ${n}`);
  if (t.entries.length === 0) {
    lines.push('nothing recorded for this run');
    return lines.join('\n');
  }
  const counts = {
    temporal: t.entries.filter((e) => e.source === 'temporal').length,
    record: t.entries.filter((e) => e.source === 'record').length,
  };
  lines.push(
    `${t.entries.length} events: ${counts.temporal} from Temporal's history, ${counts.record} from the governance record; times UTC`,
  );
  const attemptText = (e: TimelineEntry) =>
    e.attempt === null ? '-' : `${e.attempt}${typeof e.details.round === 'number' && e.details.round > 1 ? ` r${e.details.round}` : ''}`;
  const w = {
    who: Math.min(34, Math.max(3, ...t.entries.map((e) => e.who.length))),
    task: Math.max(4, ...t.entries.map((e) => (e.task ?? '-').length)),
    attempt: Math.max(7, ...t.entries.map((e) => attemptText(e).length)),
  };
  lines.push(
    `${'AT (UTC)'.padEnd(27)}  ${'SOURCE'.padEnd(8)}  ${'WHO'.padEnd(w.who)}  ${'TASK'.padEnd(w.task)}  ${'ATTEMPT'.padEnd(w.attempt)}  WHAT  [REF]`,
  );
  for (const e of t.entries) {
    lines.push(
      `${e.at.padEnd(27)}  ${e.source.padEnd(8)}  ${e.who.padEnd(w.who)}  ${(e.task ?? '-').padEnd(w.task)}  ${attemptText(e).padEnd(w.attempt)}  ${oneLine(e.what)}  [${refText(e, t.workflowId)}]`,
    );
  }
  return lines.join('\n');
}
