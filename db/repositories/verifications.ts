import { randomUUID } from 'node:crypto';
import type { Db } from '../connect.js';
import type { VerificationResult } from '../../governance/audit-rules.js';
import { storableJson } from '../storable.js';
import { insertOnce } from './idempotent.js';

export interface NewVerification {
  idempotencyKey: string;
  runId: string;
  taskId: string | null;
  modelRunId: string | null;
  kind: 'task' | 'workspace';
  /** red: a task's frozen tests before any code; green: a coder's round against them. */
  phase?: 'red' | 'green' | null;
  command: string;
  /** `outputSha256`: the full output, in evidence_blobs (absent when the command did not run). */
  result: VerificationResult & { isolation: string[]; outputSha256?: string };
}

/**
 * Records what the sandbox saw, once per activity (a retry finds the row it wrote). The duration,
 * the output excerpt, the full output's hash and the isolation lines are not compared with a
 * retry's: they differ between two runs of the same command (timings in a test runner's output;
 * as root, each run's own sandbox uid); the outcome must not.
 */
export async function recordVerification(db: Db, v: NewVerification): Promise<string> {
  const r = v.result;
  const row = await insertOnce(
    db,
    'verifications',
    {
      id: randomUUID(),
      idempotency_key: v.idempotencyKey,
      run_id: v.runId,
      task_id: v.taskId,
      model_run_id: v.modelRunId,
      kind: v.kind,
      phase: v.phase ?? null,
      command: v.command,
      ran: r.ran,
      passed: r.passed,
      exit_code: r.exitCode,
      timed_out: r.timedOut,
      duration_ms: Math.round(r.durationMs),
      excerpt: r.excerpt,
      skipped_reason: r.skippedReason,
      isolation: storableJson(r.isolation),
      output_sha256: r.outputSha256 ?? null,
    },
    { ignore: ['id', 'duration_ms', 'excerpt', 'output_sha256', 'isolation'] },
  );
  return row.id;
}
