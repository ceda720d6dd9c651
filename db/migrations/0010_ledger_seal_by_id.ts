/**
 * 0010 — the seal reads what is pending and deletes each entry by its id again, as 0005 did.
 *
 * 0009 made the seal take what is pending with one `DELETE … RETURNING` (through a CTE, sorted).
 * Measured after it landed, one writer appending 1,500 facts at a time, the same database, the
 * two seals swapped back and forth: 0005's seal 580 – 620 µs of the backend's CPU and 900 – 1,020
 * µs of wall time per fact, 0009's 600 – 660 µs and 1,055 – 1,410 µs. The single-fact commit
 * is the common one, so 0005's body is back; the rest of 0009 (the row trigger, the entry)
 * stays.
 *
 * FROZEN once landed: never edit this file; change the schema in a new migration.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- Chains every pending entry, in the order they were written, under the head's lock. With
    -- p_wait false it gives way when another transaction holds the lock (that one, or the next,
    -- seals what is left): writers then commit side by side and are chained in batches.
    CREATE OR REPLACE FUNCTION aura_ledger_seal(p_wait boolean) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
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
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are append-only: 0010 is never rolled back');
}
