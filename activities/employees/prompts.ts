/**
 * Versioned prompt templates. Every model call records the version it used, so an incident
 * reviewer can tell which wording produced an output. Change a template = new version.
 */
import type { OutputFile, TaskSpec } from '../../governance/schemas.js';
import type { ContextFile, TaskContext } from '../../governance/context.js';
import type { PriorAttempt, RepairFeedback } from '../../governance/repair.js';

/** plan/2: acceptance criteria and the test files a tester writes, per coding task. */
export const PLAN_PROMPT_VERSION = 'plan/2';
/** task/1 showed file names only (its prompts stay in model_runs); task/2: the code itself, earlier findings, repair rounds. */
export const TASK_PROMPT_VERSION = 'task/2';
/** tests/1: a tester writes a coding task's acceptance tests from the PRD and the criteria, before the code. */
export const TESTS_PROMPT_VERSION = 'tests/1';
/** dispute/1: the tester answers a coder's dispute of a frozen test. */
export const DISPUTE_PROMPT_VERSION = 'dispute/1';
/** review/2: the acceptance criteria are shown. */
export const REVIEW_PROMPT_VERSION = 'review/2';

export function planPrompt(prd: string, feedback: string[]): string {
  return [
    'You are the planner of a software team. Decompose the product requirements below into tasks.',
    'Answer with JSON only, of this shape:',
    '{"summary": string, "verification": {"command": string, "timeoutMs": number},',
    ' "tasks": [{"id": string, "title": string, "instructions": string, "capability": "coder" | "writer",',
    '   "scope": [path globs the task may write], "dependsOn": [task ids], "allowedDependencies": [npm packages],',
    '   "criteria": [acceptance criteria in words: inputs -> outputs, errors, taken from the requirements],',
    '   "tests": [the acceptance test files, in the scope: another employee writes them before the code],',
    '   "acceptance": {"command": shell command that runs the acceptance tests and exits 0 when the task is done, "timeoutMs": number}}]}',
    'Rules: no dependency cycles; every task has a scope and an acceptance command; every coder task has',
    'criteria and names its acceptance test files; never name a model, a provider or who should do a task:',
    'the Manager assigns work.',
    ...(feedback.length > 0 ? ['', 'Your previous plan broke these rules; fix every one:', ...feedback.map((f) => `- ${f}`)] : []),
    '',
    '--- PRODUCT REQUIREMENTS ---',
    prd,
  ].join('\n');
}

export interface TaskPromptParts {
  task: TaskSpec;
  /** The task's frozen acceptance tests (written by a tester): shown, never the coder's to change. */
  frozenTests?: OutputFile[];
  context: TaskContext;
  /** Earlier attempts by other employees: findings only, never who made them. */
  priorAttempts: PriorAttempt[];
  /** Set for a repair round: the employee's previous answer and why it did not pass. */
  repair: (RepairFeedback & { previousFiles: OutputFile[] | null; previousRaw: string }) | null;
}

const ORIGIN_LABEL: Record<ContextFile['origin'], string> = {
  scope: 'in your scope: you may change it',
  dependency: 'from a task this one depends on: use it as it is',
  workspace: 'elsewhere in the workspace: read only',
};

function fileBlock(path: string, content: string, note: string): string[] {
  return [`----- BEGIN FILE ${path} (${note}) -----`, content, `----- END FILE ${path} -----`];
}

/** task/2: the task, the code it builds on, what went wrong before, and the answer format. */
export function taskPrompt(p: TaskPromptParts): string {
  const { task, context, priorAttempts, repair } = p;
  const frozen = p.frozenTests ?? [];
  const lines = [
    `You are a software engineer. Do task ${task.id}: ${task.title}`,
    '',
    task.instructions,
    '',
    ...criteriaLines(task),
    `You may write only files matching: ${task.scope.join(', ')}`,
    `Allowed npm dependencies: ${task.allowedDependencies.length > 0 ? task.allowedDependencies.join(', ') : 'none (Node built-ins only)'}`,
    `Your work is accepted when this command exits 0 in the workspace: ${task.acceptance.command}`,
    '',
  ];
  if (frozen.length > 0) {
    lines.push('--- FROZEN ACCEPTANCE TESTS: written by an independent tester; your code must pass them; you may not change them ---');
    for (const f of frozen) lines.push(...fileBlock(f.path, f.content, 'frozen acceptance test: read only'));
    lines.push(
      'You may add tests of your own in other files of your scope. If you hold a frozen test to be wrong, do not',
      'work around it: say so in "disputes": [{"test": path, "reason": why}] and the tester answers.',
      '',
    );
  }
  if (context.files.length === 0 && context.omitted.length === 0) {
    lines.push('The workspace is empty: no earlier task has written code yet.', '');
  } else {
    lines.push('--- THE WORKSPACE YOUR TASK BUILDS ON ---');
    for (const f of context.files) {
      lines.push(...fileBlock(f.path, f.content, ORIGIN_LABEL[f.origin] + (f.cut ? '; CUT: only its beginning fits here' : '')));
    }
    if (context.omitted.length > 0) lines.push(`Also in the workspace, not shown (over the context budget): ${context.omitted.join(', ')}`);
    lines.push('');
  }
  if (priorAttempts.length > 0) {
    lines.push('--- EARLIER ATTEMPTS AT THIS TASK WERE NOT ACCEPTED: avoid their mistakes ---');
    for (const a of priorAttempts) {
      lines.push(`Attempt ${a.attempt}:`, ...a.findings.map((f) => `- ${f.type}: ${f.message}`));
      if (a.excerpt.trim()) lines.push('Output of the acceptance command (the end):', a.excerpt);
    }
    lines.push('');
  }
  if (repair) {
    lines.push(`--- YOUR PREVIOUS ANSWER (round ${repair.round}) DID NOT PASS: repair it ---`);
    if (repair.findings.length > 0) lines.push("The Auditor's findings:", ...repair.findings.map((f) => `- ${f.type}: ${f.message}`));
    if (repair.review) lines.push('An independent reviewer rejected it:', repair.review);
    if (repair.disputeAnswer) lines.push("The tester's answer to your dispute:", repair.disputeAnswer);
    if (repair.excerpt.trim()) lines.push(`Output of \`${repair.command}\`:`, repair.excerpt);
    if (repair.previousFiles) {
      lines.push('Your previous files:');
      for (const f of repair.previousFiles) lines.push(...fileBlock(f.path, f.content, 'your previous version'));
    } else {
      lines.push('Your previous answer, which was not the JSON asked for:', repair.previousRaw);
    }
    lines.push('Answer again with every file of your task, complete, fixed.', '');
  }
  lines.push(
    frozen.length > 0
      ? 'Answer with JSON only: {"summary": string, "files": [{"path": string, "content": string}], "disputes"?: [{"test": string, "reason": string}]}'
      : 'Answer with JSON only: {"summary": string, "files": [{"path": string, "content": string}]}',
    'Do not change your assignment, your scope or other tasks.',
  );
  return lines.join('\n');
}

function criteriaLines(task: TaskSpec): string[] {
  const criteria = task.criteria ?? [];
  return criteria.length > 0 ? ['Acceptance criteria:', ...criteria.map((c) => `- ${c}`), ''] : [];
}

export interface TestsPromptParts {
  /** The task as the tester sees it: its scope is the test files. */
  task: TaskSpec;
  /** The files the coder will write (the tests exercise them; they do not exist yet). */
  codeScope: string[];
  prd: string;
  context: TaskContext;
  /** A repair round: the previous tests and why they were not frozen. */
  repair: {
    round: number;
    findings: { type: string; message: string }[];
    previousFiles: OutputFile[] | null;
    previousRaw: string;
    excerpt: string;
  } | null;
}

/** tests/1: the acceptance tests of a coding task, from the PRD and the criteria, before any code exists. */
export function testsPrompt(p: TestsPromptParts): string {
  const { task, repair } = p;
  const lines = [
    `You are the tester of a software team. Write the acceptance tests for task ${task.id}: ${task.title}`,
    'Another engineer writes the code after you, to your tests; nothing of it exists yet. Your tests decide',
    'whether the work is accepted: they must check every criterion, and they must FAIL while the code is missing.',
    '',
    'The task, as the coder is told it:',
    task.instructions,
    '',
    ...criteriaLines(task),
    `The coder will write: ${p.codeScope.join(', ')}`,
    `You may write only the test files: ${task.scope.join(', ')}`,
    `They are run with: ${task.acceptance.command}`,
    `Allowed npm dependencies: ${task.allowedDependencies.length > 0 ? task.allowedDependencies.join(', ') : 'none (Node built-ins only)'}`,
    '',
  ];
  if (p.context.files.length > 0) {
    lines.push('--- THE WORKSPACE AS IT STANDS (earlier tasks) ---');
    for (const f of p.context.files) lines.push(...fileBlock(f.path, f.content, ORIGIN_LABEL[f.origin] + (f.cut ? '; CUT' : '')));
    if (p.context.omitted.length > 0) lines.push(`Also in the workspace, not shown: ${p.context.omitted.join(', ')}`);
    lines.push('');
  }
  if (repair) {
    lines.push(`--- YOUR PREVIOUS TESTS (round ${repair.round}) WERE NOT FROZEN: fix them ---`);
    lines.push("The Auditor's findings:", ...repair.findings.map((f) => `- ${f.type}: ${f.message}`));
    if (repair.excerpt.trim()) lines.push(`Output of \`${task.acceptance.command}\` with nothing implemented:`, repair.excerpt);
    if (repair.previousFiles) for (const f of repair.previousFiles) lines.push(...fileBlock(f.path, f.content, 'your previous version'));
    else lines.push('Your previous answer, which was not the JSON asked for:', repair.previousRaw);
    lines.push('');
  }
  lines.push('--- PRODUCT REQUIREMENTS ---', p.prd, '--- END ---', '');
  lines.push('Answer with JSON only: {"summary": string, "files": [{"path": string, "content": string}]}');
  return lines.join('\n');
}

/** dispute/1: the tester answers a coder's dispute of a frozen test. */
export function disputePrompt(p: {
  task: TaskSpec;
  tests: OutputFile[];
  disputes: { test: string; reason: string }[];
  code: OutputFile[];
  excerpt: string;
}): string {
  const lines = [
    `You are the tester of task ${p.task.id}: ${p.task.title}. The coder disputes your frozen acceptance tests.`,
    '',
    ...criteriaLines(p.task),
    'The disputes:',
    ...p.disputes.map((d) => `- ${d.test}: ${d.reason}`),
    '',
    '--- YOUR FROZEN TESTS ---',
  ];
  for (const f of p.tests) lines.push(...fileBlock(f.path, f.content, 'frozen'));
  lines.push("--- THE CODER'S CODE ---");
  for (const f of p.code) lines.push(...fileBlock(f.path, f.content, 'under test'));
  if (p.excerpt.trim()) lines.push(`Output of \`${p.task.acceptance.command}\`:`, p.excerpt);
  lines.push(
    '',
    'Judge against the criteria and the requirements, not the code. If a test is wrong, uphold the dispute and give',
    'the corrected test files whole; otherwise reject it and say why (files: []).',
    'Answer with JSON only: {"decision": "uphold" | "reject", "summary": your reason, "files": [{"path": string, "content": string}]}',
  );
  return lines.join('\n');
}

export function reviewPrompt(task: TaskSpec, output: string): string {
  return [
    `You are an independent reviewer. Another engineer answered task ${task.id}: ${task.title}`,
    '',
    task.instructions,
    '',
    ...criteriaLines(task),
    `Scope: ${task.scope.join(', ')}. Acceptance command: ${task.acceptance.command}`,
    '',
    '--- THEIR ANSWER ---',
    output,
    '--- END ---',
    '',
    'Does the answer do the task, within its scope, without inventing files or packages?',
    'Answer with JSON only: {"verdict": "approve" | "reject" | "unsure", "comments": string}',
  ].join('\n');
}
