/**
 * 0005 — a record nobody can rewrite without it showing.
 *
 * Every insert or update of a governance table writes one entry: RFC 8785 canonical JSON (only
 * strings and null, keys in order) naming the table, the row's key, its run and the sha256 of the
 * row as PostgreSQL renders it (`row_to_json(row)::text` in UTC). At commit, a deferred constraint
 * trigger seals pending entries into `ledger_entries` under the chain-head row's lock, chained by
 * hash: `hash = sha256(prev_hash ‖ entry)`. A writer that finds the lock taken commits without
 * waiting and its entry is sealed by the holder's successor (or `aura_ledger_seal`, which the
 * verifier, the checkpointer and the purge call first), so concurrent writers commit side by
 * side and are chained in batches. A rolled-back transaction leaves no entry; `seq` has no gap.
 * The trigger functions run as the tables' owner (SECURITY DEFINER), so the application role
 * needs no right on the ledger tables but SELECT.
 *
 * Retention: `aura_retention_purge` is the only way rows leave the record (owner's function,
 * refused inside retention, without a reason, or past the last signed checkpoint). It removes
 * finished runs and the ledger entries up to a checkpoint, carries every surviving row into a
 * fresh entry, and writes a receipt row, itself chained.
 *
 * FROZEN once landed: never edit this file; change the schema in a new migration.
 */
import { sql, type Kysely } from 'kysely';

/** Governed tables and the columns that make up a row's key in the ledger. */
const GOVERNED: Record<string, string[]> = {
  projects: ['id'],
  orchestra_runs: ['id'],
  task_queue: ['id'],
  employees: ['id'],
  employee_capabilities: ['employee_id', 'capability'],
  model_runs: ['id'],
  audit_verdicts: ['id'],
  verifications: ['id'],
  agent_activity_logs: ['id'],
  audit_events: ['id'],
  director_actions: ['id'],
  incidents: ['id'],
  disciplinary_actions: ['id'],
  scores: ['id'],
  retention_purges: ['id'],
  aura_settings: ['key'],
};

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Superseded by ledger_entries (the chain covers every governance table, not only events).
    ALTER TABLE audit_events DROP COLUMN prev_hash;
    ALTER TABLE audit_events DROP COLUMN hash;

    CREATE TABLE ledger_head (
      chain TEXT PRIMARY KEY,
      seq BIGINT NOT NULL,
      hash BYTEA NOT NULL
    );
    INSERT INTO ledger_head (chain, seq, hash) VALUES ('governance', 0, decode(repeat('00', 32), 'hex'));

    CREATE TABLE ledger_entries (
      seq BIGINT PRIMARY KEY,
      at TIMESTAMPTZ NOT NULL,
      entry TEXT NOT NULL,
      prev_hash BYTEA NOT NULL,
      hash BYTEA NOT NULL,
      row_table TEXT NOT NULL,
      row_key TEXT NOT NULL,
      row_hash BYTEA NOT NULL,
      run_id UUID
    );
    -- Entries written by committed transactions and not chained yet (sealed within moments).
    CREATE TABLE ledger_pending (
      id BIGSERIAL PRIMARY KEY,
      at TIMESTAMPTZ NOT NULL,
      entry TEXT NOT NULL,
      row_table TEXT NOT NULL,
      row_key TEXT NOT NULL,
      row_hash BYTEA NOT NULL,
      run_id UUID
    );
    CREATE INDEX ledger_entries_row_idx ON ledger_entries (row_table, row_key, seq) INCLUDE (row_hash);
    CREATE INDEX ledger_entries_run_idx ON ledger_entries (run_id, seq);

    CREATE TABLE ledger_checkpoints (
      id UUID PRIMARY KEY,
      chain TEXT NOT NULL DEFAULT 'governance',
      from_seq BIGINT NOT NULL,
      to_seq BIGINT NOT NULL,
      root_hash BYTEA NOT NULL,
      last_hash BYTEA NOT NULL,
      key_id TEXT NOT NULL,
      public_key TEXT NOT NULL,
      body TEXT NOT NULL,
      signature TEXT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      UNIQUE (chain, to_seq),
      CHECK (from_seq >= 1 AND to_seq >= from_seq)
    );

    CREATE TABLE retention_purges (
      id UUID PRIMARY KEY,
      director_id TEXT NOT NULL,
      reason TEXT NOT NULL,
      before TIMESTAMPTZ NOT NULL,
      from_seq BIGINT NOT NULL,
      horizon_seq BIGINT NOT NULL,
      horizon_hash TEXT NOT NULL,
      checkpoint_id UUID NOT NULL REFERENCES ledger_checkpoints(id),
      merkle_root TEXT NOT NULL,
      counts JSONB NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );

    -- Owner-only settings: the retention floor, and the clock offset a test database may use.
    CREATE TABLE aura_settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    INSERT INTO aura_settings (key, value) VALUES ('retention_days', '365'), ('clock_offset', '0 seconds');

    -- Which tables the chain covers, and the columns of a row's key (the verifier reads this too).
    CREATE TABLE ledger_tables (
      table_name TEXT PRIMARY KEY,
      key_columns TEXT[] NOT NULL
    );
  `.execute(db);
  for (const [table, key] of Object.entries(GOVERNED)) {
    await sql`INSERT INTO ledger_tables (table_name, key_columns) VALUES (${table}, ${key})`.execute(db);
  }

  await sql`
    CREATE FUNCTION aura_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
      SELECT now() + coalesce((SELECT value::interval FROM aura_settings WHERE key = 'clock_offset'), interval '0');
    $$;

    -- The row's digest as the ledger records it: sha256 of PostgreSQL's JSON of the row
    -- (row_to_json: every column in table order), in UTC.
    CREATE FUNCTION aura_row_digest(r json) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
      SELECT pg_catalog.sha256(convert_to(r::text, 'UTF8'));
    $$;

    -- The entry's bytes. RFC 8785: keys sorted, no spaces; every value a JSON string or null,
    -- escaped exactly as JSON.stringify escapes it.
    CREATE FUNCTION aura_ledger_entry(p_at timestamptz, p_op text, p_key text, p_row_hash bytea, p_run uuid, p_table text)
    RETURNS text LANGUAGE sql IMMUTABLE SET timezone = 'UTC' AS $$
      SELECT '{"at":' || to_json(to_char(p_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
        || ',"op":' || to_json(p_op)::text
        || ',"row":' || to_json(p_key)::text
        || ',"rowHash":' || to_json(encode(p_row_hash, 'hex'))::text
        || ',"run":' || coalesce(to_json(p_run::text)::text, 'null')
        || ',"table":' || to_json(p_table)::text || '}';
    $$;

    -- Chains every pending entry, in the order they were written, under the head's lock. With
    -- p_wait false it gives way when another transaction holds the lock (that one, or the next,
    -- seals what is left): writers then commit side by side and are chained in batches.
    CREATE FUNCTION aura_ledger_seal(p_wait boolean) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp AS $$
    DECLARE
      h ledger_head%ROWTYPE;
      p ledger_pending%ROWTYPE;
      v_seq bigint;
      v_hash bytea;
      n bigint := 0;
    BEGIN
      IF p_wait THEN
        SELECT * INTO h FROM ledger_head WHERE chain = 'governance' FOR UPDATE;
      ELSE
        SELECT * INTO h FROM ledger_head WHERE chain = 'governance' FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN RETURN 0; END IF;
      END IF;
      v_seq := h.seq;
      v_hash := h.hash;
      FOR p IN SELECT * FROM ledger_pending ORDER BY id LOOP
        v_seq := v_seq + 1;
        INSERT INTO ledger_entries (seq, at, entry, prev_hash, hash, row_table, row_key, row_hash, run_id)
          VALUES (v_seq, p.at, p.entry, v_hash, sha256(v_hash || convert_to(p.entry, 'UTF8')), p.row_table, p.row_key, p.row_hash, p.run_id)
          RETURNING hash INTO v_hash;
        DELETE FROM ledger_pending WHERE id = p.id;
        n := n + 1;
      END LOOP;
      IF n > 0 THEN
        UPDATE ledger_head SET seq = v_seq, hash = v_hash WHERE chain = 'governance';
      END IF;
      RETURN n;
    END $$;

    -- Writes one entry and chains it at once (the backfill and the purge's carried rows).
    CREATE FUNCTION aura_ledger_append(p_table text, p_key text, p_run uuid, p_row_hash bytea, p_op text)
    RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp AS $$
    DECLARE
      t timestamptz := clock_timestamp();
    BEGIN
      INSERT INTO ledger_pending (at, entry, row_table, row_key, row_hash, run_id)
        VALUES (t, aura_ledger_entry(t, p_op, p_key, p_row_hash, p_run, p_table), p_table, p_key, p_row_hash, p_run);
      RETURN aura_ledger_seal(true);
    END $$;

    -- Row trigger: the row's entry, pending until its transaction commits and is sealed.
    CREATE FUNCTION aura_ledger_record() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp SET timezone = 'UTC' AS $$
    DECLARE
      r jsonb := to_jsonb(NEW);
      k text := '';
      i int;
      run uuid;
      t timestamptz := clock_timestamp();
      d bytea;
    BEGIN
      FOR i IN 0 .. TG_NARGS - 1 LOOP
        k := k || CASE WHEN i > 0 THEN '/' ELSE '' END || coalesce(r->>TG_ARGV[i], '');
      END LOOP;
      run := CASE WHEN TG_TABLE_NAME = 'orchestra_runs' THEN (r->>'id')::uuid ELSE (r->>'run_id')::uuid END;
      d := aura_row_digest(row_to_json(NEW));
      INSERT INTO ledger_pending (at, entry, row_table, row_key, row_hash, run_id)
        VALUES (t, aura_ledger_entry(t, lower(TG_OP), k, d, run, TG_TABLE_NAME::text), TG_TABLE_NAME::text, k, d, run);
      RETURN NULL;
    END $$;

    -- At commit: seal what is pending, unless another transaction is sealing right now.
    CREATE FUNCTION aura_ledger_seal_at_commit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp AS $$
    BEGIN
      PERFORM aura_ledger_seal(false);
      RETURN NULL;
    END $$;

    -- Append-only tables refuse UPDATE, DELETE and TRUNCATE, except inside the retention purge
    -- running as the table's owner.
    CREATE OR REPLACE FUNCTION aura_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('aura.retention_purge', true) = 'on'
         AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END;
    $$;
  `.execute(db);

  for (const [table, key] of Object.entries(GOVERNED)) {
    const args = sql.raw(key.map((c) => `'${c}'`).join(', '));
    await sql`
      CREATE TRIGGER ${sql.raw(`${table}_ledger`)}
        AFTER INSERT OR UPDATE ON ${sql.table(table)}
        FOR EACH ROW EXECUTE FUNCTION aura_ledger_record(${args});
      CREATE CONSTRAINT TRIGGER ${sql.raw(`${table}_ledger_seal`)}
        AFTER INSERT OR UPDATE ON ${sql.table(table)}
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION aura_ledger_seal_at_commit();
    `.execute(db);
  }
  for (const table of ['retention_purges', 'ledger_checkpoints']) {
    await sql`
      CREATE TRIGGER ${sql.raw(`${table}_append_only`)}
        BEFORE UPDATE OR DELETE ON ${sql.table(table)}
        FOR EACH ROW EXECUTE FUNCTION aura_refuse_change();
      CREATE TRIGGER ${sql.raw(`${table}_no_truncate`)}
        BEFORE TRUNCATE ON ${sql.table(table)}
        FOR EACH STATEMENT EXECUTE FUNCTION aura_refuse_change();
    `.execute(db);
  }
  await sql`
    CREATE FUNCTION aura_ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('aura.retention_purge', true) = 'on'
         AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'the ledger is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
      FOR EACH ROW EXECUTE FUNCTION aura_ledger_refuse();
    CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
      FOR EACH STATEMENT EXECUTE FUNCTION aura_ledger_refuse();
  `.execute(db);

  await createPurgeFunction(db);
  // SECURITY DEFINER functions run as the owner: nobody else may call the ones that write the
  // chain; the purge is granted to the application role by the code that sets up its rights.
  await sql`
    REVOKE ALL ON FUNCTION aura_ledger_append(text, text, uuid, bytea, text) FROM PUBLIC;
    REVOKE ALL ON FUNCTION aura_ledger_record() FROM PUBLIC;
    REVOKE ALL ON FUNCTION aura_ledger_seal_at_commit() FROM PUBLIC;
    REVOKE ALL ON FUNCTION aura_ledger_carry(bigint) FROM PUBLIC;
    REVOKE ALL ON FUNCTION aura_ledger_rerecord(text) FROM PUBLIC;
    REVOKE ALL ON FUNCTION aura_retention_purge(uuid, timestamptz, bigint, text, text, text) FROM PUBLIC;
  `.execute(db);

  // Every row already in the record gets its first entry, in table order.
  for (const [table, key] of Object.entries(GOVERNED)) {
    const keyExpr = sql.raw(key.map((c) => `coalesce(to_jsonb(t)->>'${c}', '')`).join(` || '/' || `));
    const runExpr = sql.raw(table === 'orchestra_runs' ? `(to_jsonb(t)->>'id')::uuid` : `(to_jsonb(t)->>'run_id')::uuid`);
    await sql`SET LOCAL timezone = 'UTC'`.execute(db);
    await sql`
      SELECT aura_ledger_append(${table}, k, run, aura_row_digest(j), 'insert')
      FROM (SELECT row_to_json(t) AS j, ${keyExpr} AS k, ${runExpr} AS run FROM ${sql.table(table)} t ORDER BY 2) rows;
    `.execute(db);
  }
}

async function createPurgeFunction(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION aura_retention_purge(p_id uuid, p_before timestamptz, p_horizon bigint, p_reason text,
                                         p_director text, p_merkle_root text)
    RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp SET timezone = 'UTC' SET aura.retention_purge = 'on' AS $$
    DECLARE
      days int := (SELECT value::int FROM aura_settings WHERE key = 'retention_days');
      cp ledger_checkpoints%ROWTYPE;
      last_purge retention_purges%ROWTYPE;
      from_seq bigint;
      horizon_entry ledger_entries%ROWTYPE;
      counts jsonb := '{}'::jsonb;
      n bigint;
      tbl text;
      runs uuid[];
    BEGIN
      IF p_reason IS NULL OR btrim(p_reason) = '' THEN
        RAISE EXCEPTION 'a retention purge needs a reason' USING ERRCODE = 'check_violation';
      END IF;
      IF p_director IS NULL OR btrim(p_director) = '' THEN
        RAISE EXCEPTION 'a retention purge needs the Director who asked for it' USING ERRCODE = 'check_violation';
      END IF;
      IF p_before > aura_now() - make_interval(days => days) THEN
        RAISE EXCEPTION 'refused: % is inside the % days of retention (nothing after % may be removed)',
          p_before, days, aura_now() - make_interval(days => days) USING ERRCODE = 'check_violation';
      END IF;
      PERFORM aura_ledger_seal(true);
      SELECT * INTO last_purge FROM retention_purges ORDER BY horizon_seq DESC LIMIT 1;
      from_seq := coalesce(last_purge.horizon_seq, 0) + 1;
      SELECT * INTO cp FROM ledger_checkpoints WHERE chain = 'governance' AND to_seq = p_horizon;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'refused: no signed checkpoint ends at entry %', p_horizon USING ERRCODE = 'check_violation';
      END IF;
      IF p_horizon < from_seq THEN
        RAISE EXCEPTION 'refused: entry % is already purged', p_horizon USING ERRCODE = 'check_violation';
      END IF;
      SELECT * INTO horizon_entry FROM ledger_entries WHERE seq = p_horizon;
      IF NOT FOUND OR horizon_entry.hash <> cp.last_hash THEN
        RAISE EXCEPTION 'refused: entry % does not match its signed checkpoint', p_horizon USING ERRCODE = 'check_violation';
      END IF;
      IF horizon_entry.at >= p_before THEN
        RAISE EXCEPTION 'refused: entry % was written at %, not before %', p_horizon, horizon_entry.at, p_before
          USING ERRCODE = 'check_violation';
      END IF;

      -- Finished runs whose every entry lies at or before the horizon.
      SELECT coalesce(array_agg(r.id), '{}') INTO runs FROM orchestra_runs r
      WHERE r.finished_at IS NOT NULL AND r.finished_at < p_before
        AND NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.run_id = r.id AND l.seq > p_horizon);
      counts := counts || jsonb_build_object('orchestra_runs', cardinality(runs));
      FOREACH tbl IN ARRAY ARRAY['disciplinary_actions', 'incidents', 'scores', 'audit_verdicts', 'verifications',
                                 'model_runs', 'audit_events', 'director_actions', 'agent_activity_logs', 'task_queue'] LOOP
        EXECUTE format('DELETE FROM %I WHERE run_id = ANY($1)', tbl) USING runs;
        GET DIAGNOSTICS n = ROW_COUNT;
        counts := counts || jsonb_build_object(tbl, n);
      END LOOP;
      DELETE FROM orchestra_runs WHERE id = ANY(runs);
      -- Run-less notes whose every entry lies at or before the horizon.
      FOREACH tbl IN ARRAY ARRAY['audit_events', 'director_actions', 'agent_activity_logs'] LOOP
        EXECUTE format(
          'DELETE FROM %I t WHERE t.run_id IS NULL AND NOT EXISTS ('
          'SELECT 1 FROM ledger_entries l WHERE l.row_table = %L AND l.row_key = t.id::text AND l.seq > $1)', tbl, tbl)
          USING p_horizon;
        GET DIAGNOSTICS n = ROW_COUNT;
        counts := jsonb_set(counts, ARRAY[tbl], to_jsonb((counts->>tbl)::bigint + n));
      END LOOP;
      DELETE FROM ledger_entries WHERE seq <= p_horizon;
      GET DIAGNOSTICS n = ROW_COUNT;
      counts := counts || jsonb_build_object('ledger_entries', n);
      counts := counts || jsonb_build_object('carried', aura_ledger_carry(p_horizon));
      INSERT INTO retention_purges (id, director_id, reason, before, from_seq, horizon_seq, horizon_hash, checkpoint_id,
                                    merkle_root, counts)
        VALUES (p_id, p_director, p_reason, p_before, from_seq, p_horizon, encode(cp.last_hash, 'hex'), cp.id,
                p_merkle_root, counts);
      RETURN counts;
    END $$;

    -- Every row whose entries were all purged gets a fresh entry ("carry") with its digest now.
    CREATE FUNCTION aura_ledger_carry(p_horizon bigint) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp SET timezone = 'UTC' AS $$
    DECLARE
      g record;
      rec record;
      total bigint := 0;
    BEGIN
      FOR g IN SELECT table_name AS tbl, key_columns FROM ledger_tables ORDER BY table_name LOOP
        FOR rec IN EXECUTE format(
          'SELECT j, k, run FROM (SELECT row_to_json(t) AS j, %s AS k, %s AS run FROM %I t) x '
          'WHERE NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.row_table = %L AND l.row_key = x.k) ORDER BY k',
          aura_key_expr(g.key_columns),
          aura_run_expr(g.tbl),
          g.tbl, g.tbl) LOOP
          PERFORM aura_ledger_append(g.tbl::text, rec.k, rec.run, aura_row_digest(rec.j), 'carry');
          total := total + 1;
        END LOOP;
      END LOOP;
      RETURN total;
    END $$;

    -- Records every row of one governed table again (op "migrate"): for a migration that adds,
    -- drops or rewrites a column, which changes the rows' digests.
    CREATE FUNCTION aura_ledger_rerecord(p_table text) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp SET timezone = 'UTC' AS $$
    DECLARE
      keys text[];
      rec record;
      total bigint := 0;
    BEGIN
      SELECT key_columns INTO keys FROM ledger_tables WHERE table_name = p_table;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'table % is not in the ledger', p_table;
      END IF;
      FOR rec IN EXECUTE format('SELECT row_to_json(t) AS j, %s AS k, %s AS run FROM %I t ORDER BY 2',
                                aura_key_expr(keys), aura_run_expr(p_table), p_table) LOOP
        PERFORM aura_ledger_append(p_table, rec.k, rec.run, aura_row_digest(rec.j), 'migrate');
        total := total + 1;
      END LOOP;
      RETURN total;
    END $$;

    -- The SQL expression of a row's run: a run's own id, else its run_id column.
    CREATE FUNCTION aura_run_expr(p_table text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
      SELECT CASE WHEN p_table = 'orchestra_runs' THEN '(to_jsonb(t)->>''id'')::uuid' ELSE '(to_jsonb(t)->>''run_id'')::uuid' END;
    $$;

    -- The SQL expression of a row's ledger key, from its key columns.
    CREATE FUNCTION aura_key_expr(key_columns text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
      SELECT string_agg(format('coalesce(to_jsonb(t)->>%L, '''')', a), ' || ''/'' || ' ORDER BY i)
      FROM unnest(key_columns) WITH ORDINALITY AS u(a, i);
    $$;
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are append-only: 0005 is never rolled back');
}
