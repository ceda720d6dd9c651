/**
 * Versioned prompt templates. Every model call records the version it used, so an incident
 * reviewer can tell which wording produced an output. Change a template = new version.
 */
import type { OutputFile, TaskSpec } from '../../governance/schemas.js';
import type { ContextFile, TaskContext } from '../../governance/context.js';
import type { PriorAttempt, RepairFeedback } from '../../governance/repair.js';

export const PLAN_PROMPT_VERSION = 'plan/1';
/** task/1 showed file names only (its prompts stay in model_runs); task/2: the code itself, earlier findings, repair rounds. */
export const TASK_PROMPT_VERSION = 'task/2';
export const REVIEW_PROMPT_VERSION = 'review/1';

export function planPrompt(prd: string, feedback: string[]): string {
  return [
    'You are the planner of a software team. Decompose the product requirements below into tasks.',
    'Answer with JSON only, of this shape:',
    '{"summary": string, "verification": {"command": string, "timeoutMs": number},',
    ' "tasks": [{"id": string, "title": string, "instructions": string, "capability": "coder" | "writer",',
    '   "scope": [path globs the task may write], "dependsOn": [task ids], "allowedDependencies": [npm packages],',
    '   "acceptance": {"command": shell command that exits 0 when the task is done, "timeoutMs": number}}]}',
    'Rules: no dependency cycles; every task has a scope and an acceptance command; never name a model,',
    'a provider or who should do a task: the Manager assigns work.',
    ...(feedback.length > 0 ? ['', 'Your previous plan broke these rules; fix every one:', ...feedback.map((f) => `- ${f}`)] : []),
    '',
    '--- PRODUCT REQUIREMENTS ---',
    prd,
  ].join('\n');
}

export interface TaskPromptParts {
  task: TaskSpec;
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
  const lines = [
    `You are a software engineer. Do task ${task.id}: ${task.title}`,
    '',
    task.instructions,
    '',
    `You may write only files matching: ${task.scope.join(', ')}`,
    `Allowed npm dependencies: ${task.allowedDependencies.length > 0 ? task.allowedDependencies.join(', ') : 'none (Node built-ins only)'}`,
    `Your work is accepted when this command exits 0 in the workspace: ${task.acceptance.command}`,
    '',
  ];
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
    lines.push("The Auditor's findings:", ...repair.findings.map((f) => `- ${f.type}: ${f.message}`));
    if (repair.excerpt.trim()) lines.push(`Output of \`${repair.command}\` (the end):`, repair.excerpt);
    if (repair.previousFiles) {
      lines.push('Your previous files:');
      for (const f of repair.previousFiles) lines.push(...fileBlock(f.path, f.content, 'your previous version'));
    } else {
      lines.push('Your previous answer, which was not the JSON asked for:', repair.previousRaw);
    }
    lines.push('Answer again with every file of your task, complete, fixed.', '');
  }
  lines.push(
    'Answer with JSON only: {"summary": string, "files": [{"path": string, "content": string}]}',
    'Do not change your assignment, your scope or other tasks.',
  );
  return lines.join('\n');
}

export function reviewPrompt(task: TaskSpec, output: string): string {
  return [
    `You are an independent reviewer. Another engineer answered task ${task.id}: ${task.title}`,
    '',
    task.instructions,
    '',
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
