/**
 * HR finds what it already wrote by its exact idempotency keys: a task key with "_" ("a_b") is
 * no wildcard that matches another task's ("a-b"), whose actions must not hide this one's.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { useThrowawayDatabase } from './helpers/database.js';
import { insertRun, insertTasks, upsertProject } from '../db/repositories/runs.js';
import { createHrActivities } from '../activities/hr/index.js';
import { CURRENT_HR_POLICY } from '../governance/hr-policy.js';
import type { Violation } from '../governance/types.js';

const database = useThrowawayDatabase();

describe('HR idempotency keys', () => {
  it("records an incident for task a_b even after task a-b's, at the same activity id", async () => {
    const db = database.db;
    const runId = randomUUID();
    await insertRun(db, {
      id: runId,
      projectId: await upsertProject(db, 'hr-keys'),
      workflowId: `prd-run-${runId}`,
      prd: 'x',
      options: {},
      status: 'running',
      idempotencyKey: `hr-keys/${runId}`,
    });
    const tasks = ['a-b', 'a_b'].map((key) => ({
      id: randomUUID(),
      key,
      title: key,
      spec: {},
      workflowId: `prd-run-${runId}.task-${key}`,
    }));
    await insertTasks(db, runId, tasks, `hr-keys/${runId}/tasks`);
    const hr = createHrActivities({ db, policy: CURRENT_HR_POLICY, strict: true });
    const violation: Violation = {
      type: 'timeout',
      message: 'the employee exceeded the time limit',
      evidence: { excerpt: 'x', sha256: 'y' },
    };
    for (const t of tasks) {
      const verdictId = randomUUID();
      await db
        .insertInto('audit_verdicts')
        .values({
          id: verdictId,
          idempotency_key: `hr-keys/${verdictId}`,
          run_id: runId,
          task_id: t.id,
          model_run_id: null,
          employee_id: 'scripted-ada',
          clean: false,
          violations: JSON.stringify([violation]),
          verification: null,
          review: null,
          rounds: 1,
        })
        .execute();
      const activity = new MockActivityEnvironment({
        workflowExecution: { workflowId: t.workflowId, runId: randomUUID() },
        activityId: '7',
        attempt: 1,
      });
      const result: Awaited<ReturnType<typeof hr.applyPolicy>> = await activity.run(hr.applyPolicy, {
        runId,
        taskId: t.id,
        taskKey: t.key,
        employeeId: 'scripted-ada',
        verdictId,
        violations: [violation],
      });
      expect(result.actions).toHaveLength(1);
    }
    const incidents = await db.selectFrom('incidents').select(['task_id']).where('run_id', '=', runId).execute();
    expect(incidents.map((i) => i.task_id).sort()).toEqual(tasks.map((t) => t.id).sort());
    // The second is a repeat offense: HR suspended the employee, as the ladder says.
    const employee = await db.selectFrom('employees').select('status').where('id', '=', 'scripted-ada').executeTakeFirstOrThrow();
    expect(employee.status).toBe('suspended');
  });
});
