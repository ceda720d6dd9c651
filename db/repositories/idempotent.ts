/**
 * Writing a row once per idempotency key. A retried step finds the row it wrote and gets it
 * back. A different payload under a key already taken is a conflict: it is recorded in the
 * ledger (an `idempotency.conflict` event, critical, with the digests of both payloads) and
 * refused with an `IdempotencyConflictError`, never dropped in silence.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { Db } from '../connect.js';
import type { Database } from '../schema.js';
import { storableJson } from '../storable.js';

type Table = keyof Database & string;
type Row = Record<string, unknown>;
type AnyDb = Kysely<Record<string, Row>>;

export interface IdempotencyConflict {
  table: string;
  /** The key the write asked for. */
  key: string;
  /** The conflict's own event key: `key` + ':conflict:' + the new payload's digest. */
  conflictKey: string;
  /** The compared columns whose values differ. */
  columns: string[];
  existingDigest: string;
  newDigest: string;
  runId: string | null;
}

export class IdempotencyConflictError extends Error {
  override name = 'IdempotencyConflictError';
  constructor(
    readonly conflict: IdempotencyConflict,
    /** False when raised inside a transaction: whoever rolls it back records it (`inTransaction`). */
    public recorded: boolean,
  ) {
    super(`${conflict.table}: ${conflict.key} already holds a different row (${conflict.columns.join(', ')}); the first one stands`);
  }
}

export interface OnceOptions {
  /** The columns that identify the row: the conflict target (default: idempotency_key). */
  by?: string[];
  /** Columns not compared (default: id): generated ids, what changes later, what is measured anew. */
  ignore?: string[];
}

/**
 * Inserts `values` unless a row with the same identity exists. Same payload: the existing row
 * (a retry). Different payload: the conflict is recorded and an `IdempotencyConflictError` thrown.
 */
export async function insertOnce<T extends Table>(
  db: Db,
  table: T,
  values: Insertable<Database[T]>,
  opts: OnceOptions = {},
): Promise<Selectable<Database[T]>> {
  const q = db as unknown as AnyDb;
  const row = values as Row;
  const by = opts.by ?? ['idempotency_key'];
  const inserted = await q
    .insertInto(table)
    .values(row)
    .onConflict((oc) => oc.columns(by).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return inserted as Selectable<Database[T]>;
  const ignore = new Set([...by, ...(opts.ignore ?? ['id'])]);
  const compared = Object.keys(row).filter((c) => !ignore.has(c) && row[c] !== undefined);
  const found = await existingWithPayloads(q, table, by, row, compared);
  const conflict = conflictOf(table, by, row, found);
  if (!conflict) return found.existing as Selectable<Database[T]>;
  if (db.isTransaction) throw new IdempotencyConflictError(conflict, false);
  await recordConflict(db, conflict);
  throw new IdempotencyConflictError(conflict, true);
}

/**
 * A transaction whose idempotency conflict survives its rollback: the conflict is recorded
 * after the rollback, on `db`, and the error rethrown.
 */
export async function inTransaction<R>(db: Db, fn: (tx: Db) => Promise<R>): Promise<R> {
  try {
    return await db.transaction().execute(fn);
  } catch (err) {
    if (err instanceof IdempotencyConflictError && !err.recorded) {
      await recordConflict(db, err.conflict);
      err.recorded = true;
    }
    throw err;
  }
}

/** The row written under `key`, if any (a retried step returns what it wrote). */
export async function findByKey<T extends Table>(db: Db, table: T, key: string): Promise<Selectable<Database[T]> | undefined> {
  const row = await (db as unknown as AnyDb).selectFrom(table).selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  return row as Selectable<Database[T]> | undefined;
}

interface Found {
  existing: Row;
  /** The compared columns as PostgreSQL holds them, for the existing row and for the new values. */
  before: Row;
  after: Row;
}

/** The existing row, and both payloads in the columns' types, as PostgreSQL holds them (49 = 49.00, JSON by value). */
async function existingWithPayloads(q: AnyDb, table: string, by: string[], row: Row, compared: string[]): Promise<Found> {
  const column = (c: string) => sql.ref(`t.${c}`);
  // CASE gives the new value the column's type, as the insert did.
  const typed = (c: string) => sql`case when false then ${column(c)} else ${row[c]} end`;
  const pairs = (value: (c: string) => unknown) => sql.join(compared.flatMap((c) => [sql`${c}::text`, value(c)]));
  const payload = (value: (c: string) => unknown) =>
    compared.length === 0 ? sql<Row>`'{}'::jsonb` : sql<Row>`jsonb_build_object(${pairs(value)})`;
  let query = q.selectFrom(`${table} as t`).selectAll('t').select(payload(column).as('__before')).select(payload(typed).as('__after'));
  for (const c of by) query = query.where(`t.${c}`, '=', row[c]);
  const { __before, __after, ...existing } = (await query.executeTakeFirstOrThrow()) as Row & { __before: Row; __after: Row };
  return { existing, before: __before, after: __after };
}

function conflictOf(table: string, by: string[], row: Row, found: Found): IdempotencyConflict | null {
  const columns = Object.keys(found.after).filter((c) => canonical(found.before[c]) !== canonical(found.after[c]));
  if (columns.length === 0) return null;
  const key = String(row.idempotency_key ?? by.map((c) => String(row[c])).join('/'));
  const newDigest = digest(found.after);
  const runId = (found.existing.run_id ?? (table === 'orchestra_runs' ? found.existing.id : null)) as string | null;
  const existingDigest = digest(found.before);
  return { table, key, conflictKey: `${key}:conflict:${newDigest}`, columns: columns.sort(), existingDigest, newDigest, runId };
}

/** The conflict's own ledger event, under a key that names the new payload: written once. */
async function recordConflict(db: Db, c: IdempotencyConflict): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      id: randomUUID(),
      idempotency_key: c.conflictKey,
      source: 'ledger',
      severity: 'critical',
      actor: 'ledger',
      action: 'idempotency.conflict',
      description: `${c.table}: a different row was refused under ${c.key} (${c.columns.join(', ')} differ); the first one stands`,
      run_id: c.runId,
      details: storableJson(c),
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .execute();
}

/** JSON with keys in order, so equal payloads read the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Row)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function digest(payload: Row): string {
  return createHash('sha256').update(canonical(payload)).digest('hex');
}
