/**
 * The Auditor's detectors as pure functions: given a task, an employee's raw output and what
 * the sandbox saw, list the violations with their evidence. The auditor activity only loads
 * inputs, calls `detectViolations` and records the verdict.
 */
import { taskOutputSchema, type TaskOutput, type TaskSpec } from './schemas.js';
import { matchesAnyGlob, unsafePathReason } from './glob.js';
import type { Violation, ViolationType } from './types.js';

export interface VerificationResult {
  /** False when the sandbox did not run the command (and why, in `skippedReason`). */
  ran: boolean;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** The tail of stdout/stderr, bounded. */
  excerpt: string;
  skippedReason: string | null;
  /** Paths the sandbox refused to write (unsafe), if any. */
  refusedPaths: string[];
}

export interface EmployeeFailure {
  timedOut: boolean;
  message: string;
}

export interface AuditInput {
  task: TaskSpec;
  /** The employee's raw output text (null when the call failed). */
  rawOutput: string | null;
  verification: VerificationResult | null;
  employeeFailure: EmployeeFailure | null;
}

export type Hasher = (text: string) => string;

const EXCERPT_LIMIT = 600;

export function excerpt(text: string, limit = EXCERPT_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}

/** Parses the output text as JSON of the task-output schema; never repairs it. */
export function parseTaskOutput(raw: string): { ok: true; output: TaskOutput } | { ok: false; error: string } {
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

export function detectViolations(input: AuditInput, hash: Hasher): Violation[] {
  const violations: Violation[] = [];
  const add = (type: ViolationType, message: string, evidenceText: string) =>
    violations.push({ type, message, evidence: { excerpt: excerpt(evidenceText), sha256: hash(evidenceText) } });

  if (input.employeeFailure) {
    const f = input.employeeFailure;
    if (f.timedOut) add('timeout', `the employee exceeded the task's time limit of ${input.task.timeLimitMs} ms`, f.message);
    else add('malformed_output', `the employee returned no usable output: ${f.message}`, f.message);
    return violations;
  }

  const raw = input.rawOutput ?? '';
  const parsed = parseTaskOutput(raw);
  if (!parsed.ok) {
    add('malformed_output', `the output does not match the task-output schema: ${parsed.error}`, raw);
    return violations;
  }

  for (const file of parsed.output.files) {
    const unsafe = unsafePathReason(file.path);
    if (unsafe) {
      add('scope_drift', `writes "${file.path}": ${unsafe}`, file.path);
    } else if (!matchesAnyGlob(file.path, input.task.scope)) {
      add('scope_drift', `writes "${file.path}", outside the task's scope (${input.task.scope.join(', ')})`, file.path);
    }
  }

  const v = input.verification;
  const stillRefused = (v?.refusedPaths ?? []).filter((p) => unsafePathReason(p) === null);
  if (stillRefused.length > 0) {
    // Safe paths the sandbox could not write (e.g. a file and a folder of the same name).
    add('malformed_output', `files could not be written: ${stillRefused.join(', ')}`, stillRefused.join('\n'));
  }
  if (v) {
    if (v.timedOut) {
      add('timeout', `the acceptance command exceeded ${input.task.acceptance.timeoutMs} ms`, v.excerpt);
    } else if (v.ran && !v.passed) {
      add('failed_verification', `acceptance command "${input.task.acceptance.command}" exited with ${v.exitCode}`, v.excerpt);
    } else if (!v.ran && v.skippedReason) {
      add('failed_verification', `the acceptance command could not run: ${v.skippedReason}`, v.skippedReason);
    }
  }
  return violations;
}
