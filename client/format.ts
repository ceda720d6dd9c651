/** Plain-text views of runs for the terminal. */
import type { RunProgress, RunReport } from '../governance/types.js';

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
      `  ${t.key.padEnd(6)} ${t.status.padEnd(9)} ${t.assignedTo ?? '-'}  attempts ${t.attempts}${t.repairRounds ? `, repair rounds ${t.repairRounds}` : ''}${t.reassignments ? `, reassigned ${t.reassignments}x` : ''}`,
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
  for (const t of r.tasks) {
    lines.push(
      `  task ${t.taskKey}: ${t.status}${t.acceptedBy ? ` by ${t.acceptedBy}` : ''}${t.overriddenBy ? ` (Director override by ${t.overriddenBy})` : ''}`,
    );
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
