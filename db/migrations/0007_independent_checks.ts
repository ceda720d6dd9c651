/**
 * 0007 — verified by someone else.
 *
 * - `acceptance_tests`: every freeze of a task's acceptance tests (written by a tester, never the
 *   coder): the files with their sha256, the version (a test changed in a dispute is re-frozen
 *   as the next version, with the dispute, the reason and who decided). Append-only, chained.
 * - `task_queue.tests_model_run_id`: the tester's answer whose files are the task's frozen tests
 *   now (the newest version); the workspace layers them under the task's accepted code.
 * - `verifications.phase`: `red` (the frozen tests against the workspace before any code: they
 *   must fail) or `green` (a coder's round against them: they must pass); null for the other
 *   checks. `verifications.output_sha256`: the full output of the command, kept content-addressed
 *   in `evidence_blobs` (the excerpt is what fits; the hash is what it came from).
 * - `model_runs.kind` gains `tests` (a tester's answer) and `dispute` (a tester's answer to a
 *   coder's dispute of a frozen test).
 *
 * FROZEN once landed: never edit this file; change the schema in a new migration.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE model_runs DROP CONSTRAINT model_runs_kind_check;
    ALTER TABLE model_runs ADD CONSTRAINT model_runs_kind_check CHECK (kind IN ('plan', 'task', 'review', 'tests', 'dispute'));

    ALTER TABLE task_queue ADD COLUMN tests_model_run_id UUID;

    ALTER TABLE verifications ADD COLUMN phase TEXT CHECK (phase IN ('red', 'green'));
    ALTER TABLE verifications ADD COLUMN output_sha256 TEXT;

    CREATE TABLE evidence_blobs (
      sha256 TEXT PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      content TEXT NOT NULL,
      bytes INT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE TABLE acceptance_tests (
      id UUID PRIMARY KEY,
      idempotency_key TEXT NOT NULL UNIQUE,
      run_id UUID,
      task_id UUID,
      task_key TEXT NOT NULL,
      version INT NOT NULL CHECK (version >= 1),
      tester_id TEXT NOT NULL,
      model_run_id UUID NOT NULL,
      files JSONB NOT NULL,
      -- Why this version: 'written' for the first freeze, else the dispute that changed it.
      reason TEXT NOT NULL,
      decided_by TEXT NOT NULL,
      dispute JSONB,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (task_id, version)
    );
    CREATE INDEX acceptance_tests_run_idx ON acceptance_tests (run_id, created_at);

    CREATE TRIGGER acceptance_tests_append_only BEFORE UPDATE OR DELETE ON acceptance_tests
      FOR EACH ROW EXECUTE FUNCTION aura_refuse_change();
    CREATE TRIGGER acceptance_tests_no_truncate BEFORE TRUNCATE ON acceptance_tests
      FOR EACH STATEMENT EXECUTE FUNCTION aura_refuse_change();
    CREATE TRIGGER evidence_blobs_append_only BEFORE UPDATE OR DELETE ON evidence_blobs
      FOR EACH ROW EXECUTE FUNCTION aura_refuse_change();
    CREATE TRIGGER evidence_blobs_no_truncate BEFORE TRUNCATE ON evidence_blobs
      FOR EACH STATEMENT EXECUTE FUNCTION aura_refuse_change();

    -- The frozen tests are governance facts: chained like every other.
    INSERT INTO ledger_tables (table_name, key_columns) VALUES ('acceptance_tests', ARRAY['id']);
    CREATE TRIGGER acceptance_tests_ledger AFTER INSERT OR UPDATE ON acceptance_tests
      FOR EACH ROW EXECUTE FUNCTION aura_ledger_record('id');
    CREATE CONSTRAINT TRIGGER acceptance_tests_ledger_seal AFTER INSERT OR UPDATE ON acceptance_tests
      DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION aura_ledger_seal_at_commit();
  `.execute(db);
  // The rows' ledger hashes cover every column: record them again with the new ones.
  await sql`SELECT aura_ledger_rerecord('task_queue')`.execute(db);
  await sql`SELECT aura_ledger_rerecord('verifications')`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('0007 cannot be undone: the governance record is append-only');
}
