/**
 * The runs in the governance record as the Director reads them (`aura runs`, the Manager API,
 * the dashboard): every status, and what each run waits on the Director for.
 */
import type { RunHeader, RunListRow } from '../db/repositories/history.js';
import type { RunStatus } from '../governance/types.js';

/** Every run status (governance/types.ts), and `paused`, the Director's pause. */
export const RUN_STATUSES = [
  'planning',
  'awaiting_approval',
  'plan_escalated',
  'running',
  'budget_paused',
  'paused',
  'verifying',
  'verification_escalated',
  'completed',
  'failed',
  'rejected',
  'cancelled',
] as const;
// A status added to RunStatus and not listed above fails the type check here.
const everyStatusListed: [Exclude<RunStatus, (typeof RUN_STATUSES)[number]>] extends [never] ? true : never = true;
void everyStatusListed;

export const FINAL_STATUSES = ['completed', 'failed', 'rejected', 'cancelled'] as const;

/** Run statuses that wait on the Director, and what the Director is asked for. */
export const WAITS_ON_DIRECTOR: Record<string, string> = {
  awaiting_approval: 'plan approval (approve | reject)',
  plan_escalated: 'escalated plan (replan | reject)',
  budget_paused: 'budget (budget | stop)',
  verification_escalated: 'failed final verification (verification accept|replan|stop)',
  paused: 'paused by the Director (resume | cancel)',
};

/** A run as `aura runs` prints it: the record's header, with the run id named as such. */
export interface RunLine extends Omit<RunHeader, 'id'> {
  runId: string;
  needsDirector: boolean;
  /** What waits on the Director: the run's own state, and each escalated task. */
  waitingFor: string[];
}

export function toRunLine(r: RunListRow): RunLine {
  const final = (FINAL_STATUSES as readonly string[]).includes(r.status);
  const waitingFor = [
    ...(WAITS_ON_DIRECTOR[r.status] ? [WAITS_ON_DIRECTOR[r.status]!] : []),
    ...(final ? [] : r.escalatedTasks.map((k) => `task ${k} escalated (resolve)`)),
  ];
  return {
    runId: r.id,
    workflowId: r.workflowId,
    project: r.project,
    status: r.status,
    reason: r.reason,
    startedAt: r.startedAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    needsDirector: waitingFor.length > 0,
    waitingFor,
  };
}
