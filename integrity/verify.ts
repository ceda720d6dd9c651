/**
 * Verifies the governance record: recomputes the hash chain from the purge horizon (or the
 * first entry) to the head, checks every signed checkpoint (signature, Merkle root over its
 * range, chain hash at its end), checks each governed row against its newest entry, and
 * optionally checks an exported checkpoint kept outside the database (the external anchor).
 * Problems are listed in entry order; the first one names where the record stops being true.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/connect.js';
import {
  chainHead,
  checkpoints,
  sealLedger,
  entriesBetween,
  prevHashAt,
  governedTables,
  purgeReceipts,
  rowMismatches,
  type CheckpointRow,
  type LedgerEntryRow,
} from '../db/repositories/chain.js';
import { isCanonical } from './canonical.js';
import { MerkleBuilder } from './merkle.js';
import { checkpointProblems, type ExportedCheckpoint, readCheckpointBody } from './checkpoint.js';

export type ProblemKind =
  | 'gap'
  | 'chain_broken'
  | 'entry_edited'
  | 'not_canonical'
  | 'entry_columns_changed'
  | 'head_mismatch'
  | 'checkpoint_invalid'
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
  problems: Problem[];
  firstBad: Problem | null;
  ms: number;
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
}

export async function verifyLedger(db: Db, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const started = Date.now();
  const problems: Problem[] = [];
  await sealLedger(db);
  const head = await chainHead(db);
  const receipts = await purgeReceipts(db);
  const last = receipts[receipts.length - 1];
  const horizon = last ? last.horizonSeq : 0;
  // What is written while this runs is for the next verification: the chain up to this head,
  // the checkpoints up to it.
  const all = (await checkpoints(db)).filter((c) => c.toSeq <= head.seq);
  const live = all.filter((c) => c.toSeq > horizon);
  // The row digests are PostgreSQL's work and the chain is ours: both at once.
  const rowProblems: Problem[] = [];
  const [chain, rows] = await Promise.all([
    walkChain(
      db,
      { horizon, horizonHash: last ? Buffer.from(last.horizonHash, 'hex') : ZERO, head: head.seq },
      live,
      opts.merkle === true,
      problems,
    ),
    checkRows(db, horizon, rowProblems),
  ]);
  problems.push(...rowProblems);
  if (chain.lastSeq !== head.seq || !chain.lastHash.equals(head.hash)) {
    problems.push({
      kind: 'head_mismatch',
      seq: chain.lastSeq + 1,
      detail: `the chain ends at entry ${chain.lastSeq} but its head says ${head.seq}: entries after ${chain.lastSeq} were removed or the head was changed`,
    });
  }
  for (const cp of all) problems.push(...checkCheckpoint(cp, opts.merkle ? chain.roots.get(cp.id) : null, chain.hashes, horizon));
  for (const r of receipts) problems.push(...checkReceipt(r, all));
  const anchor = opts.anchor ? await checkAnchor(db, opts.anchor, horizon, receipts, all, problems) : null;
  problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  return {
    intact: problems.length === 0,
    head: { seq: head.seq, hash: head.hash.toString('hex') },
    horizon,
    entries: chain.count,
    checkpoints: all.length,
    rows,
    anchor,
    problems,
    firstBad: problems[0] ?? null,
    ms: Date.now() - started,
  };
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
): Promise<ChainWalk> {
  const { horizon, horizonHash } = range;
  const walk: ChainWalk = { count: 0, lastSeq: horizon, lastHash: horizonHash, roots: new Map(), hashes: new Map() };
  const ends = new Map(live.map((c) => [c.toSeq, c]));
  const starts = new Map(merkle ? live.map((c) => [c.fromSeq, c]) : []);
  const open = new Map<string, MerkleBuilder>();
  for await (const e of entriesBetween(db, horizon + 1, range.head)) {
    walk.count++;
    await checkEntry(db, e, walk, problems);
    const starting = starts.get(e.seq);
    if (starting) open.set(starting.id, new MerkleBuilder());
    for (const b of open.values()) b.add(e.entry);
    const ending = ends.get(e.seq);
    if (ending) {
      walk.hashes.set(e.seq, e.hash);
      const b = open.get(ending.id);
      if (b) walk.roots.set(ending.id, b.root());
      open.delete(ending.id);
    }
    walk.lastSeq = e.seq;
  }
  return walk;
}

/**
 * The entry's hash must be sha256(previous entry's hash ‖ its bytes). When it is not, the stored
 * prev_hash tells which: another predecessor (inserted, reordered) or other bytes (edited).
 */
async function checkEntry(db: Db, e: LedgerEntryRow, walk: ChainWalk, problems: Problem[]): Promise<void> {
  if (e.seq !== walk.lastSeq + 1) {
    const missing = e.seq - walk.lastSeq - 1;
    problems.push({ kind: 'gap', seq: walk.lastSeq + 1, detail: `entries ${walk.lastSeq + 1}–${e.seq - 1} are missing (${missing})` });
  }
  const expected = createHash('sha256').update(walk.lastHash).update(e.entry, 'utf8').digest();
  if (expected.toString('hex') !== e.hash) {
    const prev = await prevHashAt(db, e.seq);
    if (prev !== walk.lastHash.toString('hex')) {
      problems.push({
        kind: 'chain_broken',
        seq: e.seq,
        detail: `entry ${e.seq} does not follow entry ${walk.lastSeq}: its prev_hash is not that entry's hash (inserted, reordered or rewritten)`,
      });
    } else {
      problems.push({ kind: 'entry_edited', seq: e.seq, detail: `entry ${e.seq}'s bytes no longer give its hash: the entry was edited` });
    }
  }
  walk.lastHash = Buffer.from(e.hash, 'hex');
  checkEntryBody(e, problems);
}

/** The keys of an entry as the trigger writes them, in RFC 8785 order. */
const ENTRY_KEYS = ['at', 'op', 'row', 'rowHash', 'run', 'table'];

/**
 * The entry's body when its text is canonical, else null. An entry of the trigger's shape (six
 * keys, strings or null) is canonical iff re-serialising it gives the same text (RFC 8785 writes
 * strings exactly as JSON.stringify does); anything else goes through the full canonicaliser.
 */
function canonicalBody(text: string): Record<string, unknown> | null {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const keys = Object.keys(body);
  const simple =
    keys.length === ENTRY_KEYS.length &&
    keys.every((k, i) => k === ENTRY_KEYS[i]) &&
    keys.every((k) => body[k] === null || typeof body[k] === 'string');
  if (!simple) return isCanonical(text) ? body : null;
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i ? ',' : ''}"${keys[i]}":${JSON.stringify(body[keys[i]!])}`;
  return `${out}}` === text ? body : null;
}

function checkEntryBody(e: LedgerEntryRow, problems: Problem[]): void {
  const body = canonicalBody(e.entry);
  if (!body) {
    problems.push({ kind: 'not_canonical', seq: e.seq, detail: `entry ${e.seq} is not canonical JSON (RFC 8785)` });
    return;
  }
  if (body.table !== e.rowTable || body.row !== e.rowKey || body.rowHash !== e.rowHash) {
    problems.push({
      kind: 'entry_columns_changed',
      seq: e.seq,
      detail: `entry ${e.seq}'s columns (table, row, row hash) no longer match its hashed bytes`,
    });
  }
}

/** `root`: the recomputed Merkle root, null when roots were not recomputed this time. */
function checkCheckpoint(cp: CheckpointRow, root: Buffer | null | undefined, hashes: Map<number, string>, horizon: number): Problem[] {
  const problems = checkpointProblems(cp).map((detail) => ({ kind: 'checkpoint_invalid' as const, seq: cp.toSeq, detail }));
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

async function checkRows(db: Db, horizon: number, problems: Problem[]): Promise<number> {
  let tables = 0;
  for (const { table, keyColumns } of await governedTables(db)) {
    tables++;
    for (const m of await rowMismatches(db, table, keyColumns)) {
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
  return tables;
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
