/**
 * The employee registry (AURA_EMPLOYEES_FILE, default config/employees.json): who may be given
 * work, on which provider and model, with which capabilities. Read and checked here; db/open.ts
 * syncs it into the roster and the workers read it to know their queues.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** One employee of the registry. */
export interface RegistryEntry {
  id: string;
  provider: string;
  model: string;
  capabilities: string[];
  initialReputation?: number;
  /** USD per million input / output tokens. */
  pricePerMillionTokens?: { input: number; output: number };
  /** Calls at once for this employee (the provider's worker runs the sum of its employees'). */
  concurrency?: number;
  /** Calls per minute on the provider's queue (the strictest of its employees applies). */
  rateLimitPerMinute?: number;
  /** How much workspace code a task prompt may carry for this employee, in tokens. */
  contextTokens?: number;
}

const registrySchema = z.object({
  employees: z
    .array(
      z.object({
        id: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, 'ids are lowercase letters, digits, ".", "_" or "-"'),
        provider: z.string().min(1),
        model: z.string().min(1),
        capabilities: z.array(z.string().min(1)).min(1),
        initialReputation: z.number().min(0).max(100).optional(),
        pricePerMillionTokens: z.object({ input: z.number().min(0), output: z.number().min(0) }).optional(),
        concurrency: z.number().int().min(1).max(1_000).optional(),
        rateLimitPerMinute: z.number().int().min(1).optional(),
        contextTokens: z.number().int().min(1_000).max(2_000_000).optional(),
      }),
    )
    .min(1),
});

/** The registry file, checked; a bad file fails with its path and what is wrong. */
export function loadRegistry(file: string): RegistryEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`employee registry ${file}: ${(err as Error).message}`);
  }
  const parsed = registrySchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `employee registry ${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data.employees;
}
