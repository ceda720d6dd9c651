/** Token and cost accounting over `model_runs`: what a run spent, by employee, and in total. */
import { sql } from 'kysely';
import type { Db } from '../connect.js';

export interface Spend {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  tokens: number;
  costUsd: number;
}

const totals = (db: Db) =>
  db
    .selectFrom('model_runs')
    .select([
      sql<string>`count(*)`.as('calls'),
      sql<string>`coalesce(sum(input_tokens), 0)`.as('input_tokens'),
      sql<string>`coalesce(sum(output_tokens), 0)`.as('output_tokens'),
      sql<string>`coalesce(sum(cost_usd), 0)`.as('cost_usd'),
    ]);

function toSpend(r: { calls: string; input_tokens: string; output_tokens: string; cost_usd: string } | undefined): Spend {
  const inputTokens = Number(r?.input_tokens ?? 0);
  const outputTokens = Number(r?.output_tokens ?? 0);
  return { calls: Number(r?.calls ?? 0), inputTokens, outputTokens, tokens: inputTokens + outputTokens, costUsd: Number(r?.cost_usd ?? 0) };
}

export async function runSpend(db: Db, runId: string): Promise<Spend> {
  return toSpend(await totals(db).where('run_id', '=', runId).executeTakeFirst());
}

export async function runSpendByEmployee(db: Db, runId: string): Promise<(Spend & { employeeId: string })[]> {
  const rows = await totals(db).select('employee_id').where('run_id', '=', runId).groupBy('employee_id').orderBy('employee_id').execute();
  return rows.map((r) => ({ employeeId: r.employee_id, ...toSpend(r) }));
}

export async function spendByEmployee(db: Db): Promise<Map<string, Spend>> {
  const rows = await totals(db).select('employee_id').groupBy('employee_id').execute();
  return new Map(rows.map((r) => [r.employee_id, toSpend(r)]));
}
