import { describe, expect, it } from 'vitest';
import { nobodyLeft, pathsIn, upstreamCause } from '../../governance/blame.js';
import type { EmployeeSnapshot } from '../../governance/types.js';

const T1 = { taskKey: 'T1', scope: ['src/tally/**'], by: 'dana' };
const NODE_TRACE = `TypeError: words.split is not a function
    at tally (file:///workspace/src/tally/index.mjs:4:21)
    at TestContext.<anonymous> (/workspace/test/report.test.mjs:7:5)
    at node:internal/test_runner/test:935:25`;
const PY_TRACE = `Traceback (most recent call last):
  File "/workspace/tests/test_report.py", line 6, in test_top
  File "/workspace/src/tally/core.py", line 3, in tally
ZeroDivisionError: division by zero`;

describe('paths named in a failure', () => {
  it('finds traceback frames of node and python, without the sandbox prefix, and skips node internals', () => {
    expect(pathsIn(NODE_TRACE)).toEqual(['src/tally/index.mjs', 'test/report.test.mjs']);
    expect(pathsIn(PY_TRACE)).toEqual(['tests/test_report.py', 'src/tally/core.py']);
  });
  it('reads model-made output in bounded pieces: a huge token is skipped, the traceback at the end still read', () => {
    const noise = `${'a.'.repeat(200_000)}:1 ${'x/'.repeat(100_000)}a.js:1`;
    expect(pathsIn(noise)).toEqual([]);
    expect(pathsIn(`${noise}\n${NODE_TRACE}`)).toEqual(['src/tally/index.mjs', 'test/report.test.mjs']);
  });
  it('skips paths outside the workspace', () => {
    expect(pathsIn('at /usr/lib/node_modules/x/index.js:1:1 and ../secret.txt')).toEqual([]);
  });
});

describe('upstream cause', () => {
  const failing = [{ type: 'failed_verification' as const }];
  it('is the overridden dependency whose file the failing output names', () => {
    expect(upstreamCause(failing, NODE_TRACE, [T1])).toEqual({ taskKey: 'T1', file: 'src/tally/index.mjs', by: 'dana' });
    expect(upstreamCause(failing, PY_TRACE, [{ ...T1, taskKey: 'T3' }])).toEqual({ taskKey: 'T3', file: 'src/tally/core.py', by: 'dana' });
  });
  it("is none when the output stays in the task's own code, or nothing was overridden", () => {
    expect(upstreamCause(failing, 'AssertionError at /workspace/src/report/index.mjs:9:1', [T1])).toBeNull();
    expect(upstreamCause(failing, NODE_TRACE, [])).toBeNull();
  });
  it("is none when any violation is the employee's own conduct or form", () => {
    expect(upstreamCause([...failing, { type: 'scope_drift' }], NODE_TRACE, [T1])).toBeNull();
    expect(upstreamCause([{ type: 'malformed_output' }], NODE_TRACE, [T1])).toBeNull();
    expect(upstreamCause([], NODE_TRACE, [T1])).toBeNull();
  });
});

describe('why nobody is left', () => {
  const e = (id: string, extra: Partial<EmployeeSnapshot> = {}): EmployeeSnapshot => ({
    id,
    provider: 'openai',
    model: 'm',
    capabilities: ['coder'],
    status: 'active',
    reputation: 60,
    ...extra,
  });
  it('names each capable employee and why it cannot take the task', () => {
    const roster = [
      e('a'),
      e('b', { status: 'suspended', suspendedUntil: '2026-12-31T00:00:00.000Z' }),
      e('c', { status: 'terminated' }),
      e('d'),
      e('p', { capabilities: ['planner'] }),
    ];
    const failed = [
      { employeeId: 'a', violations: ['failed_verification', 'failed_verification'] },
      { employeeId: 'd', violations: [] },
    ];
    expect(nobodyLeft(roster, 'coder', failed)).toBe(
      'no eligible coder left (failed: a, d): a failed here (failed_verification); b suspended until 2026-12-31T00:00:00.000Z; c terminated; d could not take it',
    );
    expect(nobodyLeft([e('t')], 'coder', [], 't')).toBe("no eligible coder left (failed: none): t wrote the task's acceptance tests");
    expect(nobodyLeft([e('p', { capabilities: ['planner'] })], 'coder', [])).toBe(
      'no eligible coder left (failed: none): no coder on the roster',
    );
  });
});
