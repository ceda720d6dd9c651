/**
 * JSON schemas for the structured-output modes of real providers (OpenAI/Gemini
 * `response_format: json_schema`, Ollama `format`), derived from the same zod schemas the
 * governance layer parses answers with, so the hint and the check cannot drift apart.
 */
import { z } from 'zod';
import { planSchema, taskOutputSchema } from '../../governance/schemas.js';

/**
 * `io: 'input'` describes what the parser ACCEPTS: fields with a zod default (capability,
 * dependsOn, timeoutMs, …) are optional, as the model may omit them. (The default 'output'
 * mode would mark them required and add additionalProperties:false.) Defaults still appear as
 * `default` keywords, which is useful guidance. The `$schema` URI is dropped: it is noise to a
 * model and some OpenAI-compatible endpoints reject unknown top-level keywords.
 */
export function zodToJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dropped, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  // A JSON round-trip guarantees a plain, serialisable object (no prototypes, no undefined).
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

/** The schema of a task answer, named for `response_format.json_schema.name` ([a-zA-Z0-9_-]). */
export function taskOutputJsonSchema(): { name: string; schema: Record<string, unknown> } {
  return { name: 'task_output', schema: zodToJsonSchema(taskOutputSchema) };
}

/** The schema of a plan. */
export function planJsonSchema(): { name: string; schema: Record<string, unknown> } {
  return { name: 'plan', schema: zodToJsonSchema(planSchema) };
}
