import { describe, expect, it } from 'vitest';
import { chooseEmployee, eligibleEmployees } from '../../governance/routing.js';
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
    const employees = [emp('m', { reputation: 60 }), emp('z', { reputation: 80 }), emp('c', { reputation: 60 }), emp('a', { reputation: 10 }), emp('b', { reputation: 80 })];
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
