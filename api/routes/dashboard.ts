/**
 * What the dashboard's three pages read: who is signed in, the overview (runs by status, spend
 * against budget, employees by tier and status) and the intervention list (everything waiting
 * on the Director, each with the evidence the decision rests on and the commands that answer it).
 */
import type { Client } from '@temporalio/client';
import { runStatus } from '../../director/runs.js';
import { WAITS_ON_DIRECTOR, toRunLine } from '../../director/run-list.js';
import { listRuns } from '../../db/repositories/history.js';
import {
  employeeCounts,
  lastDirectorAction,
  lastWorkspaceVerification,
  runCountsByStatus,
  runSpendVsBudget,
  taskEvidence,
} from '../../db/repositories/dashboard.js';
import type { RunProgress } from '../../governance/types.js';
import { isUuid } from '../schemas.js';
import { principalOf, type ApiDeps, type TypedApi } from '../context.js';
import { workflowUrl } from './runs.js';

const FINAL = ['completed', 'failed', 'rejected', 'cancelled'];

/** One decision that waits on the Director. */
export interface Pending {
  kind: 'plan_approval' | 'plan_escalated' | 'budget' | 'verification' | 'paused' | 'task';
  runId: string;
  workflowId: string;
  project: string | null;
  runStatus: string;
  taskKey: string | null;
  /** What is asked, in words. */
  question: string;
  /** The commands that answer it (API paths under /api/runs/:run/). */
  actions: string[];
  /** What the decision rests on: the plan, the Auditor's findings, the failing check, the spend. */
  evidence: Record<string, unknown>;
  temporalUrl: string | null;
}

async function pendingOfRun(deps: ApiDeps, client: Client, line: ReturnType<typeof toRunLine>): Promise<Pending[]> {
  const { db } = deps;
  let live: RunProgress;
  try {
    live = await runStatus(client, line.workflowId);
  } catch {
    return []; // gone from Temporal (or not answering): nothing to act on now
  }
  const base = {
    runId: line.runId,
    workflowId: line.workflowId,
    project: line.project,
    runStatus: live.status,
    temporalUrl: workflowUrl(deps, line.workflowId),
  };
  const out: Pending[] = [];
  switch (live.status) {
    case 'awaiting_approval':
      out.push({
        ...base,
        kind: 'plan_approval',
        taskKey: null,
        question: 'approve or reject the plan',
        actions: ['approve', 'reject'],
        evidence: { plan: live.plan, planAttempts: live.planAttempts, planErrors: live.planErrors },
      });
      break;
    case 'plan_escalated':
      out.push({
        ...base,
        kind: 'plan_escalated',
        taskKey: null,
        question: 'the plan still breaks the plan rules: give the planner more rounds, or reject',
        actions: ['replan', 'reject'],
        evidence: { planAttempts: live.planAttempts, planErrors: live.planErrors },
      });
      break;
    case 'budget_paused': {
      const spend = (await runSpendVsBudget(db, isUuid(line.runId) ? [line.runId] : [])).get(line.runId);
      out.push({
        ...base,
        kind: 'budget',
        taskKey: null,
        question: 'the run reached its budget: raise it, or stop the run',
        actions: ['budget', 'stop'],
        evidence: {
          budget: live.budget ?? spend?.budget ?? null,
          spend: spend ? { calls: spend.calls, tokens: spend.tokens, costUsd: spend.costUsd } : null,
        },
      });
      break;
    }
    case 'verification_escalated':
      out.push({
        ...base,
        kind: 'verification',
        taskKey: null,
        question: 'the final verification still fails after repair: accept, re-plan or stop',
        actions: ['verification'],
        evidence: { verification: isUuid(line.runId) ? await lastWorkspaceVerification(db, line.runId) : null },
      });
      break;
    case 'paused':
      out.push({
        ...base,
        kind: 'paused',
        taskKey: null,
        question: 'paused by the Director: resume or cancel',
        actions: ['resume', 'cancel'],
        evidence: { pausedBy: isUuid(line.runId) ? await lastDirectorAction(db, line.runId, 'pause_run') : null },
      });
      break;
  }
  const escalated = FINAL.includes(live.status) ? [] : live.tasks.filter((t) => t.status === 'escalated');
  if (escalated.length > 0) {
    const evidence = isUuid(line.runId)
      ? await taskEvidence(
          db,
          line.runId,
          escalated.map((t) => t.key),
        )
      : [];
    for (const t of escalated) {
      const e = evidence.find((x) => x.taskKey === t.key);
      out.push({
        ...base,
        kind: 'task',
        taskKey: t.key,
        question: `task ${t.key}${e?.title ? ` (${e.title})` : ''} escalated: reassign it, accept its last output (a recorded override), or cancel it`,
        actions: ['resolve'],
        evidence: {
          escalation: live.escalations.filter((x) => x.startsWith(`${t.key}:`)),
          attempts: t.attempts,
          verdicts: e?.verdicts ?? [],
          incidents: e?.incidents ?? [],
          lastCheck: e?.lastCheck ?? null,
        },
      });
    }
  }
  return out;
}

export function registerDashboardRoutes(app: TypedApi, deps: ApiDeps): void {
  const { db, client, config } = deps;

  app.get(
    '/api/whoami',
    {
      config: { auth: 'read' },
      schema: { summary: 'The owner of the key and its role; where the Temporal Web UI is', tags: ['dashboard'] },
    },
    async (req) => {
      const p = principalOf(req);
      return { name: p.name, role: p.role, temporalUiUrl: config.manager.temporalUiUrl, namespace: config.temporal.namespace };
    },
  );

  app.get(
    '/api/overview',
    {
      config: { auth: 'read' },
      schema: { summary: 'Runs by status, recent runs with spend against budget, employees by tier and status', tags: ['dashboard'] },
    },
    async () => {
      const [byStatus, runs, employees] = await Promise.all([
        runCountsByStatus(db),
        listRuns(db, { waitingStatuses: Object.keys(WAITS_ON_DIRECTOR), finalStatuses: FINAL, limit: 20 }),
        employeeCounts(db),
      ]);
      const spend = await runSpendVsBudget(
        db,
        runs.map((r) => r.id),
      );
      const lines = runs.map((r) => {
        const s = spend.get(r.id);
        return {
          ...toRunLine(r),
          spend: { calls: s?.calls ?? 0, tokens: s?.tokens ?? 0, costUsd: s?.costUsd ?? 0 },
          budget: s?.budget ?? config.runBudget,
          temporalUrl: workflowUrl(deps, r.workflowId),
        };
      });
      const total = [...spend.values()].reduce((t, s) => ({ tokens: t.tokens + s.tokens, costUsd: t.costUsd + s.costUsd }), {
        tokens: 0,
        costUsd: 0,
      });
      return {
        runsByStatus: byStatus,
        needsDirector: lines.filter((l) => l.needsDirector).length,
        runs: lines,
        recentSpend: total,
        employees,
      };
    },
  );

  app.get(
    '/api/intervention',
    {
      config: { auth: 'read' },
      schema: {
        summary: 'Everything that waits on the Director, each with its evidence and the commands that answer it',
        tags: ['dashboard'],
      },
    },
    async () => {
      const rows = await listRuns(db, {
        needsDirector: true,
        waitingStatuses: Object.keys(WAITS_ON_DIRECTOR),
        finalStatuses: FINAL,
        limit: 50,
      });
      // The record says which runs wait (their status, or a task escalated); the run itself says what for.
      const lines = rows.map(toRunLine);
      const pending = (await Promise.all(lines.map((l) => pendingOfRun(deps, client, l)))).flat();
      return { pending };
    },
  );
}
