/**
 * Seals pending ledger entries every tick (a writer that commits while another holds the chain
 * head leaves its entry pending), and signs checkpoints as the record grows: every `everyEntries` new entries, or every
 * `everyMinutes` when anything new was written since the last one. Runs beside the
 * governance worker; a failure is logged and tried again at the next tick. A refusal to sign
 * (the database does not continue the signed log beside the key: checkpoints deleted or
 * replaced, entries rewritten) is logged as an alarm, again every `alarmEveryMs` while it lasts.
 * Waits for a lock at most `lockTimeoutMs` (a transaction holding the chain head delays it, no more).
 */
import type { Db } from '../db/connect.js';
import { chainHead, latestCheckpoint, sealLedger } from '../db/repositories/chain.js';
import { checkpointSummary, createCheckpoint, DEFAULT_LOCK_TIMEOUT_MS, SigningRefused } from './checkpoint.js';
import type { SigningKey } from './signing.js';

export interface CheckpointPolicy {
  everyEntries: number;
  everyMinutes: number;
}

/** Whether a checkpoint is due now. */
export async function checkpointDue(db: Db, policy: CheckpointPolicy, now = new Date()): Promise<boolean> {
  const [head, last] = await Promise.all([chainHead(db), latestCheckpoint(db)]);
  // A checkpoint past the head is not ours to skip: signing says why it will not go on.
  if (last && last.toSeq > head.seq) return true;
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
  opts: { lockTimeoutMs?: number; alarmEveryMs?: number } = {},
): () => Promise<void> {
  let running: Promise<void> | null = null;
  let stopped = false;
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const alarmEveryMs = opts.alarmEveryMs ?? 60_000;
  let alarm: { text: string; at: number } | null = null;
  const tick = async () => {
    try {
      await sealLedger(db, lockTimeoutMs);
      if (await checkpointDue(db, policy)) {
        const cp = await createCheckpoint(db, key(), { lockTimeoutMs });
        if (cp) log(`ledger: signed ${checkpointSummary(cp)}`);
      }
      alarm = null;
    } catch (err) {
      if (stopped) return;
      const text = (err as Error).message;
      if (!(err instanceof SigningRefused)) return log(`ledger: checkpoint not signed this time: ${text}`);
      if (alarm?.text === text && Date.now() - alarm.at < alarmEveryMs) return;
      alarm = { text, at: Date.now() };
      log(`ledger: ALARM: REFUSING TO SIGN: ${text}`);
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
