/**
 * An employee's answer to a task, read as the task-output schema: JSON with a summary and the
 * files it writes. Never repaired: what does not parse is malformed, and the Auditor says so.
 * Parsed once, when the model call is recorded (model_runs.parsed_output / parse_error); every
 * reader takes the stored result (db/repositories/model-runs.ts `taskOutputOf`).
 */
import { taskOutputSchema, type TaskOutput } from './schemas.js';

export type ParsedTaskOutput = { ok: true; output: TaskOutput } | { ok: false; error: string };

/** Parses the output text as JSON of the task-output schema; never repairs it. */
export function parseTaskOutput(raw: string): ParsedTaskOutput {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  const parsed = taskOutputSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || '(output)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, output: parsed.data };
}
