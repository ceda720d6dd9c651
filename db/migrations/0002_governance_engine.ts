/**
 * 0002 — the governance engine: idempotency keys on run and task rows, suspensions with an expiry, a reputation per employee per
 * capability (the Accountant's scorecard), the evidence behind every disciplinary action,
 * the reviewer's opinion on a verdict, and review calls in model_runs.
 *
 * FROZEN once landed: never edit this file; change the schema in a new migration.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Run and task rows carry the idempotency key of the activity that wrote them.
    ALTER TABLE orchestra_runs ADD COLUMN idempotency_key TEXT UNIQUE;
    ALTER TABLE task_queue ADD COLUMN idempotency_key TEXT UNIQUE;

    ALTER TABLE employees ADD COLUMN suspended_until TIMESTAMPTZ;
    ALTER TABLE employees ADD COLUMN tier TEXT NOT NULL DEFAULT 'standard';

    CREATE TABLE employee_capabilities (
      employee_id TEXT NOT NULL REFERENCES employees(id),
      capability TEXT NOT NULL,
      reputation NUMERIC(6,2) NOT NULL,
      tier TEXT NOT NULL DEFAULT 'standard',
      attempts INT NOT NULL DEFAULT 0,
      accepted INT NOT NULL DEFAULT 0,
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (employee_id, capability)
    );

    ALTER TABLE disciplinary_actions ADD COLUMN expires_at TIMESTAMPTZ;
    ALTER TABLE disciplinary_actions ADD COLUMN evidence JSONB;
    ALTER TABLE audit_verdicts ADD COLUMN review JSONB;
    ALTER TABLE scores ADD COLUMN components JSONB;
    ALTER TABLE scores ADD COLUMN tier TEXT;

    ALTER TABLE model_runs DROP CONSTRAINT model_runs_kind_check;
    ALTER TABLE model_runs ADD CONSTRAINT model_runs_kind_check CHECK (kind IN ('plan', 'task', 'review'));
  `.execute(db);

  // Every capability an employee already has starts from its current reputation.
  await sql`
    INSERT INTO employee_capabilities (employee_id, capability, reputation)
    SELECT e.id, c.capability, e.reputation
    FROM employees e, jsonb_array_elements_text(e.capabilities) AS c(capability)
    ON CONFLICT DO NOTHING;
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are append-only: 0002 is never rolled back');
}
