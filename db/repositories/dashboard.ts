/**
 * Reads for the Director's dashboard (the Manager API): runs by status, spend against budget,
 * employees by tier and status, a run's attempts, and the evidence beside each decision that
 * waits on the Director. Read-only.
 */
import { sql } from 'kysely';
import type { Db } from '../connect.js';
import { getTaskOutputs, taskOutputOf } from './model-runs.js';
import { acceptedModelRuns } from './runs.js';

export async function runCountsByStatus(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('orchestra_runs')
    .select(['status', sql<string>`count(*)`.as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export interface RunSpendLine {
  runId: string;
  tokens: number;
  costUsd: number;
  calls: number;
  /** The run's budget as it started (`options.budget`); null: the configured default applied. */
  budget: { maxTokens: number; maxCostUsd: number } | null;
}

/** What each run spent (from `model_runs`) beside the budget it started with. */
export async function runSpendVsBudget(db: Db, runIds: string[]): Promise<Map<string, RunSpendLine>> {
  if (runIds.length === 0) return new Map();
  const spend = await db
    .selectFrom('model_runs')
    .select([
      'run_id',
      sql<string>`count(*)`.as('calls'),
      sql<string>`coalesce(sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)), 0)`.as('tokens'),
      sql<string>`coalesce(sum(cost_usd), 0)`.as('cost'),
    ])
    .where('run_id', 'in', runIds)
    .groupBy('run_id')
    .execute();
  const budgets = await db
    .selectFrom('orchestra_runs')
    .select(['id', sql<{ maxTokens?: unknown; maxCostUsd?: unknown } | null>`options->'budget'`.as('budget')])
    .where('id', 'in', runIds)
    .execute();
  const byRun = new Map(spend.map((s) => [s.run_id, s]));
  return new Map(
    budgets.map((b) => {
      const s = byRun.get(b.id);
      const budget =
        b.budget && typeof b.budget.maxTokens === 'number' && typeof b.budget.maxCostUsd === 'number'
          ? { maxTokens: b.budget.maxTokens, maxCostUsd: b.budget.maxCostUsd }
          : null;
      return [b.id, { runId: b.id, calls: Number(s?.calls ?? 0), tokens: Number(s?.tokens ?? 0), costUsd: Number(s?.cost ?? 0), budget }];
    }),
  );
}

/** Employees counted by status and by tier (the tier of their best capability). */
export async function employeeCounts(db: Db): Promise<{ byStatus: Record<string, number>; byTier: Record<string, number> }> {
  const byStatus = await db
    .selectFrom('employees')
    .select(['status', sql<string>`count(*)`.as('n')])
    .where('available', '=', true)
    .groupBy('status')
    .execute();
  const byTier = await db
    .selectFrom('employees')
    .select(['tier', sql<string>`count(*)`.as('n')])
    .where('available', '=', true)
    .groupBy('tier')
    .execute();
  return {
    byStatus: Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)])),
    byTier: Object.fromEntries(byTier.map((r) => [r.tier, Number(r.n)])),
  };
}

/** The tier of each employee (the `employees.tier` column the Accountant keeps). */
export async function employeeTiers(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom('employees').select(['id', 'tier']).execute();
  return new Map(rows.map((r) => [r.id, r.tier]));
}

export interface AttemptRound {
  taskKey: string;
  /** `coder`: a round of the task's code; `tester`: an answer with its acceptance tests (independent tests only). */
  role: 'coder' | 'tester';
  generation: number;
  attempt: number | null;
  round: number | null;
  employeeId: string;
  at: string;
  tokens: number;
  costUsd: number;
  error: string | null;
  /** The acceptance check of this round: null when none ran. */
  passed: boolean | null;
  exitCode: number | null;
  /** `red`: the tester's tests before any code (they must fail); `green`: a coder's round against the frozen tests; null: the plan's own command. */
  phase: 'red' | 'green' | null;
  /** What the employee said it did (its answer's summary), when its answer parsed. */
  summary: string | null;
  /** The reviewer's opinion of this round, when one was asked for after it. */
  review: { reviewerId: string; verdict: string; comments: string } | null;
}

/** A reviewer's answer as recorded: its verdict and comments (an answer that is not JSON is "unsure"). */
export function reviewOf(output: string | null): { verdict: string; comments: string } {
  try {
    const json = JSON.parse(output ?? '') as { verdict?: unknown; comments?: unknown };
    const verdict = ['approve', 'reject', 'unsure'].includes(json.verdict as string) ? (json.verdict as string) : 'unsure';
    return { verdict, comments: typeof json.comments === 'string' ? json.comments.slice(0, 2_000) : '' };
  } catch {
    return { verdict: 'unsure', comments: `(the review was not JSON: ${(output ?? '').slice(0, 200)})` };
  }
}

/**
 * A run's task model calls (the coders' rounds and the testers' answers), one line per round,
 * with the outcome of its check (red for a tester's tests, green or the plan's command for code)
 * and the reviewer's opinion asked for after it.
 */
export async function runAttemptRounds(db: Db, runId: string): Promise<AttemptRound[]> {
  const rows = await db
    .selectFrom('model_runs')
    .innerJoin('task_queue', 'task_queue.id', 'model_runs.task_id')
    .leftJoin('verifications', (j) => j.onRef('verifications.model_run_id', '=', 'model_runs.id').on('verifications.kind', '=', 'task'))
    .select([
      'model_runs.task_id',
      'model_runs.kind',
      sql<string | null>`left(model_runs.parsed_output->>'summary', 1000)`.as('summary'),
      'verifications.phase',
      'task_queue.task_key',
      'task_queue.generation',
      'model_runs.task_attempt',
      'model_runs.round',
      'model_runs.employee_id',
      'model_runs.created_at',
      'model_runs.input_tokens',
      'model_runs.output_tokens',
      'model_runs.cost_usd',
      'model_runs.error',
      'verifications.passed',
      'verifications.ran',
      'verifications.exit_code',
    ])
    .where('model_runs.run_id', '=', runId)
    .where('model_runs.kind', 'in', ['task', 'tests'])
    .orderBy('model_runs.created_at')
    .execute();
  const reviews = await db
    .selectFrom('model_runs')
    .select(['task_id', 'employee_id', 'output', 'created_at'])
    .where('run_id', '=', runId)
    .where('kind', '=', 'review')
    .where('error', 'is', null)
    .orderBy('created_at')
    .execute();
  // A review is of the coder's round just before it on the same task (rounds of a task run one at a time).
  const reviewAfter = (i: number) => {
    const r = rows[i]!;
    if (r.kind !== 'task') return null;
    const next = rows.slice(i + 1).find((x) => x.task_id === r.task_id && x.kind === 'task');
    const from = new Date(r.created_at).getTime();
    const until = next ? new Date(next.created_at).getTime() : Infinity;
    const rev = reviews.find(
      (v) => v.task_id === r.task_id && new Date(v.created_at).getTime() >= from && new Date(v.created_at).getTime() < until,
    );
    return rev ? { reviewerId: rev.employee_id, ...reviewOf(rev.output) } : null;
  };
  return rows.map((r, i) => ({
    taskKey: r.task_key,
    role: r.kind === 'tests' ? ('tester' as const) : ('coder' as const),
    generation: r.generation,
    attempt: r.task_attempt,
    round: r.round,
    employeeId: r.employee_id,
    at: new Date(r.created_at).toISOString(),
    tokens: (r.input_tokens ?? 0) + (r.output_tokens ?? 0),
    costUsd: Number(r.cost_usd ?? 0),
    error: r.error,
    passed: r.ran ? r.passed : null,
    exitCode: r.exit_code,
    phase: r.phase ?? null,
    summary: r.summary,
    review: reviewAfter(i),
  }));
}

export interface TaskEvidence {
  taskKey: string;
  generation: number;
  title: string;
  status: string;
  /** The Auditor's verdicts that were not clean, newest first. */
  verdicts: { employeeId: string; at: string; rounds: number | null; violations: unknown }[];
  incidents: { employeeId: string | null; violation: string; severity: number | null; message: string; evidence: unknown; at: string }[];
  /** The last acceptance check that ran for the task (`phase`: red, green, or null for the plan's own command). */
  lastCheck: { command: string; passed: boolean; exitCode: number | null; excerpt: string; phase: 'red' | 'green' | null } | null;
}

/** For each task of the run named in `taskKeys` (latest generation): what the Auditor found. */
export async function taskEvidence(db: Db, runId: string, taskKeys: string[]): Promise<TaskEvidence[]> {
  if (taskKeys.length === 0) return [];
  const tasks = await db
    .selectFrom('task_queue')
    .select(['id', 'task_key', 'generation', 'title', 'status'])
    .where('run_id', '=', runId)
    .where('task_key', 'in', taskKeys)
    .orderBy('generation', 'desc')
    .execute();
  const latest = new Map<string, (typeof tasks)[number]>();
  for (const t of tasks) if (!latest.has(t.task_key)) latest.set(t.task_key, t);
  const ids = [...latest.values()].map((t) => t.id);
  if (ids.length === 0) return [];
  const [verdicts, incidents, checks] = await Promise.all([
    db
      .selectFrom('audit_verdicts')
      .select(['task_id', 'employee_id', 'created_at', 'rounds', 'violations'])
      .where('task_id', 'in', ids)
      .where('clean', '=', false)
      .orderBy('created_at', 'desc')
      .execute(),
    db
      .selectFrom('incidents')
      .select(['task_id', 'model_id', 'violation', 'severity', 'message', 'evidence', 'reported_at'])
      .where('task_id', 'in', ids)
      .orderBy('reported_at', 'desc')
      .execute(),
    db
      .selectFrom('verifications')
      .select(['task_id', 'command', 'passed', 'exit_code', 'excerpt', 'phase', 'created_at'])
      .where('task_id', 'in', ids)
      .where('kind', '=', 'task')
      .where('ran', '=', true)
      .orderBy('created_at', 'desc')
      .execute(),
  ]);
  return [...latest.values()].map((t) => {
    const check = checks.find((c) => c.task_id === t.id);
    return {
      taskKey: t.task_key,
      generation: t.generation,
      title: t.title,
      status: t.status,
      verdicts: verdicts
        .filter((v) => v.task_id === t.id)
        .map((v) => ({ employeeId: v.employee_id, at: new Date(v.created_at).toISOString(), rounds: v.rounds, violations: v.violations })),
      incidents: incidents
        .filter((i) => i.task_id === t.id)
        .map((i) => ({
          employeeId: i.model_id,
          violation: i.violation,
          severity: i.severity,
          message: i.message,
          evidence: i.evidence,
          at: new Date(i.reported_at).toISOString(),
        })),
      lastCheck: check
        ? { command: check.command, passed: check.passed, exitCode: check.exit_code, excerpt: check.excerpt, phase: check.phase ?? null }
        : null,
    };
  });
}

/** The run's last final verification that ran (the evidence beside a failed-verification decision). */
export async function lastWorkspaceVerification(db: Db, runId: string) {
  const v = await db
    .selectFrom('verifications')
    .select(['command', 'passed', 'exit_code', 'timed_out', 'excerpt', 'created_at'])
    .where('run_id', '=', runId)
    .where('kind', '=', 'workspace')
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  return v
    ? {
        command: v.command,
        passed: v.passed,
        exitCode: v.exit_code,
        timedOut: v.timed_out,
        excerpt: v.excerpt,
        at: new Date(v.created_at).toISOString(),
      }
    : null;
}

/** The Director's last action of a kind on a run (who paused it, and why). */
export async function lastDirectorAction(db: Db, runId: string, action: string) {
  const a = await db
    .selectFrom('director_actions')
    .select(['director_id', 'reason', 'created_at'])
    .where('run_id', '=', runId)
    .where('action', '=', action)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  return a ? { by: a.director_id, reason: a.reason, at: new Date(a.created_at).toISOString() } : null;
}

/** Director actions on a run, oldest first (what the dashboard shows was done, and by whom). */
export async function runDirectorActions(db: Db, runId: string) {
  const rows = await db
    .selectFrom('director_actions')
    .select(['director_id', 'action', 'reason', 'created_at'])
    .where('run_id', '=', runId)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ by: r.director_id, action: r.action, reason: r.reason, at: new Date(r.created_at).toISOString() }));
}

/** The title of each task of a run by key (the latest generation's). */
export async function taskTitles(db: Db, runId: string): Promise<Map<string, string>> {
  const rows = await db.selectFrom('task_queue').select(['task_key', 'title']).where('run_id', '=', runId).orderBy('generation').execute();
  return new Map(rows.map((r) => [r.task_key, r.title]));
}

/** The PRD a run was started with (null: no such run in the record). */
export async function runPrd(db: Db, runId: string): Promise<string | null> {
  const row = await db.selectFrom('orchestra_runs').select('prd').where('id', '=', runId).executeTakeFirst();
  return row?.prd ?? null;
}

export interface PlanRound {
  /** The run's planning round (1 = the first answer). */
  round: number;
  at: string;
  /** The rules the round's plan broke, as the planner was told them. */
  broken: string[];
  /** Who planned (from the record's description), when it says. */
  planner: string | null;
}

/**
 * The planning rounds the plan rules sent back, oldest first: the `plan.rejected_by_rules`
 * events the run recorded, each with the rules broken.
 */
export async function planRoundsSentBack(db: Db, runId: string): Promise<PlanRound[]> {
  const rows = await db
    .selectFrom('audit_events')
    .select(['description', 'details', 'created_at'])
    .where('run_id', '=', runId)
    .where('action', '=', 'plan.rejected_by_rules')
    .orderBy('seq')
    .execute();
  return rows.map((r, i) => {
    const m = /^plan round (\d+) by (\S+)/.exec(r.description ?? '');
    const feedback = (r.details as { feedback?: unknown }).feedback;
    return {
      round: m ? Number(m[1]) : i + 1,
      at: new Date(r.created_at).toISOString(),
      broken: Array.isArray(feedback) ? feedback.map(String) : [],
      planner: m?.[2] ?? null,
    };
  });
}

/** The latest generation's row of a task: its id, capability and who wrote its frozen tests. */
export async function taskOfRun(db: Db, runId: string, taskKey: string) {
  const row = await db
    .selectFrom('task_queue')
    .leftJoin('model_runs as tests', 'tests.id', 'task_queue.tests_model_run_id')
    .select(['task_queue.id', 'task_queue.generation', 'task_queue.status', 'task_queue.spec', 'tests.employee_id as tester'])
    .where('task_queue.run_id', '=', runId)
    .where('task_queue.task_key', '=', taskKey)
    .orderBy('task_queue.generation', 'desc')
    .executeTakeFirst();
  if (!row) return null;
  const spec = row.spec as { capability?: unknown; instructions?: unknown };
  return {
    id: row.id,
    generation: row.generation,
    status: row.status,
    capability: typeof spec.capability === 'string' ? spec.capability : null,
    testerId: row.tester ?? null,
  };
}

export interface CodeRound {
  modelRunId: string;
  employeeId: string;
  attempt: number | null;
  round: number | null;
  at: string;
  /** The files the round wrote; null when its answer did not parse (then `parseError` says why). */
  files: { path: string; content: string }[] | null;
  parseError: string | null;
  summary: string | null;
}

/**
 * The code under judgement of a task: its coders' last two rounds (newest first), each with the
 * files it wrote, so that the newest can be read and compared with the one before it.
 */
export async function lastCodeRounds(db: Db, taskId: string, count = 2): Promise<CodeRound[]> {
  const rows = await db
    .selectFrom('model_runs')
    .select(['id', 'employee_id', 'task_attempt', 'round', 'created_at', 'output', 'parsed_output', 'parse_error'])
    .where('task_id', '=', taskId)
    .where('kind', '=', 'task')
    .where('error', 'is', null)
    .orderBy('created_at', 'desc')
    .limit(count)
    .execute();
  return rows.map((r) => {
    const parsed = taskOutputOf(r);
    return {
      modelRunId: r.id,
      employeeId: r.employee_id,
      attempt: r.task_attempt,
      round: r.round,
      at: new Date(r.created_at).toISOString(),
      files: parsed.ok ? parsed.output.files.map((f) => ({ path: f.path, content: f.content })) : null,
      parseError: parsed.ok ? null : parsed.error,
      summary: parsed.ok ? parsed.output.summary : null,
    };
  });
}

/**
 * The tasks whose accepted outputs make a run's workspace, in the order they were accepted
 * (the latest generation's, a repair task after the tasks it repairs): each layers over the ones before.
 */
export async function acceptedTasksOfRun(db: Db, runId: string): Promise<{ id: string; taskKey: string }[]> {
  const rows = await db
    .selectFrom('task_queue')
    .select(['id', 'task_key', 'generation'])
    .where('run_id', '=', runId)
    .where('accepted_model_run_id', 'is not', null)
    .where('generation', '=', (eb) =>
      eb
        .selectFrom('task_queue as t')
        .select(sql<number>`max(t.generation)`.as('g'))
        .where('t.run_id', '=', runId),
    )
    .orderBy('completed_at')
    .orderBy('updated_at')
    .execute();
  return rows.map((r) => ({ id: r.id, taskKey: r.task_key }));
}

export interface LayeredFile {
  path: string;
  content: string;
  /** The task the file was accepted from. */
  fromTask: string;
  /** The version this one replaced (an earlier task's, or the task's own frozen test), if any. */
  before: { fromTask: string; content: string } | null;
}

/**
 * A run's workspace as `workspaceFiles` builds it (every accepted output layered in order, a
 * later task's file winning), with, for each file, the version it replaced: what a later task
 * (a repair after a failed final verification) changed in the files before it.
 */
export async function workspaceLayers(db: Db, taskIds: string[]): Promise<LayeredFile[]> {
  const accepted = await acceptedModelRuns(db, taskIds);
  const outputs = await getTaskOutputs(
    db,
    accepted.map((a) => a.modelRunId),
  );
  const files = new Map<string, LayeredFile>();
  for (const { taskId, modelRunId } of accepted) {
    const parsed = outputs.get(modelRunId) ?? { ok: false };
    if (!parsed.ok) continue;
    for (const f of parsed.output.files) {
      const old = files.get(f.path);
      files.delete(f.path); // keep the layering order: the newest version last
      const before = old && old.content !== f.content ? { fromTask: old.fromTask, content: old.content } : (old?.before ?? null);
      files.set(f.path, { path: f.path, content: f.content, fromTask: taskId, before });
    }
  }
  return [...files.values()];
}
