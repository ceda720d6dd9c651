/**
 * The Manager's own decisions, with every other role a stub: the plan gate waits for the
 * Director and obeys (or refuses) what it is told; the task DAG starts a task only once its
 * dependencies are accepted and never more than maxParallel at once.
 */
import { describe, expect, it } from 'vitest';
import { approvePlanUpdate, rejectPlanSignal, rejectPlanUpdate } from '../../workflows/definitions.js';
import { deferred, planOf, refusal, sleep, useStubWorld, until } from '../helpers/stub-activities.js';

const world = useStubWorld();

describe('the plan gate', { timeout: 30_000 }, () => {
  it('waits at awaiting_approval without auto-approval; approvePlan lets the run go on', async () => {
    const working = deferred();
    const stubs = world.use({
      performTask: async (r) => {
        await working.promise;
        return { modelRunId: `mr-${r.task.id}`, summary: 'done', outputChars: 1 };
      },
    });
    const run = await world.startRun();
    await until(async () => (await run.status()).status === 'awaiting_approval', 'the plan gate');

    // Waiting: the plan is recorded and shown, nobody works on it.
    await sleep(500);
    const waiting = await run.status();
    expect(waiting.status).toBe('awaiting_approval');
    expect(waiting.plan?.tasks.map((t) => t.id)).toEqual(['T1']);
    expect(stubs.calls('recordPlan')).toHaveLength(1);
    expect(stubs.calls('performTask')).toHaveLength(0);
    expect(stubs.calls('recordTaskStatus')).toHaveLength(0);
    expect(stubs.directorActions()).toEqual([]);

    const answer = await run.handle.executeUpdate(approvePlanUpdate, { args: [{ by: 'dana', reason: 'looks right' }] });
    expect(answer).toEqual({ command: 'approvePlan', status: 'running', message: 'plan approved' });

    // Now running, the gate is closed: a second approval is refused by the run.
    await until(() => stubs.calls('performTask').length === 1, 'the task to start');
    expect(await refusal(run.handle.executeUpdate(approvePlanUpdate, { args: [{ by: 'dana', reason: 'again' }] }))).toBe(
      'run is running (approval needs awaiting_approval)',
    );
    working.resolve();

    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(report.tasks.map((t) => [t.taskKey, t.status, t.acceptedBy])).toEqual([['T1', 'accepted', 'coder-1']]);
    expect(stubs.directorActions()).toEqual([['approve_plan', 'dana', 'looks right']]);
    expect(stubs.runStatuses()).toEqual(['awaiting_approval', 'running', 'verifying', 'completed']);
    // The approval was recorded before any task started.
    const approvedAt = stubs.log.find((c) => c.name === 'recordDirectorAction')!.seq;
    const firstTask = stubs.log.find((c) => c.name === 'recordTaskStatus')!.seq;
    expect(approvedAt).toBeLessThan(firstTask);
  });

  it('rejectPlan ends the run rejected with the reason; a rejection without a reason (or without who) is refused', async () => {
    const stubs = world.use();
    const run = await world.startRun();
    await until(async () => (await run.status()).status === 'awaiting_approval', 'the plan gate');

    expect(await refusal(run.handle.executeUpdate(rejectPlanUpdate, { args: [{ by: 'dana', reason: '   ' }] }))).toBe(
      'a reason is required',
    );
    expect(await refusal(run.handle.executeUpdate(rejectPlanUpdate, { args: [{ by: ' ', reason: 'too big' }] }))).toBe(
      'who gives the command? "by" is required',
    );
    // The same rejection as a raw signal (the Web UI) is noted, never obeyed.
    await run.handle.signal(rejectPlanSignal, { by: 'web-ui', reason: '' });
    const still = await until(async () => {
      const s = await run.status();
      return s.ignoredSignals.length > 0 ? s : null;
    }, 'the ignored signal');
    expect(still.status).toBe('awaiting_approval');
    expect(still.ignoredSignals).toEqual(['rejectPlan from web-ui ignored: a reason is required']);
    expect(stubs.directorActions()).toEqual([]);

    const answer = await run.handle.executeUpdate(rejectPlanUpdate, { args: [{ by: 'dana', reason: 'scope too large for this sprint' }] });
    expect(answer).toMatchObject({ command: 'rejectPlan', status: 'rejected', message: 'plan rejected' });
    const report = await run.handle.result();
    expect(report).toMatchObject({ status: 'rejected', reason: 'scope too large for this sprint', tasks: [] });
    expect(stubs.directorActions()).toEqual([['reject_plan', 'dana', 'scope too large for this sprint']]);
    expect(stubs.calls('recordRunStatus').at(-1)).toMatchObject({ status: 'rejected', reason: 'scope too large for this sprint' });
    expect(stubs.calls('performTask')).toHaveLength(0);
    expect(stubs.calls('verifyWorkspace')).toHaveLength(0);
  });

  it("with autoApprove never stops at the gate, and records the approval as the Director's", async () => {
    const stubs = world.use();
    const run = await world.startRun({ autoApprove: true, director: 'erin' });
    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(stubs.runStatuses()).not.toContain('awaiting_approval');
    expect(stubs.directorActions()).toEqual([['approve_plan', 'erin', 'auto-approval chosen when the run was started']]);
  });
});

describe('the task DAG', { timeout: 30_000 }, () => {
  it('starts a task only after its dependencies are accepted, never more than maxParallel at once', async () => {
    // A, B, C need nothing; D needs A; E needs B and D. Three are ready at once, two may run.
    const plan = planOf([{ id: 'A' }, { id: 'B' }, { id: 'C' }, { id: 'D', dependsOn: ['A'] }, { id: 'E', dependsOn: ['B', 'D'] }]);
    const workMs: Record<string, number> = { A: 300, B: 1_200, C: 300, D: 300, E: 100 };
    const stubs = world.use(
      {
        performTask: async (r) => {
          await sleep(workMs[r.task.id]!);
          return { modelRunId: `mr-${r.task.id}`, summary: 'done', outputChars: 1 };
        },
      },
      { plan },
    );
    const run = await world.startRun({ autoApprove: true, maxParallel: 2 });
    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(report.tasks.map((t) => [t.taskKey, t.status])).toEqual(['A', 'B', 'C', 'D', 'E'].map((k) => [k, 'accepted']));

    // A task's life, as the stubs saw it: from its "running" record to its "accepted" one.
    const events = stubs.calls('recordTaskStatus').map((t) => [t.taskKey, t.status] as const);
    const startOf = (k: string) => events.findIndex(([key, s]) => key === k && s === 'running');
    const endOf = (k: string) => events.findIndex(([key, s]) => key === k && s === 'accepted');
    for (const t of plan.tasks) {
      expect(startOf(t.id), `${t.id} started`).toBeGreaterThanOrEqual(0);
      for (const dep of t.dependsOn) expect(startOf(t.id), `${t.id} starts after ${dep} is accepted`).toBeGreaterThan(endOf(dep));
    }
    let live = 0;
    let most = 0;
    for (const [, s] of events) {
      live += s === 'running' ? 1 : s === 'accepted' ? -1 : 0;
      most = Math.max(most, live);
    }
    expect(most).toBe(2);
    // C was ready from the start but waited for a free slot: the first two started were A and B.
    const starts = events.filter(([, s]) => s === 'running').map(([k]) => k);
    expect(starts.slice(0, 2).sort()).toEqual(['A', 'B']);
    expect(startOf('C')).toBeGreaterThan(Math.min(endOf('A'), endOf('B')));

    // A task builds on its transitive dependencies' accepted files (dependencies first), and
    // knows which of them it depends on directly.
    const ids = new Map(stubs.calls('recordPlan')[0]!.tasks.map((t) => [t.key, t.id]));
    const eCall = stubs.calls('performTask').find((c) => c.task.id === 'E')!;
    expect(eCall.baseTaskIds).toEqual(['A', 'B', 'D'].map((k) => ids.get(k)));
    expect(eCall.directTaskIds).toEqual(['B', 'D'].map((k) => ids.get(k)));
    expect(stubs.calls('performTask').find((c) => c.task.id === 'C')!.baseTaskIds).toEqual([]);
    // The final check covers every task's files, in dependency order.
    expect(stubs.calls('verifyWorkspace')[0]!.taskIds).toEqual(['A', 'B', 'C', 'D', 'E'].map((k) => ids.get(k)));
  });

  it('with maxParallel 1 runs independent tasks one after the other, in plan order', async () => {
    const plan = planOf([{ id: 'A' }, { id: 'B' }, { id: 'C' }]);
    const stubs = world.use(
      {
        performTask: async (r) => {
          await sleep(150);
          return { modelRunId: `mr-${r.task.id}`, summary: 'done', outputChars: 1 };
        },
      },
      { plan },
    );
    const run = await world.startRun({ autoApprove: true, maxParallel: 1 });
    expect((await run.handle.result()).status).toBe('completed');
    const events = stubs.calls('recordTaskStatus').map((t) => `${t.taskKey}:${t.status}`);
    expect(events).toEqual(['A:running', 'A:accepted', 'B:running', 'B:accepted', 'C:running', 'C:accepted']);
  });
});
