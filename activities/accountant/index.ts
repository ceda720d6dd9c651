/**
 * The Accountant (queue `aura-governance`): scores every attempt and moves the employee's
 * reputation (governance/scoring.ts). Routing reads the roster it keeps.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/connect.js';
import { listEmployees } from '../../db/repositories/employees.js';
import { appendEvent } from '../../db/repositories/ledger.js';
import { attemptScore, nextReputation } from '../../governance/scoring.js';
import type { EmployeeSnapshot, ViolationType } from '../../governance/types.js';
import { activityRef, idempotencyKey } from '../context.js';

export interface ScoreRequest {
  runId: string;
  taskId: string;
  taskKey: string;
  employeeId: string;
  capability: string;
  accepted: boolean;
  violations: ViolationType[];
}

export interface ScoreResult {
  score: number;
  reputationBefore: number;
  reputationAfter: number;
}

export function createAccountantActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** Every employee with status and reputation: what routing decides on. */
    async employeeRoster(): Promise<EmployeeSnapshot[]> {
      return listEmployees(db);
    },

    async scoreAttempt(req: ScoreRequest): Promise<ScoreResult> {
      const ref = activityRef();
      const key = idempotencyKey(ref);
      return db.transaction().execute(async (tx) => {
        const done = await tx.selectFrom('scores').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
        if (done) {
          return { score: Number(done.score), reputationBefore: Number(done.reputation_before), reputationAfter: Number(done.reputation_after) };
        }
        const employee = await tx
          .selectFrom('employees')
          .select(['reputation'])
          .where('id', '=', req.employeeId)
          .forUpdate()
          .executeTakeFirstOrThrow();
        const before = Number(employee.reputation);
        const score = attemptScore(req.accepted, req.violations);
        const after = nextReputation(before, score);
        await tx
          .insertInto('scores')
          .values({
            id: randomUUID(),
            idempotency_key: key,
            employee_id: req.employeeId,
            run_id: req.runId,
            task_id: req.taskId,
            capability: req.capability,
            score,
            reputation_before: before,
            reputation_after: after,
            details: JSON.stringify({ accepted: req.accepted, violations: req.violations }),
          })
          .execute();
        await tx.updateTable('employees').set({ reputation: after, updated_at: new Date() }).where('id', '=', req.employeeId).execute();
        await appendEvent(tx, {
          idempotencyKey: `${key}/event`,
          actor: 'accountant',
          action: 'score.recorded',
          source: 'accountant',
          description: `${req.employeeId} scored ${score} on task ${req.taskKey}; reputation ${before} -> ${after}`,
          runId: req.runId,
          taskId: req.taskId,
          workflowId: ref.workflowId,
          activityId: ref.activityId,
          details: { score, reputationBefore: before, reputationAfter: after },
        });
        return { score, reputationBefore: before, reputationAfter: after };
      });
    },
  };
}

export type AccountantActivities = ReturnType<typeof createAccountantActivities>;
