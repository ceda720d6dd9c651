/**
 * The record keeper's retention work (queue `aura-governance`), run by the retention purge
 * workflow: record the Director's request, check it (retention, reason, an intact chain), sign
 * a checkpoint at the purge horizon, purge through the database's own guarded function, and
 * sign what follows. Each step is idempotent: a retried step finds its earlier result.
 */
import type { ApplicationFailure } from '@temporalio/activity';
import { failure } from '../../errors/index.js';
import type { Db } from '../../db/connect.js';
import {
  checkpoints,
  entriesBetween,
  lastEntryBefore,
  purgeReceipt,
  purgeReceipts,
  purgeThrough,
  retentionClock,
} from '../../db/repositories/chain.js';
import { appendEvent } from '../../db/repositories/ledger.js';
import { createCheckpoint } from '../../integrity/checkpoint.js';
import { MerkleBuilder } from '../../integrity/merkle.js';
import type { SigningKey } from '../../integrity/signing.js';
import { verifyLedger } from '../../integrity/verify.js';
import { activityRef, conflictsAsFailures, idempotencyKey } from '../context.js';

export interface PurgeRequestInput {
  purgeId: string;
  before: string;
  reason: string;
  director: string;
}

export interface PurgePlan {
  /** Null when no entry is old enough: nothing to purge. */
  horizonSeq: number | null;
  fromSeq: number;
  merkleRoot: string | null;
  retentionDays: number;
}

export interface PurgeResult {
  purgeId: string;
  horizonSeq: number | null;
  counts: Record<string, number>;
  merkleRoot: string | null;
  checkpointAfter: number | null;
}

export function refused(message: string): ApplicationFailure {
  return failure('RetentionRefused', message);
}

export function createRetentionActivities(deps: { db: Db; signingKey: () => SigningKey }) {
  const { db } = deps;
  return conflictsAsFailures({
    async recordPurgeRequest(r: PurgeRequestInput): Promise<void> {
      await appendEvent(db, {
        idempotencyKey: idempotencyKey(activityRef(), 'purge-request', r.purgeId),
        actor: r.director,
        source: 'director',
        action: 'retention.purge_requested',
        severity: 'warning',
        description: `the Director asked to purge the record before ${r.before}: ${r.reason}`,
        details: { purgeId: r.purgeId, before: r.before, reason: r.reason },
      });
    },

    /** Checks the request and finds the horizon: the newest entry before the date, signed. */
    async planPurge(r: PurgeRequestInput): Promise<PurgePlan> {
      const before = new Date(r.before);
      if (!r.reason.trim()) throw refused('a retention purge needs a reason');
      const { now, retentionDays } = await retentionClock(db);
      const floor = new Date(now.getTime() - retentionDays * 86_400_000);
      if (!(before <= floor)) {
        throw refused(
          `refused: ${before.toISOString()} is inside the ${retentionDays} days of retention (nothing after ${floor.toISOString()} may be removed)`,
        );
      }
      const report = await verifyLedger(db);
      if (!report.intact)
        throw refused(`refused: the record does not verify (${report.firstBad?.detail}); nothing is purged from a tampered record`);
      const receipts = await purgeReceipts(db);
      const fromSeq = (receipts[receipts.length - 1]?.horizonSeq ?? 0) + 1;
      const candidate = await lastEntryBefore(db, before);
      if (candidate === null || candidate < fromSeq) return { horizonSeq: null, fromSeq, merkleRoot: null, retentionDays };
      const horizonSeq = await signedHorizon(db, deps.signingKey(), candidate);
      if (horizonSeq === null || horizonSeq < fromSeq) return { horizonSeq: null, fromSeq, merkleRoot: null, retentionDays };
      const tree = new MerkleBuilder();
      for await (const e of entriesBetween(db, fromSeq, horizonSeq)) tree.add(e.entry);
      return { horizonSeq, fromSeq, merkleRoot: tree.root().toString('hex'), retentionDays };
    },

    async purge(r: PurgeRequestInput & { horizonSeq: number; merkleRoot: string }): Promise<Record<string, number>> {
      const done = await purgeReceipt(db, r.purgeId);
      if (done) return done.counts;
      try {
        return await purgeThrough(db, {
          id: r.purgeId,
          before: new Date(r.before),
          horizonSeq: r.horizonSeq,
          reason: r.reason,
          directorId: r.director,
          merkleRoot: r.merkleRoot,
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23514') throw refused((err as Error).message);
        throw err;
      }
    },

    /** Signs everything after the purge (the carried rows and the receipt). */
    async checkpointLedger(): Promise<number | null> {
      const cp = await createCheckpoint(db, deps.signingKey());
      return cp?.toSeq ?? null;
    },
  });
}

/**
 * The purge horizon: the newest checkpoint end at or before `candidate`; when the newest
 * checkpoint ends before it, a new checkpoint is signed up to `candidate` first.
 */
async function signedHorizon(db: Db, key: SigningKey, candidate: number): Promise<number | null> {
  const all = await checkpoints(db);
  const latest = all[all.length - 1];
  if (!latest || latest.toSeq < candidate) {
    const cp = await createCheckpoint(db, key, { upTo: candidate });
    if (cp) return cp.toSeq;
  }
  const usable = all.filter((c) => c.toSeq <= candidate);
  return usable.length > 0 ? usable[usable.length - 1]!.toSeq : null;
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
