/**
 * Blame follows cause, end to end (scripted employees, the real sandbox, HR and the record):
 * both coders ship T1 with the same defect (`tally('')` throws) and T1 escalates; the Director
 * accepts it anyway; T2, built on it, fails inside T1's code. That failure is recorded as caused
 * upstream and charged to nobody (no HR action, no score), the task comes straight to the
 * Director, who reassigns it; the other coder's T2 guards the empty text and the run completes.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitRun, waitForReport } from '../director/runs.js';
import { PROJECT_ROOT } from '../config/config.js';
import { startTestEnv, taskEscalated, type TestEnv } from './helpers/env.js';
import { aura as runAura } from './helpers/cli.js';

let env: TestEnv;
const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'upstream');

beforeAll(async () => {
  env = await startTestEnv({
    env: { AURA_EMPLOYEES_FILE: join(FIXTURES, 'employees.json'), AURA_SCRIPT_FILE: join(FIXTURES, 'script.json') },
  });
});
afterAll(async () => {
  await env?.teardown();
});

const aura = (args: string[]) => runAura(args, { ...env.childEnv, AURA_DIRECTOR: 'dana' });
const escalated = (runId: string, key: string) => taskEscalated(env.client, runId, key);

describe('a failure caused by an override is charged to nobody', () => {
  it('override → T2 fails in T1’s code → no HR, no score → reassign → completed', async () => {
    const { runId } = await submitRun(env.client, {
      prd: 'A word tally, then a report of the most frequent words.',
      project: 'upstream',
      options: { autoApprove: true, director: 'dana', maxRepairRounds: 0 },
    });

    const t1 = await escalated(runId, 'T1');
    expect(t1.escalations).toEqual([
      'T1: no eligible coder left (failed: u-ada, u-bo): u-ada failed here (failed_verification); u-bo failed here (failed_verification); waiting for the Director',
    ]);
    const accepted = await aura(['resolve', runId, 'T1', '--accept', '--reason', 'the empty case can wait']);
    expect(accepted.code, accepted.stderr).toBe(0);

    // T2's tests fail in src/tally.js, which came from T1: seen in the sandbox's real output.
    const t2 = await escalated(runId, 'T2');
    expect(t2.escalations).toEqual([
      "T2: u-ada's tests fail in src/tally.js of T1, which dana accepted by override (not charged to u-ada). Reassign (u-ada or another coder, told what failed), accept this output as well, or cancel; waiting for the Director",
    ]);
    // HR acted on T1's failures (each coder's own), never on T2's.
    const hr = await env.db.selectFrom('disciplinary_actions').select(['model_id']).where('run_id', '=', runId).execute();
    expect(hr.map((a) => a.model_id).sort()).toEqual(['u-ada', 'u-bo']);
    const upstream = await env.db
      .selectFrom('audit_events')
      .select(['description', 'details'])
      .where('run_id', '=', runId)
      .where('action', '=', 'task.failed_upstream')
      .execute();
    expect(upstream).toEqual([
      expect.objectContaining({
        description:
          "task T2: u-ada's attempt 1 fails in src/tally.js of T1, which dana accepted by override; not charged to u-ada (no HR action, no score)",
      }),
    ]);

    const reassigned = await aura(['resolve', runId, 'T2', '--reassign', 'u-bo', '--reason', 'guard the empty text in the report']);
    expect(reassigned.code, reassigned.stderr).toBe(0);
    const report = await waitForReport(env.client, runId);
    expect(report.status, report.reason ?? '').toBe('completed');
    expect(report.tasks.map((t) => [t.taskKey, t.status, t.acceptedBy, t.overriddenBy])).toEqual([
      ['T1', 'accepted', 'u-bo', 'dana'],
      ['T2', 'accepted', 'u-bo', null],
    ]);
    const t2Attempts = report.tasks[1]!.attempts;
    expect(t2Attempts.map((a) => [a.employeeId, a.clean, a.hrActions, a.score === null, a.notCharged ?? null])).toEqual([
      ['u-ada', false, [], true, 'the failing tests run through src/tally.js of T1, which dana accepted by override'],
      ['u-bo', true, [], false, null],
    ]);
    // u-ada was scored for T1 only: its T2 attempt left its reputation alone.
    const scores = await env.db
      .selectFrom('scores')
      .innerJoin('task_queue', 'task_queue.id', 'scores.task_id')
      .select(['scores.employee_id', 'task_queue.task_key'])
      .where('scores.run_id', '=', runId)
      .execute();
    expect(scores.filter((s) => s.employee_id === 'u-ada').map((s) => s.task_key)).toEqual(['T1']);
  });
});
