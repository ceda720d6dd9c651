/**
 * HR counts an employee's incidents only inside retention (AUDIT_LOG_RETENTION_DAYS): the
 * same violation a third time terminates, but not when the first two are past retention.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDb, type Db } from '../db/connect.js';
import { insertRun, insertTasks, upsertProject } from '../db/repositories/runs.js';
import { createHrActivities } from '../activities/hr/index.js';
import { CURRENT_HR_POLICY } from '../governance/hr-policy.js';
import type { Violation } from '../governance/types.js';
import { useThrowawayDatabase } from './helpers/database.js';

const database = useThrowawayDatabase();
let owner: Db;
beforeAll(() => {
  owner = createDb(database.ownerUrl, 2);
});
afterAll(async () => owner?.destroy());

const DAY = 86_400_000;
const violation: Violation = {
  type: 'hallucination',
  message: 'imports a package that does not exist',
  evidence: { excerpt: 'x', sha256: 'y' },
};

async function pastIncidents(employee: string, daysAgo: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    // Backdated history, written by the owner.
    await owner
      .insertInto('incidents')
      .values({
        id,
        idempotency_key: `past/${id}`,
        model_id: employee,
        task_id: null,
        severity: 3,
        status: 'closed',
        violation: 'hallucination',
        message: 'earlier',
        evidence: JSON.stringify({}),
        reported_at: new Date(Date.now() - daysAgo * DAY),
      })
      .execute();
  }
}

async function judge(employee: string): Promise<string[]> {
  const db = database.db;
  const runId = randomUUID();
  await insertRun(db, {
    id: runId,
    projectId: await upsertProject(db, 'hr-retention'),
    workflowId: `prd-run-${runId}`,
    prd: 'x',
    options: {},
    status: 'running',
    idempotencyKey: `hr-ret/${runId}`,
  });
  const task = { id: randomUUID(), key: 't', title: 't', spec: {}, workflowId: `prd-run-${runId}.task-t` };
  await insertTasks(db, runId, [task], `hr-ret/${runId}/tasks`);
  const verdictId = randomUUID();
  await db
    .insertInto('audit_verdicts')
    .values({
      id: verdictId,
      idempotency_key: `hr-ret/${verdictId}`,
      run_id: runId,
      task_id: task.id,
      model_run_id: null,
      employee_id: employee,
      clean: false,
      violations: JSON.stringify([violation]),
      verification: null,
      review: null,
      rounds: 1,
    })
    .execute();
  const hr = createHrActivities({ db, policy: CURRENT_HR_POLICY, strict: true });
  const activity = new MockActivityEnvironment({
    workflowExecution: { workflowId: task.workflowId, runId: randomUUID() },
    activityId: '3',
    attempt: 1,
  });
  const result: Awaited<ReturnType<typeof hr.applyPolicy>> = await activity.run(hr.applyPolicy, {
    runId,
    taskId: task.id,
    taskKey: task.key,
    employeeId: employee,
    verdictId,
    violations: [violation],
  });
  return result.actions;
}

describe('HR and retention', () => {
  it('terminates on the third hallucination when the earlier two are inside retention', async () => {
    await pastIncidents('scripted-ada', 100, 2);
    expect(await judge('scripted-ada')).toEqual(['TERMINATE']);
  });

  it('does not hold incidents past retention against the employee', async () => {
    await pastIncidents('scripted-grace', 400, 2);
    expect(await judge('scripted-grace')).toEqual(['STRIKE']);
  });
});
