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
  entriesBetween,
  prevHashAt,
  sealLedger,
  latestCheckpoint,
  purgeReceipts,
  withCheckpointLock,
  type CheckpointRow,
  type NewCheckpoint,
} from '../db/repositories/chain.js';
import { canonicalJson } from './canonical.js';
import { MerkleBuilder } from './merkle.js';
import { keyIdOf, verifySignature, type SigningKey } from './signing.js';
import { UnusableCheckpoint } from '../errors/index.js';

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

/**
 * Signs the entries after the last checkpoint (or the purge horizon) up to `upTo` (default the
 * head). Refuses to sign a range whose chain does not hold. Null when there is nothing new.
 */
export async function createCheckpoint(db: Db, key: SigningKey, opts: { upTo?: number } = {}): Promise<CheckpointRow | null> {
  await sealLedger(db);
  const cp = await withCheckpointLock(db, async (tx) => {
    const last = await latestCheckpoint(tx);
    const receipts = await purgeReceipts(tx);
    const horizon = receipts.length > 0 ? receipts[receipts.length - 1]!.horizonSeq : 0;
    const fromSeq = Math.max(last?.toSeq ?? 0, horizon) + 1;
    const toSeq = opts.upTo ?? (await chainHead(tx)).seq;
    if (toSeq < fromSeq) return null;
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
  });
  return cp ? { ...cp, createdAt: new Date() } : null;
}

/** Merkle root and end hash of entries fromSeq..toSeq, checking the chain holds as it goes. */
async function rangeRoot(db: Db, fromSeq: number, toSeq: number): Promise<{ root: Buffer; lastHash: Buffer }> {
  const tree = new MerkleBuilder();
  let expect = fromSeq;
  const start = await prevHashAt(db, fromSeq);
  let prev = start === null ? null : Buffer.from(start, 'hex');
  for await (const e of entriesBetween(db, fromSeq, toSeq)) {
    const hash = prev ? createHash('sha256').update(prev).update(e.entry, 'utf8').digest('hex') : null;
    if (e.seq !== expect || hash !== e.hash) {
      throw new Error(`refusing to sign: the chain does not hold at entry ${e.seq} (run \`aura ledger verify\`)`);
    }
    tree.add(e.entry);
    prev = Buffer.from(e.hash, 'hex');
    expect++;
  }
  if (!prev || expect !== toSeq + 1) throw new Error(`refusing to sign: entries ${expect}–${toSeq} are missing`);
  return { root: tree.root(), lastHash: prev };
}

/** What is wrong with a stored checkpoint on its own: signature, key id, body vs columns. */
export function checkpointProblems(cp: CheckpointRow): string[] {
  const problems: string[] = [];
  if (!verifySignature(cp.publicKey, cp.body, cp.signature)) problems.push(`checkpoint ${cp.id}'s signature does not verify`);
  let body: CheckpointBody | null = null;
  try {
    body = bodySchema.parse(JSON.parse(cp.body));
  } catch {
    problems.push(`checkpoint ${cp.id}'s signed body is not a checkpoint`);
  }
  if (body) {
    const same =
      body.fromSeq === cp.fromSeq &&
      body.toSeq === cp.toSeq &&
      body.rootHash === cp.rootHash.toString('hex') &&
      body.lastHash === cp.lastHash.toString('hex') &&
      body.keyId === cp.keyId &&
      keyIdOf(cp.publicKey) === cp.keyId;
    if (!same) problems.push(`checkpoint ${cp.id}'s columns no longer match what was signed`);
  }
  return problems;
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
