/**
 * A fault of the machine is not a model's violation: when the sandbox cannot record its
 * verification (here: its table is gone for a while), the activity gives up after its bounded
 * retries, the task records an infrastructure incident with no employee on it, HR does nothing,
 * and the task waits for the Director, who sends it on once the database is mended.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEscalation, runStatus, submitRun, waitForReport } from '../director/runs.js';
import { eventually, type TestEnv } from './helpers/env.js';
import { CODING_PRD, useCodingEnv } from './helpers/coding-env.js';

const world = useCodingEnv();

describe('an infrastructure fault during a task', () => {
  it('is an infrastructure incident and an escalation, never a violation of the employee', async () => {
    // Only the tables' owner may alter them; the application role may not.
    await sql`ALTER TABLE verifications RENAME TO verifications_away`.execute(world.env.ownerDb);
    let renamedBack = false;
    try {
      const { runId } = await submitRun(world.env.client, {
        prd: CODING_PRD,
        project: 'infra',
        options: { autoApprove: true, director: 'tester', planTimeLimitMs: 2_000 },
      });
      const t1 = await eventually(
        async () => (await runStatus(world.env.client, runId)).tasks.find((t) => t.key === 'T1' && t.status === 'escalated'),
        120_000,
        'T1 to escalate',
      );
      expect(t1.assignedTo).toBeNull();
      const status = await runStatus(world.env.client, runId);
      expect(status.escalations.join('\n')).toMatch(
        /T1: infrastructure failure in verifyTaskOutput \(not the employee's fault\): .*verifications.*; waiting for the Director/,
      );

      const incidents = await world.env.db
        .selectFrom('incidents')
        .select(['model_id', 'violation', 'message'])
        .where('run_id', '=', runId)
        .execute();
      expect(incidents).toEqual([
        {
          model_id: null,
          violation: 'infrastructure',
          message: expect.stringMatching(/^verifyTaskOutput failed while oa-coder-a worked on task T1: /),
        },
      ]);
      expect(await world.env.db.selectFrom('disciplinary_actions').select('id').where('run_id', '=', runId).execute()).toEqual([]);
      expect(await world.env.db.selectFrom('audit_verdicts').select('id').where('run_id', '=', runId).execute()).toEqual([]);
      const coder = await world.env.db.selectFrom('employees').select('status').where('id', '=', 'oa-coder-a').executeTakeFirstOrThrow();
      expect(coder.status).toBe('active');
      const events = await world.env.db
        .selectFrom('audit_events')
        .select(['action', 'severity'])
        .where('run_id', '=', runId)
        .where('action', 'in', ['task.infrastructure_failure', 'task.escalated'])
        .orderBy('seq')
        .execute();
      expect(events).toEqual([
        { action: 'task.infrastructure_failure', severity: 'critical' },
        { action: 'task.escalated', severity: 'critical' },
      ]);

      // Mended: the Director sends the task back to the same employee, and the run completes.
      await sql`ALTER TABLE verifications_away RENAME TO verifications`.execute(world.env.ownerDb);
      renamedBack = true;
      await resolveEscalation(world.env.client, runId, 'T1', {
        kind: 'reassign',
        employeeId: 'oa-coder-a',
        by: 'tester',
        reason: 'the database is back',
      });
      const report = await waitForReport(world.env.client, runId);
      expect(report.status).toBe('completed');
      expect(report.incidents).toBe(0);
    } finally {
      if (!renamedBack) await sql`ALTER TABLE verifications_away RENAME TO verifications`.execute(world.env.ownerDb);
    }
  }, 240_000);
});
