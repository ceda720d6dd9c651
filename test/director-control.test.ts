/**
 * The Director in control: every command is an Update that answers at once (accepted with
 * what it did, or refused with the reason, and the refusal recorded); any run can be paused,
 * resumed and cancelled; a cancel mid model call or mid sandbox run stops the call and kills
 * the process tree, closes every task, and ends the run cancelled with the reason.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  recordRefusal,
  approvePlan,
  cancelRun,
  pauseRun,
  rejectPlan,
  resolveEscalation,
  resolveRun,
  resumeRun,
  runStatus,
  submitRun,
  waitForReport,
  type Refusal,
} from '../director/runs.js';
import { codingModel } from './fixtures/coding-model.js';
import type { Behaviour, RecordedRequest } from './fixtures/fake-model-server.js';
import { CODING_PRD, useCodingEnv } from './helpers/coding-env.js';
import type { RunProgress } from '../governance/types.js';
import { UserError } from '../errors/index.js';

const world = useCodingEnv();

async function until(runId: string, test: (s: RunProgress) => boolean, what: string, timeoutMs = 60_000): Promise<RunProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await runStatus(world.env.client, runId);
    if (test(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; run is ${s.status}: ${JSON.stringify(s.tasks)}`);
    await sleep(200);
  }
}

const recorder = () => async (r: Refusal) => recordRefusal(world.env.db, r);

async function directorActions(runId: string) {
  return world.env.db
    .selectFrom('director_actions')
    .select(['action', 'director_id', 'reason'])
    .where('run_id', '=', runId)
    .orderBy('created_at')
    .execute();
}

async function openTasks(runId: string) {
  return world.env.db
    .selectFrom('task_queue')
    .select(['task_key', 'status'])
    .where('run_id', '=', runId)
    .where('status', 'not in', ['accepted', 'cancelled', 'failed'])
    .execute();
}

/** The coding model, with its plan's acceptance commands and task answers changed. */
function model(opts: { acceptance?: string; taskDelayMs?: number }) {
  const inner = codingModel();
  return (req: RecordedRequest): Behaviour => {
    const b = inner(req);
    if (!('reply' in b) || typeof b.reply !== 'object' || b.reply === null) return b;
    const reply = b.reply as { tasks?: { acceptance: { command: string } }[]; files?: unknown };
    if (Array.isArray(reply.tasks) && opts.acceptance) {
      return {
        ...b,
        reply: { ...reply, tasks: reply.tasks.map((t) => ({ ...t, acceptance: { ...t.acceptance, command: opts.acceptance! } })) },
      };
    }
    if (reply.files && opts.taskDelayMs) return { ...b, delayMs: opts.taskDelayMs };
    return b;
  };
}

function processesMatching(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() && !l.includes('pgrep'));
  } catch {
    return [];
  }
}

describe('Director commands as Updates', () => {
  it('answers accepted or refused at once; a refusal is recorded; a run is found by run id, workflow id or AuraRunId', async () => {
    world.server.setDefault(codingModel());
    const client = world.env.client;
    const { runId, workflowId } = await submitRun(client, {
      prd: CODING_PRD,
      project: 'updates',
      options: { director: 'tester', planTimeLimitMs: 2_000 },
    });
    const atGate = await until(runId, (s) => s.status === 'awaiting_approval', 'the plan gate');
    expect(await resolveRun(client, workflowId)).toEqual({ workflowId, runId });
    expect(await resolveRun(client, runId)).toEqual({ workflowId, runId });
    await expect(resolveRun(client, 'no-such-run')).rejects.toThrow('unknown run: no-such-run');

    // Refused: pausing a run that waits for the Director; a task decision for a task not waiting.
    await expect(pauseRun(client, runId, 'dana', 'hold on', recorder())).rejects.toThrow(
      /refused by the run: run is awaiting_approval: it is already waiting for the Director/,
    );
    // Input errors are the CLI's own: nothing is sent.
    await expect(rejectPlan(client, runId, 'dana', '  ', recorder())).rejects.toThrow(UserError);

    const approved = await approvePlan(client, workflowId, 'dana', 'plan is fine', recorder());
    expect(approved).toMatchObject({ command: 'approvePlan', status: 'running', message: 'plan approved' });
    await expect(approvePlan(client, runId, 'dana', 'again', recorder())).rejects.toThrow(/refused by the run: run is running/);
    const running = await until(runId, (s) => s.tasks.some((t) => t.status === 'running'), 'a running task');
    const busy = running.tasks.find((t) => t.status === 'running')!;
    await expect(resolveEscalation(client, runId, busy.key, { kind: 'cancel', by: 'dana', reason: 'early' }, recorder())).rejects.toThrow(
      /not waiting for the Director/,
    );

    const report = await waitForReport(client, runId);
    expect(report.status).toBe('completed');
    // Closed, the run's status still tells its planning rounds (the first planner timed out) and its plan.
    expect(atGate.planAttempts).toBeGreaterThanOrEqual(2);
    const closed = await runStatus(client, runId);
    expect(closed).toMatchObject({
      status: 'completed',
      planAttempts: atGate.planAttempts,
      planErrors: atGate.planErrors,
      plan: atGate.plan,
    });
    expect(closed.tasks.map((t) => t.title)).toEqual(atGate.plan!.tasks.map((t) => t.title));
    const actions = await directorActions(runId);
    expect(actions.map((a) => a.action)).toEqual(['pause_refused', 'approve_plan', 'approvePlan_refused', 'cancel_refused']);
    expect(actions[0]).toMatchObject({ director_id: 'dana', reason: expect.stringContaining('refused: run is awaiting_approval') });
    const events = await world.env.db
      .selectFrom('audit_events')
      .select(['action'])
      .where('run_id', '=', runId)
      .where('action', '=', 'director.command_refused')
      .execute();
    expect(events).toHaveLength(3);
  }, 180_000);
});

describe('pause, resume, cancel', () => {
  it('pause holds the run (nothing new starts), resume lets it complete', async () => {
    world.server.setDefault(model({ taskDelayMs: 1_500 }));
    const client = world.env.client;
    const { runId } = await submitRun(client, {
      prd: CODING_PRD,
      project: 'pause',
      options: { autoApprove: true, director: 'tester', planTimeLimitMs: 2_000 },
    });
    await until(runId, (s) => s.tasks.some((t) => t.status === 'running'), 'a running task');
    const paused = await pauseRun(client, runId, 'dana', 'reviewing spend', recorder());
    expect(paused.status).toBe('paused');
    // What was running finishes; then nothing new: the count of model calls stands still.
    const held = (s: RunProgress) => s.tasks.every((t) => ['paused', 'accepted', 'pending'].includes(t.status));
    await until(runId, held, 'every task held by the pause', 30_000);
    const calls = async () => (await world.env.db.selectFrom('model_runs').select('id').where('run_id', '=', runId).execute()).length;
    const before = await calls();
    // A task started despite the pause would call its model within a round trip or two.
    await sleep(3_000);
    expect(await calls()).toBe(before);
    const still = await runStatus(client, runId);
    expect(still.status).toBe('paused');
    expect(held(still)).toBe(true);
    await expect(pauseRun(client, runId, 'dana', 'twice', recorder())).rejects.toThrow(/already paused/);

    const resumed = await resumeRun(client, runId, 'dana', 'spend is fine', recorder());
    expect(resumed.status).not.toBe('paused');
    const report = await waitForReport(client, runId);
    expect(report.status).toBe('completed');
    expect((await calls()) > before).toBe(true);
    expect((await directorActions(runId)).map((a) => a.action)).toEqual(['approve_plan', 'pause_run', 'pause_refused', 'resume_run']);
  }, 180_000);

  it('cancel mid model call: the call stops, every task closes, the run ends cancelled with the reason', async () => {
    world.server.setDefault(model({ taskDelayMs: 120_000 }));
    const client = world.env.client;
    const { runId } = await submitRun(client, {
      prd: CODING_PRD,
      project: 'cancel-call',
      options: { autoApprove: true, director: 'tester', planTimeLimitMs: 2_000 },
    });
    const working = await until(runId, (s) => s.tasks.some((t) => t.status === 'running'), 'a running task');
    const key = working.tasks.find((t) => t.status === 'running')!.key;
    await sleep(1_500); // the call is under way
    const answer = await cancelRun(client, runId, 'dana', 'wrong PRD', recorder());
    expect(answer.message).toMatch(/cancelling/);
    const started = Date.now();
    const report = await waitForReport(client, runId);
    expect(Date.now() - started).toBeLessThan(60_000); // not the model's 120 s
    expect(report.status).toBe('cancelled');
    expect(report.reason).toBe('cancelled by dana: wrong PRD');
    expect(await openTasks(runId)).toEqual([]);
    // The attempt under way still counts once the run has closed.
    expect((await runStatus(client, runId)).tasks.find((t) => t.key === key)).toMatchObject({ status: 'cancelled', attempts: 1 });
    const cancelledCalls = await world.env.db
      .selectFrom('model_runs')
      .select(['error'])
      .where('run_id', '=', runId)
      .where('error', 'like', 'cancelled%')
      .execute();
    expect(cancelledCalls.length).toBeGreaterThan(0);
    expect((await directorActions(runId)).map((a) => a.action)).toEqual(['approve_plan', 'cancel_run']);
    await expect(cancelRun(client, runId, 'dana', 'again', recorder())).rejects.toThrow(`cannot cancel the run: run ${runId} is cancelled`);
  }, 180_000);

  it('cancel mid sandbox run: the process tree dies, every task closes, the run ends cancelled', async () => {
    const marker = `aura-cancel-${Date.now()}`;
    world.server.setDefault(model({ acceptance: `sleep 300 # ${marker}` }));
    const client = world.env.client;
    const { runId } = await submitRun(client, {
      prd: CODING_PRD,
      project: 'cancel-sandbox',
      options: { autoApprove: true, director: 'tester', planTimeLimitMs: 2_000 },
    });
    const deadline = Date.now() + 60_000;
    while (processesMatching(marker).length === 0) {
      if (Date.now() > deadline) throw new Error('the sandbox never ran the acceptance command');
      await sleep(200);
    }
    await cancelRun(client, runId, 'dana', 'taking too long', recorder());
    const report = await waitForReport(client, runId);
    expect(report.status).toBe('cancelled');
    expect(report.reason).toBe('cancelled by dana: taking too long');
    expect(processesMatching(marker)).toEqual([]);
    expect(await openTasks(runId)).toEqual([]);
    const verifications = await world.env.db.selectFrom('verifications').select('id').where('run_id', '=', runId).execute();
    expect(verifications).toEqual([]); // a killed run is no verdict on the code
  }, 180_000);
});
