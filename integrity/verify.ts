/**
 * Verifies the governance record: recomputes the hash chain from the purge horizon (or the
 * first entry) to the head, checks every signed checkpoint (signature by a pinned, trusted key,
 * Merkle root over its range, chain hash at its end, no gap between checkpoints, none past the
 * head or dated in the future), checks each governed row against its newest entry, and
 * optionally checks an exported checkpoint kept outside the database (the external anchor) and
 * the checkpointer's signed log (every checkpoint it signed is in the database as it signed it,
 * and no other). Problems are listed in entry order; the first one names where the record stops
 * being true. A lock held past `lockTimeoutMs` throws LedgerLocked instead of waiting.
 */
import { availableParallelism } from 'node:os';
import type { Db } from '../db/connect.js';
import {
  chainHead,
  chainIdentity,
  checkpoints,
  databaseNow,
  isLockTimeout,
  sealLedger,
  entriesBetween,
  lastEntryAtOrBefore,
  textIsUtf8,
  governedTables,
  purgeReceipts,
  rowMismatches,
  type CheckpointRow,
  type RowMismatch,
} from '../db/repositories/chain.js';
import { scanRange } from './chain-range.js';
import type { RangeResult } from './chain-scan.js';
import { MerkleBuilder } from './merkle.js';
import { checkpointProblems, DEFAULT_LOCK_TIMEOUT_MS, type ExportedCheckpoint, LedgerLocked, readCheckpointBody } from './checkpoint.js';
import { earlierDatabase, readSignedLog, sameChain, type SignedLogLine } from './signed-log.js';
import { keyIdOf } from './signing.js';

export type ProblemKind =
  | 'gap'
  | 'chain_broken'
  | 'entry_edited'
  | 'not_canonical'
  | 'entry_columns_changed'
  | 'head_mismatch'
  | 'checkpoint_invalid'
  | 'checkpoint_foreign_key'
  | 'checkpoint_gap'
  | 'checkpoint_future'
  | 'checkpoint_missing'
  | 'checkpoint_unlogged'
  | 'row_changed'
  | 'row_deleted'
  | 'row_unrecorded'
  | 'anchor_mismatch';

export interface Problem {
  kind: ProblemKind;
  /** The entry the problem is found at (null for a row nobody recorded). */
  seq: number | null;
  detail: string;
}

export interface VerifyReport {
  intact: boolean;
  head: { seq: number; hash: string };
  horizon: number;
  entries: number;
  checkpoints: number;
  rows: number;
  anchor: { toSeq: number; keyId: string; checked: string } | null;
  /** The key ids signatures were checked with; null when unpinned (each row's own key: proves nothing). */
  trustedKeys: string[] | null;
  /** The signer's log read, and how many checkpoints it lists. */
  signedLog: { file: string; lines: number } | null;
  /** Entries after the last checkpoint: not signed yet (nothing outside the database vouches for them). */
  unsigned: { fromSeq: number; toSeq: number } | null;
  problems: Problem[];
  firstBad: Problem | null;
  ms: number;
  /** Where the time went: the chain (read and hashed), the rows (digests compared), side by side. */
  phases: { chainMs: number; rowsMs: number };
}

const ZERO = Buffer.alloc(32);

export interface VerifyOptions {
  /** An exported checkpoint kept outside the database: its end hash and Merkle root are checked. */
  anchor?: ExportedCheckpoint;
  /**
   * Also recompute every stored checkpoint's Merkle root (about a third of the time on a large
   * record). Without it each checkpoint is still checked by its signature and by the recomputed
   * chain hash at its end, which binds every entry before it; the roots are there for inclusion
   * proofs, and for the exported anchor, whose root is always recomputed.
   */
  merkle?: boolean;
  /**
   * The public keys (SPKI PEM) trusted to sign checkpoints: a checkpoint signed by any other is a
   * problem (checkpoint_foreign_key). Without them the key stored in each checkpoint row is used,
   * which an owner who rewrites the row rewrites too: the report says `trustedKeys: null`.
   */
  trustedKeys?: readonly string[];
  /** The checkpointer's log of what it signed (`<key file>.signed.log`), compared with the database. */
  signedLog?: string;
  /** Give up waiting for the chain head or a governed table's lock after this long (default 5 s). */
  lockTimeoutMs?: number;
  /**
   * How the work is shared out (the defaults suit any record; tests make the parts small to show
   * that parts find what one pass finds): `ways` connections at once (default the cores, at most
   * 4), ranges of at least `rangeEntries` entries (50,000), tables over `partBytes` bytes on disk
   * compared in `ways` parts (16 MiB).
   */
  split?: { ways?: number; rangeEntries?: number; partBytes?: number };
}

interface Split {
  ways: number;
  rangeEntries: number;
  partBytes: number;
}

function splitOf(opts: VerifyOptions): Split {
  return {
    ways: Math.max(1, Math.floor(opts.split?.ways ?? Math.min(availableParallelism(), 4))),
    rangeEntries: Math.max(1, Math.floor(opts.split?.rangeEntries ?? 50_000)),
    partBytes: Math.max(0, opts.split?.partBytes ?? 16 * 2 ** 20),
  };
}

/** A checkpoint's signed createdAt may run this far ahead of the database's clock (the signer's clock). */
const CLOCK_SKEW_MS = 5 * 60_000;

export async function verifyLedger(db: Db, opts: VerifyOptions = {}): Promise<VerifyReport> {
  try {
    return await verify(db, opts);
  } catch (err) {
    if (!isLockTimeout(err)) throw err;
    throw new LedgerLocked(
      `the chain head is locked by another transaction (or a governed table is): not verified after waiting ` +
        `${opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS} ms; try again, and if it stays locked find the session holding it (pg_locks, pg_stat_activity)`,
    );
  }
}

async function verify(db: Db, opts: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const problems: Problem[] = [];
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const fullLog = opts.signedLog !== undefined ? readSignedLog(opts.signedLog) : null;
  await sealLedger(db, lockTimeoutMs);
  // Checkpoints before the head: a checkpoint is signed at or before the head of its time, so one
  // read here and past the head read next was never signed where the chain is.
  const chainId = await chainIdentity(db);
  const log = fullLog ? fullLog.filter((l) => sameChain(l, chainId)) : null;
  const stored = await checkpoints(db);
  const head = await chainHead(db);
  const now = await databaseNow(db);
  const receipts = await purgeReceipts(db);
  const last = receipts[receipts.length - 1];
  const horizon = last ? last.horizonSeq : 0;
  const future = stored.filter((c) => c.toSeq > head.seq);
  for (const cp of future) {
    problems.push({
      kind: 'checkpoint_future',
      seq: head.seq + 1,
      detail: `checkpoint ${cp.id} claims entries ${cp.fromSeq}–${cp.toSeq}, past the chain head (entry ${head.seq})`,
    });
  }
  const all = stored.filter((c) => c.toSeq <= head.seq);
  const live = all.filter((c) => c.toSeq > horizon);
  // The row digests are PostgreSQL's work and the chain is ours: both at once.
  const rowProblems: Problem[] = [];
  const split = splitOf(opts);
  const phases = { chainMs: 0, rowsMs: 0 };
  const timed = async <T>(phase: 'chainMs' | 'rowsMs', work: Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await work;
    } finally {
      phases[phase] = Date.now() - t0;
    }
  };
  const [chain, rows] = await Promise.all([
    timed(
      'chainMs',
      walkChain(
        db,
        { horizon, horizonHash: last ? Buffer.from(last.horizonHash, 'hex') : ZERO, head: head.seq },
        live,
        opts.merkle === true,
        problems,
        split,
      ),
    ),
    timed('rowsMs', checkRows(db, horizon, rowProblems, lockTimeoutMs, split)),
  ]);
  problems.push(...rowProblems);
  if (chain.lastSeq !== head.seq || !chain.lastHash.equals(head.hash)) {
    problems.push({
      kind: 'head_mismatch',
      seq: chain.lastSeq + 1,
      detail: `the chain ends at entry ${chain.lastSeq} but its head says ${head.seq}: entries after ${chain.lastSeq} were removed or the head was changed`,
    });
  }
  for (const cp of all) {
    problems.push(...checkCheckpoint(cp, opts.merkle ? chain.roots.get(cp.id) : null, chain.hashes, horizon, opts.trustedKeys));
  }
  problems.push(...checkSequence(all, now));
  for (const r of receipts) problems.push(...checkReceipt(r, all));
  if (log) problems.push(...checkSignedLog(log, stored, opts.signedLog!));
  for (const l of fullLog?.filter((line) => earlierDatabase(line, chainId)) ?? []) {
    problems.push({
      kind: 'checkpoint_missing',
      seq: l.from,
      detail:
        `checkpoint ${l.id} (entries ${l.from}–${l.to}) was signed for an earlier database named ${l.chain.database} ` +
        `(oid ${l.chain.oid}; this one is ${chainId.oid}): the database was dropped and made again since`,
    });
  }
  const anchor = opts.anchor ? await checkAnchor(db, opts.anchor, horizon, receipts, all, problems) : null;
  problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  const signedTo = Math.max(horizon, ...all.map((c) => c.toSeq));
  return {
    intact: problems.length === 0,
    head: { seq: head.seq, hash: head.hash.toString('hex') },
    horizon,
    entries: chain.count,
    checkpoints: all.length,
    rows,
    anchor,
    trustedKeys: opts.trustedKeys ? opts.trustedKeys.map(keyIdOf) : null,
    signedLog: log ? { file: opts.signedLog!, lines: log.length } : null,
    unsigned: signedTo < head.seq ? { fromSeq: signedTo + 1, toSeq: head.seq } : null,
    problems,
    firstBad: problems[0] ?? null,
    ms: Date.now() - started,
    phases,
  };
}

/**
 * Checkpoints follow one another with no gap or overlap (each starts at the entry after the one
 * before it ends), and none is dated after the database's clock (the column, or beyond clock skew
 * the signed body).
 */
function checkSequence(all: CheckpointRow[], now: Date): Problem[] {
  const problems: Problem[] = [];
  let prevTo = 0;
  for (const cp of all) {
    if (cp.fromSeq !== prevTo + 1) {
      const what =
        cp.fromSeq > prevTo + 1 ? `entries ${prevTo + 1}–${cp.fromSeq - 1} are in no checkpoint` : `it overlaps entries up to ${prevTo}`;
      problems.push({
        kind: 'checkpoint_gap',
        seq: Math.min(prevTo + 1, cp.fromSeq),
        detail: `checkpoint ${cp.id} starts at entry ${cp.fromSeq}, not ${prevTo + 1}: ${what}`,
      });
    }
    prevTo = Math.max(prevTo, cp.toSeq);
    let signedAt: number | null = null;
    try {
      signedAt = Date.parse((JSON.parse(cp.body) as { createdAt?: string }).createdAt ?? '');
    } catch {
      signedAt = null;
    }
    if (cp.createdAt.getTime() > now.getTime() || (signedAt !== null && signedAt > now.getTime() + CLOCK_SKEW_MS)) {
      problems.push({
        kind: 'checkpoint_future',
        seq: cp.toSeq,
        detail: `checkpoint ${cp.id} (entries ${cp.fromSeq}–${cp.toSeq}) is dated ${cp.createdAt.toISOString()}, after the database's clock (${now.toISOString()})`,
      });
    }
  }
  return problems;
}

/**
 * The signer's log against the database: each checkpoint it lists is there as it was signed
 * (missing: deleted or replaced); each checkpoint in the database within the log's span is in
 * it (unlogged: nobody with the log signed it). Checkpoints before the log began are not judged.
 */
function checkSignedLog(log: SignedLogLine[], stored: CheckpointRow[], file: string): Problem[] {
  const problems: Problem[] = [];
  if (log.length === 0) return problems;
  const byTo = new Map(stored.map((c) => [c.toSeq, c]));
  const logged = new Map(log.map((l) => [l.to, l]));
  for (const l of log) {
    const cp = byTo.get(l.to);
    const same =
      cp &&
      cp.id === l.id &&
      cp.fromSeq === l.from &&
      cp.rootHash.toString('hex') === l.root &&
      cp.lastHash.toString('hex') === l.lastHash &&
      cp.keyId === l.keyId;
    if (!same) {
      problems.push({
        kind: 'checkpoint_missing',
        seq: l.from,
        detail: cp
          ? `the checkpoint of entries ${l.from}–${l.to} in the database (${cp.id}) is not the one the signer logged (${l.id}) in ${file}`
          : `checkpoint ${l.id} (entries ${l.from}–${l.to}), signed as ${file} records, is gone from the database`,
      });
    }
  }
  const first = Math.min(...log.map((l) => l.from));
  // A checkpoint after the log's end may be one committed and not logged yet (the line follows
  // the commit): the signature check (pinned keys) judges those.
  const end = Math.max(...log.map((l) => l.to));
  for (const cp of stored) {
    if (cp.toSeq < first || cp.toSeq > end || logged.has(cp.toSeq)) continue;
    problems.push({
      kind: 'checkpoint_unlogged',
      seq: cp.toSeq,
      detail: `checkpoint ${cp.id} (entries ${cp.fromSeq}–${cp.toSeq}) is not in the signer's log ${file}: the signer did not sign it`,
    });
  }
  return problems;
}

interface ChainWalk {
  count: number;
  lastSeq: number;
  lastHash: Buffer;
  /** Merkle roots recomputed for the checkpoints whose whole range was seen. */
  roots: Map<string, Buffer>;
  /** Chain hash (hex) at each checkpoint's end. */
  hashes: Map<number, string>;
}

async function walkChain(
  db: Db,
  range: { horizon: number; horizonHash: Buffer; head: number },
  live: CheckpointRow[],
  merkle: boolean,
  problems: Problem[],
  split: Split,
): Promise<ChainWalk> {
  const { horizon, horizonHash, head } = range;
  const walk: ChainWalk = { count: 0, lastSeq: horizon, lastHash: horizonHash, roots: new Map(), hashes: new Map() };
  const ends = live.map((c) => c.toSeq);
  const utf8 = await textIsUtf8(db);
  // Each range starts from the stored hash of the last entry before it: the ranges are checked
  // side by side, and say what one walk from the horizon to the head would say.
  const parts = await Promise.all(
    splitRange(horizon + 1, head, split).map(async ([from, to], i) => {
      const before = i === 0 ? null : await lastEntryAtOrBefore(db, from - 1, horizon);
      const start = before ?? { seq: horizon, hash: horizonHash };
      return scanRange(db, from, to, { lastSeq: start.seq, lastHash: start.hash, ends, leaves: merkle, utf8 });
    }),
  );
  for (const part of parts) {
    walk.count += part.count;
    problems.push(...part.problems);
    for (const [seq, hash] of part.endHashes) walk.hashes.set(seq, hash);
    walk.lastSeq = part.lastSeq;
    walk.lastHash = Buffer.from(part.lastHash);
  }
  if (merkle) walk.roots = checkpointRoots(parts, live);
  return walk;
}

/** Ranges of about equal size over fromSeq..toSeq, at most one per connection, none under `rangeEntries`. */
function splitRange(fromSeq: number, toSeq: number, split: Split): [number, number][] {
  const n = toSeq - fromSeq + 1;
  if (n <= 0) return [];
  const count = Math.max(1, Math.min(split.ways, Math.floor(n / split.rangeEntries)));
  const size = Math.ceil(n / count);
  return Array.from({ length: count }, (_, i): [number, number] => [fromSeq + i * size, Math.min(toSeq, fromSeq + (i + 1) * size - 1)]);
}

/** The Merkle root of each live checkpoint whose whole range was read, from the ranges' leaf hashes. */
function checkpointRoots(parts: RangeResult[], live: CheckpointRow[]): Map<string, Buffer> {
  const roots = new Map<string, Buffer>();
  const ends = new Map(live.map((c) => [c.toSeq, c]));
  const starts = new Map(live.map((c) => [c.fromSeq, c]));
  const open = new Map<string, MerkleBuilder>();
  for (const part of parts) {
    for (let i = 0; i < part.count; i++) {
      const seq = part.leafSeqs![i]!;
      const starting = starts.get(seq);
      if (starting) open.set(starting.id, new MerkleBuilder());
      const leaf = part.leafHashes!.subarray(i * 32, (i + 1) * 32);
      for (const b of open.values()) b.addLeafHash(leaf);
      const ending = ends.get(seq);
      if (ending) {
        const b = open.get(ending.id);
        if (b) roots.set(ending.id, b.root());
        open.delete(ending.id);
      }
    }
  }
  return roots;
}

/** `root`: the recomputed Merkle root, null when roots were not recomputed this time. */
function checkCheckpoint(
  cp: CheckpointRow,
  root: Buffer | null | undefined,
  hashes: Map<number, string>,
  horizon: number,
  trustedKeys: readonly string[] | undefined,
): Problem[] {
  const problems: Problem[] = checkpointProblems(cp, trustedKeys).map((p) => ({ ...p, seq: cp.toSeq }));
  if (cp.toSeq <= horizon) return problems;
  const hash = hashes.get(cp.toSeq);
  if (hash !== cp.lastHash.toString('hex')) {
    problems.push({ kind: 'checkpoint_invalid', seq: cp.toSeq, detail: `entry ${cp.toSeq} is not the entry checkpoint ${cp.id} signed` });
  }
  if (root !== null && cp.fromSeq > horizon && (!root || !root.equals(cp.rootHash))) {
    problems.push({
      kind: 'checkpoint_invalid',
      seq: cp.fromSeq,
      detail: `entries ${cp.fromSeq}–${cp.toSeq} no longer give the Merkle root checkpoint ${cp.id} signed: the range was rewritten`,
    });
  }
  return problems;
}

function checkReceipt(r: { id: string; horizonSeq: number; horizonHash: string; checkpointId: string }, all: CheckpointRow[]): Problem[] {
  const cp = all.find((c) => c.id === r.checkpointId);
  if (cp && cp.toSeq === r.horizonSeq && cp.lastHash.toString('hex') === r.horizonHash) return [];
  return [
    {
      kind: 'checkpoint_invalid',
      seq: r.horizonSeq + 1,
      detail: `purge ${r.id}'s horizon (entry ${r.horizonSeq}) does not match the signed checkpoint it names`,
    },
  ];
}

async function checkRows(db: Db, horizon: number, problems: Problem[], lockTimeoutMs: number, split: Split): Promise<number> {
  const tables = await governedTables(db);
  const { ways } = split;
  // Each large table in `ways` parts by a hash of the row key; the parts and the small tables
  // are taken in turn by `ways` connections at once.
  const parts = tables.map((t) => (t.bytes > split.partBytes ? ways : 1));
  const tasks = tables.flatMap((t, i) => Array.from({ length: parts[i]! }, (_, index) => ({ ...t, i, part: { index, of: parts[i]! } })));
  const found: RowMismatch[][] = tables.map(() => []);
  let next = 0;
  await Promise.all(
    Array.from({ length: ways }, async () => {
      for (let task = tasks[next++]; task; task = tasks[next++]) {
        found[task.i]!.push(...(await rowMismatches(db, task.table, task.keyColumns, lockTimeoutMs, task.part)));
      }
    }),
  );
  for (let i = 0; i < tables.length; i++) {
    const table = tables[i]!.table;
    // As one query over the whole table gives them: by entry (none last), then key; the first 1,000.
    const mismatches = parts[i]! > 1 ? found[i]!.sort(byEntryThenKey).slice(0, 1000) : found[i]!;
    for (const m of mismatches) {
      if (m.seq !== null && m.seq <= horizon) continue;
      if (m.current === null) {
        problems.push({ kind: 'row_deleted', seq: m.seq, detail: `${table} ${m.key} (recorded by entry ${m.seq}) is gone` });
      } else if (m.recorded === null) {
        problems.push({
          kind: 'row_unrecorded',
          seq: null,
          detail: `${table} ${m.key} was written behind the ledger: no entry records it`,
        });
      } else {
        problems.push({
          kind: 'row_changed',
          seq: m.seq,
          detail: `${table} ${m.key} no longer matches entry ${m.seq}: changed behind the ledger`,
        });
      }
    }
  }
  return tables.length;
}

function byEntryThenKey(a: RowMismatch, b: RowMismatch): number {
  const sa = a.seq ?? Number.POSITIVE_INFINITY;
  const sb = b.seq ?? Number.POSITIVE_INFINITY;
  return sa !== sb ? sa - sb : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

async function checkAnchor(
  db: Db,
  anchor: ExportedCheckpoint,
  horizon: number,
  receipts: { horizonSeq: number; horizonHash: string }[],
  all: CheckpointRow[],
  problems: Problem[],
): Promise<VerifyReport['anchor']> {
  const body = readCheckpointBody(anchor);
  const bad = (detail: string) => problems.push({ kind: 'anchor_mismatch', seq: body.toSeq, detail });
  const known = all.find((c) => c.toSeq === body.toSeq);
  if (known && (known.body !== anchor.body || known.signature !== anchor.signature)) {
    bad(`the database's checkpoint at entry ${body.toSeq} is not the one kept outside`);
  }
  if (body.toSeq <= horizon) {
    const receipt = receipts.find((r) => r.horizonSeq === body.toSeq);
    if (receipt && receipt.horizonHash !== body.lastHash)
      bad(`the purge horizon at entry ${body.toSeq} is not the entry the anchor signed`);
    return { toSeq: body.toSeq, keyId: body.keyId, checked: receipt ? 'purge horizon' : 'signature only (purged)' };
  }
  const roots = new MerkleBuilder();
  let lastHash: string | null = null;
  for await (const e of entriesBetween(db, Math.max(body.fromSeq, horizon + 1), body.toSeq)) {
    roots.add(e.entry);
    lastHash = e.hash;
  }
  if (lastHash !== body.lastHash) bad(`entry ${body.toSeq} is not the entry the anchor signed: history was rewritten`);
  if (body.fromSeq > horizon && roots.root().toString('hex') !== body.rootHash) {
    bad(`entries ${body.fromSeq}–${body.toSeq} no longer give the anchor's Merkle root`);
  }
  return { toSeq: body.toSeq, keyId: body.keyId, checked: 'chain hash and Merkle root' };
}
