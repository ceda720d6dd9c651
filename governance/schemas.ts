/**
 * The shapes that cross the boundary between models, the Manager and the governance roles.
 * Pure zod schemas: imported by workflows (deterministic) and activities alike.
 */
import { z } from 'zod';
import { TIME_LIMITS } from './time-limits.js';

/** A task key as a planner writes it ("T1", "parser", ...): short, safe in ids and paths. */
export const taskKeySchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'a task id is 1-40 letters, digits, "-" or "_"');

export const acceptanceSchema = z.object({
  /** Shell command run from the workspace root in the sandbox; exit 0 means accepted. */
  command: z.string().trim().min(1, 'an acceptance command is required'),
  timeoutMs: z.number().int().min(1_000).max(TIME_LIMITS.maxAcceptanceMs).default(TIME_LIMITS.acceptanceMs),
});

/** Acceptance criteria in words (inputs → outputs, errors), from the PRD: what the tester turns into tests. */
const criteriaSchema = z.array(z.string().trim().min(1).max(2_000)).max(50);

const taskSpecObject = z.object({
  id: taskKeySchema,
  title: z.string().trim().min(1).max(200),
  instructions: z.string().trim().min(1).max(20_000),
  /** What kind of employee may do it; routing matches it against the registry. */
  capability: z.string().trim().min(1).default('coder'),
  /** Path globs (relative to the workspace) that this task may write. */
  scope: z.array(z.string().trim().min(1)).min(1, 'a task needs at least one scope glob'),
  dependsOn: z.array(taskKeySchema).default([]),
  /** npm packages the task's code may import besides Node built-ins. */
  allowedDependencies: z.array(z.string()).default([]),
  acceptance: acceptanceSchema,
  /** Time the employee has for this task. */
  timeLimitMs: z.number().int().min(1_000).max(TIME_LIMITS.maxTaskLimitMs).default(TIME_LIMITS.taskMs),
  /** Acceptance criteria in words; a coding task of a run with independent tests needs some. */
  criteria: criteriaSchema.optional(),
  /**
   * The acceptance test files (paths or globs) a tester writes before the code; the coder may
   * not write them. Absent: the scope's test-like paths (test/…, *.test.*, *_test.*, spec).
   */
  tests: z.array(z.string().trim().min(1)).max(50).optional(),
});

export const taskSpecSchema = taskSpecObject;

export const planSchema = z.object({
  summary: z.string().trim().min(1).max(5_000),
  tasks: z.array(taskSpecSchema),
  /** Run over the whole workspace once every task is accepted. */
  verification: acceptanceSchema,
});

export const outputFileSchema = z.object({
  path: z.string().min(1).max(500),
  content: z.string().max(1_000_000),
});

/** A coder that holds a frozen acceptance test to be wrong says so here, never by editing it. */
export const disputeSchema = z.object({
  test: z.string().min(1).max(500),
  reason: z.string().min(1).max(5_000),
});

/** What an employee must return for a task. */
export const taskOutputSchema = z.object({
  summary: z.string().max(10_000),
  files: z.array(outputFileSchema).max(200),
  /** Frozen tests the coder disputes (optional). */
  disputes: z.array(disputeSchema).max(20).optional(),
});

export type TaskSpec = z.infer<typeof taskSpecSchema>;
export type Plan = z.infer<typeof planSchema>;
export type TaskOutput = z.infer<typeof taskOutputSchema>;
export type OutputFile = z.infer<typeof outputFileSchema>;
export type Dispute = z.infer<typeof disputeSchema>;
