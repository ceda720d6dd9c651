/**
 * Reads for incident review (`aura history`, `aura runs`): one run's governance record, every
 * row that names it, and the list of runs with what waits on the Director. Read-only.
 *
 * Times come back as ISO 8601 strings with microseconds (`2025-01-31T12:00:00.123456Z`, UTC),
 * so that rows written within the same millisecond keep their order beside Temporal's events.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../connect.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `column` as an ISO 8601 UTC string with microseconds; null stays null. */
function isoUs(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export interface RunHeader {
  id: string;
  workflowId: string;
  project: string | null;
  status: string;
  reason: string | null;
  startedAt: string | null;
  updatedAt: string;
  finishedAt: string | null;
}

function runQuery(db: Db) {
  return db
    .selectFrom('orchestra_runs')
    .leftJoin('projects', 'projects.id', 'orchestra_runs.project_id')
    .select([
      'orchestra_runs.id',
      'orchestra_runs.workflow_id as workflowId',
      'projects.name as project',
      'orchestra_runs.status',
      'orchestra_runs.status_reason as reason',
      isoUs('orchestra_runs.started_at').as('startedAt'),
      isoUs('orchestra_runs.updated_at').as('updatedAt'),
      isoUs('orchestra_runs.finished_at').as('finishedAt'),
    ]);
}

/** The run whose id (a uuid) or workflow id is `ref`; null when the record has none. */
export async function findRun(db: Db, ref: string): Promise<RunHeader | null> {
  const row = await runQuery(db)
    .where((eb) =>
      UUID.test(ref)
        ? eb.or([eb('orchestra_runs.id', '=', ref), eb('orchestra_runs.workflow_id', '=', ref)])
        : eb('orchestra_runs.workflow_id', '=', ref),
    )
    .executeTakeFirst();
  return row ?? null;
}

/** Everything the record holds about one run, each table in the order it was written. */
export async function runRecord(db: Db, runId: string) {
  const [tasks, modelRuns, verifications, verdicts, incidents, actions, scores, director, events, logs, freezes] = await Promise.all([
    db
      .selectFrom('task_queue')
      .select(['id', 'task_key', 'generation', 'workflow_id', 'status', 'assigned_agent', 'title', isoUs('created_at').as('at')])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .orderBy('task_key')
      .execute(),
    // Prompts and outputs stay in the table: the review names them by id.
    db
      .selectFrom('model_runs')
      .select([
        'id',
        'idempotency_key',
        'task_id',
        'employee_id',
        'kind',
        'attempt',
        'task_attempt',
        'round',
        'prompt_version',
        'input_tokens',
        'output_tokens',
        'cost_usd',
        'latency_ms',
        'finish_reason',
        'error',
        'output_altered',
        isoUs('created_at').as('at'),
      ])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute(),
    db
      .selectFrom('verifications')
      .select([
        'id',
        'idempotency_key',
        'task_id',
        'model_run_id',
        'kind',
        'command',
        'ran',
        'passed',
        'exit_code',
        'timed_out',
        'duration_ms',
        'skipped_reason',
        'phase',
        'output_sha256',
        isoUs('created_at').as('at'),
      ])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute(),
    db
      .selectFrom('audit_verdicts')
      .select([
        'id',
        'idempotency_key',
        'task_id',
        'model_run_id',
        'employee_id',
        'clean',
        'violations',
        'review',
        'rounds',
        isoUs('created_at').as('at'),
      ])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute(),
    db
      .selectFrom('incidents')
      .select([
        'id',
        'idempotency_key',
        'task_id',
        'model_id',
        'severity',
        'status',
        'violation',
        'message',
        'evidence',
        'verdict_id',
        isoUs('reported_at').as('at'),
      ])
      .where('run_id', '=', runId)
      .orderBy('reported_at')
      .execute(),
    db
      .selectFrom('disciplinary_actions')
      .select([
        'id',
        'idempotency_key',
        'model_id',
        'action',
        'reason',
        'severity',
        'policy_version',
        'enforced',
        'incident_id',
        'expires_at',
        isoUs('timestamp').as('at'),
      ])
      .where('run_id', '=', runId)
      .orderBy('timestamp')
      .execute(),
    db
      .selectFrom('scores')
      .select([
        'id',
        'idempotency_key',
        'task_id',
        'employee_id',
        'capability',
        'score',
        'reputation_before',
        'reputation_after',
        'tier',
        'details',
        isoUs('created_at').as('at'),
      ])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute(),
    db
      .selectFrom('director_actions')
      .select(['id', 'idempotency_key', 'director_id', 'action', 'target_id', 'reason', 'details', isoUs('created_at').as('at')])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute(),
    db
      .selectFrom('audit_events')
      .select([
        'id',
        'seq',
        'idempotency_key',
        'source',
        'actor',
        'action',
        'severity',
        'description',
        'task_id',
        'workflow_id',
        'activity_id',
        'details',
        isoUs('created_at').as('at'),
      ])
      .where('run_id', '=', runId)
      .orderBy('seq')
      .execute(),
    db
      .selectFrom('agent_activity_logs')
      .select(['id', 'idempotency_key', 'agent_id', 'task_id', 'message', 'severity', isoUs('created_at').as('at')])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute(),
    // Each freeze of a task's acceptance tests: who wrote them, which version, why, who decided.
    db
      .selectFrom('acceptance_tests')
      .select([
        'id',
        'idempotency_key',
        'task_id',
        'task_key',
        'version',
        'tester_id',
        'model_run_id',
        'files',
        'reason',
        'decided_by',
        'dispute',
        isoUs('created_at').as('at'),
      ])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .orderBy('version')
      .execute(),
  ]);
  return { tasks, modelRuns, verifications, verdicts, incidents, actions, scores, director, events, logs, freezes };
}

export type RunRecord = Awaited<ReturnType<typeof runRecord>>;

export interface RunListRow extends RunHeader {
  /** Keys of the run's tasks waiting for the Director (`escalated`), by generation and key. */
  escalatedTasks: string[];
}

/**
 * Runs, newest first. `waitingStatuses`: the run statuses that wait for the Director; with
 * `needsDirector`, only runs in one of them or, while not ended, with an escalated task.
 */
export async function listRuns(
  db: Db,
  opts: {
    statuses?: string[];
    needsDirector?: boolean;
    waitingStatuses: readonly string[];
    finalStatuses: readonly string[];
    limit: number;
  },
): Promise<RunListRow[]> {
  let q = runQuery(db).orderBy('orchestra_runs.started_at', 'desc').orderBy('orchestra_runs.id').limit(opts.limit);
  if (opts.statuses?.length) q = q.where('orchestra_runs.status', 'in', opts.statuses);
  if (opts.needsDirector) {
    q = q.where((eb) =>
      eb.or([
        eb('orchestra_runs.status', 'in', [...opts.waitingStatuses]),
        eb.and([
          eb('orchestra_runs.status', 'not in', [...opts.finalStatuses]),
          eb.exists(
            eb
              .selectFrom('task_queue')
              .select('task_queue.id')
              .whereRef('task_queue.run_id', '=', 'orchestra_runs.id')
              .where('task_queue.status', '=', 'escalated'),
          ),
        ]),
      ]),
    );
  }
  const runs = await q.execute();
  if (runs.length === 0) return [];
  const tasks = await db
    .selectFrom('task_queue')
    .select(['run_id', 'task_key', 'generation'])
    .where(
      'run_id',
      'in',
      runs.map((r) => r.id),
    )
    .where('status', '=', 'escalated')
    .orderBy('generation')
    .orderBy('task_key')
    .execute();
  return runs.map((r) => ({
    ...r,
    escalatedTasks: tasks.filter((t) => t.run_id === r.id).map((t) => (t.generation > 1 ? `g${t.generation}:${t.task_key}` : t.task_key)),
  }));
}
