/**
 * The run's and a task's details for the Temporal Web UI (markdown, set with
 * setCurrentDetails): what it is, where it stands, and what the Director must do next.
 * Pure: called from workflow code on every change.
 *
 * Whatever comes from a PRD, a model or a person (titles, reasons, names, commands) is shown as
 * text: markdown and HTML in it are escaped (`text`), or it sits in a code span (`code`). Each
 * command shown is a whole `aura` command line for this run (test/details.test.ts parses every one
 * with the CLI itself).
 */

/** `s` as literal text in markdown: no emphasis, link, heading, table cell or HTML comes of it. */
export function text(s: string): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_{}[\]()#+!|~]/g, (c) => `\\${c}`)
    .replace(/\r?\n/g, ' ');
}

/** `s` in a code span, fenced with more backticks than any run in it. */
export function code(s: string): string {
  const flat = String(s).replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A command line as the Director types it: the run's id and the task key quoted for a shell when they need it. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
import type { RunProgress, TaskProgress } from '../governance/types.js';

/** The PRD's first heading, else its first line, short. */
export function prdTitle(prd: string): string {
  const lines = prd
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const heading = lines.find((l) => l.startsWith('#'));
  const title = (heading ?? lines[0] ?? '(empty PRD)').replace(/^#+\s*/, '');
  return title.length > 100 ? `${title.slice(0, 97)}…` : title;
}

/** What the Director may do next, by the run's status: `aura` command lines for run `r`. */
const NEXT: Partial<Record<RunProgress['status'], { what: string; commands: (r: string) => string[]; updates?: string }>> = {
  awaiting_approval: {
    what: 'approve or reject the plan',
    commands: (r) => [`aura approve ${r} --reason "…"`, `aura reject ${r} --reason "…"`],
    updates: 'or the `approvePlan` / `rejectPlan` update',
  },
  plan_escalated: {
    what: 'the plan still breaks the rules',
    commands: (r) => [`aura replan ${r} --reason "…"`, `aura reject ${r} --reason "…"`],
  },
  budget_paused: {
    what: 'the budget is spent',
    commands: (r) => [`aura budget ${r} --tokens 2000000 --cost 5 --reason "…"`, `aura stop ${r} --reason "…"`],
  },
  verification_escalated: {
    what: 'the final verification fails',
    commands: (r) => (['accept', 'replan', 'stop'] as const).map((d) => `aura verification ${r} ${d} --reason "…"`),
  },
  paused: {
    what: 'paused by the Director',
    commands: (r) => [`aura resume ${r} --reason "…"`, `aura cancel ${r} --reason "…"`],
  },
};

/** The commands that answer task `key`'s escalation in run `runId`. */
export function resolveCommands(runId: string, key: string): string[] {
  const [r, t] = [shellWord(runId), shellWord(key)];
  return [
    `aura resolve ${r} ${t} --reassign <employee> --reason "…"`,
    `aura resolve ${r} ${t} --accept --reason "…"`,
    `aura resolve ${r} ${t} --cancel --reason "…"`,
  ];
}

const commandList = (commands: string[]) => commands.map(code).join(' / ');

export function runDetails(state: RunProgress, prd: string): string {
  const lines = [
    `**${text(prdTitle(prd))}** — project ${code(state.project)}, run ${code(state.runId)}`,
    '',
    `**Status:** ${state.status}${state.reason ? ` — ${text(state.reason)}` : ''}`,
  ];
  const next = NEXT[state.status];
  const escalatedTasks = state.tasks.filter((t) => t.status === 'escalated');
  if (next)
    lines.push(
      '',
      `**Waiting for the Director:** ${next.what}: ${commandList(next.commands(shellWord(state.runId)))}${next.updates ? `, ${next.updates}` : ''}`,
    );
  for (const t of escalatedTasks)
    lines.push('', `**Waiting for the Director:** escalated task ${text(t.key)}: ${commandList(resolveCommands(state.runId, t.key))}`);
  if (state.budget) lines.push('', `**Budget:** ${state.budget.maxTokens} tokens, $${state.budget.maxCostUsd}`);
  if (state.plan) {
    lines.push(
      '',
      `**Plan:** ${state.tasks.length} task(s); final check ${code(state.plan.verification.command)}`,
      '',
      '| task | status | employee | attempts | repair rounds |',
      '|---|---|---|---|---|',
    );
    for (const t of state.tasks) lines.push(taskRow(t));
  }
  if (state.escalations.length > 0) lines.push('', '**Escalations:**', ...state.escalations.map((e) => `- ${text(e)}`));
  if (state.ignoredSignals.length > 0)
    lines.push('', '**Commands refused:**', ...state.ignoredSignals.slice(-5).map((e) => `- ${text(e)}`));
  return lines.join('\n');
}

function taskRow(t: TaskProgress): string {
  return `| ${text(t.key)} ${text(t.title)} | ${t.status} | ${t.assignedTo ? text(t.assignedTo) : '—'} | ${t.attempts} | ${t.repairRounds ?? 0} |`;
}

/** `runId`: the run the task belongs to (its commands name it); absent in older callers: a placeholder. */
export function taskDetails(task: TaskProgress & { escalation: string | null }, acceptance: string, runId = '<run>'): string {
  const lines = [
    `**Task ${text(task.key)}:** ${text(task.title)}`,
    '',
    `**Status:** ${task.status}${task.assignedTo ? ` — ${text(task.assignedTo)}` : ''}`,
    `**Attempts:** ${task.attempts}, reassignments ${task.reassignments}, repair rounds ${task.repairRounds ?? 0}`,
    ...(task.testedBy ? [`**Acceptance tests:** written by ${text(task.testedBy)} (frozen; the coder cannot change them)`] : []),
    ...(task.phase === 'tests' ? ['**Now:** a tester writes the acceptance tests, before any code'] : []),
    `**Acceptance:** ${code(acceptance)}`,
  ];
  if (task.escalation)
    lines.push(
      '',
      `**Waiting for the Director:** ${text(task.escalation)}: ${commandList(resolveCommands(runId, task.key))}, or the \`directorDecision\` update`,
    );
  return lines.join('\n');
}
