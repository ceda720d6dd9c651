/**
 * A task's escalation, with every other role a stub: when no eligible employee is left (the
 * only coder failed the audit, or could not take the task), the task escalates, the run shows
 * it, and the task waits; the Director's directorDecision (accept, reassign, cancel) is checked
 * against the roster the task escalated with, recorded, and carried out.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../config/config.js';
import { failure } from '../../errors/index.js';
import { FailureType } from '../../governance/failures.js';
import type { EscalationDecision, RunProgress } from '../../governance/types.js';
import { directorDecisionSignal, resolveEscalationUpdate, taskStatusQuery, taskWorkflowId } from '../../workflows/definitions.js';
import {
  DEFAULT_ROSTER,
  deferred,
  employee,
  planOf,
  refusal,
  useStubWorld,
  until,
  violation,
  type StubRun,
} from '../helpers/stub-activities.js';

const world = useStubWorld();

/** A history in the proto3 JSON form the replayer reads, as the Temporal CLI writes it. */
function recordHistory(file: string, workflowId: string): void {
  const json = execFileSync(
    inject('temporalCli'),
    ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', world.env.address],
    {
      encoding: 'utf8',
    },
  );
  writeFileSync(join(PROJECT_ROOT, 'test', 'histories', file), `${JSON.stringify({ workflowId, history: JSON.parse(json) }, null, 1)}\n`);
}

/** T2 builds on T1: it may start only once T1 is accepted (by work or by the Director). */
const TWO_TASKS = planOf([{ id: 'T1' }, { id: 'T2', dependsOn: ['T1'] }]);

async function escalated(run: StubRun, key: string): Promise<RunProgress> {
  return until(async () => {
    const s = await run.status();
    return s.tasks.find((t) => t.key === key)?.status === 'escalated' ? s : null;
  }, `task ${key} to escalate`);
}

function taskHandle(run: StubRun, key: string) {
  return world.env.client.workflow.getHandle(taskWorkflowId(run.workflowId, key));
}

const decide = (run: StubRun, key: string, d: EscalationDecision) =>
  taskHandle(run, key).executeUpdate(resolveEscalationUpdate, { args: [d] });

/** T1's first audit finds a violation; every other audit is clean. */
function failFirstAudit() {
  const audited = new Map<string, number>();
  return async (r: { task: { id: string } }) => {
    const n = (audited.get(r.task.id) ?? 0) + 1;
    audited.set(r.task.id, n);
    return r.task.id === 'T1' && n === 1
      ? { verdictId: `v-${r.task.id}-${n}`, clean: false, violations: [violation('failed_verification', 'the tests fail')] }
      : { verdictId: `v-${r.task.id}-${n}`, clean: true, violations: [] };
  };
}

describe('escalation to the Director', { timeout: 30_000 }, () => {
  it('when the only coder fails the audit, the task escalates and waits; accept takes the last output as an override', async () => {
    const stubs = world.use({ auditAttempt: failFirstAudit() }, { plan: TWO_TASKS });
    const run = await world.startRun({ autoApprove: true });

    const waiting = await escalated(run, 'T1');
    expect(waiting.status).toBe('running');
    expect(waiting.escalations).toEqual([
      'T1: no eligible coder left (failed: coder-1): coder-1 failed here (failed_verification); waiting for the Director',
    ]);
    expect(waiting.tasks.find((t) => t.key === 'T2')?.status).toBe('pending');
    // The failed attempt was governed before the escalation: HR, a penalised score, one critical record.
    expect(stubs.calls('applyPolicy')).toEqual([expect.objectContaining({ taskKey: 'T1', employeeId: 'coder-1', verdictId: 'v-T1-1' })]);
    expect(stubs.calls('scoreAttempt')).toEqual([
      expect.objectContaining({ employeeId: 'coder-1', accepted: false, violations: ['failed_verification'] }),
    ]);
    expect(stubs.calls('recordTaskStatus').filter((t) => t.status === 'escalated')).toEqual([
      expect.objectContaining({
        taskKey: 'T1',
        severity: 'critical',
        description: 'no eligible coder left (failed: coder-1): coder-1 failed here (failed_verification); waiting for the Director',
      }),
    ]);
    expect(stubs.taskStatuses('T2')).toEqual([]);

    // A decision needs a reason; one for a task that is not escalated is refused.
    expect(await refusal(decide(run, 'T1', { kind: 'accept', by: 'dana', reason: ' ' }))).toBe('a decision needs who made it and why');
    expect(stubs.directorActions()).toEqual([['approve_plan', 'dana', 'auto-approval chosen when the run was started']]);

    const answer = await decide(run, 'T1', { kind: 'accept', by: 'dana', reason: 'good enough for a spike' });
    expect(answer).toMatchObject({ command: 'directorDecision', message: 'task T1: accept carried out' });
    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(report.tasks[0]).toMatchObject({
      taskKey: 'T1',
      status: 'accepted',
      acceptedBy: 'coder-1',
      acceptedModelRunId: 'mr-T1-1-1',
      overriddenBy: 'dana',
    });
    expect(report.tasks[1]).toMatchObject({ taskKey: 'T2', status: 'accepted', acceptedBy: 'coder-1', overriddenBy: null });
    expect(stubs.directorActions().slice(1)).toEqual([['task_accept', 'dana', 'good enough for a spike']]);
    expect(stubs.calls('recordDirectorAction')[1]!.details).toMatchObject({ taskKey: 'T1', decision: { kind: 'accept' } });
    expect(stubs.taskStatuses('T1')).toEqual(['running', 'escalated', 'accepted']);
    // T2 started only after the override, building on T1's accepted files.
    const ids = new Map(stubs.calls('recordPlan')[0]!.tasks.map((t) => [t.key, t.id]));
    expect(stubs.calls('performTask').find((c) => c.task.id === 'T2')!.baseTaskIds).toEqual([ids.get('T1')]);
    const overrideAt = stubs.log.findIndex(
      (c) => c.name === 'recordDirectorAction' && (c.input as { action: string }).action === 'task_accept',
    );
    const t2StartedAt = stubs.log.findIndex((c) => c.name === 'recordTaskStatus' && (c.input as { taskKey: string }).taskKey === 'T2');
    expect(t2StartedAt).toBeGreaterThan(overrideAt);
  });

  it('reassign names an active, capable employee from the roster; anyone else is refused', async () => {
    const roster = [...DEFAULT_ROSTER, employee('coder-2', ['coder'], { status: 'suspended', reputation: 90 })];
    const stubs = world.use({ auditAttempt: failFirstAudit() }, { roster });
    const run = await world.startRun({ autoApprove: true });
    await escalated(run, 'T1');

    expect(await refusal(decide(run, 'T1', { kind: 'reassign', employeeId: 'coder-2', by: 'dana', reason: 'the best one' }))).toBe(
      'coder-2 is suspended',
    );
    expect(await refusal(decide(run, 'T1', { kind: 'reassign', employeeId: 'nobody', by: 'dana', reason: 'who?' }))).toBe(
      'nobody is not on the roster: no such employee, or its provider is not configured here',
    );
    expect(await refusal(decide(run, 'T1', { kind: 'reassign', employeeId: 'planner-1', by: 'dana', reason: 'anyone' }))).toBe(
      'planner-1 lacks the coder capability',
    );
    // Refusals never reach the task: nothing recorded by it, still waiting; the worker records them.
    expect(stubs.calls('recordDirectorAction').map((a) => a.action)).toEqual(['approve_plan']);
    expect(stubs.refusals).toEqual([
      ['reassign', 'coder-2 is suspended'],
      ['reassign', 'nobody is not on the roster: no such employee, or its provider is not configured here'],
      ['reassign', 'planner-1 lacks the coder capability'],
    ]);
    expect((await run.status()).tasks[0]?.status).toBe('escalated');

    await decide(run, 'T1', { kind: 'reassign', employeeId: 'coder-1', by: 'dana', reason: 'one more try, with the findings' });
    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(report.tasks[0]).toMatchObject({ status: 'accepted', acceptedBy: 'coder-1', overriddenBy: null });
    expect(report.tasks[0]!.attempts.map((a) => [a.attempt, a.employeeId, a.clean])).toEqual([
      [1, 'coder-1', false],
      [2, 'coder-1', true],
    ]);
    // The second attempt was told what went wrong the first time.
    const work = stubs.calls('performTask');
    expect(work.map((w) => [w.employeeId, w.attempt])).toEqual([
      ['coder-1', 1],
      ['coder-1', 2],
    ]);
    expect(work[1]!.priorAttempts).toEqual([
      { attempt: 1, findings: [{ type: 'failed_verification', message: 'the tests fail' }], excerpt: '' },
    ]);
    expect(stubs.directorActions().slice(1)).toEqual([['task_reassign', 'dana', 'one more try, with the findings']]);
    expect(stubs.taskStatuses('T1')).toEqual(['running', 'escalated', 'running', 'accepted']);
  });

  it('an employee that cannot take the task is routed around; with nobody left, cancel ends the task and its dependants never start', async () => {
    const stubs = world.use(
      {
        performTask: async () => {
          throw failure(FailureType.EmployeeUnavailable, 'coder-1 is suspended');
        },
      },
      { plan: TWO_TASKS },
    );
    const run = await world.startRun({ autoApprove: true });
    const waiting = await escalated(run, 'T1');
    expect(waiting.escalations).toEqual([
      'T1: no eligible coder left (failed: coder-1): coder-1 could not take it; waiting for the Director',
    ]);
    // Routed around, not judged: no audit, no HR, no score.
    expect(stubs.calls('recordEvent').map((e) => e.action)).toEqual(['task.employee_unavailable']);
    expect(stubs.calls('auditAttempt')).toHaveLength(0);
    expect(stubs.calls('applyPolicy')).toHaveLength(0);

    // There is no output to accept: the Update is refused; the same decision sent as a signal
    // is recorded as refused, and the task keeps waiting.
    expect(await refusal(decide(run, 'T1', { kind: 'accept', by: 'dana', reason: 'ship it' }))).toBe('there is no output to accept');
    await taskHandle(run, 'T1').signal(directorDecisionSignal, { kind: 'accept', by: 'web-ui', reason: 'ship it' });
    await until(() => stubs.calls('recordDirectorAction').length === 2, 'the refused signal to be recorded');
    expect(stubs.directorActions()[1]).toEqual(['accept_refused', 'web-ui', 'ship it — refused: there is no output to accept']);
    expect((await run.status()).tasks[0]?.status).toBe('escalated');

    await decide(run, 'T1', { kind: 'cancel', by: 'dana', reason: 'not needed after all' });
    const report = await run.handle.result();
    expect(report.status).toBe('failed');
    expect(report.reason).toBe('tasks not accepted: T1, T2');
    expect(report.tasks.map((t) => [t.taskKey, t.status])).toEqual([
      ['T1', 'cancelled'],
      ['T2', 'cancelled'],
    ]);
    expect(stubs.directorActions().slice(2)).toEqual([['task_cancel', 'dana', 'not needed after all']]);
    expect(stubs.taskStatuses('T1')).toEqual(['running', 'escalated', 'cancelled']);
    expect(stubs.taskStatuses('T2')).toEqual([]);
    expect(stubs.calls('verifyWorkspace')).toHaveLength(0);
  });

  it('a decision sent to a task that is not escalated is refused, and kept visible when it came as a signal', async () => {
    const working = deferred();
    const stubs = world.use({
      performTask: async (r) => {
        await working.promise;
        return { modelRunId: `mr-${r.task.id}`, summary: 'done', outputChars: 1 };
      },
    });
    const run = await world.startRun({ autoApprove: true });
    await until(() => stubs.calls('performTask').length === 1, 'the task to be worked on');
    expect(await refusal(decide(run, 'T1', { kind: 'cancel', by: 'dana', reason: 'stop it' }))).toBe(
      'task T1 is running, not waiting for the Director',
    );
    await taskHandle(run, 'T1').signal(directorDecisionSignal, { kind: 'cancel', by: 'web-ui', reason: 'stop it' });
    const ignored = ['directorDecision from web-ui ignored: task T1 is running, not escalated'];
    await until(async () => (await taskHandle(run, 'T1').query(taskStatusQuery)).ignoredSignals?.length, 'the ignored decision to show');
    expect((await taskHandle(run, 'T1').query(taskStatusQuery)).ignoredSignals).toEqual(ignored);
    working.resolve();
    const report = await run.handle.result();
    // The ignored cancel was not kept for later: the task finished as its work deserved.
    expect(report.status).toBe('completed');
    expect(report.tasks[0]?.status).toBe('accepted');
    expect(stubs.calls('recordDirectorAction').map((a) => a.action)).toEqual(['approve_plan']);
    // The run's status lists it with the task once the task reported again.
    expect((await run.status()).tasks[0]?.ignoredSignals).toEqual(ignored);
  });
});

describe('blame follows cause, and the Director is never left without a way forward', { timeout: 60_000 }, () => {
  /** T1's work fails on every coder; T2's tests fail inside T1's code (the only way its tests can fail here). */
  const T1_FILE = 'src/t1/index.js';
  const TRACEBACK = `TypeError: tally is not a function\n    at count (/workspace/${T1_FILE}:3:11)\n    at Test.<anonymous> (/workspace/src/t2/report.test.js:5:3)`;

  it('override → downstream failure in the overridden code → not charged → reinstate → reassign → completed', async () => {
    const roster = [...DEFAULT_ROSTER, employee('coder-2', ['coder'], { reputation: 50 })];
    let t2Attempts = 0;
    const stubs = world.use(
      {
        auditAttempt: async (r) => {
          if (r.task.id === 'T1')
            return { verdictId: `v-T1-${r.employeeId}`, clean: false, violations: [violation('failed_verification', 'the tests fail')] };
          t2Attempts += 1;
          return t2Attempts === 1
            ? {
                verdictId: 'v-T2-1',
                clean: false,
                violations: [
                  {
                    ...violation('failed_verification', 'the acceptance tests fail'),
                    evidence: { excerpt: TRACEBACK, sha256: '0'.repeat(64) },
                  },
                ],
              }
            : { verdictId: 'v-T2-2', clean: true, violations: [] };
        },
        // HR suspends coder-2 for its failure on T1 (as the ladder would on a repeat offence).
        applyPolicy: async (r) => {
          if (r.employeeId !== 'coder-2') return { actions: ['WARNING'], statusBefore: 'active', statusAfter: 'active', enforced: true };
          roster[2] = { ...roster[2]!, status: 'suspended', suspendedUntil: '2026-12-31T00:00:00.000Z' };
          return { actions: ['SUSPEND'], statusBefore: 'active', statusAfter: 'suspended', enforced: true };
        },
      },
      { plan: TWO_TASKS, roster },
    );
    const run = await world.startRun({ autoApprove: true });

    // T1 failed on both coders: the escalation says who is left and why not.
    const first = await escalated(run, 'T1');
    expect(first.escalations).toEqual([
      'T1: no eligible coder left (failed: coder-1, coder-2): coder-1 failed here (failed_verification); coder-2 failed here (failed_verification), suspended until 2026-12-31T00:00:00.000Z; waiting for the Director',
    ]);
    await decide(run, 'T1', { kind: 'accept', by: 'dana', reason: 'close enough; T2 needs it' });

    // T2 meets T1's defect: recorded as caused upstream, never charged, and the Director decides at once.
    const second = await escalated(run, 'T2');
    expect(second.escalations).toEqual([
      `T2: coder-1's tests fail in ${T1_FILE} of T1, which dana accepted by override (not charged to coder-1). Reassign (coder-1 or another coder, told what failed), accept this output as well, or cancel; waiting for the Director`,
    ]);
    expect(stubs.calls('applyPolicy').map((p) => [p.taskKey, p.employeeId])).toEqual([
      ['T1', 'coder-1'],
      ['T1', 'coder-2'],
    ]);
    expect(stubs.calls('scoreAttempt').filter((s) => s.taskKey === 'T2')).toEqual([]);
    expect(stubs.calls('recordEvent').filter((e) => e.action === 'task.failed_upstream')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        description: `task T2: coder-1's attempt 1 fails in ${T1_FILE} of T1, which dana accepted by override; not charged to coder-1 (no HR action, no score)`,
        details: expect.objectContaining({ cause: { taskKey: 'T1', file: T1_FILE, by: 'dana' } }),
      }),
    ]);

    // coder-2 is still suspended: the roster read at the decision says so.
    expect(await refusal(decide(run, 'T2', { kind: 'reassign', employeeId: 'coder-2', by: 'dana', reason: 'the other one' }))).toBe(
      'coder-2 is suspended',
    );
    expect(stubs.refusals).toEqual([['reassign', 'coder-2 is suspended']]);
    // Reinstated (aura reinstate writes the roster): eligible at once, no new escalation needed.
    roster[2] = { ...roster[2]!, status: 'active', suspendedUntil: null };
    const answer = await decide(run, 'T2', { kind: 'reassign', employeeId: 'coder-2', by: 'dana', reason: 'reinstated; work around T1' });
    expect(answer).toMatchObject({ message: 'task T2: reassign carried out' });

    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(report.tasks.map((t) => [t.taskKey, t.status, t.acceptedBy, t.overriddenBy])).toEqual([
      ['T1', 'accepted', 'coder-2', 'dana'],
      ['T2', 'accepted', 'coder-2', null],
    ]);
    expect(report.tasks[1]!.attempts.map((a) => [a.employeeId, a.clean, a.hrActions, a.score, a.notCharged ?? null])).toEqual([
      ['coder-1', false, [], null, `the failing tests run through ${T1_FILE} of T1, which dana accepted by override`],
      ['coder-2', true, [], 90, null],
    ]);
    // The second coder was told what failed (never who).
    expect(
      stubs
        .calls('performTask')
        .filter((w) => w.task.id === 'T2')
        .at(-1)!.priorAttempts,
    ).toEqual([expect.objectContaining({ attempt: 1, findings: [{ type: 'failed_verification', message: 'the acceptance tests fail' }] })]);
    expect(stubs.directorActions().slice(1)).toEqual([
      ['task_accept', 'dana', 'close enough; T2 needs it'],
      ['task_reassign', 'dana', 'reinstated; work around T1'],
    ]);
    // AURA_RECORD_HISTORIES=1 keeps these two histories for the replay test (test/histories/).
    if (process.env.AURA_RECORD_HISTORIES === '1') {
      recordHistory('prd-run-v9-upstream.json', run.workflowId);
      recordHistory('task-run-v9-upstream.json', taskHandle(run, 'T2').workflowId);
    }
  });

  it('a decision being carried out (its roster being read) is not replaced by another one', async () => {
    const reading = deferred();
    let holdNext = false;
    let held = false;
    const stubs = world.use({
      auditAttempt: failFirstAudit(),
      // The roster read for the Director's decision waits until the test lets it go.
      employeeRoster: async () => {
        if (holdNext) {
          holdNext = false;
          held = true;
          await reading.promise;
        }
        return DEFAULT_ROSTER;
      },
    });
    const run = await world.startRun({ autoApprove: true });
    await escalated(run, 'T1');
    holdNext = true;
    await taskHandle(run, 'T1').signal(directorDecisionSignal, { kind: 'reassign', employeeId: 'coder-1', by: 'web-ui', reason: 'again' });
    await until(() => held, "the roster read for the Director's decision");
    await taskHandle(run, 'T1').signal(directorDecisionSignal, { kind: 'cancel', by: 'web-ui', reason: 'no, stop' });
    await until(
      async () => (await taskHandle(run, 'T1').query(taskStatusQuery)).ignoredSignals?.length,
      'the second decision to be set aside',
    );
    expect((await taskHandle(run, 'T1').query(taskStatusQuery)).ignoredSignals).toEqual([
      'directorDecision from web-ui ignored: task T1 already has a decision to carry out',
    ]);
    reading.resolve();
    const report = await run.handle.result();
    expect(report.status).toBe('completed');
    expect(stubs.directorActions().slice(1)).toEqual([['task_reassign', 'web-ui', 'again']]);
  });

  it("a failure that does not run through the overridden code is the employee's own", async () => {
    let t2Audits = 0;
    const stubs = world.use(
      {
        auditAttempt: async (r) => {
          if (r.task.id === 'T1')
            return { verdictId: 'v-T1', clean: false, violations: [violation('failed_verification', 'the tests fail')] };
          t2Audits += 1;
          return {
            verdictId: `v-T2-${t2Audits}`,
            clean: false,
            violations: [violation('failed_verification', 'AssertionError at /workspace/src/t2/report.js:9:1')],
          };
        },
      },
      { plan: TWO_TASKS },
    );
    const run = await world.startRun({ autoApprove: true });
    await escalated(run, 'T1');
    await decide(run, 'T1', { kind: 'accept', by: 'dana', reason: 'close enough' });
    const second = await escalated(run, 'T2');
    expect(second.escalations).toEqual([
      'T2: no eligible coder left (failed: coder-1): coder-1 failed here (failed_verification); waiting for the Director',
    ]);
    expect(stubs.calls('applyPolicy').map((p) => p.taskKey)).toEqual(['T1', 'T2']);
    expect(stubs.calls('recordEvent').filter((e) => e.action === 'task.failed_upstream')).toEqual([]);
    await decide(run, 'T2', { kind: 'cancel', by: 'dana', reason: 'enough' });
    expect((await run.handle.result()).status).toBe('failed');
  });
});
