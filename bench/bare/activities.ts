/**
 * The bare baseline's one activity: the model call an employee makes (the `openai` client, one
 * chat completion with the task-output JSON schema), its answer parsed, nothing recorded.
 */
import OpenAI from 'openai';
import { taskOutputSchema } from '../../governance/schemas.js';
import { taskOutputJsonSchema } from '../../activities/employees/json-schema.js';

export const BARE_QUEUE = 'aura-bench-bare';
export const BARE_WORKFLOWS_PATH = new URL('./workflows.ts', import.meta.url).pathname;

export function createBareActivities(opts: { apiKey: string; baseUrl: string; model: string }) {
  const client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseUrl, maxRetries: 0 });
  const { name, schema } = taskOutputJsonSchema();
  return {
    async callModel(prompt: string): Promise<{ files: number }> {
      const response = await client.chat.completions.create({
        model: opts.model,
        messages: [{ role: 'user', content: prompt }],
        response_format: { type: 'json_schema', json_schema: { name, schema, strict: false } },
      });
      const output = taskOutputSchema.parse(JSON.parse(response.choices[0]?.message.content ?? ''));
      return { files: output.files.length };
    },
  };
}

export type BareActivities = ReturnType<typeof createBareActivities>;
