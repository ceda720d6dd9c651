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

/** What else the Auditor knows about the run when it judges one output. */
export interface AuditContext {
  /** Paths already in the workspace this task builds on. */
  workspaceFiles: string[];
  /** Other tasks of the run: their ids and the files already accepted from them. */
  otherTasks: { id: string; files: string[] }[];
  /** Module names that need no dependency (Node's built-ins). */
  builtinModules: string[];
}

export interface AuditInput {
  task: TaskSpec;
  /** The employee's raw output text (null when the call failed). */
  rawOutput: string | null;
  verification: VerificationResult | null;
  employeeFailure: EmployeeFailure | null;
  context?: AuditContext;
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
  for (const key of routingKeys(raw)) {
    add('self_assignment', `the output tries to set "${key}": employees never change their assignment, scope or other tasks`, `"${key}": ${excerpt(JSON.stringify((JSON.parse(raw) as Record<string, unknown>)[key]) ?? '', 200)}`);
  }
  const parsed = parseTaskOutput(raw);
  if (!parsed.ok) {
    add('malformed_output', `the output does not match the task-output schema: ${parsed.error}`, raw);
    return violations;
  }
  const output = parsed.output;
  const claim = SELF_ASSIGNMENT_TEXT.exec(output.summary);
  if (claim) add('self_assignment', `the summary tries to change the assignment: "${claim[0]}"`, output.summary);

  const ctx = input.context;
  for (const file of output.files) {
    const unsafe = unsafePathReason(file.path);
    const owner = ctx?.otherTasks.find((t) => t.files.includes(file.path));
    if (unsafe) {
      add('scope_drift', `writes "${file.path}": ${unsafe}`, file.path);
    } else if (!matchesAnyGlob(file.path, input.task.scope)) {
      add('scope_drift', `writes "${file.path}", outside the task's scope (${input.task.scope.join(', ')})`, file.path);
    } else if (owner) {
      add('scope_drift', `changes "${file.path}", a file accepted from task ${owner.id}`, file.path);
    }
  }

  // Hallucination: references to things that do not exist or are not allowed.
  const known = new Set([...(ctx?.workspaceFiles ?? []), ...output.files.map((f) => f.path)]);
  for (const file of output.files) {
    if (!SOURCE_FILE.test(file.path)) continue;
    for (const spec of importSpecifiers(file.content)) {
      if (spec.startsWith('./') || spec.startsWith('../')) {
        if (!resolvesTo(file.path, spec, known)) {
          add('hallucination', `${file.path} imports "${spec}", which exists neither in the workspace nor in the output`, `${file.path}: ${spec}`);
        }
      } else if (!spec.startsWith('/') && !isBuiltin(spec, ctx?.builtinModules)) {
        const pkg = packageName(spec);
        if (!input.task.allowedDependencies.includes(pkg)) {
          add('hallucination', `${file.path} imports package "${pkg}", not among the task's allowed dependencies (${input.task.allowedDependencies.join(', ') || 'none'})`, `${file.path}: ${spec}`);
        }
      }
    }
  }

  const v = input.verification;
  const claimed = SUCCESS_CLAIM.exec(output.summary);
  const ranNothing = !!v && v.passed && NOTHING_RAN.test(v.excerpt);
  if (claimed && v && (v.timedOut || (v.ran && !v.passed) || ranNothing)) {
    const said = v.timedOut ? 'timed out' : ranNothing ? 'ran no test' : `exited with ${v.exitCode}`;
    add('hallucination', `the output claims "${claimed[0]}", but the acceptance command ${said}`, `${output.summary}\n---\n${v.excerpt}`);
  }
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
    } else if (v.passed && NOTHING_RAN.test(v.excerpt)) {
      add('failed_verification', `the acceptance command "${input.task.acceptance.command}" passed without running any test`, v.excerpt);
    }
  }
  return violations;
}

/** Keys an output may not carry: assignment, routing, scope and other tasks are the Manager's. */
const ROUTING_OUTPUT_KEYS = ['assignee', 'assignedTo', 'assignTo', 'reassign', 'reassignTo', 'employee', 'model', 'routing', 'scope', 'dependsOn', 'taskId', 'nextTask', 'tasks', 'plan', 'priority', 'capability'];
const SELF_ASSIGNMENT_TEXT = /\b(?:i\s+(?:have\s+)?(?:re)?assigned|(?:re)?assign(?:ing)?\s+(?:this|the)\s+task\s+to|assign\s+(?:task\s+)?\S+\s+to\s+me|expand(?:ed|ing)?\s+(?:my|the\s+task'?s?)\s+scope|take\s+over\s+task)\b[^.\n]*/i;
const SUCCESS_CLAIM = /\b(?:all\s+)?tests?\s+(?:pass(?:es|ed|ing)?|are\s+(?:passing|green)|succeed(?:ed)?)\b|\bpass(?:es)?\s+all\s+(?:the\s+)?tests\b/i;
/** Test runners' own words for "no test ran" (node --test, mocha, jest, vitest). */
const NOTHING_RAN = /^# tests 0$|\b0 passing\b|\bno tests? (?:found|to run)\b|\bNo test files found\b/im;
const SOURCE_FILE = /\.(?:[cm]?[jt]sx?)$/;
const RESOLVE_SUFFIXES = ['', '.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.jsx', '.tsx', '.json', '/index.js', '/index.mjs', '/index.ts'];

function routingKeys(raw: string): string[] {
  try {
    const json: unknown = JSON.parse(raw);
    if (!json || typeof json !== 'object' || Array.isArray(json)) return [];
    return ROUTING_OUTPUT_KEYS.filter((k) => k in json);
  } catch {
    return [];
  }
}

/** Module specifiers of static imports, re-exports, require() and import(), comments removed. */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const specs = new Set<string>();
  for (const re of [
    /^\s*import\s+(?:[\w*{}\s,$]+\s+from\s+)?['"]([^'"]+)['"]/gm,
    /^\s*export\s+(?:\*|\{[^}]*\})(?:\s+as\s+\w+)?\s+from\s+['"]([^'"]+)['"]/gm,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]) {
    for (const m of code.matchAll(re)) specs.add(m[1]!);
  }
  return [...specs];
}

function isBuiltin(spec: string, builtins: string[] | undefined): boolean {
  if (spec.startsWith('node:')) return true;
  const name = spec.split('/')[0]!;
  return (builtins ?? []).includes(name) || (builtins ?? []).includes(spec);
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Does a relative import from `from` land on one of the known paths? */
function resolvesTo(from: string, spec: string, known: Set<string>): boolean {
  const target = joinPath(from.split('/').slice(0, -1), spec);
  if (target === null) return false;
  return RESOLVE_SUFFIXES.some((suffix) => known.has(target + suffix)) || (target.endsWith('.js') && known.has(target.replace(/\.js$/, '.ts')));
}

function joinPath(base: string[], spec: string): string | null {
  const out = [...base];
  for (const seg of spec.split('/')) {
    if (seg === '.' || seg === '') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(seg);
  }
  return out.join('/');
}
