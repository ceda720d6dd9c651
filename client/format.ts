/** Plain-text views of runs for the terminal. */
import type { RunProgress, RunReport, TaskProgress, TaskRunResult } from '../governance/types.js';

/** Who decided acceptance: testers' frozen tests, or the plan's own commands (null: a run from before the choice). */
export function acceptanceLine(independentTests: boolean | undefined): string | null {
  if (independentTests === true) return 'acceptance: tests by testers (independent): written before the code, frozen, red before green';
  if (independentTests === false) return "self-tested: the plan's own commands decided (no tester, no red run)";
  return null;
}

const exit = (code: number | null) => `exit ${code ?? '-'}`;
const oneLine = (text: string, max = 300) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** A task in progress: who tests it, who codes it, and which phase it is in. */
export function taskChecksProgress(t: Pick<TaskProgress, 'testedBy' | 'phase'>): string {
  const parts: string[] = [];
  if (t.phase === 'tests') parts.push('writing its tests');
  if (t.testedBy) parts.push(`tests by ${t.testedBy}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * Who checked whom in one task: who wrote (and froze) the tests and what the red run said, who
 * wrote the code and what green said, the reviewer's verdict, and the disputes. Empty for a task
 * without independent checks.
 */
export function formatTaskChecks(t: TaskRunResult, indent = '    '): string[] {
  const c = t.checks;
  if (!c) return [];
  const lines: string[] = [];
  if (c.tests) {
    const red = c.tests.red.passed
      ? `red: PASSED before any code (${exit(c.tests.red.exitCode)}), the tests did not fail as they must`
      : `red: failed before any code, as it must (${exit(c.tests.red.exitCode)})`;
    lines.push(
      `${indent}tests: by ${c.tests.testerId}, version ${c.tests.version} (${c.tests.files.map((f) => `${f.path} ${f.sha256.slice(0, 12)}`).join(', ') || 'no files'}); ${red}`,
    );
  } else lines.push(`${indent}tests: none frozen`);
  for (const a of c.testAttempts) {
    if (c.tests && a.clean && a.employeeId === c.tests.testerId) continue;
    const verdict = a.clean ? 'clean' : a.violations.map((v) => v.type).join(', ') || 'not frozen';
    lines.push(
      `${indent}  tester attempt ${a.attempt}: ${a.employeeId} — ${verdict}${a.hrActions.length ? `; HR: ${a.hrActions.join(', ')}` : ''}`,
    );
  }
  const coder = t.acceptedBy ?? t.attempts.at(-1)?.employeeId ?? null;
  const green = c.green
    ? c.green.passed
      ? `green: passed (${exit(c.green.exitCode)})`
      : `green: FAILED (${exit(c.green.exitCode)})`
    : 'green: no run';
  lines.push(`${indent}code: ${coder ? `by ${coder}${t.acceptedBy ? '' : ' (not accepted)'}` : 'none written'}; ${green}`);
  lines.push(
    c.review
      ? `${indent}review: ${c.review.reviewerId} ${c.review.verdict}${c.review.comments ? `: ${oneLine(c.review.comments)}` : ''}`
      : `${indent}review: none`,
  );
  for (const d of c.disputes)
    lines.push(`${indent}dispute of ${d.test}: ${oneLine(d.reason, 200)} → ${d.decision}${d.answer ? `: ${oneLine(d.answer, 200)}` : ''}`);
  return lines;
}

export function formatProgress(p: RunProgress): string {
  const lines = [`run ${p.runId} (${p.project || 'project ?'}): ${p.status}${p.reason ? ` — ${p.reason}` : ''}`];
  if (p.planAttempts > 1) lines.push(`  planning rounds: ${p.planAttempts} (earlier plans broke the plan rules and were sent back)`);
  if (p.planErrors.length > 0 && !p.plan)
    lines.push(`  plan rounds: ${p.planAttempts}; last broken rules:`, ...p.planErrors.map((e) => `    ${e}`));
  if (p.plan && p.status === 'awaiting_approval') {
    lines.push(`  plan: ${p.plan.summary}`);
    for (const t of p.plan.tasks)
      lines.push(
        `    ${t.id} ${t.title} [${t.capability}] scope ${t.scope.join(', ')}${t.dependsOn.length ? ` after ${t.dependsOn.join(', ')}` : ''}`,
      );
    lines.push('  waiting for the Director: aura approve <run> | aura reject <run> --reason "..."');
  }
  for (const t of p.tasks) {
    lines.push(
      `  ${t.key.padEnd(6)} ${t.status.padEnd(9)} ${t.assignedTo ?? '-'}  attempts ${t.attempts}${t.repairRounds ? `, repair rounds ${t.repairRounds}` : ''}${t.reassignments ? `, reassigned ${t.reassignments}x` : ''}${taskChecksProgress(t)}`,
    );
  }
  if (p.status === 'verification_escalated') {
    lines.push('  waiting for the Director: aura verification <run> accept|replan|stop --reason "..."');
  }
  if (p.status === 'budget_paused' && p.budget) {
    lines.push(
      `  budget: ${p.budget.maxTokens} tokens / $${p.budget.maxCostUsd}; waiting for the Director: aura budget <run> --tokens N --cost USD --reason "..." | aura stop <run> --reason "..."`,
    );
  }
  for (const e of p.escalations) lines.push(`  ESCALATED ${e}`);
  for (const s of p.ignoredSignals) lines.push(`  note: ${s}`);
  return lines.join('\n');
}

export function formatReport(r: RunReport): string {
  const lines = [
    `Report for run ${r.runId} (${r.project})`,
    `  status: ${r.status}${r.reason ? ` — ${r.reason}` : ''}`,
    `  reassignments: ${r.reassignments}   incidents: ${r.incidents}   repair rounds: ${r.repairRounds ?? 0}${r.verificationRepairs ? `   repair tasks: ${r.verificationRepairs}` : ''}`,
  ];
  const acceptance = acceptanceLine(r.independentTests);
  if (acceptance) lines.splice(2, 0, `  ${acceptance}`);
  for (const t of r.tasks) {
    lines.push(
      `  task ${t.taskKey}: ${t.status}${t.acceptedBy ? ` by ${t.acceptedBy}` : ''}${t.overriddenBy ? ` (Director override by ${t.overriddenBy})` : ''}`,
    );
    lines.push(...formatTaskChecks(t));
    for (const a of t.attempts) {
      const verdict = a.clean ? 'clean' : a.violations.map((v) => v.type).join(', ');
      const rounds = a.rounds && a.rounds > 1 ? ` after ${a.rounds} rounds` : '';
      lines.push(
        `    attempt ${a.attempt}: ${a.employeeId} — ${verdict}${rounds}${a.hrActions.length ? `; HR: ${a.hrActions.join(', ')}` : ''}${a.score !== null ? `; score ${a.score}` : ''}`,
      );
      for (const v of a.violations) lines.push(`      ${v.type}: ${v.message}`);
    }
  }
  if (r.usage) {
    lines.push(
      `  usage: ${r.usage.calls} model calls, ${r.usage.inputTokens} input + ${r.usage.outputTokens} output tokens, $${r.usage.costUsd.toFixed(4)}${r.budget ? ` (budget ${r.budget.maxTokens} tokens / $${r.budget.maxCostUsd})` : ''}`,
    );
    for (const e of r.usage.byEmployee) {
      lines.push(
        `    ${e.employeeId.padEnd(26)} ${String(e.calls).padStart(3)} calls ${String(e.inputTokens).padStart(8)} in ${String(e.outputTokens).padStart(8)} out  $${e.costUsd.toFixed(4)}`,
      );
    }
  }
  if (r.verification)
    lines.push(
      `  final verification: "${r.verification.command}" ${r.verification.passed ? 'passed' : `FAILED (exit ${r.verification.exitCode})`}`,
    );
  if (r.verificationOverride)
    lines.push(`  accepted by the Director despite it: ${r.verificationOverride.by} (${r.verificationOverride.reason})`);
  if (r.workspaceDir) lines.push(`  workspace: ${r.workspaceDir}`);
  return lines.join('\n');
}
