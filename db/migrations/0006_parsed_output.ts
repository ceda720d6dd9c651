/**
 * 0006 — a task answer is parsed once: when its model call is recorded, the output as the
 * task-output schema reads it (or why it does not) is stored beside it, and every reader (the
 * Auditor, the sandbox, the Accountant, the workspace, the repair prompt) takes it from there.
 * Rows recorded before this migration keep null in both and are parsed when read.
 *
 * FROZEN once landed: never edit this file; change the schema in a new migration.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- The task output, when it is well-formed JSON of the task-output schema.
    ALTER TABLE model_runs ADD COLUMN parsed_output JSONB;
    -- Why it is not, when it is not (null for calls that are not task answers, or failed).
    ALTER TABLE model_runs ADD COLUMN parse_error TEXT;
  `.execute(db);
  // The rows' ledger hashes cover every column: record them again with the new ones.
  await sql`SELECT aura_ledger_rerecord('model_runs')`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0006 cannot be undone: the governance record is append-only');
}
