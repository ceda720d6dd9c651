/**
 * What every employee provider implements. The employee activity owns recording, limits and
 * failure typing; a provider only turns one prompt into one completion.
 */
import type { EmployeeSnapshot } from '../../governance/types.js';

export interface CompletionRequest {
  employee: EmployeeSnapshot;
  kind: 'plan' | 'task' | 'review' | 'tests' | 'dispute';
  prompt: string;
  /** The task key (for tasks) so a scripted provider can look up its answer. */
  taskKey: string | null;
  /** 1 for the first plan, 2 for the first re-plan, ... */
  round: number;
  signal?: AbortSignal;
  /**
   * Optional JSON schema the answer must follow (see json-schema.ts). Providers with a
   * structured-output mode (OpenAI `response_format`, Ollama `format`) send it; others ignore
   * it. The answer is still parsed and audited by the caller: the schema is a hint, not trust.
   */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
}

export interface Completion {
  text: string;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  finishReason: string | null;
}

export interface EmployeeProvider {
  readonly name: string;
  complete(req: CompletionRequest): Promise<Completion>;
}
