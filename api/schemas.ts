/** zod pieces the routes share: what a request may carry, with the messages a person reads. */
import { z } from 'zod';

/** A PRD larger than this (UTF-8 bytes) is refused, naming the field. */
export const MAX_PRD_BYTES = 256 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (s: string) => UUID.test(s);

export const runParams = z.strictObject({
  run: z.string().trim().min(1, 'which run? (a run id or a workflow id)').max(200).describe('run id, workflow id or AuraRunId'),
});

// The Director commands' bodies are in their table (governance/director-command-table.ts).
export { optionalReason, optionalReasonBody, reason, reasonBody } from '../governance/director-command-table.js';

export const prd = z
  .string()
  .superRefine((text, ctx) => {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_PRD_BYTES) ctx.addIssue({ code: 'custom', message: `the PRD is ${bytes} bytes, over the limit of ${MAX_PRD_BYTES}` });
    else if (text.includes('\u0000'))
      ctx.addIssue({ code: 'custom', message: `the PRD is not text: it has a NUL character at offset ${text.indexOf('\u0000')}` });
    else if (!text.trim()) ctx.addIssue({ code: 'custom', message: 'the PRD is empty' });
  })
  .describe(`the PRD, Markdown or text (at most ${MAX_PRD_BYTES} bytes)`);

export const submitBody = z.strictObject({
  prd,
  project: z.string().trim().min(1, 'the project name is empty').max(100, 'at most 100 characters'),
  autoApprove: z.boolean().default(false).describe('skip the plan gate'),
  maxParallel: z.number().int().min(1).max(50).optional().describe('tasks run at once'),
  maxTokens: z.number().int().min(1).optional().describe('token budget of the run (default AURA_RUN_TOKEN_BUDGET)'),
  maxCostUsd: z.number().min(0).optional().describe('cost budget in USD (default AURA_RUN_COST_BUDGET_USD)'),
  maxRepairRounds: z.number().int().min(0).max(10).optional(),
  maxVerificationRepairs: z.number().int().min(0).max(10).optional(),
});

export const commandAnswer = z.object({
  command: z.string(),
  status: z.string(),
  message: z.string(),
  by: z.string().describe('the Director recorded: the owner of the API key'),
});
