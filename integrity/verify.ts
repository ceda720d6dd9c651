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
  chainHead, checkpoints, entriesBetween, governedTables, purgeReceipts, rowMismatches, type CheckpointRow, type LedgerEntryRow,
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

export async function verifyLedger(db: Db, opts: { anchor?: ExportedCheckpoint } = {}): Promise<VerifyReport> {
  const started = Date.now();
  const problems: Problem[] = [];
  const head = await chainHead(db);
  const receipts = await purgeReceipts(db);
  const last = receipts[receipts.length - 1];
  const horizon = last ? last.horizonSeq : 0;
  const all = await checkpoints(db);
  const live = all.filter((c) => c.toSeq > horizon);
  const chain = await walkChain(db, horizon, last ? Buffer.from(last.horizonHash, 'hex') : ZERO, live, problems);
  if (chain.lastSeq !== head.seq || !chain.lastHash.equals(head.hash)) {
    problems.push({
      kind: 'head_mismatch',
      seq: chain.lastSeq + 1,
      detail: `the chain ends at entry ${chain.lastSeq} but its head says ${head.seq}: entries after ${chain.lastSeq} were removed or the head was changed`,
    });
  }
  for (const cp of all) problems.push(...checkCheckpoint(cp, chain.roots.get(cp.id), chain.hashes, horizon));
  for (const r of receipts) problems.push(...checkReceipt(r, all));
  const rows = await checkRows(db, horizon, problems);
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
  /** Chain hash at each checkpoint's end. */
  hashes: Map<number, Buffer>;
}

async function walkChain(db: Db, horizon: number, horizonHash: Buffer, live: CheckpointRow[], problems: Problem[]): Promise<ChainWalk> {
  const walk: ChainWalk = { count: 0, lastSeq: horizon, lastHash: horizonHash, roots: new Map(), hashes: new Map() };
  const ends = new Map(live.map((c) => [c.toSeq, c]));
  const open = new Map<string, MerkleBuilder>();
  const starts = new Map(live.map((c) => [c.fromSeq, c]));
  for await (const e of entriesBetween(db, horizon + 1)) {
    walk.count++;
    checkEntry(e, walk, problems);
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
    walk.lastHash = e.hash;
  }
  return walk;
}

function checkEntry(e: LedgerEntryRow, walk: ChainWalk, problems: Problem[]): void {
  if (e.seq !== walk.lastSeq + 1) {
    const missing = e.seq - walk.lastSeq - 1;
    problems.push({ kind: 'gap', seq: walk.lastSeq + 1, detail: `entries ${walk.lastSeq + 1}–${e.seq - 1} are missing (${missing})` });
  }
  if (!e.prevHash.equals(walk.lastHash)) {
    problems.push({
      kind: 'chain_broken',
      seq: e.seq,
      detail: `entry ${e.seq} does not follow entry ${walk.lastSeq}: its prev_hash is not that entry's hash (inserted, reordered or rewritten)`,
    });
  }
  const expected = createHash('sha256').update(e.prevHash).update(e.entry, 'utf8').digest();
  if (!expected.equals(e.hash)) {
    problems.push({ kind: 'entry_edited', seq: e.seq, detail: `entry ${e.seq}'s bytes no longer give its hash: the entry was edited` });
  }
  checkEntryBody(e, problems);
}

function checkEntryBody(e: LedgerEntryRow, problems: Problem[]): void {
  if (!isCanonical(e.entry)) {
    problems.push({ kind: 'not_canonical', seq: e.seq, detail: `entry ${e.seq} is not canonical JSON (RFC 8785)` });
    return;
  }
  const body = JSON.parse(e.entry) as { table?: unknown; row?: unknown; rowHash?: unknown };
  if (body.table !== e.rowTable || body.row !== e.rowKey || body.rowHash !== e.rowHash.toString('hex')) {
    problems.push({
      kind: 'entry_columns_changed',
      seq: e.seq,
      detail: `entry ${e.seq}'s columns (table, row, row hash) no longer match its hashed bytes`,
    });
  }
}

function checkCheckpoint(cp: CheckpointRow, root: Buffer | undefined, hashes: Map<number, Buffer>, horizon: number): Problem[] {
  const problems = checkpointProblems(cp).map((detail) => ({ kind: 'checkpoint_invalid' as const, seq: cp.toSeq, detail }));
  if (cp.toSeq <= horizon) return problems;
  const hash = hashes.get(cp.toSeq);
  if (!hash || !hash.equals(cp.lastHash)) {
    problems.push({ kind: 'checkpoint_invalid', seq: cp.toSeq, detail: `entry ${cp.toSeq} is not the entry checkpoint ${cp.id} signed` });
  }
  if (cp.fromSeq > horizon && (!root || !root.equals(cp.rootHash))) {
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
  return [{
    kind: 'checkpoint_invalid',
    seq: r.horizonSeq + 1,
    detail: `purge ${r.id}'s horizon (entry ${r.horizonSeq}) does not match the signed checkpoint it names`,
  }];
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
        problems.push({ kind: 'row_unrecorded', seq: null, detail: `${table} ${m.key} was written behind the ledger: no entry records it` });
      } else {
        problems.push({ kind: 'row_changed', seq: m.seq, detail: `${table} ${m.key} no longer matches entry ${m.seq}: changed behind the ledger` });
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
    if (receipt && receipt.horizonHash !== body.lastHash) bad(`the purge horizon at entry ${body.toSeq} is not the entry the anchor signed`);
    return { toSeq: body.toSeq, keyId: body.keyId, checked: receipt ? 'purge horizon' : 'signature only (purged)' };
  }
  const roots = new MerkleBuilder();
  let lastHash: Buffer | null = null;
  for await (const e of entriesBetween(db, Math.max(body.fromSeq, horizon + 1), body.toSeq)) {
    roots.add(e.entry);
    lastHash = e.hash;
  }
  if (!lastHash || lastHash.toString('hex') !== body.lastHash) bad(`entry ${body.toSeq} is not the entry the anchor signed: history was rewritten`);
  if (body.fromSeq > horizon && roots.root().toString('hex') !== body.rootHash) {
    bad(`entries ${body.fromSeq}–${body.toSeq} no longer give the anchor's Merkle root`);
  }
  return { toSeq: body.toSeq, keyId: body.keyId, checked: 'chain hash and Merkle root' };
}
