/**
 * HR's ladder end to end: an employee that fails twice is suspended (with an expiry), is no
 * longer routed to even where it has the best reputation, the Director reinstates it from
 * the CLI (a recorded action), and it is routed to again. A suspension past its expiry ends.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitRun, waitForReport } from '../director/runs.js';
import { PROJECT_ROOT } from '../config/config.js';
import { createAccountantActivities } from '../activities/accountant/index.js';
import { createHrActivities } from '../activities/hr/index.js';
import { CURRENT_HR_POLICY } from '../governance/hr-policy.js';
import type { RunReport } from '../governance/types.js';
import { startTestEnv, type TestEnv } from './helpers/env.js';
import { aura as runAura } from './helpers/cli.js';

const fixtures = join(PROJECT_ROOT, 'test', 'fixtures', 'suspension');
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv({
    env: { AURA_EMPLOYEES_FILE: join(fixtures, 'employees.json'), AURA_SCRIPT_FILE: join(fixtures, 'script.json') },
  });
});
afterAll(async () => {
  await env?.teardown();
});

async function run(project: string): Promise<{ runId: string; report: RunReport }> {
  const { runId } = await submitRun(env.client, {
    prd: 'Build add, mul and a cross-check.',
    project,
    options: { autoApprove: true, director: 'hr-tester' },
  });
  return { runId, report: await waitForReport(env.client, runId) };
}

const accepted = (r: RunReport) => Object.fromEntries(r.tasks.map((t) => [t.taskKey, t.acceptedBy]));

describe('suspension and reinstatement', () => {
  let first: { runId: string; report: RunReport };

  it('suspends an employee after a repeat offense, and routes around it', async () => {
    first = await run('hr-first');
    expect(first.report.status).toBe('completed');
    expect(accepted(first.report)).toEqual({ T1: 's-steady', T2: 's-steady', T3: 's-backup' });
    const t2 = first.report.tasks.find((t) => t.taskKey === 'T2')!;
    expect(t2.attempts[0]).toMatchObject({ employeeId: 's-flaky', hrActions: ['SUSPEND', 'SUSPEND'] });

    const flaky = await env.db.selectFrom('employees').selectAll().where('id', '=', 's-flaky').executeTakeFirstOrThrow();
    expect(flaky.status).toBe('suspended');
    const days = (new Date(flaky.suspended_until!).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    const suspensions = await env.db
      .selectFrom('disciplinary_actions')
      .selectAll()
      .where('model_id', '=', 's-flaky')
      .where('action', '=', 'SUSPEND')
      .execute();
    expect(suspensions.length).toBeGreaterThan(0);
    expect(suspensions.every((s) => s.policy_version === 'hr-policy/2' && s.expires_at !== null && s.evidence !== null)).toBe(true);

    // T3 needs a tester: s-flaky has the best tester reputation (95) but is suspended.
    const flakyT3 = await env.db
      .selectFrom('model_runs')
      .innerJoin('task_queue', 'task_queue.id', 'model_runs.task_id')
      .select('model_runs.id')
      .where('model_runs.run_id', '=', first.runId)
      .where('task_queue.task_key', '=', 'T3')
      .where('model_runs.employee_id', '=', 's-flaky')
      .execute();
    expect(flakyT3).toHaveLength(0);
  });

  it('is reinstated only by the Director, as a recorded action', async () => {
    const aura = (args: string[]) => runAura(args, { ...env.childEnv, AURA_DIRECTOR: 'the-director' });
    const noReason = await aura(['reinstate', 's-flaky']);
    expect(noReason.code).toBe(2);
    const active = await aura(['reinstate', 's-steady', '--reason', 'x']);
    expect(active.code).toBe(2);
    expect(active.stderr).toContain('s-steady is already active');

    const ok = await aura(['reinstate', 's-flaky', '--reason', 'provider fixed; second chance']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('s-flaky reinstated by the-director (was suspended)');
    const flaky = await env.db.selectFrom('employees').selectAll().where('id', '=', 's-flaky').executeTakeFirstOrThrow();
    expect([flaky.status, flaky.suspended_until]).toEqual(['active', null]);
    const actions = await env.db.selectFrom('director_actions').selectAll().where('action', '=', 'reinstate_employee').execute();
    expect(actions).toEqual([
      expect.objectContaining({
        director_id: 'the-director',
        reason: 'provider fixed; second chance',
        details: { employeeId: 's-flaky', statusBefore: 'suspended' },
      }),
    ]);
    const events = await env.db
      .selectFrom('audit_events')
      .select('description')
      .where('action', '=', 'director.reinstate_employee')
      .execute();
    expect(events).toHaveLength(1);

    const scores = await aura(['scores', '--json']);
    const rows = JSON.parse(scores.stdout) as { employee: string; capability: string; reputation: number }[];
    expect(rows.find((r) => r.employee === 's-flaky' && r.capability === 'tester')?.reputation).toBe(95);
    const incidents = await aura(['incidents', '--employee', 's-flaky', '--json']);
    expect((JSON.parse(incidents.stdout) as { action: string }[]).map((i) => i.action)).toEqual([
      'WARNING',
      'WARNING',
      'SUSPEND',
      'SUSPEND',
    ]);
  });

  it('is routed to again once reinstated', async () => {
    const second = await run('hr-second');
    expect(second.report.status).toBe('completed');
    // Coder work goes to s-steady (now the better coder); the tester task to s-flaky again.
    expect(accepted(second.report)).toEqual({ T1: 's-steady', T2: 's-steady', T3: 's-flaky' });
  });

  it('ends a suspension whose expiry has passed, and says so in the ledger', async () => {
    await env.db
      .updateTable('employees')
      .set({ status: 'suspended', suspended_until: new Date(Date.now() - 1_000) })
      .where('id', '=', 's-backup')
      .execute();
    // Routing already treats it as over; HR records its end (the Manager asks HR before routing).
    const roster = await createAccountantActivities({ db: env.db }).employeeRoster();
    expect(roster.find((e) => e.id === 's-backup')?.status).toBe('active');
    expect(await createHrActivities({ db: env.db, policy: CURRENT_HR_POLICY, strict: true }).endExpiredSuspensions()).toEqual(['s-backup']);
    const row = await env.db
      .selectFrom('employees')
      .select(['status', 'suspended_until'])
      .where('id', '=', 's-backup')
      .executeTakeFirstOrThrow();
    expect([row.status, row.suspended_until]).toEqual(['active', null]);
    const events = await env.db.selectFrom('audit_events').select('description').where('action', '=', 'hr.suspension_expired').execute();
    expect(events.map((e) => e.description)).toEqual(['s-backup: suspension expired; eligible for work again']);
  });
});
