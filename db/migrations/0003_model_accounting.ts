/**
 * 0003 — real model employees: prices, concurrency and rate limits from the registry, and
 * whether an employee is available (its provider configured and listed in the registry in use).
 *
 * FROZEN once landed: never edit this file; change the schema in a new migration.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE employees ADD COLUMN price_input_per_mtok NUMERIC(12,6) NOT NULL DEFAULT 0;
    ALTER TABLE employees ADD COLUMN price_output_per_mtok NUMERIC(12,6) NOT NULL DEFAULT 0;
    ALTER TABLE employees ADD COLUMN concurrency INT NOT NULL DEFAULT 2;
    ALTER TABLE employees ADD COLUMN rate_limit_per_minute INT;
    ALTER TABLE employees ADD COLUMN available BOOLEAN NOT NULL DEFAULT true;
    CREATE INDEX model_runs_employee_idx ON model_runs (employee_id);
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are append-only: 0003 is never rolled back');
}
