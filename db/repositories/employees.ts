import type { Db } from '../connect.js';
import type { EmployeeSnapshot, EmployeeStatus } from '../../governance/types.js';
import { INITIAL_REPUTATION } from '../../governance/scoring.js';

export interface RegistryEntry {
  id: string;
  provider: string;
  model: string;
  capabilities: string[];
  initialReputation?: number;
}

/**
 * Brings the registry file into the tables: new employees and new capabilities are added,
 * the provider, model and capabilities of known ones follow the file; status and reputation
 * are earned, never reset.
 */
export async function syncRegistry(db: Db, entries: RegistryEntry[]): Promise<void> {
  for (const e of entries) {
    const initial = e.initialReputation ?? INITIAL_REPUTATION;
    await db
      .insertInto('employees')
      .values({ id: e.id, provider: e.provider, model: e.model, capabilities: JSON.stringify(e.capabilities), reputation: initial })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          provider: eb.ref('excluded.provider'),
          model: eb.ref('excluded.model'),
          capabilities: eb.ref('excluded.capabilities'),
        })),
      )
      .execute();
    for (const capability of e.capabilities) {
      await db
        .insertInto('employee_capabilities')
        .values({ employee_id: e.id, capability, reputation: initial })
        .onConflict((oc) => oc.columns(['employee_id', 'capability']).doNothing())
        .execute();
    }
  }
}

export async function listEmployees(db: Db): Promise<EmployeeSnapshot[]> {
  const rows = await db.selectFrom('employees').selectAll().orderBy('id').execute();
  const caps = await db.selectFrom('employee_capabilities').select(['employee_id', 'capability', 'reputation']).execute();
  return rows.map((row) => ({
    id: row.id,
    provider: row.provider,
    model: row.model,
    capabilities: row.capabilities,
    status: row.status as EmployeeStatus,
    reputation: Number(row.reputation),
    reputations: Object.fromEntries(caps.filter((c) => c.employee_id === row.id).map((c) => [c.capability, Number(c.reputation)])),
    suspendedUntil: row.suspended_until ? new Date(row.suspended_until).toISOString() : null,
  }));
}

export async function getEmployee(db: Db, id: string): Promise<EmployeeSnapshot | null> {
  return (await listEmployees(db)).find((e) => e.id === id) ?? null;
}
