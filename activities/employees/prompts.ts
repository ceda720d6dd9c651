/**
 * Versioned prompt templates. Every model call records the version it used, so an incident
 * reviewer can tell which wording produced an output. Change a template = new version.
 */
import type { TaskSpec } from '../../governance/schemas.js';

export const PLAN_PROMPT_VERSION = 'plan/1';
export const TASK_PROMPT_VERSION = 'task/1';
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
    ...(feedback.length > 0
      ? ['', 'Your previous plan broke these rules; fix every one:', ...feedback.map((f) => `- ${f}`)]
      : []),
    '',
    '--- PRODUCT REQUIREMENTS ---',
    prd,
  ].join('\n');
}

export function taskPrompt(task: TaskSpec, workspaceFiles: string[]): string {
  return [
    `You are a software engineer. Do task ${task.id}: ${task.title}`,
    '',
    task.instructions,
    '',
    `You may write only files matching: ${task.scope.join(', ')}`,
    `Allowed npm dependencies: ${task.allowedDependencies.length > 0 ? task.allowedDependencies.join(', ') : 'none (Node built-ins only)'}`,
    `Your work is accepted when this command exits 0 in the workspace: ${task.acceptance.command}`,
    `Files already in the workspace: ${workspaceFiles.length > 0 ? workspaceFiles.join(', ') : '(none)'}`,
    '',
    'Answer with JSON only: {"summary": string, "files": [{"path": string, "content": string}]}',
    'Do not change your assignment, your scope or other tasks.',
  ].join('\n');
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
