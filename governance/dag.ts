/** Dependency-graph helpers for plans: pure, deterministic (input order is kept). */

export interface DagNode {
  id: string;
  dependsOn: string[];
}

/** Returns one cycle as a list of ids (first id repeated at the end), or null. */
export function findCycle(nodes: DagNode[]): string[] | null {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (id: string): string[] | null => {
    const seen = state.get(id);
    if (seen === 'done') return null;
    if (seen === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (!byId.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };

  for (const node of nodes) {
    const cycle = visit(node.id);
    if (cycle) return cycle;
  }
  return null;
}

/** Tasks not yet started whose dependencies are all accepted, in plan order. */
export function readyTasks(nodes: DagNode[], accepted: ReadonlySet<string>, started: ReadonlySet<string>): string[] {
  return nodes.filter((n) => !started.has(n.id) && n.dependsOn.every((d) => accepted.has(d))).map((n) => n.id);
}

/** Dependencies first, ties in plan order: the order in which accepted outputs are layered. */
export function topologicalOrder(nodes: DagNode[]): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < nodes.length) {
    const next = readyTasks(nodes, done, done);
    if (next.length === 0) throw new Error('topologicalOrder: the graph has a cycle or a dependency on an unknown task');
    for (const id of next) {
      done.add(id);
      order.push(id);
    }
  }
  return order;
}

/** Every task `key` depends on, directly or not. */
export function dependenciesOf(nodes: DagNode[], key: string): Set<string> {
  const seen = new Set<string>();
  const visit = (k: string) => {
    for (const d of nodes.find((n) => n.id === k)?.dependsOn ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
    }
  };
  visit(key);
  return seen;
}
