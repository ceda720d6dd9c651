/**
 * The Director re-plans a run whose final verification still fails after its repair task:
 * the planner is told why, its new plan runs as a new generation of tasks (own rows, own
 * workflow ids) on a fresh workspace, and the run completes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideVerification, resolveEscalation, runStatus, submitRun, waitForReport } from '../director/runs.js';
import type { RunReport } from '../governance/types.js';
import { eventually, type TestEnv } from './helpers/env.js';
import { CODING_PRD, useCodingEnv } from './helpers/coding-env.js';

const world = useCodingEnv();
let runId: string;
let workflowId: string;
let report: RunReport;

beforeAll(async () => {
  ({ runId, workflowId } = await submitRun(world.env.client, {
    prd: `${CODING_PRD}\nEdge cases: locale\n`,
    project: 'verify-replan',
    options: { autoApprove: true, director: 'tester', planTimeLimitMs: 2_000, maxRepairRounds: 1 },
  }));
  await eventually(
    async () => (await runStatus(world.env.client, runId)).tasks.find((t) => t.key === 'repair-1' && t.status === 'escalated'),
    150_000,
    'the repair task to escalate',
  );
  await resolveEscalation(world.env.client, runId, 'repair-1', {
    kind: 'cancel',
    by: 'tester',
    reason: 'no coder can fix the locale order',
  });
  await eventually(
    async () => (await runStatus(world.env.client, runId)).status === 'verification_escalated',
    60_000,
    'the verification to escalate',
  );
  await decideVerification(world.env.client, runId, { kind: 'replan', by: 'tester', reason: 'drop the locale edge case' });
  report = await waitForReport(world.env.client, runId);
}, 300_000);

describe('a re-plan after a failed final verification', () => {
  it('runs the new plan as a second generation, and completes', async () => {
    expect(report.status).toBe('completed');
    expect(report.verification?.passed).toBe(true);
    const tasks = await world.env.db
      .selectFrom('task_queue')
      .select(['task_key', 'generation', 'status', 'workflow_id'])
      .where('run_id', '=', runId)
      .orderBy('generation')
      .orderBy('task_key')
      .execute();
    expect(tasks.map((t) => [t.generation, t.task_key, t.status])).toEqual([
      [1, 'T1', 'accepted'],
      [1, 'T2', 'accepted'],
      [1, 'repair-1', 'cancelled'],
      [2, 'T1', 'accepted'],
      [2, 'T2', 'accepted'],
    ]);
    expect(tasks.filter((t) => t.generation === 2).map((t) => t.workflow_id)).toEqual([
      `${workflowId}.g2.task-T1`,
      `${workflowId}.g2.task-T2`,
    ]);
  });

  it("tells the planner why, records the Director's re-plan, and builds on a fresh workspace", async () => {
    const plans = await world.env.db
      .selectFrom('model_runs')
      .select(['prompt'])
      .where('run_id', '=', runId)
      .where('kind', '=', 'plan')
      .where('error', 'is', null)
      .orderBy('created_at')
      .execute();
    expect(plans).toHaveLength(2);
    expect(plans[1]!.prompt).toContain("The previous plan's work failed the final verification `node --test` (exit 1)");
    expect(plans[1]!.prompt).toContain('The Director asks: drop the locale edge case');
    const actions = await world.env.db
      .selectFrom('director_actions')
      .select(['action', 'reason'])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute();
    expect(actions.map((a) => a.action)).toEqual(['approve_plan', 'task_cancel', 'replan_after_verification', 'approve_plan']);
    // The second generation's workspace has no edge test: the first generation's files are not in it.
    const verifications = await world.env.db
      .selectFrom('verifications')
      .select(['passed', 'excerpt'])
      .where('run_id', '=', runId)
      .where('kind', '=', 'workspace')
      .orderBy('created_at')
      .execute();
    expect(verifications.map((v) => v.passed)).toEqual([false, true]);
    expect(verifications[1]!.excerpt).not.toContain('locale-aware order');
  });
});
