/**
 * The run's budget, with every other role a stub: a model call refused for the budget (in a
 * task or in planning) pauses the run at budget_paused, where nothing new starts, until the
 * Director raises the budget (the refused call is made again under the new one) or stops the
 * run (it ends cancelled, and tasks that were waiting never start).
 */
import { describe, expect, it } from 'vitest';
import { failure } from '../../errors/index.js';
import { FailureType } from '../../governance/failures.js';
import { budgetDecisionUpdate } from '../../workflows/definitions.js';
import { deferred, planOf, refusal, sleep, useStubWorld, until } from '../helpers/stub-activities.js';

const world = useStubWorld();

describe('the budget', { timeout: 30_000 }, () => {
  const budgetRefusal = () => failure(FailureType.BudgetExceeded, 'run budget reached: 120 of 100 tokens');

  it('a refused model call pauses the run at budget_paused; budgetDecision raise resumes it with the new budget', async () => {
    const stubs = world.use({
      performTask: async (r) => {
        if ((r.budget?.maxTokens ?? 0) < 1_000) throw budgetRefusal();
        return { modelRunId: `mr-${r.task.id}`, summary: 'done', outputChars: 1 };
      },
    });
    const run = await world.startRun({ autoApprove: true, budget: { maxTokens: 100, maxCostUsd: 1 } });
    const paused = await until(async () => {
      const s = await run.status();
      return s.status === 'budget_paused' ? s : null;
    }, 'the budget pause');
    expect(paused.escalations).toEqual(['budget: task T1: run budget reached: 120 of 100 tokens']);
    await until(async () => (await run.status()).tasks[0]?.status === 'paused', 'the task to show it waits');
    expect(stubs.calls('recordEvent').filter((e) => e.action === 'run.budget_reached')).toHaveLength(1);

    // Nothing moves while paused; a raise needs a reason and a budget that means something.
    await sleep(500);
    expect(stubs.calls('performTask')).toHaveLength(1);
    expect(
      await refusal(
        run.handle.executeUpdate(budgetDecisionUpdate, {
          args: [{ kind: 'raise', budget: { maxTokens: 5_000, maxCostUsd: 2 }, by: 'cfo', reason: '' }],
        }),
      ),
    ).toBe('it needs a reason and a valid budget');
    expect(
      await refusal(
        run.handle.executeUpdate(budgetDecisionUpdate, {
          args: [{ kind: 'raise', budget: { maxTokens: 0, maxCostUsd: 2 }, by: 'cfo', reason: 'more' }],
        }),
      ),
    ).toBe('it needs a reason and a valid budget');

    const answer = await run.handle.executeUpdate(budgetDecisionUpdate, {
      args: [{ kind: 'raise', budget: { maxTokens: 5_000, maxCostUsd: 2 }, by: 'cfo', reason: 'worth finishing' }],
    });
    expect(answer).toEqual({ command: 'budgetDecision', status: 'running', message: 'budget raised to 5000 tokens, $2' });
    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(report.budget).toEqual({ maxTokens: 5_000, maxCostUsd: 2 });
    // The refused call was made again, under the new budget.
    expect(stubs.calls('performTask').map((c) => c.budget)).toEqual([
      { maxTokens: 100, maxCostUsd: 1 },
      { maxTokens: 5_000, maxCostUsd: 2 },
    ]);
    expect(stubs.runStatuses()).toEqual(['running', 'budget_paused', 'running', 'verifying', 'completed']);
    const raise = stubs.calls('recordDirectorAction').find((a) => a.action === 'raise_budget')!;
    expect(raise).toMatchObject({
      director: 'cfo',
      reason: 'worth finishing',
      details: { budget: { maxTokens: 5_000, maxCostUsd: 2 }, previous: { maxTokens: 100, maxCostUsd: 1 } },
    });
  });

  it('while budget_paused no new task starts, even when a slot frees up; after the raise every task runs', async () => {
    const other = deferred();
    const stubs = world.use(
      {
        performTask: async (r) => {
          if (r.task.id === 'T1' && (r.budget?.maxTokens ?? 0) < 1_000) throw budgetRefusal();
          if (r.task.id === 'T2') await other.promise;
          return { modelRunId: `mr-${r.task.id}`, summary: 'done', outputChars: 1 };
        },
      },
      { plan: planOf([{ id: 'T1' }, { id: 'T2' }, { id: 'T3' }]) },
    );
    const run = await world.startRun({ autoApprove: true, maxParallel: 2, budget: { maxTokens: 100, maxCostUsd: 1 } });
    await until(async () => (await run.status()).status === 'budget_paused', 'the budget pause');
    // T2's call was under way: it finishes and is accepted; its slot stays empty while paused.
    other.resolve();
    await until(() => stubs.taskStatuses('T2').includes('accepted'), 'T2 to be accepted');
    await sleep(500);
    expect(stubs.taskStatuses('T3')).toEqual([]);
    expect((await run.status()).status).toBe('budget_paused');

    await run.handle.executeUpdate(budgetDecisionUpdate, {
      args: [{ kind: 'raise', budget: { maxTokens: 5_000, maxCostUsd: 2 }, by: 'cfo', reason: 'go on' }],
    });
    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(report.tasks.map((t) => [t.taskKey, t.status])).toEqual([
      ['T1', 'accepted'],
      ['T2', 'accepted'],
      ['T3', 'accepted'],
    ]);
    const raisedAt = stubs.log.findIndex(
      (c) => c.name === 'recordDirectorAction' && (c.input as { action: string }).action === 'raise_budget',
    );
    const t3At = stubs.log.findIndex((c) => c.name === 'recordTaskStatus' && (c.input as { taskKey: string }).taskKey === 'T3');
    expect(t3At).toBeGreaterThan(raisedAt);
    expect(
      stubs
        .calls('performTask')
        .filter((c) => c.task.id === 'T3')
        .map((c) => c.budget),
    ).toEqual([{ maxTokens: 5_000, maxCostUsd: 2 }]);
  });

  it('after the raise a freed slot is used at once, and the run shows the refused task working again', async () => {
    const t1Again = deferred();
    const stubs = world.use(
      {
        performTask: async (r) => {
          if (r.task.id === 'T1') {
            if ((r.budget?.maxTokens ?? 0) < 1_000) throw budgetRefusal();
            await t1Again.promise; // T1's call under the new budget takes its time
          }
          return { modelRunId: `mr-${r.task.id}`, summary: 'done', outputChars: 1 };
        },
      },
      { plan: planOf([{ id: 'T1' }, { id: 'T2' }, { id: 'T3' }]) },
    );
    const run = await world.startRun({ autoApprove: true, maxParallel: 2, budget: { maxTokens: 100, maxCostUsd: 1 } });
    await until(async () => (await run.status()).status === 'budget_paused', 'the budget pause');
    await until(() => stubs.taskStatuses('T2').includes('accepted'), 'T2 to be accepted');
    await run.handle.executeUpdate(budgetDecisionUpdate, {
      args: [{ kind: 'raise', budget: { maxTokens: 5_000, maxCostUsd: 2 }, by: 'cfo', reason: 'go on' }],
    });
    // T3 starts in T2's slot while T1 is still at work: it does not wait for T1 to end.
    await until(() => stubs.taskStatuses('T3').includes('accepted'), 'T3 to be accepted while T1 works');
    expect(stubs.taskStatuses('T1')).not.toContain('accepted');
    await until(
      async () => (await run.status()).tasks.find((t) => t.key === 'T1')?.status === 'running',
      'the run to show T1 working again',
    );
    t1Again.resolve();
    expect((await run.handle.result()).status).toBe('completed');
  });

  it('budgetDecision stop ends the run cancelled; tasks waiting on the refused one never start', async () => {
    const stubs = world.use(
      {
        performTask: async () => {
          throw budgetRefusal();
        },
      },
      { plan: planOf([{ id: 'T1' }, { id: 'T2', dependsOn: ['T1'] }]) },
    );
    const run = await world.startRun({ autoApprove: true, budget: { maxTokens: 100, maxCostUsd: 1 } });
    await until(async () => (await run.status()).status === 'budget_paused', 'the budget pause');

    const answer = await run.handle.executeUpdate(budgetDecisionUpdate, { args: [{ kind: 'stop', by: 'cfo', reason: 'not worth it' }] });
    expect(answer).toMatchObject({ command: 'budgetDecision', message: 'the run stops: its tasks wind down' });
    const report = await run.handle.result();
    expect(report.status).toBe('cancelled');
    expect(report.reason).toBe('stopped by cfo on budget: not worth it; tasks not accepted: T1, T2');
    expect(report.tasks.map((t) => [t.taskKey, t.status])).toEqual([
      ['T1', 'cancelled'],
      ['T2', 'cancelled'],
    ]);
    expect(stubs.calls('performTask')).toHaveLength(1);
    expect(stubs.taskStatuses('T1')).toEqual(['running', 'cancelled']);
    expect(stubs.taskStatuses('T2')).toEqual([]);
    expect(stubs.calls('verifyWorkspace')).toHaveLength(0);
    expect(stubs.directorActions()).toEqual([
      ['approve_plan', 'dana', 'auto-approval chosen when the run was started'],
      ['stop_run', 'cfo', 'not worth it'],
    ]);
    expect(stubs.runStatuses().at(-1)).toBe('cancelled');
  });

  it('a refused planning call pauses the run too; raise lets the planner try again, stop ends the run', async () => {
    const stubs = world.use({
      planWithEmployee: async () => {
        throw budgetRefusal();
      },
    });
    const run = await world.startRun({ autoApprove: true, budget: { maxTokens: 100, maxCostUsd: 1 } });
    const paused = await until(async () => {
      const s = await run.status();
      return s.status === 'budget_paused' ? s : null;
    }, 'the budget pause in planning');
    expect(paused.escalations).toEqual(['budget: planning: run budget reached: 120 of 100 tokens']);

    await run.handle.executeUpdate(budgetDecisionUpdate, {
      args: [{ kind: 'raise', budget: { maxTokens: 200, maxCostUsd: 1 }, by: 'cfo', reason: 'a little more' }],
    });
    // Refused again under the raised budget: paused a second time, then stopped.
    await until(() => stubs.calls('planWithEmployee').length === 2, 'the planner to be asked again');
    expect(stubs.calls('planWithEmployee')[1]!.budget).toEqual({ maxTokens: 200, maxCostUsd: 1 });
    await until(async () => (await run.status()).status === 'budget_paused', 'the second pause');
    await run.handle.executeUpdate(budgetDecisionUpdate, { args: [{ kind: 'stop', by: 'cfo', reason: 'enough' }] });
    const report = await run.handle.result();
    expect(report).toMatchObject({ status: 'cancelled', reason: 'stopped by cfo on budget: enough', tasks: [] });
    expect(stubs.runStatuses()).toEqual(['budget_paused', 'planning', 'budget_paused', 'cancelled']);
    expect(stubs.calls('recordPlan')).toHaveLength(0);
  });
});
