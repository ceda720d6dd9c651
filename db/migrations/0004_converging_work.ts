/**
 * 0004 — work that converges: repair rounds within an attempt, the context budget of an
 * employee, and a row for every verification the sandbox ran (each round's, not only the
 * one the Auditor judged), and task generations for a run the Director re-plans.
 *
 * FROZEN once landed: never edit this file; change the schema in a new migration.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Which attempt (one per assignment) and which repair round of it a task call belongs to.
    ALTER TABLE model_runs ADD COLUMN task_attempt INT;
    ALTER TABLE model_runs ADD COLUMN round INT;
    -- The output as answered held a NUL or invalid Unicode, stored as ␀ / �: not text.
    ALTER TABLE model_runs ADD COLUMN output_altered BOOLEAN NOT NULL DEFAULT false;
    -- How much workspace code an employee is shown, in tokens (null: the default).
    ALTER TABLE employees ADD COLUMN context_tokens INT;
    -- Repair rounds the attempt used before the Auditor judged it.
    ALTER TABLE audit_verdicts ADD COLUMN rounds INT;
    -- A run the Director re-plans runs its new tasks as a new generation, keys reused.
    ALTER TABLE task_queue ADD COLUMN generation INT NOT NULL DEFAULT 1;
    ALTER TABLE task_queue DROP CONSTRAINT task_queue_run_id_task_key_key;
    ALTER TABLE task_queue ADD CONSTRAINT task_queue_run_generation_key UNIQUE (run_id, generation, task_key);

    CREATE TABLE verifications (
      id UUID PRIMARY KEY,
      idempotency_key TEXT NOT NULL UNIQUE,
      run_id UUID,
      task_id UUID,
      model_run_id UUID,
      kind TEXT NOT NULL CHECK (kind IN ('task', 'workspace')),
      command TEXT NOT NULL,
      ran BOOLEAN NOT NULL,
      passed BOOLEAN NOT NULL,
      exit_code INT,
      timed_out BOOLEAN NOT NULL,
      duration_ms INT NOT NULL,
      excerpt TEXT NOT NULL,
      skipped_reason TEXT,
      isolation JSONB NOT NULL DEFAULT '[]',
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX verifications_run_idx ON verifications (run_id, created_at);

    CREATE TRIGGER verifications_append_only
      BEFORE UPDATE OR DELETE ON verifications
      FOR EACH ROW EXECUTE FUNCTION aura_refuse_change();
    CREATE TRIGGER verifications_no_truncate
      BEFORE TRUNCATE ON verifications
      FOR EACH STATEMENT EXECUTE FUNCTION aura_refuse_change();
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are append-only: 0004 is never rolled back');
}
