/**
 * A model call gives up after the provider failed it three times, however many times the
 * activity itself is retried: a database or worker fault (which records no failed answer) does
 * not use up the model's attempts. The provider here is a stand-in that always answers 500.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createEmployeeActivities, MODEL_CALL_ATTEMPTS } from '../activities/employees/index.js';
import { providerError } from '../activities/employees/provider-errors.js';
import type { EmployeeProvider } from '../activities/employees/provider.js';
import { useThrowawayDatabase } from './helpers/database.js';
import { insertRun, upsertProject } from '../db/repositories/runs.js';

const database = useThrowawayDatabase();

const failing: EmployeeProvider = {
  name: 'scripted',
  async complete() {
    throw providerError('scripted', { kind: 'server', status: 500, detail: 'overloaded' }, []);
  },
};

/** The retries of one activity: one workflow execution (its run id), one activity id. */
const execution = randomUUID();

async function attempt(workflowId: string, n: number, runId: string): Promise<ApplicationFailure> {
  const activities = createEmployeeActivities({ db: database.db, provider: failing });
  const info = { workflowExecution: { workflowId, runId: execution }, activityType: 'planWithEmployee', activityId: '5', attempt: n };
  const env = new MockActivityEnvironment(info);
  const err = await env
    .run(activities.planWithEmployee, { runId, employeeId: 'scripted-planner', prd: '# PRD', feedback: [], round: 1 })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('model call attempts', () => {
  it('are the provider failures recorded for the call, not the activity attempts', async () => {
    const runId = randomUUID();
    const wf = `prd-run-${runId}`;
    await insertRun(database.db, {
      id: runId,
      projectId: await upsertProject(database.db, 'attempts'),
      workflowId: wf,
      prd: '# PRD',
      options: {},
      status: 'planning',
      idempotencyKey: `attempts/${runId}`,
    });
    expect(MODEL_CALL_ATTEMPTS).toBe(3);
    const first = await attempt(wf, 1, runId);
    expect([first.type, first.nonRetryable]).toEqual(['EmployeeCallFailed', false]);
    // Attempts 2 to 5 of the activity: say two of them were lost to a database outage (they
    // record no failed answer); only the provider's own failures count.
    expect((await attempt(wf, 4, runId)).nonRetryable).toBe(false);
    const third = await attempt(wf, 5, runId);
    expect([third.type, third.nonRetryable]).toEqual(['EmployeeCallFailed', true]);
    expect(third.message).toMatch(/\(3 attempts failed\)$/);
    const rows = await database.db
      .selectFrom('model_runs')
      .select(['attempt', 'error'])
      .where('idempotency_key', 'like', `${wf}/${execution}/planWithEmployee/5/attempt-%`)
      .orderBy('attempt')
      .execute();
    expect(rows.map((r) => r.attempt)).toEqual([1, 4, 5]);
  });
});
