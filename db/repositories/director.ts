/**
 * Director actions taken outside any run (from the CLI): each is a `director_actions` row and
 * a ledger event in one transaction. No silent overrides.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../connect.js';
import { appendEvent } from './ledger.js';
import { storableJson } from '../storable.js';

export class DirectorActionRefused extends Error {
  override name = 'DirectorActionRefused';
}

/** Lifts a suspension or a termination. Only the Director does this, and it is recorded. */
export async function reinstateEmployee(db: Db, args: { employeeId: string; director: string; reason: string }): Promise<{ statusBefore: string }> {
  if (!args.reason.trim()) throw new DirectorActionRefused('a reinstatement needs a reason');
  return db.transaction().execute(async (tx) => {
    const employee = await tx.selectFrom('employees').select(['status', 'suspended_until']).where('id', '=', args.employeeId).forUpdate().executeTakeFirst();
    if (!employee) throw new DirectorActionRefused(`unknown employee: ${args.employeeId}`);
    if (employee.status === 'active') throw new DirectorActionRefused(`${args.employeeId} is already active`);
    await tx.updateTable('employees').set({ status: 'active', suspended_until: null, updated_at: new Date() }).where('id', '=', args.employeeId).execute();
    const key = `director/reinstate/${args.employeeId}/${randomUUID()}`;
    await tx
      .insertInto('director_actions')
      .values({
        id: randomUUID(),
        idempotency_key: key,
        director_id: args.director,
        action: 'reinstate_employee',
        target_id: null,
        reason: args.reason,
        run_id: null,
        details: storableJson({ employeeId: args.employeeId, statusBefore: employee.status }),
      })
      .execute();
    await appendEvent(tx, {
      idempotencyKey: `${key}/event`,
      actor: args.director,
      source: 'director',
      action: 'director.reinstate_employee',
      severity: 'warning',
      description: `${args.director} reinstated ${args.employeeId} (was ${employee.status}): ${args.reason}`,
      details: { employeeId: args.employeeId, statusBefore: employee.status },
    });
    return { statusBefore: employee.status };
  });
}
