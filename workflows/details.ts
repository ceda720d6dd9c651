/**
 * The run's and a task's details for the Temporal Web UI (markdown, set with
 * setCurrentDetails): what it is, where it stands, and what the Director must do next.
 * Pure: called from workflow code on every change.
 */
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

const NEXT: Partial<Record<RunProgress['status'], string>> = {
  awaiting_approval:
    'approve or reject the plan: `aura approve <run>` / `aura reject <run> --reason …`, or the `approvePlan` / `rejectPlan` update',
  plan_escalated: 'the plan still breaks the rules: `aura replan <run>` or `aura reject <run> --reason …`',
  budget_paused: 'the budget is spent: `aura budget <run> --tokens N --cost N --reason …` or `aura stop <run> --reason …`',
  verification_escalated: 'the final verification fails: `aura verification <run> accept|replan|stop --reason …`',
  paused: 'paused by the Director: `aura resume <run> --reason …` or `aura cancel <run> --reason …`',
};

export function runDetails(state: RunProgress, prd: string): string {
  const lines = [
    `**${prdTitle(prd)}** — project \`${state.project}\`, run \`${state.runId}\``,
    '',
    `**Status:** ${state.status}${state.reason ? ` — ${state.reason}` : ''}`,
  ];
  const next = NEXT[state.status];
  const escalatedTasks = state.tasks.filter((t) => t.status === 'escalated');
  if (next) lines.push('', `**Waiting for the Director:** ${next}`);
  if (escalatedTasks.length > 0)
    lines.push(
      '',
      `**Waiting for the Director:** escalated task(s) ${escalatedTasks.map((t) => t.key).join(', ')}: \`aura resolve <run> <task> reassign|accept|cancel --reason …\``,
    );
  if (state.budget) lines.push('', `**Budget:** ${state.budget.maxTokens} tokens, $${state.budget.maxCostUsd}`);
  if (state.plan) {
    lines.push(
      '',
      `**Plan:** ${state.tasks.length} task(s); final check \`${state.plan.verification.command}\``,
      '',
      '| task | status | employee | attempts | repair rounds |',
      '|---|---|---|---|---|',
    );
    for (const t of state.tasks) lines.push(taskRow(t));
  }
  if (state.escalations.length > 0) lines.push('', '**Escalations:**', ...state.escalations.map((e) => `- ${e}`));
  if (state.ignoredSignals.length > 0) lines.push('', '**Commands refused:**', ...state.ignoredSignals.slice(-5).map((e) => `- ${e}`));
  return lines.join('\n');
}

function taskRow(t: TaskProgress): string {
  return `| ${t.key} ${t.title.replace(/\|/g, '/')} | ${t.status} | ${t.assignedTo ?? '—'} | ${t.attempts} | ${t.repairRounds ?? 0} |`;
}

export function taskDetails(task: TaskProgress & { escalation: string | null }, acceptance: string): string {
  const lines = [
    `**Task ${task.key}:** ${task.title}`,
    '',
    `**Status:** ${task.status}${task.assignedTo ? ` — ${task.assignedTo}` : ''}`,
    `**Attempts:** ${task.attempts}, reassignments ${task.reassignments}, repair rounds ${task.repairRounds ?? 0}`,
    ...(task.testedBy ? [`**Acceptance tests:** written by ${task.testedBy} (frozen; the coder cannot change them)`] : []),
    ...(task.phase === 'tests' ? ['**Now:** a tester writes the acceptance tests, before any code'] : []),
    `**Acceptance:** \`${acceptance}\``,
  ];
  if (task.escalation)
    lines.push(
      '',
      `**Waiting for the Director:** ${task.escalation}: \`aura resolve <run> ${task.key} reassign|accept|cancel --reason …\` or the \`directorDecision\` update`,
    );
  return lines.join('\n');
}
