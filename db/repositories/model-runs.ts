import { sql } from 'kysely';
import type { Db } from '../connect.js';
import { storableText } from '../storable.js';
import { insertOnce } from './idempotent.js';

export interface NewModelRun {
  id: string;
  idempotencyKey: string;
  runId: string | null;
  taskId: string | null;
  employeeId: string;
  kind: 'plan' | 'task' | 'review';
  attempt: number;
  prompt: string;
  promptVersion: string;
  output: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  latencyMs: number;
  finishReason: string | null;
  error: string | null;
  /** Task calls: the attempt (one per assignment) and the repair round within it. */
  taskAttempt?: number | null;
  round?: number | null;
}

/**
 * Inserts the call once; a retry with the same key returns the id written the first time. The
 * activity's attempt number and the latency are not compared: they are a retry's own.
 */
export async function recordModelRun(db: Db, r: NewModelRun): Promise<string> {
  const row = await insertOnce(
    db,
    'model_runs',
    {
      id: r.id,
      idempotency_key: r.idempotencyKey,
      run_id: r.runId,
      task_id: r.taskId,
      employee_id: r.employeeId,
      kind: r.kind,
      attempt: r.attempt,
      prompt: r.prompt,
      prompt_version: r.promptVersion,
      output: r.output,
      input_tokens: r.inputTokens,
      output_tokens: r.outputTokens,
      cost_usd: r.costUsd,
      latency_ms: r.latencyMs,
      finish_reason: r.finishReason,
      error: r.error,
      task_attempt: r.taskAttempt ?? null,
      round: r.round ?? null,
      // Storage turns a NUL into ␀ and a lone surrogate into �: say that it did, so the
      // Auditor judges what the model wrote, not the readable copy.
      output_altered: r.output !== null && storableText(r.output) !== r.output,
    },
    { ignore: ['id', 'attempt', 'latency_ms'] },
  );
  return row.id;
}

export async function getModelRun(db: Db, id: string) {
  return db.selectFrom('model_runs').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getModelRunOutputs(db: Db, ids: string[]): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('model_runs').select(['id', 'output']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r.output]));
}

/** Failed answers recorded for one model call (its error rows are keyed `${successKey}/attempt-N/error`). */
export async function countCallFailures(db: Db, successKey: string): Promise<number> {
  const row = await db
    .selectFrom('model_runs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(sql<boolean>`starts_with(idempotency_key, ${`${successKey}/attempt-`})`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
