/**
 * Everything the Director's tools and the workflows must agree on: task queue names, signals,
 * queries and search attributes. Shared by workflows, workers and the client.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { DirectorCommandEntry } from '../governance/director-command-table.js';
import type {
  Attribution,
  BudgetDecision,
  EscalationDecision,
  RunBudget,
  RunProgress,
  RunStatus,
  TaskProgress,
  TaskStatus,
  VerificationDecision,
} from '../governance/types.js';

export const QUEUES = {
  manager: 'aura-manager',
  governance: 'aura-governance',
  sandbox: 'aura-sandbox',
  employee: (provider: string) => `aura-employee-${provider}`,
} as const;

// prdRun: the Director's plan gate, status and task escalations.
export const approvePlanSignal = defineSignal<[{ by: string; reason?: string }]>('approvePlan');
export const rejectPlanSignal = defineSignal<[Attribution]>('rejectPlan');
/** After the planner ran out of rounds, the Director may grant it more. */
export const replanSignal = defineSignal<[{ by: string; reason?: string }]>('replan');
export const statusQuery = defineQuery<RunProgress>('status');
/** When the run is paused on its budget: raise it, or stop the run. */
export const budgetDecisionSignal = defineSignal<[BudgetDecision]>('budgetDecision');

// taskRun ↔ prdRun: a task that hit the budget waits; the run answers with a new budget or stop.
export const budgetExhaustedSignal = defineSignal<[{ taskKey: string; message: string }]>('budgetExhausted');
export const budgetUpdateSignal = defineSignal<[{ budget: RunBudget } | { stop: Attribution }]>('budgetUpdate');
/** When the final verification still fails after repair: accept (an override), re-plan, or stop. */
export const verificationDecisionSignal = defineSignal<[VerificationDecision]>('verificationDecision');

// taskRun → prdRun: live task progress for the status query.
export const taskProgressSignal = defineSignal<[TaskProgress & { escalation: string | null }]>('taskProgress');

// taskRun: the Director's answer when no eligible employee is left.
export const directorDecisionSignal = defineSignal<[EscalationDecision]>('directorDecision');
export const taskStatusQuery = defineQuery<TaskProgress & { escalation: string | null }>('taskStatus');

// ---- The Director's commands as Updates: an answer at once, accepted (with the run's state
// after it) or refused with the reason. They share their names with the signals above, which
// stay for runs started before Updates existed and for tools that can only signal.

/** What an accepted Director command answers. */
export interface CommandAnswer {
  command: string;
  /** The run's (or task's) status once the command took effect. */
  status: RunStatus | TaskStatus;
  message: string;
}

export const approvePlanUpdate = defineUpdate<CommandAnswer, [{ by: string; reason?: string }]>('approvePlan');
export const rejectPlanUpdate = defineUpdate<CommandAnswer, [Attribution]>('rejectPlan');
export const replanUpdate = defineUpdate<CommandAnswer, [{ by: string; reason?: string }]>('replan');
export const verificationDecisionUpdate = defineUpdate<CommandAnswer, [VerificationDecision]>('verificationDecision');
export const budgetDecisionUpdate = defineUpdate<CommandAnswer, [BudgetDecision]>('budgetDecision');
/** Running activities finish; nothing new starts (no planner call, task, model call or sandbox run). */
export const pauseUpdate = defineUpdate<CommandAnswer, [Attribution]>('pause');
export const resumeUpdate = defineUpdate<CommandAnswer, [Attribution]>('resume');
/** Cancels running model calls and sandboxes, closes every task, ends the run `cancelled`. */
export const cancelUpdate = defineUpdate<CommandAnswer, [Attribution]>('cancel');
/** On a task: the Director's answer to its escalation (reassign, accept, cancel). */
export const resolveEscalationUpdate = defineUpdate<CommandAnswer, [EscalationDecision]>('directorDecision');
// Pause and resume as signals too, for the Web UI's "Send a Signal".
export const pauseSignal = defineSignal<[Attribution]>('pause');
export const resumeSignal = defineSignal<[Attribution]>('resume');

/** The messages (Updates and signals) that are Director commands: each carries who gives it (`by`). */
export const DIRECTOR_COMMAND_MESSAGES: readonly string[] = [
  approvePlanUpdate.name,
  rejectPlanUpdate.name,
  replanUpdate.name,
  verificationDecisionUpdate.name,
  budgetDecisionUpdate.name,
  pauseUpdate.name,
  resumeUpdate.name,
  cancelUpdate.name,
  resolveEscalationUpdate.name,
];

/** The Updates of the run commands in governance/director-command-table.ts, by message name. */
export const RUN_COMMAND_UPDATES = {
  approvePlan: approvePlanUpdate,
  rejectPlan: rejectPlanUpdate,
  replan: replanUpdate,
  verificationDecision: verificationDecisionUpdate,
  budgetDecision: budgetDecisionUpdate,
  pause: pauseUpdate,
  resume: resumeUpdate,
  cancel: cancelUpdate,
} as const satisfies Record<DirectorCommandEntry['message'], { name: string }>;
/** Their signals, for runs started before Updates existed (cancel has none). */
export const RUN_COMMAND_SIGNALS = {
  approvePlan: approvePlanSignal,
  rejectPlan: rejectPlanSignal,
  replan: replanSignal,
  verificationDecision: verificationDecisionSignal,
  budgetDecision: budgetDecisionSignal,
  pause: pauseSignal,
  resume: resumeSignal,
} as const satisfies Partial<Record<DirectorCommandEntry['message'], { name: string }>>;

// prdRun → taskRun: the run was paused or resumed (internal, not a Director command).
export const runControlSignal = defineSignal<[{ paused: boolean }]>('runControl');

/** What the Web UI shows beside each handler: Director commands, and what is internal plumbing. */
export const DESCRIPTIONS = {
  status: "The run's live state: plan, tasks, escalations, what waits for the Director.",
  taskStatus: "The task's live state: who works on it, attempts, repair rounds, escalation.",
  approvePlan: 'Director: approve the plan at the plan gate. Input: {"by": "<name>", "reason": "<why>"}',
  rejectPlan: 'Director: reject the plan (ends the run). Input: {"by": "<name>", "reason": "<why, required>"}',
  replan: 'Director: give the planner more rounds after its plan was escalated. Input: {"by": "<name>", "reason": "<why>"}',
  verificationDecision:
    'Director: after the final verification failed. Input: {"kind": "accept"|"replan"|"stop", "by": "<name>", "reason": "<why>"}',
  budgetDecision:
    'Director: on a budget-paused run. Input: {"kind": "raise", "budget": {"maxTokens": N, "maxCostUsd": N}, "by", "reason"} or {"kind": "stop", "by", "reason"}',
  pause: 'Director: pause the run (running steps finish, nothing new starts). Input: {"by": "<name>", "reason": "<why>"}',
  resume: 'Director: resume a paused run. Input: {"by": "<name>", "reason": "<why>"}',
  cancel: 'Director: cancel the run (model calls and sandboxes stop, tasks close). Input: {"by": "<name>", "reason": "<why>"}',
  directorDecision:
    'Director: answer an escalated task. Input: {"kind": "reassign", "employeeId": "<id>", "by", "reason"} | {"kind": "accept"|"cancel", "by", "reason"}',
  budgetExhausted: 'INTERNAL (task → run): a task reached the budget. Not a Director command: use budgetDecision.',
  budgetUpdate: 'INTERNAL (run → task): the budget decision passed down. Not a Director command.',
  taskProgress: 'INTERNAL (task → run): live task progress. Not a Director command.',
  runControl: 'INTERNAL (run → task): the run was paused or resumed. Not a Director command: use pause/resume on the run.',
} as const;

// Search attributes: the Director filters runs in the Web UI by these.
export const SEARCH_ATTRIBUTES = {
  runStatus: defineSearchAttributeKey('AuraRunStatus', 'KEYWORD'),
  project: defineSearchAttributeKey('AuraProject', 'KEYWORD'),
  model: defineSearchAttributeKey('AuraModel', 'KEYWORD'),
  runId: defineSearchAttributeKey('AuraRunId', 'KEYWORD'),
  /** "yes" while the run waits for the Director (plan gate, escalation, budget, pause), else "no". */
  needsDirector: defineSearchAttributeKey('AuraNeedsDirector', 'KEYWORD'),
} as const;

/** Run statuses that wait for a person. */
export const WAITING_FOR_DIRECTOR: readonly RunStatus[] = [
  'awaiting_approval',
  'plan_escalated',
  'budget_paused',
  'verification_escalated',
  'paused',
];

/**
 * Child workflow id of a task: readable in the Web UI next to its parent. A run re-planned by
 * the Director starts its tasks again under a new generation (2, 3, …).
 */
export function taskWorkflowId(runWorkflowId: string, taskKey: string, generation = 1): string {
  return generation > 1 ? `${runWorkflowId}.g${generation}.task-${taskKey}` : `${runWorkflowId}.task-${taskKey}`;
}
