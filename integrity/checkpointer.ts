/**
 * Seals pending ledger entries every tick (a writer that commits while another holds the chain
 * head leaves its entry pending), and signs checkpoints as the record grows: every `everyEntries` new entries, or every
 * `everyMinutes` when anything new was written since the last one. Runs beside the
 * governance worker; a failure is logged and tried again at the next tick.
 */
import type { Db } from '../db/connect.js';
import { chainHead, latestCheckpoint, sealLedger } from '../db/repositories/chain.js';
import { checkpointSummary, createCheckpoint } from './checkpoint.js';
import type { SigningKey } from './signing.js';

export interface CheckpointPolicy {
  everyEntries: number;
  everyMinutes: number;
}

/** Whether a checkpoint is due now. */
export async function checkpointDue(db: Db, policy: CheckpointPolicy, now = new Date()): Promise<boolean> {
  const [head, last] = await Promise.all([chainHead(db), latestCheckpoint(db)]);
  const unsigned = head.seq - (last?.toSeq ?? 0);
  if (unsigned <= 0) return false;
  if (unsigned >= policy.everyEntries) return true;
  const since = last ? now.getTime() - last.createdAt.getTime() : Number.POSITIVE_INFINITY;
  return since >= policy.everyMinutes * 60_000;
}

export function startCheckpointer(
  db: Db,
  key: () => SigningKey,
  policy: CheckpointPolicy,
  log: (line: string) => void,
  tickMs = 2_000,
): () => Promise<void> {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = async () => {
    try {
      await sealLedger(db);
      if (await checkpointDue(db, policy)) {
        const cp = await createCheckpoint(db, key());
        if (cp) log(`ledger: signed ${checkpointSummary(cp)}`);
      }
    } catch (err) {
      if (!stopped) log(`ledger: checkpoint not signed this time: ${(err as Error).message}`);
    }
  };
  const timer = setInterval(() => {
    if (!running) running = tick().finally(() => (running = null));
  }, tickMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
