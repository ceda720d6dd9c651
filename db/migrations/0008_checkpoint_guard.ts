/**
 * 0008 — checkpoints go in only through the owner's guarded function.
 *
 * `aura_ledger_checkpoint_add` (SECURITY DEFINER, granted to the application role by the code
 * that sets its rights; the application loses INSERT on `ledger_checkpoints`) adds a signed
 * checkpoint only when it continues the ones before it:
 * - it starts at the entry after the last checkpoint (or the purge horizon): no gap, no overlap;
 * - it ends at or before the chain head, at the entry whose hash it names;
 * - its first entry follows the last checkpoint's end hash (or the purge horizon's, or the
 *   chain's zero hash for the very first);
 * - its signed body says what its columns say;
 * - it is signed by the previous checkpoint's key, unless the tables' owner itself calls
 *   (a new key is the owner's to introduce).
 * It cannot check the Ed25519 signature (PostgreSQL has no Ed25519): the verifier does, with the
 * keys the Director pins, never the key stored in the row. `created_at` is the database's clock.
 *
 * FROZEN once landed: never edit this file; change the schema in a new migration.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION aura_ledger_checkpoint_add(p_id uuid, p_from bigint, p_to bigint, p_root bytea, p_last bytea,
                                               p_key_id text, p_public_key text, p_body text, p_signature text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp AS $$
    DECLARE
      last ledger_checkpoints%ROWTYPE;
      purge retention_purges%ROWTYPE;
      head_seq bigint;
      expected bigint;
      prev_end bytea;
      e ledger_entries%ROWTYPE;
      b jsonb;
      by_owner boolean := session_user::text =
        (SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = 'ledger_checkpoints'::regclass);
    BEGIN
      -- One checkpointer at a time (the same lock the checkpointer takes).
      PERFORM pg_advisory_xact_lock(hashtext('aura.ledger.checkpoint'));
      SELECT * INTO last FROM ledger_checkpoints WHERE chain = 'governance' ORDER BY to_seq DESC LIMIT 1;
      SELECT * INTO purge FROM retention_purges ORDER BY horizon_seq DESC LIMIT 1;
      expected := greatest(coalesce(last.to_seq, 0), coalesce(purge.horizon_seq, 0)) + 1;
      IF p_from IS DISTINCT FROM expected THEN
        RAISE EXCEPTION 'refused: a checkpoint must start at entry % (the one after the last signed), not %', expected, p_from
          USING ERRCODE = 'check_violation';
      END IF;
      SELECT seq INTO head_seq FROM ledger_head WHERE chain = 'governance';
      IF p_to IS NULL OR p_to < p_from OR p_to > head_seq THEN
        RAISE EXCEPTION 'refused: a checkpoint to entry % is past the chain head (entry %)', p_to, head_seq
          USING ERRCODE = 'check_violation';
      END IF;
      SELECT * INTO e FROM ledger_entries WHERE seq = p_to;
      IF NOT FOUND OR e.hash IS DISTINCT FROM p_last THEN
        RAISE EXCEPTION 'refused: entry % is not the entry this checkpoint names', p_to USING ERRCODE = 'check_violation';
      END IF;
      IF purge.id IS NOT NULL AND purge.horizon_seq >= coalesce(last.to_seq, 0) THEN
        prev_end := decode(purge.horizon_hash, 'hex');
      ELSIF last.id IS NOT NULL THEN
        prev_end := last.last_hash;
      ELSE
        prev_end := decode(repeat('00', 32), 'hex');
      END IF;
      SELECT * INTO e FROM ledger_entries WHERE seq = p_from;
      IF NOT FOUND OR e.prev_hash IS DISTINCT FROM prev_end THEN
        RAISE EXCEPTION 'refused: entry % does not follow the end of the last signed checkpoint', p_from
          USING ERRCODE = 'check_violation';
      END IF;
      IF octet_length(p_root) IS DISTINCT FROM 32 THEN
        RAISE EXCEPTION 'refused: a Merkle root is 32 bytes' USING ERRCODE = 'check_violation';
      END IF;
      BEGIN
        b := p_body::jsonb;
      EXCEPTION WHEN others THEN
        b := NULL;
      END;
      IF b IS NULL OR jsonb_typeof(b) <> 'object'
         OR b->>'format' IS DISTINCT FROM 'aura-ledger-checkpoint/1' OR b->>'chain' IS DISTINCT FROM 'governance'
         OR b->>'fromSeq' IS DISTINCT FROM p_from::text OR b->>'toSeq' IS DISTINCT FROM p_to::text
         OR b->>'treeSize' IS DISTINCT FROM (p_to - p_from + 1)::text
         OR b->>'rootHash' IS DISTINCT FROM encode(p_root, 'hex') OR b->>'lastHash' IS DISTINCT FROM encode(p_last, 'hex')
         OR b->>'keyId' IS DISTINCT FROM p_key_id THEN
        RAISE EXCEPTION 'refused: the signed body does not say what the checkpoint''s columns say' USING ERRCODE = 'check_violation';
      END IF;
      IF last.id IS NOT NULL AND NOT by_owner
         AND (last.key_id IS DISTINCT FROM p_key_id OR last.public_key IS DISTINCT FROM p_public_key) THEN
        RAISE EXCEPTION 'refused: signed by key %, not the key of the last checkpoint (%); a new key is the owner''s to introduce',
          p_key_id, last.key_id USING ERRCODE = 'check_violation';
      END IF;
      INSERT INTO ledger_checkpoints (id, chain, from_seq, to_seq, root_hash, last_hash, key_id, public_key, body, signature)
        VALUES (p_id, 'governance', p_from, p_to, p_root, p_last, p_key_id, p_public_key, p_body, p_signature);
    END $$;
    REVOKE ALL ON FUNCTION aura_ledger_checkpoint_add(uuid, bigint, bigint, bytea, bytea, text, text, text, text) FROM PUBLIC;
    REVOKE INSERT ON ledger_checkpoints FROM PUBLIC;
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are append-only: 0008 is never rolled back');
}
