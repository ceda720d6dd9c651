/**
 * Signed checkpoints: a Merkle tree head (RFC 6962) over a range of ledger entries plus the
 * chain hash at its end, as RFC 8785 canonical JSON signed with the ledger's Ed25519 key.
 * Stored in the database, and exported as a small JSON file the Director keeps elsewhere.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Db } from '../db/connect.js';
import {
  chainHead,
  chainIdentity,
  checkpoints,
  entriesBetween,
  isLockTimeout,
  prevHashAt,
  sealLedger,
  latestCheckpoint,
  purgeReceipts,
  textIsUtf8,
  withCheckpointLock,
  type ChainIdentity,
  type CheckpointRow,
  type NewCheckpoint,
} from '../db/repositories/chain.js';
import { canonicalJson } from './canonical.js';
import { MerkleBuilder } from './merkle.js';
import { scanRange } from './chain-range.js';
import { keyIdOf, verifySignature, type SigningKey } from './signing.js';
import { UnusableCheckpoint, UserError } from '../errors/index.js';
import { appendSignedLog, readSignedLog, sameChain, signedLogPath, type SignedLogLine } from './signed-log.js';

export const CHECKPOINT_FORMAT = 'aura-ledger-checkpoint/1';

const bodySchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  chain: z.literal('governance'),
  fromSeq: z.number().int().min(1),
  toSeq: z.number().int().min(1),
  treeSize: z.number().int().min(1),
  rootHash: z.string().regex(/^[0-9a-f]{64}$/),
  lastHash: z.string().regex(/^[0-9a-f]{64}$/),
  keyId: z.string().min(1),
  createdAt: z.string().min(1),
});
export type CheckpointBody = z.infer<typeof bodySchema>;

const exportedSchema = z.object({
  id: z.string().uuid(),
  body: z.string().min(2),
  signature: z.string().min(1),
  publicKey: z.string().includes('PUBLIC KEY'),
});
/** What `aura ledger checkpoint --out` writes: the signed bytes exactly, the signature and the public key. */
export type ExportedCheckpoint = z.infer<typeof exportedSchema>;

/** The checkpointer will not sign: what it was asked to sign does not continue what it signed before. */
export class SigningRefused extends Error {
  override name = 'SigningRefused';
}

/** A lock the verifier or the checkpointer needs is held by another transaction past the lock timeout. */
export class LedgerLocked extends UserError {
  override name = 'LedgerLocked';
}

/** How long the verifier and the checkpointer wait for a lock (the chain head, a table) by default. */
export const DEFAULT_LOCK_TIMEOUT_MS = 5_000;

export interface CheckpointOptions {
  /** Sign up to this entry (default the head). */
  upTo?: number;
  /**
   * The signer's own log of what it signed (see signed-log.ts): by default beside the key's file;
   * null for none (then nothing stops re-signing a rewritten chain).
   */
  signedLog?: string | null;
  /** Give up waiting for the chain head or the checkpoint lock after this long (LedgerLocked). */
  lockTimeoutMs?: number;
}

/**
 * Signs the entries after the last checkpoint (or the purge horizon) up to `upTo` (default the
 * head). Refuses to sign a range whose chain does not hold, and (SigningRefused) one that does
 * not continue the signer's log: the checkpoint it last signed must still be in the database as
 * it signed it, any later one must be signed by this key, and the range must start at the entry
 * that follows the last signed end hash. Null when there is nothing new.
 */
export async function createCheckpoint(db: Db, key: SigningKey, opts: CheckpointOptions = {}): Promise<CheckpointRow | null> {
  const logFile = opts.signedLog !== undefined ? opts.signedLog : key.file ? signedLogPath(key.file) : null;
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  let taken: SignedLogLine[] = [];
  let chain: ChainIdentity | null = null;
  let cp: NewCheckpoint | null;
  try {
    await sealLedger(db, lockTimeoutMs);
    cp = await withCheckpointLock(
      db,
      async (tx) => {
        const last = await latestCheckpoint(tx);
        const receipts = await purgeReceipts(tx);
        const horizon = receipts.length > 0 ? receipts[receipts.length - 1]!.horizonSeq : 0;
        const fromSeq = Math.max(last?.toSeq ?? 0, horizon) + 1;
        chain = await chainIdentity(tx);
        const here = chain;
        const log = logFile ? readSignedLog(logFile).filter((l) => sameChain(l, here)) : [];
        taken = logFile ? await continueSignedLog(tx, key, log, logFile, horizon, here) : [];
        const head = (await chainHead(tx)).seq;
        if (last && last.toSeq > head) {
          throw refused(
            `the last checkpoint in the database (${last.id}) ends at entry ${last.toSeq}, past the chain head (entry ${head})`,
          );
        }
        const toSeq = opts.upTo ?? head;
        if (toSeq < fromSeq) return null;
        const end = taken[taken.length - 1] ?? log[log.length - 1];
        if (end && (await prevHashAt(tx, fromSeq)) !== end.lastHash) {
          throw refused(
            `entry ${fromSeq} does not follow entry ${end.to}, the end of what this key last signed (${logFile}): ` +
              'the entries were rewritten',
          );
        }
        const { root, lastHash } = await rangeRoot(tx, fromSeq, toSeq);
        const body: CheckpointBody = {
          format: CHECKPOINT_FORMAT,
          chain: 'governance',
          fromSeq,
          toSeq,
          treeSize: toSeq - fromSeq + 1,
          rootHash: root.toString('hex'),
          lastHash: lastHash.toString('hex'),
          keyId: key.keyId,
          createdAt: new Date().toISOString(),
        };
        const bytes = canonicalJson(body);
        const made: NewCheckpoint = {
          id: randomUUID(),
          fromSeq,
          toSeq,
          rootHash: root,
          lastHash,
          keyId: key.keyId,
          publicKey: key.publicKeyPem,
          body: bytes,
          signature: key.sign(bytes),
        };
        return made;
      },
      lockTimeoutMs,
    );
  } catch (err) {
    if (isLockTimeout(err)) {
      throw new LedgerLocked(
        `not signed: the chain head (or the checkpoint lock) is locked by another transaction for more than ${lockTimeoutMs} ms`,
      );
    }
    throw err;
  }
  // Written once the checkpoint is committed: a crash in between leaves a checkpoint of this key
  // the log lacks, which the next signing takes up (it continues the log and verifies with this key).
  if (logFile && chain) appendSignedLog(logFile, [...taken, ...(cp ? [logLineOf(chain, cp, new Date().toISOString())] : [])]);
  return cp ? { ...cp, createdAt: new Date() } : null;
}

function refused(why: string): SigningRefused {
  return new SigningRefused(
    `refusing to sign: ${why}. Nothing was signed; run \`aura ledger verify\`. ` +
      'If this really is a new database, move the signed log aside (better: start a new key).',
  );
}

function logLineOf(chain: ChainIdentity, cp: NewCheckpoint, signedAt: string): SignedLogLine {
  return {
    chain,
    id: cp.id,
    from: cp.fromSeq,
    to: cp.toSeq,
    root: cp.rootHash.toString('hex'),
    lastHash: cp.lastHash.toString('hex'),
    keyId: cp.keyId,
    signedAt,
  };
}

/**
 * Checks that the database continues the signer's log, and returns the checkpoints after its
 * end that this key signed (another process with the same key, or a crash before the log line
 * was written): they are taken into the log. Throws SigningRefused when the database does not.
 */
async function continueSignedLog(
  tx: Db,
  key: SigningKey,
  log: SignedLogLine[],
  file: string,
  horizon: number,
  chain: ChainIdentity,
): Promise<SignedLogLine[]> {
  const end = log[log.length - 1];
  if (!end) return []; // a new log starts here
  const stored = await checkpoints(tx);
  const same = stored.find((c) => c.toSeq === end.to);
  if (
    !same ||
    same.id !== end.id ||
    same.fromSeq !== end.from ||
    same.rootHash.toString('hex') !== end.root ||
    same.lastHash.toString('hex') !== end.lastHash
  ) {
    throw refused(
      `the database no longer holds the checkpoint this key last signed (entries ${end.from}–${end.to}, ${end.id}, in ${file}) ` +
        'as it was signed: checkpoints were deleted or replaced (the signed log and the database part ways here)',
    );
  }
  const taken: SignedLogLine[] = [];
  let prev: { to: number; lastHash: string } = end;
  for (const cp of stored.filter((c) => c.toSeq > end.to)) {
    const mine = checkpointProblems(cp, [key.publicKeyPem]).length === 0;
    if (!mine) {
      throw refused(
        `checkpoint ${cp.id} (entries ${cp.fromSeq}–${cp.toSeq}) in the database was not signed by this key (${key.keyId}) ` +
          `after the end of its signed log ${file} (entry ${end.to}): the signed log and the database part ways here`,
      );
    }
    const follows = cp.fromSeq === prev.to + 1 && (cp.fromSeq <= horizon || (await prevHashAt(tx, cp.fromSeq)) === prev.lastHash);
    if (!follows)
      throw refused(`checkpoint ${cp.id} (entries ${cp.fromSeq}–${cp.toSeq}) does not follow entry ${prev.to}, signed before it`);
    const line = logLineOf(chain, cp, readCheckpointBodyText(cp.body)?.createdAt ?? cp.createdAt.toISOString());
    taken.push(line);
    prev = line;
  }
  return taken;
}

function readCheckpointBodyText(text: string): CheckpointBody | null {
  try {
    return bodySchema.parse(JSON.parse(text));
  } catch {
    return null;
  }
}

/**
 * Merkle root and end hash of entries fromSeq..toSeq, checking the chain holds as it goes (every
 * entry present, each one's hash sha256(the hash before it ‖ its bytes)). Read as binary COPY on
 * the signing transaction's connection and checked by the verifier's scan.
 */
async function rangeRoot(db: Db, fromSeq: number, toSeq: number): Promise<{ root: Buffer; lastHash: Buffer }> {
  const start = await prevHashAt(db, fromSeq);
  if (start === null) throw new Error(`refusing to sign: entries ${fromSeq}–${toSeq} are missing`);
  const range = await scanRange(db, fromSeq, toSeq, {
    lastSeq: fromSeq - 1,
    lastHash: Buffer.from(start, 'hex'),
    ends: [],
    leaves: true,
    utf8: await textIsUtf8(db),
  });
  const broken = range.problems.find((p) => p.kind === 'gap' || p.kind === 'chain_broken' || p.kind === 'entry_edited');
  if (broken) throw new Error(`refusing to sign: the chain does not hold at entry ${broken.seq} (run \`aura ledger verify\`)`);
  if (range.count === 0 || range.lastSeq !== toSeq) {
    throw new Error(`refusing to sign: entries ${range.count === 0 ? fromSeq : range.lastSeq + 1}–${toSeq} are missing`);
  }
  const tree = new MerkleBuilder();
  for (let i = 0; i < range.count; i++) tree.addLeafHash(range.leafHashes!.subarray(i * 32, (i + 1) * 32));
  return { root: tree.root(), lastHash: Buffer.from(range.lastHash) };
}

export interface CheckpointProblem {
  kind: 'checkpoint_invalid' | 'checkpoint_foreign_key';
  detail: string;
}

/**
 * What is wrong with a stored checkpoint on its own: signature, key id, body vs columns. With
 * `trustedKeys` (SPKI PEMs) the signature must verify with one of them, and the key stored in the
 * row is used only to name a foreign signer; without them (unpinned) it is checked with the key
 * stored in the row, which proves only that the row is self-consistent.
 */
export function checkpointProblems(cp: CheckpointRow, trustedKeys?: readonly string[]): CheckpointProblem[] {
  const problems: CheckpointProblem[] = [];
  const invalid = (detail: string) => problems.push({ kind: 'checkpoint_invalid', detail });
  let signer: string | null = null;
  if (trustedKeys) {
    signer = trustedKeys.find((k) => verifySignature(k, cp.body, cp.signature)) ?? null;
    if (!signer) {
      if (verifySignature(cp.publicKey, cp.body, cp.signature)) {
        problems.push({
          kind: 'checkpoint_foreign_key',
          detail: `checkpoint ${cp.id} (entries ${cp.fromSeq}–${cp.toSeq}) is signed by key ${safeKeyId(cp.publicKey)}, which is not a trusted key`,
        });
      } else {
        invalid(`checkpoint ${cp.id}'s signature does not verify with any trusted key`);
      }
    }
  } else if (verifySignature(cp.publicKey, cp.body, cp.signature)) {
    signer = cp.publicKey;
  } else {
    invalid(`checkpoint ${cp.id}'s signature does not verify`);
  }
  const body = readCheckpointBodyText(cp.body);
  if (!body) invalid(`checkpoint ${cp.id}'s signed body is not a checkpoint`);
  if (body) {
    const keyId = safeKeyId(signer ?? cp.publicKey);
    const same =
      body.fromSeq === cp.fromSeq &&
      body.toSeq === cp.toSeq &&
      body.treeSize === cp.toSeq - cp.fromSeq + 1 &&
      body.rootHash === cp.rootHash.toString('hex') &&
      body.lastHash === cp.lastHash.toString('hex') &&
      body.keyId === cp.keyId &&
      keyId === cp.keyId;
    if (!same) invalid(`checkpoint ${cp.id}'s columns no longer match what was signed`);
  }
  return problems;
}

function safeKeyId(publicKeyPem: string): string {
  try {
    return keyIdOf(publicKeyPem);
  } catch {
    return '(unreadable key)';
  }
}

export function exportCheckpoint(cp: CheckpointRow): ExportedCheckpoint {
  return { id: cp.id, body: cp.body, signature: cp.signature, publicKey: cp.publicKey };
}

/** Reads an exported checkpoint; throws UnusableCheckpoint when it is not one or its signature fails. */
export function readCheckpointFile(file: string): ExportedCheckpoint {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UnusableCheckpoint(`checkpoint file ${file}: ${(err as Error).message}`);
  }
  const parsed = exportedSchema.safeParse(json);
  if (!parsed.success)
    throw new UnusableCheckpoint(`checkpoint file ${file} is not an exported checkpoint (${parsed.error.issues[0]?.message})`);
  readCheckpointBody(parsed.data);
  if (!verifySignature(parsed.data.publicKey, parsed.data.body, parsed.data.signature)) {
    throw new UnusableCheckpoint(`checkpoint file ${file}: its signature does not verify`);
  }
  return parsed.data;
}

export function readCheckpointBody(cp: ExportedCheckpoint): CheckpointBody {
  try {
    return bodySchema.parse(JSON.parse(cp.body));
  } catch {
    throw new UnusableCheckpoint(`checkpoint ${cp.id}: its signed body is not a checkpoint`);
  }
}

export function checkpointSummary(cp: CheckpointRow): string {
  return `checkpoint ${cp.id}: entries ${cp.fromSeq}–${cp.toSeq}, root ${cp.rootHash.toString('hex').slice(0, 16)}…, key ${cp.keyId}`;
}
