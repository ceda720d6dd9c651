/**
 * When no eligible employee is left, a task escalates and waits for the Director, who
 * decides from the CLI: accept the last output as a recorded override, reassign (refused,
 * and recorded, when the employee may not work: here the scorecard has terminated it), or
 * cancel. The human has the last word.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStatus, submitRun, waitForReport } from '../director/runs.js';
import { PROJECT_ROOT } from '../config/config.js';
import { startTestEnv, taskEscalated, type TestEnv } from './helpers/env.js';
import { aura as runAura } from './helpers/cli.js';

let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({
    env: {
      AURA_EMPLOYEES_FILE: join(PROJECT_ROOT, 'test', 'fixtures', 'escalation', 'employees.json'),
      AURA_SCRIPT_FILE: join(PROJECT_ROOT, 'test', 'fixtures', 'suspension', 'script.json'),
    },
  });
});
afterAll(async () => {
  await env?.teardown();
});

/** The CLI in this process (test/helpers/cli.ts), as the Director named below. */
const aura = (args: string[]) => runAura(args, { ...env.childEnv, AURA_DIRECTOR: 'the-director' });

const escalated = (runId: string, key: string) => taskEscalated(env.client, runId, key);

describe('escalation to the Director', () => {
  it('waits for the Director, who accepts with an override, refuses a terminated employee, and cancels', async () => {
    const { runId } = await submitRun(env.client, {
      prd: 'add, mul, cross-check',
      project: 'escalation',
      options: { autoApprove: true, director: 'the-director' },
    });

    const first = await escalated(runId, 'T1');
    expect(first.status).toBe('running');
    expect(first.escalations.join('\n')).toMatch(/T1: no eligible coder left \(failed: s-flaky\)/);
    // A decision needs a reason, and a task that is not escalated takes none.
    expect((await aura(['resolve', runId, 'T1', '--accept'])).code).toBe(2);
    expect((await aura(['resolve', runId, 'T3', '--cancel', '--reason', 'x'])).stderr).toContain('task T3 is pending, not escalated');

    const accept = await aura(['resolve', runId, 'T1', '--accept', '--reason', 'good enough for a spike']);
    expect(accept.stderr).toBe('');
    expect(accept.code).toBe(0);

    // T2: s-flaky fails again. HR suspends it (a repeat), and its coder reputation falls below
    // 30 (50 → 35.75 → 25.83): the scorecard terminates it. Nobody is left; the task escalates.
    await escalated(runId, 'T2');
    const flaky = await env.db.selectFrom('employees').select('status').where('id', '=', 's-flaky').executeTakeFirstOrThrow();
    expect(flaky.status).toBe('terminated');
    const ladder = await env.db
      .selectFrom('disciplinary_actions')
      .select(['action', 'policy_version'])
      .where('model_id', '=', 's-flaky')
      .orderBy('timestamp')
      .execute();
    expect(ladder.map((a) => `${a.action}/${a.policy_version}`)).toEqual(
      expect.arrayContaining(['WARNING/hr-policy/2', 'WARNING/scorecard/1', 'SUSPEND/hr-policy/2', 'TERMINATE/scorecard/1']),
    );
    // Refused at once by the task's Update validator: the Director hears why, and the CLI records it.
    const refused = await aura(['resolve', runId, 'T2', '--reassign', 's-flaky', '--reason', 'try again']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refused by the run: s-flaky is terminated');
    expect(
      (
        await env.db
          .selectFrom('director_actions')
          .select('id')
          .where('run_id', '=', runId)
          .where('action', '=', 'reassign_refused')
          .execute()
      ).length,
    ).toBe(1);
    expect((await runStatus(env.client, runId)).tasks.find((t) => t.key === 'T2')?.status).toBe('escalated');

    expect((await aura(['resolve', runId, 'T2', '--cancel', '--reason', 'not needed after all'])).code).toBe(0);
    const report = await waitForReport(env.client, runId);
    expect(report.status).toBe('failed');
    expect(report.reason).toBe('tasks not accepted: T2, T3');
    const t1 = report.tasks.find((t) => t.taskKey === 'T1')!;
    expect(t1).toMatchObject({ status: 'accepted', acceptedBy: 's-flaky', overriddenBy: 'the-director' });
    expect(report.tasks.map((t) => t.status)).toEqual(['accepted', 'cancelled', 'cancelled']);

    const actions = await env.db
      .selectFrom('director_actions')
      .select(['action', 'reason', 'director_id'])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute();
    expect(actions.map((a) => [a.action, a.director_id])).toEqual([
      ['approve_plan', 'the-director'],
      ['task_accept', 'the-director'],
      ['reassign_refused', 'the-director'],
      ['task_cancel', 'the-director'],
    ]);
    expect(actions[2]!.reason).toBe('try again — refused: s-flaky is terminated');
  });
});
