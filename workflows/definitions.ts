/**
 * Everything the Director's tools and the workflows must agree on: task queue names, signals,
 * queries and search attributes. Shared by workflows, workers and the client.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { Attribution, BudgetDecision, EscalationDecision, RunBudget, RunProgress, TaskProgress, VerificationDecision } from '../governance/types.js';

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

// Search attributes: the Director filters runs in the Web UI by these.
export const SEARCH_ATTRIBUTES = {
  runStatus: defineSearchAttributeKey('AuraRunStatus', 'KEYWORD'),
  project: defineSearchAttributeKey('AuraProject', 'KEYWORD'),
  model: defineSearchAttributeKey('AuraModel', 'KEYWORD'),
  runId: defineSearchAttributeKey('AuraRunId', 'KEYWORD'),
} as const;

/**
 * Child workflow id of a task: readable in the Web UI next to its parent. A run re-planned by
 * the Director starts its tasks again under a new generation (2, 3, …).
 */
export function taskWorkflowId(runWorkflowId: string, taskKey: string, generation = 1): string {
  return generation > 1 ? `${runWorkflowId}.g${generation}.task-${taskKey}` : `${runWorkflowId}.task-${taskKey}`;
}
