import { sql } from 'kysely';
import type { Db } from '../connect.js';
import type { EmployeeSnapshot, EmployeeStatus } from '../../governance/types.js';
import { INITIAL_REPUTATION } from '../../governance/scoring.js';
import { spendByEmployee } from './usage.js';
import type { RegistryEntry } from '../../config/employee-registry.js';

export type { RegistryEntry };

const SYNCED = [
  'provider',
  'model',
  'capabilities',
  'price_input_per_mtok',
  'price_output_per_mtok',
  'concurrency',
  'rate_limit_per_minute',
  'context_tokens',
  'available',
];

/**
 * Brings the registry file into the tables: new employees and new capabilities are added,
 * the provider, model and capabilities of known ones follow the file; status and reputation
 * are earned, never reset.
 */
export async function syncRegistry(db: Db, entries: RegistryEntry[], enabledProviders: string[]): Promise<void> {
  // Only the registry in use, with a configured provider, is routed to; the rest stay on record.
  // Rows change only when something changed: every change is a ledger entry.
  await db
    .updateTable('employees')
    .set({ available: false })
    .where('id', 'not in', entries.length > 0 ? entries.map((e) => e.id) : [''])
    .where('available', '=', true)
    .execute();
  for (const e of entries) {
    const initial = e.initialReputation ?? INITIAL_REPUTATION;
    const terms = {
      price_input_per_mtok: e.pricePerMillionTokens?.input ?? 0,
      price_output_per_mtok: e.pricePerMillionTokens?.output ?? 0,
      concurrency: e.concurrency ?? 2,
      rate_limit_per_minute: e.rateLimitPerMinute ?? null,
      context_tokens: e.contextTokens ?? null,
      available: enabledProviders.includes(e.provider),
    };
    await db
      .insertInto('employees')
      .values({
        id: e.id,
        provider: e.provider,
        model: e.model,
        capabilities: JSON.stringify(e.capabilities),
        reputation: initial,
        ...terms,
      })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet((eb) => ({
            provider: eb.ref('excluded.provider'),
            model: eb.ref('excluded.model'),
            capabilities: eb.ref('excluded.capabilities'),
            ...terms,
          }))
          .where(
            sql<boolean>`(${sql.raw(SYNCED.map((c) => `employees.${c}`).join(', '))}) IS DISTINCT FROM (${sql.raw(SYNCED.map((c) => `excluded.${c}`).join(', '))})`,
          ),
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

/** Employees as routing sees them: by default only the available ones (registry in use, provider configured). */
export async function listEmployees(db: Db, opts: { includeUnavailable?: boolean; id?: string } = {}): Promise<EmployeeSnapshot[]> {
  let query = db.selectFrom('employees').selectAll().orderBy('id');
  if (!opts.includeUnavailable) query = query.where('available', '=', true);
  if (opts.id !== undefined) query = query.where('id', '=', opts.id);
  const rows = await query.execute();
  let capsQuery = db.selectFrom('employee_capabilities').select(['employee_id', 'capability', 'reputation']);
  if (opts.id !== undefined) capsQuery = capsQuery.where('employee_id', '=', opts.id);
  const caps = await capsQuery.execute();
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
  return (await listEmployees(db, { includeUnavailable: true, id }))[0] ?? null;
}

export interface EmployeeTerms {
  priceInputPerMTok: number;
  priceOutputPerMTok: number;
  /** The registry's context budget in tokens, or null for the default. */
  contextTokens: number | null;
}

export async function employeeTerms(db: Db, id: string): Promise<EmployeeTerms | null> {
  const row = await db
    .selectFrom('employees')
    .select(['price_input_per_mtok', 'price_output_per_mtok', 'context_tokens'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row
    ? {
        priceInputPerMTok: Number(row.price_input_per_mtok),
        priceOutputPerMTok: Number(row.price_output_per_mtok),
        contextTokens: row.context_tokens,
      }
    : null;
}

export interface EmployeeOverview {
  id: string;
  provider: string;
  model: string;
  capabilities: string[];
  status: EmployeeStatus;
  /** Routed to: its provider is configured and it is in the registry in use. */
  available: boolean;
  reputation: number;
  reputations: Record<string, number>;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  pricePerMillionTokens: { input: number; output: number } | null;
}

/** Every employee with its status, reputation, calls, tokens and cost (`aura models`). */
export async function employeeOverview(db: Db): Promise<EmployeeOverview[]> {
  const employees = await listEmployees(db, { includeUnavailable: true });
  const available = new Set((await listEmployees(db)).map((e) => e.id));
  const spend = await spendByEmployee(db);
  const prices = new Map(
    (await db.selectFrom('employees').select(['id', 'price_input_per_mtok', 'price_output_per_mtok']).execute()).map((r) => [
      r.id,
      { input: Number(r.price_input_per_mtok), output: Number(r.price_output_per_mtok) },
    ]),
  );
  return employees.map((e) => {
    const s = spend.get(e.id);
    return {
      id: e.id,
      provider: e.provider,
      model: e.model,
      capabilities: e.capabilities,
      status: e.status,
      available: available.has(e.id),
      reputation: e.reputation,
      reputations: e.reputations ?? {},
      calls: s?.calls ?? 0,
      inputTokens: s?.inputTokens ?? 0,
      outputTokens: s?.outputTokens ?? 0,
      costUsd: Math.round((s?.costUsd ?? 0) * 1e6) / 1e6,
      pricePerMillionTokens: prices.get(e.id) ?? null,
    };
  });
}
