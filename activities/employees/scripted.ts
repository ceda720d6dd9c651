/**
 * The `scripted` provider: a DEMO AND TEST STAND-IN for a model, never a model. It answers
 * from a JSON script, deterministically, so the whole platform (routing, audit, HR,
 * reassignment) can be shown and tested without keys or network.
 *
 * Script shape (paths in "from" are relative to the script file):
 * { "employees": { "<employee id>": {
 *     "plan": [<plan JSON for round 1>, <round 2>, ...],
 *     "<task key>" | "*": { "summary": "...", "files": [{ "path": "...", "content" | "from": "..." }],
 *                           "raw"?: "<text returned as is>", "delayMs"?: number,
 *                           "frozen"?: <the same shape: the answer when the prompt shows frozen acceptance tests> },
 *     "review:<task key>" | "review:*": { "verdict": "approve" | "reject" | "unsure", "comments": "..." },
 *     "tests:<task key>" | "tests:*": <an answer, as for a task: the acceptance tests a tester writes>,
 *     "dispute:<task key>": { "raw": "<the tester's answer to a dispute, as JSON text>" } } } }
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { heartbeat } from '../context.js';
import type { Completion, CompletionRequest, EmployeeProvider } from './provider.js';

const scriptedFileSchema = z.union([z.object({ path: z.string(), content: z.string() }), z.object({ path: z.string(), from: z.string() })]);
const scriptedVariantSchema = z.object({
  summary: z.string().optional(),
  files: z.array(scriptedFileSchema).optional(),
  raw: z.string().optional(),
  delayMs: z.number().int().min(0).optional(),
});
/** An answer; its "frozen" variant is what it writes when the prompt shows frozen acceptance tests. */
const scriptedAnswerSchema = scriptedVariantSchema.extend({ frozen: scriptedVariantSchema.optional() });
const scriptSchema = z.object({
  employees: z.record(
    z.string(),
    z
      .object({ plan: z.array(z.unknown()).optional() })
      .catchall(z.union([z.object({ verdict: z.string(), comments: z.string() }), scriptedAnswerSchema, z.array(z.unknown())])),
  ),
});
export type Script = z.infer<typeof scriptSchema>;

export function loadScript(file: string): { script: Script; baseDir: string } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`scripted provider: cannot read script ${file}: ${(err as Error).message}`);
  }
  const parsed = scriptSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `scripted provider: script ${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return { script: parsed.data, baseDir: dirname(file) };
}

export function createScriptedProvider(scriptFile: string): EmployeeProvider {
  // Read on every call: a script edited between runs is picked up without restarting workers.
  return {
    name: 'scripted',
    async complete(req: CompletionRequest): Promise<Completion> {
      const { script, baseDir } = loadScript(scriptFile);
      const entry = script.employees[req.employee.id];
      let text: string;
      let delayMs = 0;
      if (req.kind === 'plan') {
        const rounds = entry?.plan ?? [];
        const plan = rounds[Math.min(req.round, rounds.length) - 1];
        text = plan === undefined ? '(the script has no plan for this employee)' : JSON.stringify(plan);
      } else if (req.kind === 'review') {
        // A scripted reviewer gives the opinion its script names for the task (or "*").
        const opinion = (entry?.[`review:${req.taskKey}`] ?? entry?.['review:*']) as unknown;
        text = JSON.stringify(opinion ?? { verdict: 'unsure', comments: `(the script has no review of ${req.taskKey})` });
      } else {
        // A tester's tests and its answers to disputes are keyed "tests:<task>" and "dispute:<task>".
        const prefix = req.kind === 'tests' ? 'tests:' : req.kind === 'dispute' ? 'dispute:' : '';
        const answer = scriptedAnswerSchema.safeParse(entry?.[`${prefix}${req.taskKey ?? ''}`] ?? entry?.[`${prefix}*`]);
        if (!answer.success || answer.data === undefined) {
          text = `(the script has no answer for task ${req.taskKey} from ${req.employee.id})`;
        } else {
          const chosen = answer.data.frozen && req.prompt.includes('--- FROZEN ACCEPTANCE TESTS') ? answer.data.frozen : answer.data;
          delayMs = chosen.delayMs ?? 0;
          text =
            chosen.raw ??
            JSON.stringify({
              summary: chosen.summary ?? '',
              files: (chosen.files ?? []).map((f) =>
                'content' in f ? f : { path: f.path, content: readFileSync(resolve(baseDir, f.from), 'utf8') },
              ),
            });
        }
      }
      // A scripted delay stands in for a slow model; heartbeats keep the activity alive meanwhile.
      for (let waited = 0; waited < delayMs; waited += 500) {
        heartbeat({ waitedMs: waited });
        await sleep(Math.min(500, delayMs - waited), undefined, { signal: req.signal });
      }
      // Rough token counts (4 characters a token) so reports have figures; the cost is zero.
      return {
        text,
        inputTokens: Math.ceil(req.prompt.length / 4),
        outputTokens: Math.ceil(text.length / 4),
        costUsd: 0,
        finishReason: 'stop',
      };
    },
  };
}
