/**
 * Durability: the worker process is killed with SIGKILL in the middle of a model call; a
 * new worker process picks the run up and completes it, and no governance row is written
 * twice.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStatus, submitRun, waitForReport } from '../director/runs.js';
import { PROJECT_ROOT } from '../config/config.js';
import { SAMPLE_PRD_FILE, eventually, startTestEnv, type TestEnv } from './helpers/env.js';
import { startWorkerProcess, type WorkerProcess } from './helpers/worker-process.js';

/** The sample script, with ada's answers slowed down so there is a call to interrupt. */
function slowScript(): string {
  const file = join(PROJECT_ROOT, 'samples', 'wordfreq', 'script.json');
  const script = JSON.parse(readFileSync(file, 'utf8'));
  const absolutise = (answer: { files?: { from?: string }[] }) =>
    answer.files?.forEach((f) => {
      if (f.from) f.from = resolve(dirname(file), f.from);
    });
  for (const employee of Object.values(script.employees) as Record<string, { files?: { from?: string }[]; delayMs?: number }>[]) {
    for (const [key, answer] of Object.entries(employee)) if (key !== 'plan') absolutise(answer);
  }
  script.employees['scripted-ada'].T1.delayMs = 5_000;
  const out = join(mkdtempSync(join(tmpdir(), 'aura-script-')), 'slow-script.json');
  writeFileSync(out, JSON.stringify(script));
  return out;
}

let env: TestEnv;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  env = await startTestEnv({ workers: false, env: { AURA_SCRIPT_FILE: slowScript() } });
});
afterAll(async () => {
  for (const w of workers) await w.kill('SIGTERM');
  await env?.teardown();
});

describe('a worker killed mid-run', () => {
  it('is replaced by a new worker and the run completes with no duplicated rows', async () => {
    workers.push(await startWorkerProcess(env.childEnv));
    const { runId } = await submitRun(env.client, {
      prd: readFileSync(SAMPLE_PRD_FILE, 'utf8'),
      project: 'crash',
      options: { autoApprove: true, director: 'crash-tester' },
    });

    // Kill while scripted-ada is inside its (slow) model call for T1, after the faulty attempt.
    await eventually(
      async () => {
        const t1 = (await runStatus(env.client, runId)).tasks.find((t) => t.key === 'T1');
        return t1?.assignedTo === 'scripted-ada' && t1.status === 'running';
      },
      90_000,
      'T1 to be reassigned to scripted-ada',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    await workers[0]!.kill('SIGKILL');
    expect(workers[0]!.child.signalCode).toBe('SIGKILL');

    workers.push(await startWorkerProcess(env.childEnv));
    const report = await waitForReport(env.client, runId);
    expect(report.status).toBe('completed');
    expect(report.reassignments).toBe(1);

    // The interrupted call was retried on the new worker: its recorded attempt is the 2nd.
    const adaT1 = await env.db
      .selectFrom('model_runs')
      .innerJoin('task_queue', 'task_queue.id', 'model_runs.task_id')
      .select(['model_runs.attempt', 'model_runs.error'])
      .where('model_runs.run_id', '=', runId)
      .where('task_queue.task_key', '=', 'T1')
      .where('model_runs.employee_id', '=', 'scripted-ada')
      .execute();
    expect(adaT1).toEqual([{ attempt: 2, error: null }]);

    const count = async (table: 'incidents' | 'disciplinary_actions' | 'scores' | 'director_actions' | 'audit_verdicts') =>
      Number(
        (
          await env.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .where('run_id', '=', runId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await count('incidents')).toBe(3);
    expect(await count('disciplinary_actions')).toBe(4); // 3 from HR, 1 from the scorecard's warn threshold
    expect(await count('scores')).toBe(4);
    expect(await count('audit_verdicts')).toBe(4);
    expect(await count('director_actions')).toBe(1);

    const taskCalls = await env.db
      .selectFrom('model_runs')
      .select(['task_id', 'employee_id'])
      .where('run_id', '=', runId)
      .where('kind', '=', 'task')
      .where('error', 'is', null)
      .execute();
    expect(taskCalls).toHaveLength(4);
    const events = await env.db.selectFrom('audit_events').select(['action']).where('run_id', '=', runId).execute();
    const times = (a: string) => events.filter((e) => e.action === a).length;
    expect(times('run.started')).toBe(1);
    expect(times('score.recorded')).toBe(4);
    expect(times('hr.actions')).toBe(1);
    expect(times('task.accepted')).toBe(3);
    expect(times('run.completed')).toBe(1);

    // ada was scored exactly twice, and each score moved its reputation once.
    const adaScores = await env.db
      .selectFrom('scores')
      .selectAll()
      .where('employee_id', '=', 'scripted-ada')
      .orderBy('created_at')
      .execute();
    expect(adaScores).toHaveLength(2);
    expect(Number(adaScores[0]!.reputation_before)).toBe(50);
    expect(adaScores[1]!.reputation_before).toBe(adaScores[0]!.reputation_after);
    const ada = await env.db
      .selectFrom('employee_capabilities')
      .select('reputation')
      .where('employee_id', '=', 'scripted-ada')
      .where('capability', '=', 'coder')
      .executeTakeFirstOrThrow();
    expect(ada.reputation).toBe(adaScores[1]!.reputation_after);
  });
});
