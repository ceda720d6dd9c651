/**
 * The hash chain's rows: entries (appended by the database's own triggers, read here), the
 * chain head, signed checkpoints, retention purge receipts and the owner-only settings.
 * Digests of governed rows are computed by PostgreSQL exactly as the ledger trigger does
 * (`sha256(row_to_json(row)::text)` in UTC), so a row changed behind the ledger shows.
 */
import { CompiledQuery, sql } from 'kysely';
import { to as copyTo } from 'pg-copy-streams';
import type { Db } from '../connect.js';

/** An entry as the verifier reads it: hashes in hex (cheaper to fetch than bytes). */
export interface LedgerEntryRow {
  seq: number;
  entry: string;
  hash: string;
  rowTable: string;
  rowKey: string;
  rowHash: string;
}

export interface CheckpointRow {
  id: string;
  fromSeq: number;
  toSeq: number;
  rootHash: Buffer;
  lastHash: Buffer;
  keyId: string;
  publicKey: string;
  body: string;
  signature: string;
  createdAt: Date;
}

export interface PurgeReceiptRow {
  id: string;
  directorId: string;
  reason: string;
  before: Date;
  fromSeq: number;
  horizonSeq: number;
  horizonHash: string;
  checkpointId: string;
  merkleRoot: string;
  counts: Record<string, number>;
  createdAt: Date;
}

/**
 * Chains every entry still pending (written by a transaction that committed while another held
 * the chain head); waits for the head's lock, at most `lockTimeoutMs` when given (then PostgreSQL's
 * lock_not_available, 55P03, is thrown). Returns how many it sealed.
 */
export async function sealLedger(db: Db, lockTimeoutMs?: number): Promise<number> {
  if (lockTimeoutMs === undefined) {
    const result = await sql<{ n: string }>`SELECT aura_ledger_seal(true) AS n`.execute(db);
    return Number(result.rows[0]!.n);
  }
  return db.transaction().execute(async (tx) => {
    await setLockTimeout(tx, lockTimeoutMs);
    const result = await sql<{ n: string }>`SELECT aura_ledger_seal(true) AS n`.execute(tx);
    return Number(result.rows[0]!.n);
  });
}

/** PostgreSQL's code for a lock not granted within lock_timeout. */
export const LOCK_NOT_AVAILABLE = '55P03';

export function isLockTimeout(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === LOCK_NOT_AVAILABLE;
}

/** Inside a transaction: give up waiting for any lock after `ms` (lock_not_available). */
async function setLockTimeout(tx: Db, ms: number): Promise<void> {
  await sql`SELECT set_config('lock_timeout', ${`${Math.max(1, Math.round(ms))}ms`}, true)`.execute(tx);
}

/**
 * Which chain this connection's database holds, as the signer's log names it: the server's system
 * identifier (when the role may read it), the database's name and its oid (a database dropped and
 * created again under the same name gets another oid).
 */
export interface ChainIdentity {
  server: string;
  database: string;
  oid: number;
}

export async function chainIdentity(db: Db): Promise<ChainIdentity> {
  const own = await sql<{ database: string; oid: string }>`
    SELECT current_database() AS database, (SELECT oid::text FROM pg_database WHERE datname = current_database()) AS oid`.execute(db);
  let server = 'unknown';
  try {
    const sys = await sql<{ id: string }>`SELECT system_identifier::text AS id FROM pg_control_system()`.execute(db);
    server = sys.rows[0]?.id ?? server;
  } catch {
    // pg_control_system() revoked from this role: the name and oid still tell databases apart on one server.
  }
  return { server, database: own.rows[0]!.database, oid: Number(own.rows[0]!.oid) };
}

/** The database's clock now (the clock of checkpoints' created_at). */
export async function databaseNow(db: Db): Promise<Date> {
  const result = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(db);
  return result.rows[0]!.now;
}

export async function chainHead(db: Db): Promise<{ seq: number; hash: Buffer }> {
  const row = await db.selectFrom('ledger_head').select(['seq', 'hash']).where('chain', '=', 'governance').executeTakeFirstOrThrow();
  return { seq: Number(row.seq), hash: row.hash };
}

/**
 * Entries with fromSeq ≤ seq ≤ toSeq, in seq order, fetched a page at a time. Each row comes as
 * one line (seq, hash, row hash, table, key, entry; the entry last, as it may hold spaces): a
 * million entries parse in a third less time than as six columns.
 */
export async function* entriesBetween(
  db: Db,
  fromSeq: number,
  toSeq = Number.MAX_SAFE_INTEGER,
  page = 50_000,
): AsyncGenerator<LedgerEntryRow> {
  const fetchAfter = (after: number) =>
    sql<{ l: string }>`
      SELECT seq::text || ' ' || encode(hash, 'hex') || ' ' || encode(row_hash, 'hex') || ' ' || length(row_table) || ' '
             || row_table || ${UTF16_LENGTH} || ' ' || row_key || entry AS l
      FROM ledger_entries WHERE seq > ${after} AND seq <= ${toSeq} ORDER BY seq LIMIT ${page}`.execute(db);
  let next = fetchAfter(fromSeq - 1);
  for (;;) {
    const { rows } = await next;
    const entries = rows.map(({ l }) => parseLine(l));
    const full = rows.length === page;
    // The next page is on its way while this one is read.
    if (full) {
      next = fetchAfter(entries[entries.length - 1]!.seq);
      next.catch(() => {}); // a reader that stops early leaves it unread; a reader that goes on sees its error
    }
    yield* entries;
    if (!full) return;
  }
}

/** A key's length as JavaScript counts it (UTF-16 code units: a character past U+FFFF is two). */
const UTF16_LENGTH = sql.raw(
  `CASE WHEN octet_length(row_key) = length(row_key) THEN length(row_key) ` +
    `ELSE length(row_key) + length(regexp_replace(row_key, '[^\\U00010000-\\U0010FFFF]', '', 'g')) END`,
);

/** Reads `seq hash rowHash len(table) table len(key) key entry` (lengths keep any text intact). */
function parseLine(l: string): LedgerEntryRow {
  const s1 = l.indexOf(' ');
  const seq = Number(l.slice(0, s1));
  const hash = l.slice(s1 + 1, s1 + 65);
  const rowHash = l.slice(s1 + 66, s1 + 130);
  let i = s1 + 131;
  const s2 = l.indexOf(' ', i);
  const tableLength = Number(l.slice(i, s2));
  const rowTable = l.slice(s2 + 1, s2 + 1 + tableLength);
  i = s2 + 1 + tableLength;
  const s3 = l.indexOf(' ', i);
  const keyLength = Number(l.slice(i, s3));
  const rowKey = l.slice(s3 + 1, s3 + 1 + keyLength);
  return { seq, hash, rowHash, rowTable, rowKey, entry: l.slice(s3 + 1 + keyLength) };
}

/**
 * The entries with fromSeq ≤ seq ≤ toSeq in seq order, as PostgreSQL's binary COPY format (header,
 * then per entry: seq int8, hash, prev_hash, row_hash, row_table, row_key, entry; see
 * integrity/chain-scan.ts), handed to `onChunk` as it arrives: several entries per chunk, an entry
 * possibly cut between two. No row objects are made, and the entry's bytes are what is hashed.
 * Holds one pooled connection until the last chunk is read, even when `onChunk` throws.
 */
export async function copyEntries(db: Db, fromSeq: number, toSeq: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  const from = Math.trunc(fromSeq);
  const to = Math.min(Math.trunc(toSeq), Number.MAX_SAFE_INTEGER);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw new Error(`copyEntries: not a range of entries: ${fromSeq}–${toSeq}`);
  const stream = copyTo(
    `COPY (SELECT seq, hash, prev_hash, row_hash, row_table, row_key, entry FROM ledger_entries ` +
      `WHERE seq >= ${from} AND seq <= ${to} ORDER BY seq) TO STDOUT (FORMAT binary)`,
  );
  const run = async (conn: Db) => {
    // pg runs any object with a submit() method as a query (that is how pg-copy-streams is used:
    // client.query(copyTo(…))), and kysely hands the compiled text to client.query unchanged: the
    // reserved connection's client (a transaction's own, or one taken from the pool) starts the
    // COPY and the stream reads it. The connection stays reserved until the stream has ended.
    await conn.executeQuery({ ...CompiledQuery.raw('COPY'), sql: stream as unknown as string });
    let failed: unknown = null;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (failed !== null) continue; // read to the end: the connection is free only then
      try {
        onChunk(chunk);
      } catch (err) {
        failed = err;
      }
    }
    if (failed !== null) throw failed;
  };
  if (db.isTransaction) await run(db);
  else await db.connection().execute(run);
}

/** Whether the database keeps text in UTF-8 (then every text it sends this client is valid UTF-8). */
export async function textIsUtf8(db: Db): Promise<boolean> {
  const result = await sql<{ utf8: boolean }>`
    SELECT current_setting('server_encoding') = 'UTF8' AND current_setting('client_encoding') = 'UTF8' AS utf8`.execute(db);
  return result.rows[0]!.utf8;
}

/** The last entry at or before `seq` and after `after` (seq and hash), or null when there is none. */
export async function lastEntryAtOrBefore(db: Db, seq: number, after: number): Promise<{ seq: number; hash: Buffer } | null> {
  const row = await db
    .selectFrom('ledger_entries')
    .select(['seq', 'hash'])
    .where('seq', '<=', String(seq))
    .where('seq', '>', String(after))
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), hash: row.hash } : null;
}

/** The stored prev_hash of one entry (hex), or null when there is no such entry. */
export async function prevHashAt(db: Db, seq: number): Promise<string | null> {
  const row = await db.selectFrom('ledger_entries').select('prev_hash').where('seq', '=', String(seq)).executeTakeFirst();
  return row ? row.prev_hash.toString('hex') : null;
}

/** The stored hash of one entry (hex), or null when there is no such entry. */
export async function entryHashAt(db: Db, seq: number): Promise<string | null> {
  const row = await db.selectFrom('ledger_entries').select('hash').where('seq', '=', String(seq)).executeTakeFirst();
  return row ? row.hash.toString('hex') : null;
}

/** The newest entry written strictly before `before` (the purge horizon candidate). */
export async function lastEntryBefore(db: Db, before: Date): Promise<number | null> {
  const row = await db
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('at', '<', before)
    .executeTakeFirst();
  return row?.seq == null ? null : Number(row.seq);
}

/** The governed tables, their key columns and their size on disk (the rows' main fork, current without ANALYZE). */
export async function governedTables(db: Db): Promise<{ table: string; keyColumns: string[]; bytes: number }[]> {
  const result = await sql<{ table_name: string; key_columns: string[]; bytes: string | null }>`
    SELECT table_name, key_columns, pg_relation_size(to_regclass(table_name))::text AS bytes FROM ledger_tables ORDER BY table_name`.execute(
    db,
  );
  return result.rows.map((r) => ({ table: r.table_name, keyColumns: r.key_columns, bytes: Number(r.bytes ?? 0) }));
}

export interface RowMismatch {
  table: string;
  key: string;
  /** The row's newest ledger entry; null when the row has none (written behind the ledger). */
  seq: number | null;
  recorded: string | null;
  current: string | null;
}

/** One of `of` parts of a table's rows and entries, by a hash of the row's key. */
export interface RowPart {
  index: number;
  of: number;
}

/**
 * Rows of one governed table whose current digest differs from their newest entry's: changed,
 * deleted (recorded, now missing) or never recorded. Entries at or below `horizon` are gone.
 * With `part`, only the rows (and entries) whose key falls in that part: the parts of a large
 * table can be compared side by side on several connections.
 */
export async function rowMismatches(
  db: Db,
  table: string,
  keyColumns: string[],
  lockTimeoutMs?: number,
  part: RowPart = { index: 0, of: 1 },
): Promise<RowMismatch[]> {
  // A key column's text is what to_jsonb(row)->>column gives for the key types used (text, uuid).
  const keyExpr = sql.raw(keyColumns.map((c) => `coalesce(t.${ident(c)}::text, '')`).join(` || '/' || `));
  const inPart = (key: ReturnType<typeof sql.raw> | ReturnType<typeof sql.ref>) =>
    part.of <= 1 ? sql`true` : sql`(hashtext(${key}) & 2147483647) % ${part.of}::int = ${part.index}::int`;
  return db.transaction().execute(async (tx) => {
    // The entries' newest digests are hashed in memory; the table's rows stream past them (digest
    // computed once per row, nothing written to temporary files).
    await sql`SELECT set_config('timezone', 'UTC', true), set_config('work_mem', '256MB', true)`.execute(tx);
    if (lockTimeoutMs !== undefined) await setLockTimeout(tx, lockTimeoutMs);
    const result = await sql<{ key: string; seq: string | null; recorded: string | null; current: string | null }>`
      SELECT coalesce(l.row_key, d.k) AS key, l.seq, encode(coalesce(p.row_hash, l.row_hash), 'hex') AS recorded,
             encode(d.digest, 'hex') AS current
      FROM (
        SELECT DISTINCT ON (row_key) row_key, seq, row_hash FROM ledger_entries
        WHERE row_table = ${table} AND ${inPart(sql.ref('row_key'))} ORDER BY row_key DESC, seq DESC
      ) l
      FULL JOIN (
        SELECT k, pg_catalog.sha256(convert_to(j::text, 'UTF8')) AS digest
        FROM (SELECT ${keyExpr} AS k, row_to_json(t) AS j FROM ${sql.table(table)} t) r WHERE ${inPart(sql.ref('k'))}
      ) d ON d.k = l.row_key
      LEFT JOIN (
        -- Entries committed with their rows and not chained yet are newer than any chained one.
        SELECT DISTINCT ON (row_key) row_key, row_hash FROM ledger_pending WHERE row_table = ${table} ORDER BY row_key, id DESC
      ) p ON p.row_key = coalesce(l.row_key, d.k)
      WHERE coalesce(p.row_hash, l.row_hash) IS DISTINCT FROM d.digest
      ORDER BY l.seq NULLS LAST, 1
      LIMIT 1000`.execute(tx);
    return result.rows.map((r) => ({
      table,
      key: r.key,
      seq: r.seq === null ? null : Number(r.seq),
      recorded: r.recorded,
      current: r.current,
    }));
  });
}

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a column name: ${name}`);
  return name;
}

function toCheckpoint(r: {
  id: string;
  from_seq: string;
  to_seq: string;
  root_hash: Buffer;
  last_hash: Buffer;
  key_id: string;
  public_key: string;
  body: string;
  signature: string;
  created_at: Date;
}): CheckpointRow {
  return {
    id: r.id,
    fromSeq: Number(r.from_seq),
    toSeq: Number(r.to_seq),
    rootHash: r.root_hash,
    lastHash: r.last_hash,
    keyId: r.key_id,
    publicKey: r.public_key,
    body: r.body,
    signature: r.signature,
    createdAt: r.created_at,
  };
}

export async function checkpoints(db: Db): Promise<CheckpointRow[]> {
  const rows = await db.selectFrom('ledger_checkpoints').selectAll().where('chain', '=', 'governance').orderBy('to_seq').execute();
  return rows.map(toCheckpoint);
}

export async function latestCheckpoint(db: Db): Promise<CheckpointRow | null> {
  const row = await db
    .selectFrom('ledger_checkpoints')
    .selectAll()
    .where('chain', '=', 'governance')
    .orderBy('to_seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? toCheckpoint(row) : null;
}

export type NewCheckpoint = Omit<CheckpointRow, 'createdAt'>;

/**
 * Runs `build` under a transaction-scoped advisory lock, so two checkpointers never sign
 * overlapping ranges, and adds what it returns (nothing when it returns null) through the owner's
 * guarded function, which refuses a checkpoint that does not continue the last one (0008). With
 * `lockTimeoutMs`, waits at most that long for any lock (then lock_not_available, 55P03).
 */
export async function withCheckpointLock(
  db: Db,
  build: (tx: Db) => Promise<NewCheckpoint | null>,
  lockTimeoutMs?: number,
): Promise<NewCheckpoint | null> {
  return db.transaction().execute(async (tx) => {
    if (lockTimeoutMs !== undefined) await setLockTimeout(tx, lockTimeoutMs);
    await sql`SELECT pg_advisory_xact_lock(hashtext('aura.ledger.checkpoint'))`.execute(tx);
    const cp = await build(tx);
    if (cp) {
      await sql`
        SELECT aura_ledger_checkpoint_add(${cp.id}::uuid, ${cp.fromSeq}::bigint, ${cp.toSeq}::bigint, ${cp.rootHash}::bytea,
          ${cp.lastHash}::bytea, ${cp.keyId}::text, ${cp.publicKey}::text, ${cp.body}::text, ${cp.signature}::text)`.execute(tx);
    }
    return cp;
  });
}

export async function purgeReceipts(db: Db): Promise<PurgeReceiptRow[]> {
  const rows = await db.selectFrom('retention_purges').selectAll().orderBy('horizon_seq').execute();
  return rows.map((r) => ({
    id: r.id,
    directorId: r.director_id,
    reason: r.reason,
    before: r.before,
    fromSeq: Number(r.from_seq),
    horizonSeq: Number(r.horizon_seq),
    horizonHash: r.horizon_hash,
    checkpointId: r.checkpoint_id,
    merkleRoot: r.merkle_root,
    counts: r.counts,
    createdAt: r.created_at,
  }));
}

export interface PurgeRequest {
  id: string;
  before: Date;
  horizonSeq: number;
  reason: string;
  directorId: string;
  merkleRoot: string;
}

/** The owner's purge function: it refuses anything inside retention or past a signed checkpoint. */
export async function purgeThrough(db: Db, p: PurgeRequest): Promise<Record<string, number>> {
  const result = await sql<{ counts: Record<string, number> }>`
    SELECT aura_retention_purge(${p.id}::uuid, ${p.before}::timestamptz, ${p.horizonSeq}::bigint, ${p.reason}, ${p.directorId}, ${p.merkleRoot}) AS counts
  `.execute(db);
  return result.rows[0]!.counts;
}

export async function purgeReceipt(db: Db, id: string): Promise<PurgeReceiptRow | null> {
  return (await purgeReceipts(db)).find((r) => r.id === id) ?? null;
}

/** The ledger's clock (now, plus the offset a test database may set) and the retention floor. */
export async function retentionClock(db: Db): Promise<{ now: Date; retentionDays: number }> {
  const result = await sql<{ now: Date; days: string }>`
    SELECT aura_now() AS now, (SELECT value FROM aura_settings WHERE key = 'retention_days') AS days`.execute(db);
  const row = result.rows[0]!;
  return { now: row.now, retentionDays: Number(row.days) };
}
