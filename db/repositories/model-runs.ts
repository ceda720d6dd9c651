import { sql } from 'kysely';
import type { Db } from '../connect.js';
import { storableJson, storableText } from '../storable.js';
import { parseTaskOutput, type ParsedTaskOutput } from '../../governance/task-output.js';
import type { TaskOutput } from '../../governance/schemas.js';
import { insertOnce } from './idempotent.js';

export interface NewModelRun {
  id: string;
  idempotencyKey: string;
  runId: string | null;
  taskId: string | null;
  employeeId: string;
  kind: 'plan' | 'task' | 'review' | 'tests' | 'dispute';
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
      ...parsedColumns(r),
    },
    { ignore: ['id', 'attempt', 'latency_ms'] },
  );
  return row.id;
}

/**
 * A task answer is parsed here, once, as every reader will read it: the stored text (NUL as ␀).
 * A parse that JSONB cannot hold exactly (a NUL written as an escape in the JSON) is left to
 * the reader, who parses the text as before.
 */
function parsedColumns(r: NewModelRun): { parsed_output: string | null; parse_error: string | null } {
  if ((r.kind !== 'task' && r.kind !== 'tests' && r.kind !== 'dispute') || r.output === null)
    return { parsed_output: null, parse_error: null };
  const parsed = parseTaskOutput(storableText(r.output));
  if (!parsed.ok) return { parsed_output: null, parse_error: parsed.error };
  const exact = JSON.stringify(parsed.output);
  return storableJson(parsed.output) === exact ? { parsed_output: exact, parse_error: null } : { parsed_output: null, parse_error: null };
}

/** A recorded task answer as the task-output schema reads it: stored when recorded, else parsed now. */
export function taskOutputOf(row: { output: string | null; parsed_output?: unknown; parse_error?: string | null }): ParsedTaskOutput {
  if (row.parsed_output !== null && row.parsed_output !== undefined) return { ok: true, output: row.parsed_output as TaskOutput };
  if (row.parse_error) return { ok: false, error: row.parse_error };
  return parseTaskOutput(row.output ?? '');
}

export async function getModelRun(db: Db, id: string) {
  return db.selectFrom('model_runs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The task answers of these model calls, as the task-output schema reads them. */
export async function getTaskOutputs(db: Db, ids: string[]): Promise<Map<string, ParsedTaskOutput>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('model_runs').select(['id', 'output', 'parsed_output', 'parse_error']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, taskOutputOf(r)]));
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
