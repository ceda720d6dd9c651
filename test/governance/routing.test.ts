import { describe, expect, it } from 'vitest';
import { chooseEmployee, eligibleEmployees, reputationFor } from '../../governance/routing.js';
import type { EmployeeSnapshot } from '../../governance/types.js';

function emp(id: string, overrides: Partial<EmployeeSnapshot> = {}): EmployeeSnapshot {
  return { id, provider: 'scripted', model: `script:${id}`, capabilities: ['coder'], status: 'active', reputation: 50, ...overrides };
}

describe('eligibleEmployees', () => {
  it('keeps only active employees', () => {
    const employees = [emp('a'), emp('s', { status: 'suspended' }), emp('t', { status: 'terminated' })];
    expect(eligibleEmployees({ employees, capability: 'coder', excluded: [] }).map((e) => e.id)).toEqual(['a']);
  });

  it('keeps only employees with the capability', () => {
    const employees = [emp('coder'), emp('writer', { capabilities: ['writer'] }), emp('both', { capabilities: ['writer', 'coder'] })];
    expect(eligibleEmployees({ employees, capability: 'writer', excluded: [] }).map((e) => e.id)).toEqual(['both', 'writer']);
  });

  it('drops excluded employees', () => {
    const employees = [emp('a'), emp('b'), emp('c')];
    expect(eligibleEmployees({ employees, capability: 'coder', excluded: ['b', 'zzz'] }).map((e) => e.id)).toEqual(['a', 'c']);
  });

  it('ranks by reputation (best first), then by id', () => {
    const employees = [
      emp('m', { reputation: 60 }),
      emp('z', { reputation: 80 }),
      emp('c', { reputation: 60 }),
      emp('a', { reputation: 10 }),
      emp('b', { reputation: 80 }),
    ];
    expect(eligibleEmployees({ employees, capability: 'coder', excluded: [] }).map((e) => e.id)).toEqual(['b', 'z', 'c', 'm', 'a']);
  });

  it('compares fractional reputations correctly', () => {
    const employees = [emp('a', { reputation: 52.1 }), emp('b', { reputation: 52.15 })];
    expect(eligibleEmployees({ employees, capability: 'coder', excluded: [] }).map((e) => e.id)).toEqual(['b', 'a']);
  });

  it('does not reorder the input array', () => {
    const employees = [emp('b', { reputation: 10 }), emp('a', { reputation: 90 })];
    eligibleEmployees({ employees, capability: 'coder', excluded: [] });
    expect(employees.map((e) => e.id)).toEqual(['b', 'a']);
  });
});

describe('chooseEmployee', () => {
  it('chooses the eligible employee with the best reputation', () => {
    const employees = [
      emp('low', { reputation: 40 }),
      emp('best-but-suspended', { reputation: 99, status: 'suspended' }),
      emp('best-but-excluded', { reputation: 95 }),
      emp('best-but-incapable', { reputation: 90, capabilities: ['planner'] }),
      emp('high', { reputation: 70 }),
    ];
    expect(chooseEmployee({ employees, capability: 'coder', excluded: ['best-but-excluded'] })?.id).toBe('high');
  });

  it('breaks a reputation tie by id', () => {
    const employees = [emp('scripted-grace', { reputation: 50 }), emp('scripted-ada', { reputation: 50 })];
    expect(chooseEmployee({ employees, capability: 'coder', excluded: [] })?.id).toBe('scripted-ada');
  });

  it('returns the whole snapshot', () => {
    const e = emp('only', { reputation: 12.5 });
    expect(chooseEmployee({ employees: [e], capability: 'coder', excluded: [] })).toEqual(e);
  });

  it('returns null when nobody is eligible', () => {
    const employees = [emp('s', { status: 'suspended' }), emp('w', { capabilities: ['writer'] }), emp('x')];
    expect(chooseEmployee({ employees, capability: 'coder', excluded: ['x'] })).toBeNull();
  });

  it('returns null for an empty roster', () => {
    expect(chooseEmployee({ employees: [], capability: 'coder', excluded: [] })).toBeNull();
  });
});

describe('reputationFor', () => {
  it('returns the capability reputation when one is kept', () => {
    const e = emp('x', { capabilities: ['coder', 'tester'], reputation: 65, reputations: { coder: 40, tester: 90 } });
    expect(reputationFor(e, 'coder')).toBe(40);
    expect(reputationFor(e, 'tester')).toBe(90);
  });

  it('falls back to the overall reputation for a capability with none kept', () => {
    const e = emp('x', { reputation: 65, reputations: { coder: 40 } });
    expect(reputationFor(e, 'writer')).toBe(65);
  });

  it('falls back to the overall reputation when there is no per-capability map', () => {
    expect(reputationFor(emp('x', { reputation: 33 }), 'coder')).toBe(33);
    expect(reputationFor(emp('x', { reputation: 33, reputations: {} }), 'coder')).toBe(33);
  });

  it('keeps a capability reputation of 0 (does not fall back on a falsy value)', () => {
    expect(reputationFor(emp('x', { reputation: 80, reputations: { coder: 0 } }), 'coder')).toBe(0);
  });
});

describe('routing by per-capability reputation', () => {
  const generalist = () => emp('gen', { capabilities: ['coder', 'tester'], reputation: 65, reputations: { coder: 40, tester: 90 } });
  const coderOnly = () => emp('cod', { capabilities: ['coder', 'tester'], reputation: 60 });

  it('ranks by the coder reputation for a coder task', () => {
    // gen: coder 40 (overall 65); cod: overall 60 → cod first.
    expect(eligibleEmployees({ employees: [generalist(), coderOnly()], capability: 'coder', excluded: [] }).map((e) => e.id)).toEqual([
      'cod',
      'gen',
    ]);
    expect(chooseEmployee({ employees: [generalist(), coderOnly()], capability: 'coder', excluded: [] })?.id).toBe('cod');
  });

  it('ranks by the tester reputation for a tester task', () => {
    // gen: tester 90; cod: overall 60 → gen first.
    expect(eligibleEmployees({ employees: [coderOnly(), generalist()], capability: 'tester', excluded: [] }).map((e) => e.id)).toEqual([
      'gen',
      'cod',
    ]);
    expect(chooseEmployee({ employees: [coderOnly(), generalist()], capability: 'tester', excluded: [] })?.id).toBe('gen');
  });

  it('mixes per-capability and overall reputations in one ranking', () => {
    const employees = [
      emp('a', { reputation: 10, reputations: { coder: 95 } }),
      emp('b', { reputation: 80 }),
      emp('c', { reputation: 99, reputations: { coder: 20, writer: 99 } }),
      emp('d', { reputation: 50, reputations: { writer: 100 } }),
    ];
    expect(eligibleEmployees({ employees, capability: 'coder', excluded: [] }).map((e) => e.id)).toEqual(['a', 'b', 'd', 'c']);
  });

  it('breaks a tie on the capability reputation by id, ignoring the overall reputation', () => {
    const employees = [emp('z', { reputation: 99, reputations: { coder: 70 } }), emp('m', { reputation: 1, reputations: { coder: 70 } })];
    expect(eligibleEmployees({ employees, capability: 'coder', excluded: [] }).map((e) => e.id)).toEqual(['m', 'z']);
  });

  it('ranks a capability reputation of 0 last even with a high overall reputation', () => {
    const employees = [emp('zero', { reputation: 100, reputations: { coder: 0 } }), emp('mid', { reputation: 30 })];
    expect(chooseEmployee({ employees, capability: 'coder', excluded: [] })?.id).toBe('mid');
  });

  it.each(['suspended', 'terminated'] as const)('never routes to a %s employee, even with the top capability reputation', (status) => {
    const employees = [
      emp('star', { status, reputation: 100, reputations: { coder: 100, tester: 100 }, capabilities: ['coder', 'tester'] }),
      emp('meh', { reputation: 5, reputations: { coder: 1, tester: 1 }, capabilities: ['coder', 'tester'] }),
    ];
    for (const capability of ['coder', 'tester']) {
      expect(eligibleEmployees({ employees, capability, excluded: [] }).map((e) => e.id)).toEqual(['meh']);
      expect(chooseEmployee({ employees, capability, excluded: [] })?.id).toBe('meh');
    }
    expect(chooseEmployee({ employees: [employees[0]!], capability: 'coder', excluded: [] })).toBeNull();
  });

  it('a reputation kept for a capability the employee lacks does not make it eligible', () => {
    const employees = [emp('x', { capabilities: ['coder'], reputations: { tester: 100 } })];
    expect(chooseEmployee({ employees, capability: 'tester', excluded: [] })).toBeNull();
  });

  it('excludes an employee that failed the task, whatever its capability reputation', () => {
    const employees = [emp('best', { reputations: { coder: 100 } }), emp('next', { reputations: { coder: 10 } })];
    expect(chooseEmployee({ employees, capability: 'coder', excluded: ['best'] })?.id).toBe('next');
  });
});
