import { describe, expect, it } from 'vitest';
import { findCycle, readyTasks, topologicalOrder, type DagNode } from '../../governance/dag.js';

const n = (id: string, ...dependsOn: string[]): DagNode => ({ id, dependsOn });

describe('findCycle', () => {
  it('returns null for an empty graph', () => {
    expect(findCycle([])).toBeNull();
  });

  it('returns null for an acyclic graph, including a diamond', () => {
    expect(findCycle([n('A'), n('B', 'A'), n('C', 'A'), n('D', 'B', 'C')])).toBeNull();
  });

  it('finds a self-dependency', () => {
    expect(findCycle([n('A', 'A')])).toEqual(['A', 'A']);
  });

  it('finds a 3-cycle with the first id repeated at the end', () => {
    expect(findCycle([n('A', 'B'), n('B', 'C'), n('C', 'A')])).toEqual(['A', 'B', 'C', 'A']);
  });

  it('returns only the cycle, not the path that led into it', () => {
    expect(findCycle([n('X', 'A'), n('A', 'B'), n('B', 'A')])).toEqual(['A', 'B', 'A']);
  });

  it('finds a cycle that is not reachable from the first node', () => {
    expect(findCycle([n('A'), n('B', 'A'), n('C', 'D'), n('D', 'C')])).toEqual(['C', 'D', 'C']);
  });

  it('ignores dependencies on unknown ids', () => {
    expect(findCycle([n('A', 'missing'), n('B', 'A', 'ghost')])).toBeNull();
  });
});

describe('readyTasks', () => {
  const nodes = [n('A'), n('B', 'A'), n('C'), n('D', 'B', 'C'), n('E', 'unknown')];

  it('returns the tasks without dependencies at the start, in plan order', () => {
    expect(readyTasks(nodes, new Set(), new Set())).toEqual(['A', 'C']);
  });

  it('skips started tasks and releases tasks whose dependencies are all accepted', () => {
    expect(readyTasks(nodes, new Set(['A']), new Set(['A', 'C']))).toEqual(['B']);
  });

  it('does not release a task while one of its dependencies is only started', () => {
    expect(readyTasks(nodes, new Set(['A', 'B']), new Set(['A', 'B', 'C']))).toEqual([]);
    expect(readyTasks(nodes, new Set(['A', 'B', 'C']), new Set(['A', 'B', 'C']))).toEqual(['D']);
  });

  it('never releases a task that depends on an unknown id', () => {
    const all = new Set(['A', 'B', 'C', 'D']);
    expect(readyTasks(nodes, all, all)).toEqual([]);
  });
});

describe('topologicalOrder', () => {
  it('returns an empty order for an empty graph', () => {
    expect(topologicalOrder([])).toEqual([]);
  });

  it('puts dependencies first and keeps plan order for ties', () => {
    expect(topologicalOrder([n('A', 'B'), n('B'), n('C')])).toEqual(['B', 'C', 'A']);
  });

  it('keeps plan order when there are no dependencies', () => {
    expect(topologicalOrder([n('Z'), n('Y'), n('X')])).toEqual(['Z', 'Y', 'X']);
  });

  it('orders every task after all of its dependencies', () => {
    const nodes = [n('D', 'B', 'C'), n('C', 'A'), n('B', 'A'), n('A'), n('E', 'D')];
    const order = topologicalOrder(nodes);
    expect([...order].sort()).toEqual(['A', 'B', 'C', 'D', 'E']);
    for (const node of nodes) {
      for (const dep of node.dependsOn) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(node.id));
    }
    expect(order).toEqual(['A', 'C', 'B', 'D', 'E']);
  });

  it('throws on a cycle', () => {
    expect(() => topologicalOrder([n('A', 'B'), n('B', 'A')])).toThrow(/cycle/);
  });

  it('throws on a self-dependency', () => {
    expect(() => topologicalOrder([n('A'), n('B', 'B')])).toThrow(/cycle/);
  });
});
