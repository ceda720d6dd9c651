/**
 * Verified by someone else, as the Manager decides it, with every other role a stub: a tester
 * writes a coding task's tests before any code and is never its coder (not even when the
 * Director names it); the coder works to its scope without the tests; a reviewer's rejection is
 * repaired, and a persistent one escalates; a registry without a tester escalates saying so.
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../governance/schemas.js';
import type { EscalationDecision, RunProgress } from '../../governance/types.js';
import { resolveEscalationUpdate, taskWorkflowId } from '../../workflows/definitions.js';
import { employee, passed, refusal, useStubWorld, until, type StubRun } from '../helpers/stub-activities.js';

/** The final verification fails the first time, then passes (after the Manager's repair task). */
const passedOnce = (n: number) => (n === 1 ? { ...passed(), passed: false, exitCode: 1, excerpt: 'not ok 1' } : passed());

const world = useStubWorld();

const PLAN: Plan = {
  summary: 'one coding task with criteria',
  tasks: [
    {
      id: 'T1',
      title: 'Part T1',
      instructions: 'Write src/t1.js.',
      capability: 'coder',
      scope: ['src/t1.js', 'test/t1.test.js'],
      criteria: ['t1() returns 1'],
      dependsOn: [],
      allowedDependencies: [],
      acceptance: { command: 'node --test test/t1.test.js', timeoutMs: 60_000 },
      timeLimitMs: 120_000,
    },
  ],
  verification: { command: 'node --test', timeoutMs: 60_000 },
};
const ROSTER = [
  employee('planner-1', ['planner'], { reputation: 70 }),
  employee('gen', ['tester', 'coder'], { reputation: 90 }),
  employee('coder-1', ['coder']),
  employee('reviewer-1', ['reviewer']),
];
const independent = { recordRunStarted: async () => ({ defaultBudget: null, independentTests: true }) };

async function escalated(run: StubRun): Promise<RunProgress> {
  return until(async () => {
    const s = await run.status();
    return s.tasks[0]?.status === 'escalated' ? s : null;
  }, 'T1 to escalate');
}
const decide = (run: StubRun, d: EscalationDecision) =>
  world.env.client.workflow.getHandle(taskWorkflowId(run.workflowId, 'T1')).executeUpdate(resolveEscalationUpdate, { args: [d] });

describe('independent checks in the Manager', { timeout: 30_000 }, () => {
  it('a tester writes and freezes the tests before any code, and another employee codes to them', async () => {
    const stubs = world.use(independent, { roster: ROSTER, plan: PLAN });
    const run = await world.startRun({ autoApprove: true });
    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(report.independentTests).toBe(true);
    const order = stubs.log.map((c) => c.name).filter((n) => ['writeTests', 'verifyTests', 'recordFrozenTests', 'performTask'].includes(n));
    expect(order).toEqual(['writeTests', 'verifyTests', 'recordFrozenTests', 'performTask']);
    expect(stubs.calls('writeTests')[0]!.employeeId).toBe('gen');
    const work = stubs.calls('performTask')[0]!;
    expect(work.employeeId).toBe('coder-1'); // gen has the higher reputation, but wrote the tests
    expect(work.task.scope).toEqual(['src/t1.js']);
    expect(work.frozenTests).toBe(true);
    expect(stubs.calls('verifyTaskOutput')[0]!.frozenTests).toBe(true);
    expect(report.tasks[0]!.checks).toMatchObject({
      tests: { testerId: 'gen', version: 1, red: { passed: false } },
      green: { passed: true },
    });
  });

  it("a reviewer's rejection is repaired; a persistent one escalates, and the tester may not be named coder", async () => {
    const stubs = world.use(
      {
        ...independent,
        reviewOutput: async (r) => ({ reviewerId: r.employeeId, modelRunId: 'rv', verdict: 'reject', comments: 'no input checks' }),
      },
      { roster: ROSTER, plan: PLAN },
    );
    const run = await world.startRun({ autoApprove: true, maxRepairRounds: 1 });
    const waiting = await escalated(run);
    expect(waiting.escalations[0]).toContain('reviewer-1 still rejects round 2 of coder-1: no input checks');
    const rounds = stubs.calls('performTask').map((c) => [c.round, c.repair?.review ?? null]);
    expect(rounds).toEqual([
      [1, null],
      [2, 'no input checks'],
    ]);
    expect(await refusal(decide(run, { kind: 'reassign', employeeId: 'gen', by: 'dana', reason: 'the best coder' }))).toBe(
      "gen wrote the task's acceptance tests: the maker is never its own checker",
    );
    await decide(run, { kind: 'accept', by: 'dana', reason: 'a matter of taste' });
    const report = await run.handle.result();
    expect(report.tasks[0]).toMatchObject({ status: 'accepted', acceptedBy: 'coder-1', overriddenBy: 'dana' });
  });

  it("a reviewer's rejection never buys a repair round for conduct: the Auditor looks first", async () => {
    const stubs = world.use(
      {
        ...independent,
        reviewOutput: async (r) => ({ reviewerId: r.employeeId, modelRunId: 'rv', verdict: 'reject', comments: 'no' }),
        inspectRound: async () => ({ repairable: false, findings: [{ type: 'scope_drift', message: 'writes a frozen test' }] }),
      },
      { roster: ROSTER, plan: PLAN },
    );
    const run = await world.startRun({ autoApprove: true, maxRepairRounds: 2 });
    await escalated(run);
    expect(stubs.calls('performTask').map((c) => c.round)).toEqual([1]);
    await decide(run, { kind: 'cancel', by: 'dana', reason: 'enough' });
  });

  it('a persistent rejection that a second reviewer and the tests clear is accepted, and counts against the first reviewer', async () => {
    const stubs = world.use(
      {
        ...independent,
        reviewOutput: async (r) => ({
          reviewerId: r.employeeId,
          modelRunId: `rv-${r.employeeId}`,
          verdict: r.employeeId === 'reviewer-1' ? 'reject' : 'approve',
          comments: r.employeeId === 'reviewer-1' ? 'I would not' : 'fine',
        }),
      },
      { roster: [...ROSTER, employee('reviewer-2', ['reviewer'], { reputation: 50 })], plan: PLAN },
    );
    const run = await world.startRun({ autoApprove: true, maxRepairRounds: 1 });
    const report = await run.handle.result();
    expect(report.tasks[0]).toMatchObject({ status: 'accepted', acceptedBy: 'coder-1', overriddenBy: null });
    expect(report.tasks[0]!.checks?.review).toMatchObject({ reviewerId: 'reviewer-2', verdict: 'approve' });
    const reviewerScores = stubs.calls('scoreAttempt').filter((c) => c.capability === 'reviewer');
    expect(reviewerScores.map((c) => [c.employeeId, c.accepted])).toEqual([['reviewer-1', false]]);
  });

  it('a reviewer that approved work the final verification then fails is scored against', async () => {
    let checks = 0;
    const stubs = world.use(
      {
        ...independent,
        verifyWorkspace: async () => ({ ...passedOnce(++checks) }),
      },
      { roster: ROSTER, plan: PLAN },
    );
    const run = await world.startRun({ autoApprove: true });
    await run.handle.result();
    const reviewerScores = stubs.calls('scoreAttempt').filter((c) => c.capability === 'reviewer');
    expect(reviewerScores.map((c) => [c.employeeId, c.taskKey, c.accepted])).toEqual([['reviewer-1', 'T1', false]]);
  });

  it('with no tester in the registry, the task escalates saying so', async () => {
    world.use(independent, { roster: ROSTER.filter((e) => e.id !== 'gen'), plan: PLAN });
    const run = await world.startRun({ autoApprove: true });
    const waiting = await escalated(run);
    expect(waiting.escalations[0]).toContain('no employee has the tester capability');
    await decide(run, { kind: 'cancel', by: 'dana', reason: 'no tester today' });
  });
});
