/**
 * Routing: which employee gets a task. Pure and deterministic, so the Manager's choice can
 * be replayed and explained: eligible = active, capable, not already failed on this task;
 * ranked by reputation (best first), ties broken by id.
 */
import type { EmployeeSnapshot } from './types.js';

export interface RoutingRequest {
  employees: EmployeeSnapshot[];
  capability: string;
  /** Employees that already failed this task: never given it again. */
  excluded: string[];
}

/** The reputation that counts for a capability (the overall one when none is kept for it). */
export function reputationFor(e: EmployeeSnapshot, capability: string): number {
  return e.reputations && Object.hasOwn(e.reputations, capability) ? e.reputations[capability]! : e.reputation;
}

export function eligibleEmployees(req: RoutingRequest): EmployeeSnapshot[] {
  const rep = (e: EmployeeSnapshot) => reputationFor(e, req.capability);
  return req.employees
    .filter((e) => e.status === 'active')
    .filter((e) => e.capabilities.includes(req.capability))
    .filter((e) => !req.excluded.includes(e.id))
    .sort((a, b) => rep(b) - rep(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function chooseEmployee(req: RoutingRequest): EmployeeSnapshot | null {
  return eligibleEmployees(req)[0] ?? null;
}
