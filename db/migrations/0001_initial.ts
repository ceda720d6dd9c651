/**
 * 0001 — the seed tables (projects, orchestra_runs, task_queue, agent_activity_logs,
 * audit_events, director_actions, incidents, disciplinary_actions), extended with what a
 * governed run needs, plus the employee registry, model calls, verdicts and scores.
 *
 * FROZEN once landed: never edit this file; change the schema in a new migration.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE projects (
      id UUID PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE TABLE orchestra_runs (
      id UUID PRIMARY KEY,
      project_id UUID REFERENCES projects(id),
      manager_id TEXT NOT NULL,
      status TEXT NOT NULL,
      confidence_score NUMERIC,
      started_at TIMESTAMPTZ DEFAULT now(),
      finished_at TIMESTAMPTZ,
      workflow_id TEXT NOT NULL UNIQUE,
      prd TEXT NOT NULL,
      options JSONB NOT NULL DEFAULT '{}'::jsonb,
      plan JSONB,
      report JSONB,
      status_reason TEXT,
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE TABLE task_queue (
      id UUID PRIMARY KEY,
      run_id UUID REFERENCES orchestra_runs(id),
      assigned_agent TEXT,
      status TEXT NOT NULL,
      priority INT DEFAULT 0,
      created_at TIMESTAMPTZ DEFAULT now(),
      completed_at TIMESTAMPTZ,
      task_key TEXT NOT NULL,
      title TEXT NOT NULL,
      spec JSONB NOT NULL,
      workflow_id TEXT,
      accepted_model_run_id UUID,
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (run_id, task_key)
    );

    CREATE TABLE employees (
      id TEXT PRIMARY KEY,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      capabilities JSONB NOT NULL,
      status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'terminated')),
      reputation NUMERIC(6,2) NOT NULL DEFAULT 50,
      registered_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE TABLE model_runs (
      id UUID PRIMARY KEY,
      idempotency_key TEXT NOT NULL UNIQUE,
      run_id UUID REFERENCES orchestra_runs(id),
      task_id UUID REFERENCES task_queue(id),
      employee_id TEXT NOT NULL REFERENCES employees(id),
      kind TEXT NOT NULL CHECK (kind IN ('plan', 'task')),
      attempt INT NOT NULL,
      prompt TEXT NOT NULL,
      prompt_version TEXT NOT NULL,
      output TEXT,
      input_tokens INT,
      output_tokens INT,
      cost_usd NUMERIC(12,6),
      latency_ms INT,
      finish_reason TEXT,
      error TEXT,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE TABLE audit_verdicts (
      id UUID PRIMARY KEY,
      idempotency_key TEXT NOT NULL UNIQUE,
      run_id UUID REFERENCES orchestra_runs(id),
      task_id UUID REFERENCES task_queue(id),
      model_run_id UUID REFERENCES model_runs(id),
      employee_id TEXT NOT NULL REFERENCES employees(id),
      clean BOOLEAN NOT NULL,
      violations JSONB NOT NULL,
      verification JSONB,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE TABLE agent_activity_logs (
      id UUID PRIMARY KEY,
      agent_id TEXT NOT NULL,
      task_id UUID,
      message TEXT,
      severity TEXT,
      created_at TIMESTAMPTZ DEFAULT now(),
      idempotency_key TEXT UNIQUE,
      run_id UUID
    );

    CREATE TABLE audit_events (
      id UUID PRIMARY KEY,
      source TEXT,
      severity TEXT,
      description TEXT,
      created_at TIMESTAMPTZ DEFAULT now(),
      seq BIGSERIAL UNIQUE,
      idempotency_key TEXT UNIQUE,
      actor TEXT NOT NULL DEFAULT 'system',
      action TEXT NOT NULL DEFAULT 'note',
      run_id UUID,
      task_id UUID,
      workflow_id TEXT,
      activity_id TEXT,
      details JSONB NOT NULL DEFAULT '{}'::jsonb,
      prev_hash TEXT,
      hash TEXT
    );

    CREATE TABLE director_actions (
      id UUID PRIMARY KEY,
      director_id TEXT,
      action TEXT,
      target_id UUID,
      reason TEXT,
      created_at TIMESTAMPTZ DEFAULT now(),
      idempotency_key TEXT UNIQUE,
      run_id UUID,
      details JSONB NOT NULL DEFAULT '{}'::jsonb
    );

    CREATE TABLE incidents (
      id UUID PRIMARY KEY,
      model_id TEXT,
      task_id TEXT,
      severity INT,
      status TEXT,
      reported_at TIMESTAMPTZ DEFAULT now(),
      idempotency_key TEXT UNIQUE,
      run_id UUID,
      violation TEXT NOT NULL,
      message TEXT NOT NULL,
      evidence JSONB NOT NULL,
      verdict_id UUID REFERENCES audit_verdicts(id)
    );

    CREATE TABLE disciplinary_actions (
      model_id TEXT,
      action TEXT,
      reason TEXT,
      timestamp TIMESTAMPTZ DEFAULT now(),
      id UUID PRIMARY KEY,
      idempotency_key TEXT UNIQUE,
      incident_id UUID REFERENCES incidents(id),
      severity INT NOT NULL,
      policy_version TEXT NOT NULL,
      enforced BOOLEAN NOT NULL DEFAULT true,
      run_id UUID
    );

    CREATE TABLE scores (
      id UUID PRIMARY KEY,
      idempotency_key TEXT NOT NULL UNIQUE,
      employee_id TEXT NOT NULL REFERENCES employees(id),
      run_id UUID,
      task_id UUID,
      capability TEXT NOT NULL,
      score NUMERIC(6,2) NOT NULL,
      reputation_before NUMERIC(6,2) NOT NULL,
      reputation_after NUMERIC(6,2) NOT NULL,
      details JSONB NOT NULL DEFAULT '{}'::jsonb,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    CREATE INDEX incidents_model_idx ON incidents (model_id, reported_at);
    CREATE INDEX audit_events_run_idx ON audit_events (run_id, seq);
    CREATE INDEX model_runs_run_idx ON model_runs (run_id, created_at);
    CREATE INDEX scores_employee_idx ON scores (employee_id, created_at);
  `.execute(db);

  // The governance record is append-only: these tables refuse UPDATE, DELETE and TRUNCATE.
  // Retention clean-up (a recorded Director action, past AUDIT_LOG_RETENTION_DAYS) will be the
  // one exception, through a dedicated function added in its own migration.
  await sql`
    CREATE FUNCTION aura_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END;
    $$;
  `.execute(db);
  for (const table of [
    'audit_events',
    'agent_activity_logs',
    'director_actions',
    'incidents',
    'disciplinary_actions',
    'model_runs',
    'audit_verdicts',
    'scores',
  ]) {
    await sql`
      CREATE TRIGGER ${sql.raw(`${table}_append_only`)}
        BEFORE UPDATE OR DELETE ON ${sql.table(table)}
        FOR EACH ROW EXECUTE FUNCTION aura_refuse_change();
      CREATE TRIGGER ${sql.raw(`${table}_no_truncate`)}
        BEFORE TRUNCATE ON ${sql.table(table)}
        FOR EACH STATEMENT EXECUTE FUNCTION aura_refuse_change();
    `.execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('migrations are append-only: 0001 is never rolled back');
}
