/**
 * HR (queue `aura-governance`): applies the disciplinary policy in governance/hr-policy.ts to
 * an audited attempt: one incident per violation, one disciplinary action per incident, and
 * the employee's status. With ENABLE_STRICT_POLICY=false actions are recorded but not enforced.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/connect.js';
import { appendEvent } from '../../db/repositories/ledger.js';
import {
  actionsWrittenUnder,
  endExpiredSuspensions,
  incidentHistory,
  insertDisciplinaryAction,
  insertIncident,
  lockEmployeeStatus,
  setEmployeeStatus,
} from '../../db/repositories/hr.js';
import { decideActions, mostSevere, statusAfter, type HrPolicy } from '../../governance/hr-policy.js';
import type { DisciplinaryAction, EmployeeStatus, Violation, ViolationType } from '../../governance/types.js';
import { activityRef, conflictsAsFailures, idempotencyKey } from '../context.js';
import { inTransaction } from '../../db/repositories/idempotent.js';
import { storableJson } from '../../db/storable.js';

export interface HrRequest {
  runId: string;
  taskId: string;
  taskKey: string;
  employeeId: string;
  verdictId: string;
  violations: Violation[];
}

export interface HrResult {
  actions: DisciplinaryAction[];
  statusBefore: EmployeeStatus;
  statusAfter: EmployeeStatus;
  enforced: boolean;
}

const DAY_MS = 86_400_000;

export function createHrActivities(deps: { db: Db; policy: HrPolicy; strict: boolean; now?: () => Date }) {
  const { db, policy, strict } = deps;
  const now = deps.now ?? (() => new Date());
  return conflictsAsFailures({
    /**
     * Ends the suspensions whose expiry has passed, each recorded in the ledger. The Manager
     * asks for this before it reads the roster to route. The ids whose suspension ended.
     */
    async endExpiredSuspensions(): Promise<string[]> {
      return endExpiredSuspensions(db, now());
    },

    async applyPolicy(req: HrRequest): Promise<HrResult> {
      const ref = activityRef();
      const base = idempotencyKey(ref);
      return inTransaction(db, async (tx) => {
        // Serialise decisions about one employee: parallel tasks must not both read "first offense".
        const statusBefore = await lockEmployeeStatus(tx, req.employeeId);

        const done = await actionsWrittenUnder(tx, base);
        if (done.length > 0) {
          const actions = done.map((d) => d.action as DisciplinaryAction);
          return { actions, statusBefore, statusAfter: statusBefore, enforced: strict };
        }

        // Incidents count while they are kept: inside AUDIT_LOG_RETENTION_DAYS.
        const history = await incidentHistory(tx, req.employeeId);
        const at = now();
        const decisions = decideActions(
          req.violations.map((v) => v.type),
          history.map((h) => ({
            violation: h.violation as ViolationType,
            ageDays: (at.getTime() - new Date(h.reported_at).getTime()) / DAY_MS,
            action: (h.action ?? null) as DisciplinaryAction | null,
          })),
          policy,
        );
        const suspendedUntil = policy.suspensionDays === null ? null : new Date(at.getTime() + policy.suspensionDays * DAY_MS);

        for (const [i, d] of decisions.entries()) {
          const violation = req.violations.find((v) => v.type === d.violation)!;
          const incident = await insertIncident(tx, {
            id: randomUUID(),
            idempotency_key: `${base}/incident/${i}`,
            model_id: req.employeeId,
            task_id: req.taskId,
            run_id: req.runId,
            severity: d.severity,
            status: 'open',
            violation: d.violation,
            message: violation.message,
            evidence: storableJson(
              req.violations.filter((v) => v.type === d.violation).map((v) => ({ message: v.message, ...v.evidence })),
            ),
            verdict_id: req.verdictId,
          });
          await insertDisciplinaryAction(tx, {
            id: randomUUID(),
            idempotency_key: `${base}/action/${i}`,
            model_id: req.employeeId,
            action: d.action,
            reason: d.reason,
            incident_id: incident.id,
            severity: d.severity,
            policy_version: policy.version,
            enforced: strict,
            run_id: req.runId,
            expires_at: d.action === 'SUSPEND' ? suspendedUntil : null,
            evidence: storableJson({
              incidentId: incident.id,
              verdictId: req.verdictId,
              violations: req.violations.filter((v) => v.type === d.violation).map((v) => ({ message: v.message, ...v.evidence })),
            }),
          });
        }

        const actions = decisions.map((d) => d.action);
        const next = strict ? statusAfter(statusBefore, mostSevere(actions)) : statusBefore;
        if (next !== statusBefore) {
          await setEmployeeStatus(tx, req.employeeId, next, next === 'suspended' ? suspendedUntil : null, at);
        }
        await appendEvent(tx, {
          idempotencyKey: `${base}/event`,
          actor: 'hr',
          action: 'hr.actions',
          source: 'hr',
          severity: next !== statusBefore ? 'critical' : 'warning',
          description: `${req.employeeId} on task ${req.taskKey}: ${decisions.map((d) => `${d.action} (${d.violation})`).join(', ')}${
            next !== statusBefore
              ? `; status ${statusBefore} -> ${next}${next === 'suspended' && suspendedUntil ? ` until ${suspendedUntil.toISOString()}` : ''}`
              : ''
          }${strict ? '' : ' [not enforced: ENABLE_STRICT_POLICY=false]'}`,
          runId: req.runId,
          taskId: req.taskId,
          workflowId: ref.workflowId,
          activityId: ref.activityId,
          details: { policyVersion: policy.version, decisions, statusBefore, statusAfter: next, enforced: strict },
        });
        return { actions, statusBefore, statusAfter: next, enforced: strict };
      });
    },
  });
}

export type HrActivities = ReturnType<typeof createHrActivities>;
