/**
 * When a Director command fits a run: pure rules shared by the run's Update validators (a
 * refusal is the caller's answer and never reaches history) and its signal handlers (a refusal
 * is kept in `ignoredSignals`). Each rule returns why the command is refused, or null.
 */
import type { Attribution, BudgetDecision, RunStatus, VerificationDecision } from './types.js';

/** The Temporal header a Director command's proof of identity travels in (integrity/command-proof.ts). */
export const COMMAND_PROOF_HEADER = 'aura-director-proof';

export type RunCommand =
  | { kind: 'approvePlan'; by: string; reason?: string }
  | { kind: 'rejectPlan'; by: string; reason: string }
  | { kind: 'replan'; by: string; reason?: string }
  | { kind: 'verificationDecision'; decision: VerificationDecision }
  | { kind: 'budgetDecision'; decision: BudgetDecision }
  | ({ kind: 'pause' | 'resume' | 'cancel' } & Attribution);

/** The command a run's rule looks at, from the message name and what it carries. */
export function runCommandOf(kind: RunCommand['kind'], arg: unknown): RunCommand {
  return (
    kind === 'verificationDecision' || kind === 'budgetDecision' ? { kind, decision: arg } : { kind, ...(arg as object) }
  ) as RunCommand;
}

/** What the rules look at. */
export interface RunView {
  status: RunStatus;
  /** A plan-gate answer is already waiting to be taken. */
  gateAnswered: boolean;
  verificationAnswered: boolean;
  budgetAnswered: boolean;
  /** A cancel was accepted; the run is winding down. */
  cancelling: boolean;
}

export const FINAL_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'rejected', 'cancelled'];
/** Work is going on (a planner, tasks, the final check): these may be paused. */
const PAUSABLE: readonly RunStatus[] = ['planning', 'running', 'verifying'];

const blank = (s: string | undefined | null) => !s?.trim();

export function refuseCommand(cmd: RunCommand, run: RunView): string | null {
  if (FINAL_RUN_STATUSES.includes(run.status)) return `the run is ${run.status}`;
  if (run.cancelling) return 'the run is being cancelled';
  switch (cmd.kind) {
    case 'approvePlan':
      if (run.status !== 'awaiting_approval') return `run is ${run.status} (approval needs awaiting_approval)`;
      return run.gateAnswered ? 'the plan gate has already been answered' : null;
    case 'rejectPlan':
      if (blank(cmd.reason)) return 'a reason is required';
      if (run.status !== 'awaiting_approval' && run.status !== 'plan_escalated')
        return `run is ${run.status} (rejection needs awaiting_approval or plan_escalated)`;
      return run.gateAnswered ? 'the plan gate has already been answered' : null;
    case 'replan':
      if (run.status !== 'plan_escalated') return `run is ${run.status} (more planning rounds need plan_escalated)`;
      return run.gateAnswered ? 'the plan gate has already been answered' : null;
    case 'verificationDecision': {
      const d = cmd.decision;
      if (run.status !== 'verification_escalated' || run.verificationAnswered) return `run is ${run.status} (needs verification_escalated)`;
      if (blank(d.by) || blank(d.reason) || !['accept', 'replan', 'stop'].includes(d.kind))
        return 'it needs accept, replan or stop, who and why';
      return null;
    }
    case 'budgetDecision': {
      const d = cmd.decision;
      if (run.status !== 'budget_paused' || run.budgetAnswered) return `run is ${run.status} (needs budget_paused)`;
      if (blank(d.reason) || (d.kind === 'raise' && !(d.budget?.maxTokens > 0 && d.budget?.maxCostUsd >= 0)))
        return `it needs a reason${d.kind === 'raise' ? ' and a valid budget' : ''}`;
      if (d.kind !== 'raise' && d.kind !== 'stop') return 'the decision is raise or stop';
      return null;
    }
    case 'pause':
      if (blank(cmd.by) || blank(cmd.reason)) return 'pausing needs who and why';
      if (run.status === 'paused') return 'the run is already paused';
      if (!PAUSABLE.includes(run.status)) return `run is ${run.status}: it is already waiting for the Director, nothing runs`;
      return null;
    case 'resume':
      if (blank(cmd.by) || blank(cmd.reason)) return 'resuming needs who and why';
      return run.status === 'paused' ? null : `run is ${run.status}, not paused`;
    case 'cancel':
      return blank(cmd.by) || blank(cmd.reason) ? 'cancelling needs who and why' : null;
  }
}
