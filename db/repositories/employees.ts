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
 * Brings the registry file into the table: new employees are added, the provider, model and
 * capabilities of known ones follow the file; status and reputation are earned, never reset.
 */
export async function syncRegistry(db: Db, entries: RegistryEntry[]): Promise<void> {
  for (const e of entries) {
    await db
      .insertInto('employees')
      .values({
        id: e.id,
        provider: e.provider,
        model: e.model,
        capabilities: JSON.stringify(e.capabilities),
        reputation: e.initialReputation ?? INITIAL_REPUTATION,
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          provider: eb.ref('excluded.provider'),
          model: eb.ref('excluded.model'),
          capabilities: eb.ref('excluded.capabilities'),
        })),
      )
      .execute();
  }
}

export async function listEmployees(db: Db): Promise<EmployeeSnapshot[]> {
  const rows = await db.selectFrom('employees').selectAll().orderBy('id').execute();
  return rows.map(toSnapshot);
}

export async function getEmployee(db: Db, id: string): Promise<EmployeeSnapshot | null> {
  const row = await db.selectFrom('employees').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toSnapshot(row) : null;
}

export async function setEmployeeStatus(db: Db, id: string, status: EmployeeStatus): Promise<void> {
  await db.updateTable('employees').set({ status, updated_at: new Date() }).where('id', '=', id).execute();
}

function toSnapshot(row: {
  id: string;
  provider: string;
  model: string;
  capabilities: string[];
  status: string;
  reputation: string;
}): EmployeeSnapshot {
  return {
    id: row.id,
    provider: row.provider,
    model: row.model,
    capabilities: row.capabilities,
    status: row.status as EmployeeStatus,
    reputation: Number(row.reputation),
  };
}
