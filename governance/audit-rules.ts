/**
 * The Auditor's detectors as pure functions: given a task, an employee's raw output and what
 * the sandbox saw, list the violations with their evidence. The auditor activity only loads
 * inputs, calls `detectViolations` and records the verdict.
 */
import type { TaskOutput, TaskSpec } from './schemas.js';
import { parseTaskOutput, type ParsedTaskOutput } from './task-output.js';
import { matchesAnyGlob, unsafePathReason } from './glob.js';
import { importSpecifiers } from './imports.js';

export { importSpecifiers } from './imports.js';
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
  /** What the command left outside the workspace (`/tmp/x`), as the sandbox saw it; absent in older results. */
  outsideWrites?: string[];
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
  /** Frozen acceptance tests of the run (written by testers): no coder may write them. */
  frozenTests?: string[];
  /** Frozen tests an output hands back exactly as frozen: they change nothing. */
  frozenUnchanged?: string[];
  /** Globs of files the task's coder will write: a tester's tests may import them before they exist. */
  plannedPaths?: string[];
}

export interface AuditInput {
  task: TaskSpec;
  /** The employee's raw output text (null when the call failed). */
  rawOutput: string | null;
  /** The output as answered held a NUL or invalid Unicode; `rawOutput` is its storable copy. */
  rawOutputAltered?: boolean;
  /** `rawOutput` as the task-output schema reads it, when it was parsed already (stored). */
  parsedOutput?: ParsedTaskOutput;
  verification: VerificationResult | null;
  employeeFailure: EmployeeFailure | null;
  context?: AuditContext;
  /** A tester's output: its tests run on the workspace before any code (red). They must fail. */
  red?: VerificationResult | null;
}

export type Hasher = (text: string) => string;

const EXCERPT_LIMIT = 600;
/** Import findings listed one by one in a verdict, at most; the rest are counted in one more. */
export const MAX_IMPORT_FINDINGS = 50;
/** An output past this many characters is refused unread: no detector runs over it. */
export const MAX_OUTPUT_CHARS = 8_000_000;

export function excerpt(text: string, limit = EXCERPT_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}

type Add = (type: ViolationType, message: string, evidenceText: string, conduct?: boolean) => void;

/** A well-formed output under judgement, and where its findings go. */
interface Judged {
  input: AuditInput;
  output: TaskOutput;
  add: Add;
}

/**
 * The detectors of a well-formed output, in the order their findings are listed. Each is small
 * and reads one kind of wrong; an output that is not well-formed never reaches them.
 */
const DETECTORS: ((j: Judged) => void)[] = [
  summaryChangesAssignment,
  writesOutsideScope,
  binaryText,
  hallucinatedImports,
  falseSuccessClaim,
  unwrittenFiles,
  writesOutsideWorkspace,
  acceptanceVerdict,
  redVerdict,
];

export function detectViolations(input: AuditInput, hash: Hasher): Violation[] {
  const violations: Violation[] = [];
  const add: Add = (type, message, evidenceText, conduct = false) =>
    violations.push({
      type,
      message,
      evidence: { excerpt: excerpt(evidenceText), sha256: hash(evidenceText) },
      ...(conduct ? { conduct } : {}),
    });

  if (input.employeeFailure) {
    const f = input.employeeFailure;
    if (f.timedOut) add('timeout', `the employee exceeded the task's time limit of ${input.task.timeLimitMs} ms`, f.message);
    else add('malformed_output', `the employee returned no usable output: ${f.message}`, f.message);
    return violations;
  }

  const raw = input.rawOutput ?? '';
  if (input.rawOutputAltered) {
    // What the model answered is not text: judged as it was written, whatever the copy parses to.
    add(
      'malformed_output',
      'the output holds a NUL byte or invalid Unicode (stored with ␀ / � in their place): answers are text',
      raw.slice(0, EXCERPT_LIMIT),
    );
  }
  if (raw.length > MAX_OUTPUT_CHARS) {
    add(
      'malformed_output',
      `the output has ${raw.length} characters, over the limit of ${MAX_OUTPUT_CHARS}: not read`,
      raw.slice(0, EXCERPT_LIMIT),
    );
    return violations;
  }
  for (const [key, value] of routingKeys(raw)) {
    add(
      'self_assignment',
      `the output tries to set "${key}": employees never change their assignment, scope or other tasks`,
      `"${key}": ${excerpt(shown(value), 200)}`,
    );
  }
  const parsed = input.parsedOutput ?? parseTaskOutput(raw);
  if (!parsed.ok) {
    add('malformed_output', `the output does not match the task-output schema: ${parsed.error}`, raw);
    return violations;
  }
  for (const detect of DETECTORS) detect({ input, output: parsed.output, add });
  return violations;
}

function summaryChangesAssignment({ output, add }: Judged): void {
  const claim = affirmed(output.summary, SELF_ASSIGNMENT_TEXT);
  if (claim) add('self_assignment', `the summary tries to change the assignment: "${claim}"`, output.summary);
}

function writesOutsideScope({ input, output, add }: Judged): void {
  for (const file of output.files) {
    if (input.context?.frozenUnchanged?.includes(file.path)) continue;
    const unsafe = unsafePathReason(file.path);
    const owner = input.context?.otherTasks.find((t) => t.files.includes(file.path));
    if (!unsafe && input.context?.frozenTests?.includes(file.path)) {
      add(
        'scope_drift',
        `writes "${file.path}", a frozen acceptance test written by a tester: dispute it ("disputes"), never edit it`,
        file.path,
      );
    } else if (unsafe) {
      add('scope_drift', `writes "${file.path}": ${unsafe}`, file.path);
    } else if (!matchesAnyGlob(file.path, input.task.scope)) {
      add('scope_drift', `writes "${file.path}", outside the task's scope (${input.task.scope.join(', ')})`, file.path);
    } else if (owner) {
      add('scope_drift', `changes "${file.path}", a file accepted from task ${owner.id}`, file.path);
    }
  }
}

/**
 * Source is text: a NUL byte or a lone surrogate in a file is binary, or broken output. So is
 * the summary, which people read (and which is stored with ␀ and � in their place).
 */
function binaryText({ output, add }: Judged): void {
  const summaryNul = output.summary.indexOf('\u0000');
  if (summaryNul >= 0)
    add(
      'malformed_output',
      `the summary holds a NUL byte at character ${summaryNul}: it is text`,
      output.summary.slice(Math.max(0, summaryNul - 40), summaryNul + 40),
    );
  else if (!(output.summary as string & { isWellFormed(): boolean }).isWellFormed())
    add('malformed_output', 'the summary is not valid Unicode text', output.summary.slice(0, 200));
  for (const file of output.files) {
    const nul = file.content.indexOf('\u0000');
    if (nul >= 0)
      add(
        'malformed_output',
        `${file.path} holds a NUL byte at character ${nul}: files are text`,
        file.content.slice(Math.max(0, nul - 40), nul + 40),
      );
    else if (!(file.content as string & { isWellFormed(): boolean }).isWellFormed())
      add('malformed_output', `${file.path} is not valid Unicode text`, file.content.slice(0, 200));
  }
}

/**
 * Hallucination: references to things that do not exist or are not allowed. Listed one by one
 * up to a cap, the rest counted in one more: a verdict must stay small enough to carry and store
 * (200,000 distinct unknown packages made a 54 MB verdict, over Temporal's payload limit).
 */
function hallucinatedImports({ input, output, add }: Judged): void {
  const ctx = input.context;
  const known = new Set([...(ctx?.workspaceFiles ?? []), ...output.files.map((f) => f.path)]);
  const unlisted: string[] = [];
  let listed = 0;
  let unlistedConduct = false;
  const addImport = (message: string, evidenceText: string, conduct = false) => {
    if (listed++ < MAX_IMPORT_FINDINGS) add('hallucination', message, evidenceText, conduct);
    else {
      unlisted.push(evidenceText);
      unlistedConduct ||= conduct;
    }
  };
  for (const file of output.files) {
    if (!SOURCE_FILE.test(file.path)) continue;
    for (const spec of importSpecifiers(file.content)) {
      const shownSpec = excerpt(spec, 200);
      if (spec.startsWith('./') || spec.startsWith('../')) {
        if (!resolvesTo(file.path, spec, known) && !resolvesToPlanned(file.path, spec, ctx?.plannedPaths ?? [])) {
          addImport(
            `${file.path} imports "${shownSpec}", which exists neither in the workspace nor in the output`,
            `${file.path}: ${spec}`,
          );
        }
      } else if (spec.startsWith('/') || spec.startsWith('file:')) {
        addImport(`${file.path} imports "${shownSpec}", an absolute path outside the workspace`, `${file.path}: ${spec}`, true);
      } else if (!isBuiltin(spec, ctx?.builtinModules)) {
        const pkg = packageName(spec);
        if (!input.task.allowedDependencies.includes(pkg)) {
          addImport(
            `${file.path} imports package "${excerpt(pkg, 200)}", not among the task's allowed dependencies (${input.task.allowedDependencies.join(', ') || 'none'})`,
            `${file.path}: ${spec}`,
            true,
          );
        }
      }
    }
  }
  if (unlisted.length > 0) {
    add(
      'hallucination',
      `and ${unlisted.length} more imports of modules that do not exist or are not allowed (the first ${MAX_IMPORT_FINDINGS} are listed)`,
      unlisted.join('\n'),
      unlistedConduct,
    );
  }
}

/** The summary says the tests pass; the acceptance command says otherwise (or ran none). */
function falseSuccessClaim({ input, output, add }: Judged): void {
  const v = input.verification;
  const claimed = affirmed(output.summary, [SUCCESS_CLAIM]);
  const ranNothing = !!v && v.passed && NOTHING_RAN.test(v.excerpt);
  if (claimed && v && (v.timedOut || (v.ran && !v.passed) || ranNothing)) {
    const said = v.timedOut ? 'timed out' : ranNothing ? 'ran no test' : `exited with ${v.exitCode}`;
    add('hallucination', `the output claims "${claimed}", but the acceptance command ${said}`, `${output.summary}\n---\n${v.excerpt}`);
  }
}

/** Safe paths the sandbox could not write (e.g. a file and a folder of the same name). */
function unwrittenFiles({ input, add }: Judged): void {
  const stillRefused = (input.verification?.refusedPaths ?? []).filter((p) => unsafePathReason(p) === null);
  if (stillRefused.length > 0) add('malformed_output', `files could not be written: ${stillRefused.join(', ')}`, stillRefused.join('\n'));
}

/** The code under test wrote where no task may: conduct, not a slip to repair. */
function writesOutsideWorkspace({ input, add }: Judged): void {
  const outside = input.verification?.outsideWrites ?? [];
  if (outside.length === 0) return;
  const shown = outside.slice(0, 10).map((p) => (p.length > 200 ? `${p.slice(0, 200)}…` : p));
  add(
    'scope_drift',
    `the acceptance command left files outside the workspace: ${shown.join(', ')}${outside.length > 10 ? ` and ${outside.length - 10} more` : ''}`,
    outside.join('\n'),
    true,
  );
}

/** What the acceptance command said: timed out, failed, could not run, or passed without a test. */
function acceptanceVerdict({ input, add }: Judged): void {
  const v = input.verification;
  if (!v) return;
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

/**
 * Red before green: a tester's tests, run with nothing of the task implemented, must fail. Tests
 * that pass then (or run none) test nothing; tests that could not run at all are no tests.
 */
function redVerdict({ input, add }: Judged): void {
  const red = input.red;
  if (!red) return;
  if (red.ran && red.passed) {
    add(
      'vacuous_tests',
      NOTHING_RAN.test(red.excerpt)
        ? `"${input.task.acceptance.command}" ran no test with nothing implemented: the tests test nothing`
        : `"${input.task.acceptance.command}" passed with nothing of the task implemented: the tests test nothing`,
      red.excerpt,
    );
  } else if (!red.ran && red.skippedReason) {
    add('malformed_output', `the tests could not be run: ${red.skippedReason}`, red.skippedReason);
  }
}

/** Keys an output may not carry: assignment, routing, scope and other tasks are the Manager's. */
const ROUTING_OUTPUT_KEYS = [
  'assignee',
  'assignedTo',
  'assignTo',
  'reassign',
  'reassignTo',
  'employee',
  'model',
  'routing',
  'scope',
  'dependsOn',
  'taskId',
  'nextTask',
  'tasks',
  'plan',
  'priority',
  'capability',
];
/** Phrases of an output changing its own assignment or scope (a negated one does not count). */
const SELF_ASSIGNMENT_TEXT = [
  /\b(?:I\s+(?:have\s+)?)?(?:re)?assign(?:ed|ing)?\s+(?:this|the|my|that)\s+task\b[^.\n]*?\bto\b[^.\n]*/i,
  /\b(?:I\s+(?:have\s+)?)?(?:re)?assign(?:ed|ing)?\s+(?:task\s+)?T\d+\b[^.\n]*?\bto\s+(?:me|myself)\b[^.\n]*/i,
  /\b(?:expand(?:ed|ing)?|widen(?:ed|ing)?|extend(?:ed|ing)?|chang(?:ed|ing))\s+(?:my|the\s+task'?s?|this\s+task'?s?|its)\s+(?:own\s+)?scope\b[^.\n]*/i,
  /\b(?:take|took|taking)\s+over\s+(?:task\s+)?T?\d*\w*\b[^.\n]*/i,
];
/** A summary claiming the tests pass (plural or "all", not "test passing inputs…"). */
const SUCCESS_CLAIM =
  /\b(?:all\s+(?:the\s+|of\s+the\s+)?tests?|(?:the\s+)?tests|test\s+suite)\s+(?:(?:now|all)\s+)?(?:pass(?:es|ed)?|are\s+(?:passing|green)|succeed(?:s|ed)?)\b|\bthe\s+test\s+(?:pass(?:es|ed)|succeed(?:s|ed))\b|\bpass(?:es|ed)?\s+all\s+(?:the\s+|of\s+the\s+)?tests\b/i;
/** "not", "never", "n't", "no" shortly before a phrase turn it around. */
const NEGATION_BEFORE = /\b(?:not|never|no|none|without)\b[^.\n]{0,20}$|n't\b[^.\n]{0,20}$/i;

/** The first un-negated match of any pattern in the text. */
function affirmed(text: string, patterns: RegExp[]): string | null {
  for (const re of patterns) {
    const m = re.exec(text);
    if (m && !NEGATION_BEFORE.test(text.slice(Math.max(0, m.index - 30), m.index))) return m[0];
  }
  return null;
}
/** Test runners' own words for "no test ran" (node --test, mocha, jest, vitest). */
const NOTHING_RAN = /^# tests 0$|^\u2139 tests 0$|\b0 passing\b|\bno tests? (?:found|to run)\b|\bNo test files found\b/im;
const SOURCE_FILE = /\.(?:[cm]?[jt]sx?)$/;
const RESOLVE_SUFFIXES = [
  '',
  '.js',
  '.mjs',
  '.cjs',
  '.ts',
  '.mts',
  '.cts',
  '.jsx',
  '.tsx',
  '.json',
  '/index.js',
  '/index.mjs',
  '/index.ts',
];

/** The routing keys an output sets, with their values (the output parsed once). */
function routingKeys(raw: string): [string, unknown][] {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return [];
  const record = json as Record<string, unknown>;
  return ROUTING_OUTPUT_KEYS.filter((k) => k in record).map((k) => [k, record[k]]);
}

/** A value as JSON for evidence; one nested too deeply to stringify (JSON.parse takes any depth) is named, not shown. */
function shown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return Array.isArray(value) ? '[…] (nested too deeply to show)' : '{…} (nested too deeply to show)';
  }
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
  return (
    RESOLVE_SUFFIXES.some((suffix) => known.has(target + suffix)) || (target.endsWith('.js') && known.has(target.replace(/\.js$/, '.ts')))
  );
}

/** Does a relative import land on a file the task's coder is yet to write (a tester's import)? */
function resolvesToPlanned(from: string, spec: string, planned: string[]): boolean {
  if (planned.length === 0) return false;
  const target = joinPath(from.split('/').slice(0, -1), spec);
  return target !== null && RESOLVE_SUFFIXES.some((suffix) => matchesAnyGlob(target + suffix, planned));
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
