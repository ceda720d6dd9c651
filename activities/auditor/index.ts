/**
 * The Auditor (queue `aura-governance`): judges one attempt with the pure detectors in
 * governance/audit-rules.ts and records the verdict with its evidence.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/connect.js';
import { getModelRun, taskOutputOf } from '../../db/repositories/model-runs.js';
import { appendEvent } from '../../db/repositories/ledger.js';
import { detectViolations, type AuditContext, type EmployeeFailure, type VerificationResult } from '../../governance/audit-rules.js';
import type { TaskSpec } from '../../governance/schemas.js';
import type { Violation } from '../../governance/types.js';
import { activityRef, conflictsAsFailures, idempotencyKey, sha256 } from '../context.js';
import { findByKey, inTransaction, insertOnce } from '../../db/repositories/idempotent.js';
import { builtinModules } from 'node:module';
import { acceptedFiles } from '../../db/repositories/workspace.js';
import { otherAcceptedTasks } from '../../db/repositories/runs.js';
import type { ReviewOpinion } from '../../governance/types.js';
import { findingsOf, repairable, type Finding } from '../../governance/repair.js';
import { storableJson } from '../../db/storable.js';
import { frozenTestHashes } from '../../db/repositories/acceptance-tests.js';

export interface AuditRequest {
  runId: string;
  taskId: string;
  employeeId: string;
  modelRunId: string | null;
  task: TaskSpec;
  verification: VerificationResult | null;
  employeeFailure: EmployeeFailure | null;
  /** The tasks whose accepted files this task builds on (older workflow versions: absent). */
  baseTaskIds?: string[];
  /** An independent reviewer's opinion: recorded as evidence, never a violation by itself. */
  review?: ReviewOpinion | null;
  /** Repair rounds the attempt used (1 = its first answer only). */
  rounds?: number;
  /** The Manager's own repair task after a failed final verification may change any file. */
  repairsWorkspace?: boolean;
  /** A coder in a run with independent tests: the run's frozen acceptance tests are not its to write. */
  frozenTests?: boolean;
  /** A tester's output: what its tests did with nothing implemented (they must fail). */
  red?: VerificationResult | null;
  /** A tester's output: the files the coder will write, which its tests may import. */
  plannedPaths?: string[];
}

export interface RoundInspection {
  /** Whether the same employee may repair these findings in another round. */
  repairable: boolean;
  findings: Finding[];
}

export interface AuditVerdict {
  verdictId: string;
  clean: boolean;
  violations: Violation[];
}

export function createAuditorActivities(deps: { db: Db }) {
  const { db } = deps;

  async function detect(req: AuditRequest): Promise<Violation[]> {
    const run = req.modelRunId ? await getModelRun(db, req.modelRunId) : undefined;
    const output = run?.output ?? null;
    const base = await auditContext(db, req.runId, req.taskId, req.baseTaskIds ?? []);
    const hashes = req.frozenTests ? await frozenTestHashes(db, req.runId, req.taskId) : new Map<string, string>();
    const frozen = [...hashes.keys()].sort();
    // A frozen test handed back exactly as frozen changes nothing: it is no drift.
    const parsedOutput = run ? taskOutputOf(run) : undefined;
    const unchanged = parsedOutput?.ok
      ? parsedOutput.output.files.filter((f) => hashes.get(f.path) === sha256(f.content)).map((f) => f.path)
      : [];
    const context: AuditContext = {
      ...base,
      workspaceFiles: [...base.workspaceFiles, ...frozen],
      ...(frozen.length > 0 ? { frozenTests: frozen } : {}),
      ...(unchanged.length > 0 ? { frozenUnchanged: unchanged } : {}),
      ...(req.plannedPaths ? { plannedPaths: req.plannedPaths } : {}),
    };
    return detectViolations(
      {
        task: req.task,
        rawOutput: output,
        rawOutputAltered: run?.output_altered ?? false,
        parsedOutput,
        verification: req.verification,
        employeeFailure: req.employeeFailure,
        context: req.repairsWorkspace ? { ...context, otherTasks: [] } : context,
        red: req.red ?? null,
      },
      sha256,
    );
  }

  return conflictsAsFailures({
    /**
     * A round that did not pass, looked at before the employee is asked to repair it: the
     * findings it will be shown, and whether it may repair them (conduct is never repaired).
     * An event, not a verdict: the verdict is on the attempt's last round.
     */
    async inspectRound(req: AuditRequest & { round: number }): Promise<RoundInspection> {
      const ref = activityRef();
      const violations = await detect(req);
      const inspection = { repairable: repairable(violations), findings: findingsOf(violations) };
      await appendEvent(db, {
        idempotencyKey: idempotencyKey(ref, 'event'),
        actor: 'auditor',
        action: 'audit.round_findings',
        source: 'auditor',
        severity: 'info',
        description: `task ${req.task.id} by ${req.employeeId}, round ${req.round}: ${violations.map((v) => v.type).join(', ') || 'clean'}${inspection.repairable ? ' (repairable)' : ''}`,
        runId: req.runId,
        taskId: req.taskId,
        workflowId: ref.workflowId,
        activityId: ref.activityId,
        details: { modelRunId: req.modelRunId, round: req.round, ...inspection },
      });
      return inspection;
    },

    async auditAttempt(req: AuditRequest): Promise<AuditVerdict> {
      const ref = activityRef();
      const key = idempotencyKey(ref);
      const existing = await findByKey(db, 'audit_verdicts', key);
      if (existing) return { verdictId: existing.id, clean: existing.clean, violations: existing.violations as Violation[] };

      const violations = await detect(req);
      return inTransaction(db, async (tx) => {
        // A concurrent attempt of this activity may have written the same verdict first: its id stands.
        const { id: verdictId } = await insertOnce(tx, 'audit_verdicts', {
          id: randomUUID(),
          idempotency_key: key,
          run_id: req.runId,
          task_id: req.taskId,
          model_run_id: req.modelRunId,
          employee_id: req.employeeId,
          clean: violations.length === 0,
          violations: storableJson(violations),
          verification: req.verification ? storableJson(req.verification) : null,
          review: req.review ? storableJson(req.review) : null,
          rounds: req.rounds ?? null,
        });
        await appendEvent(tx, {
          idempotencyKey: idempotencyKey(ref, 'event'),
          actor: 'auditor',
          action: violations.length === 0 ? 'audit.clean' : 'audit.violations',
          source: 'auditor',
          severity: violations.length === 0 ? 'info' : 'warning',
          description:
            violations.length === 0
              ? `task ${req.task.id} by ${req.employeeId}: clean`
              : `task ${req.task.id} by ${req.employeeId}: ${violations.map((v) => v.type).join(', ')}`,
          runId: req.runId,
          taskId: req.taskId,
          workflowId: ref.workflowId,
          activityId: ref.activityId,
          details: {
            verdictId,
            modelRunId: req.modelRunId,
            violations: violations.map((v) => ({ type: v.type, message: v.message })),
            review: req.review ? { reviewer: req.review.reviewerId, verdict: req.review.verdict } : null,
            rounds: req.rounds ?? 1,
          },
        });
        return { verdictId, clean: violations.length === 0, violations };
      });
    },
  });
}

export type AuditorActivities = ReturnType<typeof createAuditorActivities>;

/** What the detectors need to know about the rest of the run. */
export async function auditContext(db: Db, runId: string, taskId: string, baseTaskIds: string[]): Promise<AuditContext> {
  const others = await otherAcceptedTasks(db, runId, taskId);
  const otherTasks = [];
  for (const t of others) otherTasks.push({ id: t.task_key, files: [...(await acceptedFiles(db, [t.id])).keys()] });
  return {
    workspaceFiles: [...(await acceptedFiles(db, baseTaskIds)).keys()],
    otherTasks,
    builtinModules: NODE_BUILTINS,
  };
}

export const NODE_BUILTINS = builtinModules.filter((m) => !m.startsWith('_'));
