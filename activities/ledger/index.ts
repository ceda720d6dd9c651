/**
 * The Manager's record keeper (queue `aura-governance`): run and task state in Postgres, and an
 * audit event for every step. Workflows decide; these activities only write what was decided.
 */
import type { Db } from '../../db/connect.js';
import { appendEvent } from '../../db/repositories/ledger.js';
import { cancelOpenTasks, insertRun, insertTasks, updateRun, updateTask, upsertProject, type NewTask } from '../../db/repositories/runs.js';
import type { Plan } from '../../governance/schemas.js';
import type { RunBudget, RunReport, RunStatus, RunUsage, UsageLine } from '../../governance/types.js';
import { runSpend, runSpendByEmployee, type Spend } from '../../db/repositories/usage.js';
import { activityRef, conflictsAsFailures, idempotencyKey, sha256 } from '../context.js';
import { insertInfrastructureIncident } from '../../db/repositories/incidents.js';
import { insertDirectorAction } from '../../db/repositories/director.js';
import { recordFreeze } from '../../db/repositories/acceptance-tests.js';
import { getModelRun, taskOutputOf } from '../../db/repositories/model-runs.js';
import type { FrozenTests } from '../../governance/acceptance-tests.js';
import { ApplicationFailure } from '@temporalio/activity';
import { checkCommandProof, recordedName, trustedCommandKeys } from '../../integrity/command-proof.js';
import { recordRefusedCommand } from '../../db/repositories/director.js';

export interface RunStarted {
  runId: string;
  project: string;
  prd: string;
  options: Record<string, unknown>;
}

export interface DirectorActionRecord {
  runId: string;
  director: string;
  action: string;
  targetId: string | null;
  reason: string;
  details?: Record<string, unknown>;
}

export interface ManagerEvent {
  runId: string;
  taskId?: string | null;
  action: string;
  description: string;
  severity?: 'info' | 'warning' | 'critical';
  details?: Record<string, unknown>;
}

/** A freeze of a task's acceptance tests: the first (written), or the next after a dispute. */
export interface FreezeRequest {
  runId: string;
  taskId: string;
  taskKey: string;
  testerId: string;
  /** The tester's answer holding the (changed) test files. */
  modelRunId: string;
  version: number;
  reason: string;
  decidedBy: string;
  dispute?: { test: string; reason: string }[];
}

/** A Director command as it reached a run (workflows/director-identity.ts). */
export interface DirectorCommandArrival {
  runId: string | null;
  /** The Update's or signal's name. */
  message: string;
  /** The Update's id; null for a signal (which carries no proof). */
  updateId: string | null;
  args: unknown[];
  /** The proof header's content, as it came. */
  proof: unknown;
}

export interface DirectorCommandPolicy {
  keyFile: string;
  publicKeysFile: string | null;
  requireProof: boolean;
}

export function createLedgerActivities(deps: {
  db: Db;
  defaultBudget?: RunBudget;
  independentTests?: boolean;
  directorCommands?: DirectorCommandPolicy;
}) {
  const { db } = deps;
  let trusted: string[] | null = null;

  async function event(e: ManagerEvent, actor = 'manager', source = 'manager'): Promise<void> {
    const ref = activityRef();
    await appendEvent(db, {
      idempotencyKey: idempotencyKey(ref, 'event'),
      actor,
      source,
      action: e.action,
      description: e.description,
      severity: e.severity,
      runId: e.runId,
      taskId: e.taskId ?? null,
      workflowId: ref.workflowId,
      activityId: ref.activityId,
      details: e.details,
    });
  }

  return conflictsAsFailures({
    /**
     * Who gives a Director command: the claimed name when a trusted proof vouches for it, else the
     * name marked "(unauthenticated)" (a warning in the record), or, where the deployment requires
     * proof, a recorded refusal (a non-retryable `UnauthenticatedCommand`).
     */
    async identifyDirector(c: DirectorCommandArrival): Promise<{ by: string; authenticated: boolean }> {
      const policy = deps.directorCommands;
      const workflowId = activityRef().workflowId;
      const claimed = String((c.args?.[0] as { by?: unknown } | undefined)?.by ?? '');
      const identity = !policy
        ? { authenticated: false as const, why: 'no key is trusted for Director commands here' }
        : c.updateId === null
          ? { authenticated: false as const, why: 'sent as a signal, which carries no proof of identity' }
          : checkCommandProof(
              c.proof,
              { workflowId, updateId: c.updateId, update: c.message, args: c.args },
              (trusted ??= trustedCommandKeys(policy)),
            );
      const by = recordedName(claimed, identity);
      if (identity.authenticated) return { by, authenticated: true };
      const reason = String((c.args?.[0] as { reason?: unknown } | undefined)?.reason ?? '');
      if (policy?.requireProof) {
        const refusal = `${identity.why}; this deployment takes Director commands only from the CLI or the Manager API`;
        await recordRefusedCommand(db, {
          key: idempotencyKey(activityRef(), 'refused'),
          runId: c.runId,
          workflowId,
          command: c.message,
          director: by,
          reason,
          refusal,
          details: { arg: c.args?.[0] ?? null, updateId: c.updateId, authenticated: false },
        });
        throw ApplicationFailure.nonRetryable(`${c.message} from ${by} refused: ${refusal}`, 'UnauthenticatedCommand');
      }
      await appendEvent(db, {
        idempotencyKey: idempotencyKey(activityRef(), 'event'),
        actor: by,
        source: 'director',
        action: 'director.unauthenticated_command',
        severity: 'warning',
        description: `${c.message} from ${by}: ${identity.why}; recorded under the name it claims`,
        runId: c.runId,
        workflowId,
        details: { updateId: c.updateId, claimed },
      });
      return { by, authenticated: false };
    },

    /** Records the start; returns the configured defaults the run did not set itself. */
    async recordRunStarted(r: RunStarted): Promise<{ defaultBudget: RunBudget | null; independentTests: boolean }> {
      const independentTests =
        typeof r.options.independentTests === 'boolean' ? r.options.independentTests : (deps.independentTests ?? true);
      const ref = activityRef();
      const projectId = await upsertProject(db, r.project);
      await insertRun(db, {
        id: r.runId,
        projectId,
        workflowId: ref.workflowId,
        prd: r.prd,
        options: r.options,
        status: 'planning',
        idempotencyKey: idempotencyKey(ref),
      });
      await event({
        runId: r.runId,
        action: 'run.started',
        description: `run started for project ${r.project}`,
        details: { options: r.options, prdChars: r.prd.length, independentTests },
      });
      return { defaultBudget: deps.defaultBudget ?? null, independentTests };
    },

    /** Tokens and cost of the run so far, per employee and in total (from model_runs). */
    async runUsage(r: { runId: string }): Promise<RunUsage> {
      const byEmployee = await runSpendByEmployee(db, r.runId);
      const line = (s: Spend): UsageLine => ({
        calls: s.calls,
        inputTokens: s.inputTokens,
        outputTokens: s.outputTokens,
        costUsd: Math.round(s.costUsd * 1e6) / 1e6,
      });
      const total = await runSpend(db, r.runId);
      return { ...line(total), byEmployee: byEmployee.map((e) => ({ employeeId: e.employeeId, ...line(e) })) };
    },

    /** Freezes a task's acceptance tests: each file's sha256 in the record, the task pointed at them. */
    async recordFrozenTests(f: FreezeRequest): Promise<FrozenTests> {
      const ref = activityRef();
      const parsed = taskOutputOf((await getModelRun(db, f.modelRunId)) ?? { output: null });
      const files = (parsed.ok ? parsed.output.files : []).map((x) => ({ path: x.path, sha256: sha256(x.content) }));
      await recordFreeze(db, { ...f, idempotencyKey: idempotencyKey(ref), files });
      await event({
        runId: f.runId,
        taskId: f.taskId,
        action: 'tests.frozen',
        description: `task ${f.taskKey}: ${files.length} acceptance test file(s) by ${f.testerId} frozen (version ${f.version}; ${f.reason}, decided by ${f.decidedBy})`,
        details: {
          testerId: f.testerId,
          modelRunId: f.modelRunId,
          version: f.version,
          files,
          ...(f.dispute ? { dispute: f.dispute } : {}),
        },
      });
      return { modelRunId: f.modelRunId, testerId: f.testerId, version: f.version, files };
    },

    async recordEvent(e: ManagerEvent): Promise<void> {
      await event(e);
    },

    async recordRunStatus(s: { runId: string; status: RunStatus; reason?: string | null; report?: RunReport }): Promise<void> {
      const final = ['completed', 'failed', 'rejected', 'cancelled'].includes(s.status);
      await updateRun(db, s.runId, { status: s.status, reason: s.reason ?? null, report: s.report, finished: final });
      await event({
        runId: s.runId,
        action: `run.${s.status}`,
        description: `run is ${s.status}${s.reason ? `: ${s.reason}` : ''}`,
        severity: s.status === 'failed' ? 'critical' : 'info',
      });
    },

    async recordPlan(p: { runId: string; plan: Plan; tasks: NewTask[]; planner: string }): Promise<void> {
      await updateRun(db, p.runId, { plan: p.plan });
      await insertTasks(db, p.runId, p.tasks, idempotencyKey(activityRef()));
      await event({
        runId: p.runId,
        action: 'plan.accepted_by_rules',
        description: `plan by ${p.planner} passed the plan rules: ${p.tasks.length} tasks`,
        details: { tasks: p.tasks.map((t) => t.key) },
      });
    },

    async recordDirectorAction(a: DirectorActionRecord): Promise<void> {
      const key = idempotencyKey(activityRef());
      const { director, action, targetId, reason, runId } = a;
      await insertDirectorAction(db, { idempotencyKey: key, director, action, targetId, reason, runId, details: a.details ?? {} });
      await event(
        {
          runId: a.runId,
          taskId: a.targetId,
          action: `director.${a.action}`,
          description: `${a.director}: ${a.action}${a.reason ? ` (${a.reason})` : ''}`,
          details: a.details,
        },
        a.director,
        'director',
      );
    },

    /** One status change, one event (an escalation is critical: it waits on a person). */
    async recordTaskStatus(t: {
      runId: string;
      taskId: string;
      taskKey: string;
      status: string;
      assignedTo?: string | null;
      acceptedModelRunId?: string | null;
      description: string;
      severity?: ManagerEvent['severity'];
    }): Promise<void> {
      const final = ['accepted', 'cancelled', 'failed'].includes(t.status);
      await updateTask(db, t.taskId, {
        status: t.status,
        assignedAgent: t.assignedTo,
        acceptedModelRunId: t.acceptedModelRunId,
        completed: final,
      });
      await event({
        runId: t.runId,
        taskId: t.taskId,
        action: `task.${t.status}`,
        description: `task ${t.taskKey}: ${t.description}`,
        severity: t.severity,
      });
    },

    /**
     * A fault of the machine (database, sandbox, a worker) that ended an attempt: an incident
     * with no employee on it, so HR never counts it against a model.
     */
    async recordInfrastructureIncident(r: {
      runId: string;
      taskId: string;
      taskKey: string;
      employeeId: string;
      activity: string;
      message: string;
    }): Promise<void> {
      const ref = activityRef();
      await insertInfrastructureIncident(db, {
        idempotencyKey: idempotencyKey(ref, 'incident'),
        runId: r.runId,
        taskId: r.taskId,
        message: `${r.activity} failed while ${r.employeeId} worked on task ${r.taskKey}: ${r.message}`,
        evidence: [{ excerpt: r.message.slice(0, 600), sha256: sha256(r.message) }],
      });
      await event({
        runId: r.runId,
        taskId: r.taskId,
        action: 'task.infrastructure_failure',
        severity: 'critical',
        description: `task ${r.taskKey}: ${r.activity} failed (not ${r.employeeId}'s fault): ${r.message}`,
      });
    },

    /** A cancelled run's tasks that were still open (never started, or stopped mid-way) close as cancelled. */
    async closeOpenTasks(c: { runId: string; reason: string }): Promise<string[]> {
      const closed = await cancelOpenTasks(db, c.runId);
      if (closed.length > 0) {
        await event({
          runId: c.runId,
          action: 'task.closed_on_cancel',
          severity: 'warning',
          description: `tasks closed as cancelled with the run: ${closed.join(', ')} (${c.reason})`,
          details: { tasks: closed },
        });
      }
      return closed;
    },

    /** The Manager's own repair task after a failed final verification: a task row like any. */
    async recordRepairTask(r: { runId: string; task: NewTask; reason: string }): Promise<void> {
      await insertTasks(db, r.runId, [r.task], idempotencyKey(activityRef()));
      await event({
        runId: r.runId,
        taskId: r.task.id,
        action: 'task.repair_opened',
        severity: 'warning',
        description: `repair task ${r.task.key} opened: ${r.reason}`,
      });
    },
  });
}

export type LedgerActivities = ReturnType<typeof createLedgerActivities>;
