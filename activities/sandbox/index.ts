/**
 * The verification sandbox (queue `aura-sandbox`): runs untrusted generated code in a child
 * process on a temporary copy of the workspace, and exports a finished run's workspace.
 */
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import type { Db } from '../../db/connect.js';
import { acceptedFiles } from '../../db/repositories/workspace.js';
import { getModelRun, taskOutputOf } from '../../db/repositories/model-runs.js';
import type { VerificationResult } from '../../governance/audit-rules.js';
import { DEFAULT_LIMITS, runCommand } from './run-command.js';
import { makeTempDir, removeDir, writeFiles } from './workspace-dir.js';
import { recordVerification } from '../../db/repositories/verifications.js';
import { failure } from '../../errors/index.js';

/** A verification that did not run the command, and why (nothing passes unverified). */
export function notRun(reason: string, refusedPaths: string[] = []): VerificationResult {
  return { ran: false, passed: false, exitCode: null, timedOut: false, durationMs: 0, excerpt: '', skippedReason: reason, refusedPaths };
}
import { FailureType } from '../../governance/failures.js';
import { activityRef, cancellationSignal, conflictsAsFailures, idempotencyKey } from '../context.js';

export interface VerifyTaskRequest {
  runId: string;
  /** The task (recorded with the verification; older workflow versions: absent). */
  taskId?: string;
  modelRunId: string;
  baseTaskIds: string[];
  command: string;
  timeoutMs: number;
}

export interface VerifyWorkspaceRequest {
  runId: string;
  taskIds: string[];
  command: string;
  timeoutMs: number;
}

/** Lays the files out in a fresh folder and runs the command there, locked down. */
export async function verifyFiles(
  files: Map<string, string>,
  command: string,
  timeoutMs: number,
): Promise<VerificationResult & { isolation: string[] }> {
  const dir = await makeTempDir();
  try {
    const refused = await writeFiles(dir, files);
    const r = await runCommand(command, dir, { ...DEFAULT_LIMITS, wallClockMs: timeoutMs });
    if (r.skippedReason !== null) {
      // No sandbox could isolate the code: it was not run (fail closed).
      return { ...notRun(r.skippedReason, refused), outsideWrites: [], isolation: r.isolation };
    }
    return {
      ran: true,
      passed: r.exitCode === 0 && !r.timedOut && !r.outputLimited,
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      durationMs: r.durationMs,
      excerpt: tail(r.output, 2_000) + (r.outputLimited ? '\n(stopped: output limit reached)' : ''),
      skippedReason: null,
      refusedPaths: refused,
      outsideWrites: r.outsideWrites,
      isolation: r.isolation,
    };
  } finally {
    await removeDir(dir);
  }
}

/**
 * A verification the sandbox refused to run (no isolation on this worker) is the machine's
 * fault: the activity fails without retry, and the task records an infrastructure incident
 * instead of charging the employee.
 */
export function failIfRefused<T extends VerificationResult & { isolation: string[] }>(result: T): T {
  if (!result.ran && result.isolation.some((i) => i.startsWith('REFUSED'))) {
    throw failure(FailureType.SandboxUnavailable, result.skippedReason ?? 'the sandbox refused to run');
  }
  return result;
}

/** Why an output cannot be verified at all, or null. */
export function unverifiable(files: { path: string }[]): string | null {
  return files.length === 0 ? 'the output has no files: nothing to verify' : null;
}

export function createSandboxActivities(deps: { db: Db; workspacesDir: string }) {
  const { db } = deps;

  /** Every verification is a row: each repair round's, not only the one the Auditor judges. */
  async function recorded(
    what: { runId: string; taskId: string | null; modelRunId: string | null; kind: 'task' | 'workspace'; command: string },
    result: VerificationResult & { isolation: string[] },
  ): Promise<VerificationResult & { isolation: string[] }> {
    // Cancelled (the Director cancelled the run): the process tree is gone; what it printed is
    // not a verdict on the code, so no verification is recorded and Temporal hears "cancelled".
    const cancelled = cancellationSignal();
    if (cancelled?.aborted) throw cancelled.reason;
    await recordVerification(db, { ...what, idempotencyKey: idempotencyKey(activityRef()), result });
    return result;
  }

  async function verifyCandidate(req: VerifyTaskRequest): Promise<VerificationResult & { isolation: string[] }> {
    const run = await getModelRun(db, req.modelRunId);
    const parsed = taskOutputOf(run ?? { output: null });
    const skipped = run?.output_altered
      ? 'the output is not text (a NUL byte or invalid Unicode): nothing of it is run'
      : parsed.ok
        ? unverifiable(parsed.output.files)
        : `the output is malformed: ${parsed.error}`;
    if (skipped || !parsed.ok) return { ...notRun(skipped ?? 'the output is malformed'), outsideWrites: [], isolation: [] };
    const files = await acceptedFiles(db, req.baseTaskIds);
    for (const f of parsed.output.files) files.set(f.path, f.content);
    return verifyFiles(files, req.command, req.timeoutMs);
  }

  return conflictsAsFailures({
    /** The task's acceptance command, on the accepted workspace plus this candidate output. */
    async verifyTaskOutput(req: VerifyTaskRequest): Promise<VerificationResult & { isolation: string[] }> {
      const result = failIfRefused(await verifyCandidate(req));
      return recorded(
        { runId: req.runId, taskId: req.taskId ?? null, modelRunId: req.modelRunId, kind: 'task', command: req.command },
        result,
      );
    },

    /** The run's final check: the whole workspace, every accepted output layered in order. */
    async verifyWorkspace(req: VerifyWorkspaceRequest): Promise<VerificationResult & { isolation: string[] }> {
      const files = await acceptedFiles(db, req.taskIds);
      const result = failIfRefused(await verifyFiles(files, req.command, req.timeoutMs));
      return recorded({ runId: req.runId, taskId: null, modelRunId: null, kind: 'workspace', command: req.command }, result);
    },

    /** Writes the finished workspace under AURA_HOME/workspaces/<runId> for people to use. */
    async exportWorkspace(req: { runId: string; taskIds: string[] }): Promise<{ dir: string; files: number }> {
      const dir = join(deps.workspacesDir, req.runId);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const files = await acceptedFiles(db, req.taskIds);
      const refused = await writeFiles(dir, files);
      return { dir, files: files.size - refused.length };
    },
  });
}

export type SandboxActivities = ReturnType<typeof createSandboxActivities>;

function tail(text: string, n: number): string {
  return text.length <= n ? text : `…${text.slice(text.length - n)}`;
}
