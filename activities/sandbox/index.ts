/**
 * The verification sandbox (queue `aura-sandbox`): runs untrusted generated code in a child
 * process on a temporary copy of the workspace, and exports a finished run's workspace.
 */
import { join } from 'node:path';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import type { Db } from '../../db/connect.js';
import { acceptedFiles } from '../../db/repositories/workspace.js';
import { frozenTestFiles } from '../../db/repositories/acceptance-tests.js';
import { getModelRun, taskOutputOf } from '../../db/repositories/model-runs.js';
import type { VerificationResult } from '../../governance/audit-rules.js';
import { failureEvidence } from '../../governance/evidence.js';
import { storeEvidence } from '../../db/repositories/evidence.js';
import type { SandboxHost } from './host.js';
import { DEFAULT_LIMITS } from './limits.js';
import { runCommand } from './run-command.js';
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
  /** The task's frozen acceptance tests are laid over the candidate (a green run); absent: none. */
  frozenTests?: boolean;
}

/** A red run: a tester's tests against the workspace as it stands, before any code (they must fail). */
export interface VerifyTestsRequest {
  runId: string;
  taskId: string;
  /** The tester's answer holding the tests. */
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

/** What the sandbox returns: `outputSha256` names the full output in evidence_blobs, when kept. */
export type SandboxVerification = VerificationResult & { isolation: string[]; outputSha256?: string };

/** The excerpt a verification carries (and a repair round is shown), of at most this many characters. */
export const EXCERPT_CHARS = 2_000;

/**
 * Lays the files out in a fresh folder and runs the command there, locked down. `keepOutput`
 * stores the full output (as much as runCommand kept) and returns its sha256, or null when it
 * is not to be kept. `host`: the process's own unless given.
 */
export async function verifyFiles(
  files: Map<string, string>,
  command: string,
  timeoutMs: number,
  keepOutput?: (output: string) => Promise<string | null>,
  host?: SandboxHost,
): Promise<SandboxVerification> {
  const dir = await makeTempDir();
  try {
    const refused = await writeFiles(dir, files);
    const r = await runCommand(command, dir, { ...DEFAULT_LIMITS, wallClockMs: timeoutMs }, host);
    if (r.skippedReason !== null) {
      // No sandbox could isolate the code: it was not run (fail closed).
      return { ...notRun(r.skippedReason, refused), outsideWrites: [], isolation: r.isolation };
    }
    const passed = r.exitCode === 0 && !r.timedOut && !r.outputLimited;
    const outputSha256 = keepOutput ? await keepOutput(r.output) : null;
    return {
      ran: true,
      passed,
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      durationMs: r.durationMs,
      excerpt: excerptOf(r.output, passed, r.outputLimited),
      skippedReason: null,
      refusedPaths: refused,
      outsideWrites: r.outsideWrites,
      isolation: r.isolation,
      ...(outputSha256 ? { outputSha256 } : {}),
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

/** `host`: what this host's sandbox can do (isolation-probe.ts); the process's own unless given. */
export function createSandboxActivities(deps: { db: Db; workspacesDir: string; host?: SandboxHost }) {
  const { db, host } = deps;

  /** The full output, content-addressed; not when the run was cancelled (nothing is recorded then). */
  async function keepOutput(output: string): Promise<string | null> {
    return cancellationSignal()?.aborted ? null : storeEvidence(db, output);
  }

  /** Every verification is a row: each repair round's, not only the one the Auditor judges. */
  async function recorded(
    what: {
      runId: string;
      taskId: string | null;
      modelRunId: string | null;
      kind: 'task' | 'workspace';
      command: string;
      phase?: 'red' | 'green' | null;
    },
    result: SandboxVerification,
  ): Promise<SandboxVerification> {
    // Cancelled (the Director cancelled the run): the process tree is gone; what it printed is
    // not a verdict on the code, so no verification is recorded and Temporal hears "cancelled".
    const cancelled = cancellationSignal();
    if (cancelled?.aborted) throw cancelled.reason;
    await recordVerification(db, { ...what, idempotencyKey: idempotencyKey(activityRef()), result });
    return result;
  }

  async function verifyCandidate(req: VerifyTaskRequest): Promise<SandboxVerification> {
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
    // The frozen tests are run as the tester wrote them, whatever the candidate wrote over them.
    if (req.frozenTests && req.taskId) for (const f of await frozenTestFiles(db, req.taskId)) files.set(f.path, f.content);
    return verifyFiles(files, req.command, req.timeoutMs, keepOutput, host);
  }

  return conflictsAsFailures({
    /** The task's acceptance command, on the accepted workspace plus this candidate output. */
    async verifyTaskOutput(req: VerifyTaskRequest): Promise<SandboxVerification> {
      const result = failIfRefused(await verifyCandidate(req));
      return recorded(
        {
          runId: req.runId,
          taskId: req.taskId ?? null,
          modelRunId: req.modelRunId,
          kind: 'task',
          command: req.command,
          phase: req.frozenTests ? 'green' : null,
        },
        result,
      );
    },

    /** Red before green: the tester's tests on the workspace as it stands, nothing of the task implemented. */
    async verifyTests(req: VerifyTestsRequest): Promise<SandboxVerification> {
      const result = failIfRefused(await verifyCandidate({ ...req, frozenTests: false }));
      return recorded(
        { runId: req.runId, taskId: req.taskId, modelRunId: req.modelRunId, kind: 'task', command: req.command, phase: 'red' },
        result,
      );
    },

    /** The run's final check: the whole workspace, every accepted output layered in order. */
    async verifyWorkspace(req: VerifyWorkspaceRequest): Promise<SandboxVerification> {
      const files = await acceptedFiles(db, req.taskIds);
      const result = failIfRefused(await verifyFiles(files, req.command, req.timeoutMs, keepOutput, host));
      return recorded({ runId: req.runId, taskId: null, modelRunId: null, kind: 'workspace', command: req.command }, result);
    },

    /** Writes the finished workspace under AURA_HOME/workspaces/<runId> for people to use. */
    async exportWorkspace(req: { runId: string; taskIds: string[] }): Promise<{ dir: string; files: number }> {
      // Generated code is the run's, not every local user's: the folder is the worker's alone
      // (0700) before anything is written in it, and every file in it 0600.
      const dir = join(deps.workspacesDir, req.runId);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
      const files = await acceptedFiles(db, req.taskIds);
      const refused = await writeFiles(dir, files);
      await ownerOnly(dir);
      return { dir, files: files.size - refused.length };
    },
  });
}

export type SandboxActivities = ReturnType<typeof createSandboxActivities>;

/**
 * A passing run's excerpt is its last characters; a failing run's is the failure's evidence (the
 * failing tests' own blocks, see governance/evidence.ts), which the last characters often miss.
 */
function excerptOf(output: string, passed: boolean, outputLimited: boolean): string {
  const note = outputLimited ? '\n(stopped: output limit reached)' : '';
  return (passed ? tail(output, EXCERPT_CHARS) : failureEvidence(output, EXCERPT_CHARS - note.length)) + note;
}

function tail(text: string, n: number): string {
  return text.length <= n ? text : `…${text.slice(text.length - n)}`;
}

/** Folders 0700 and files 0600 under `dir` (writeFiles wrote them 0644; symbolic links it never writes). */
async function ownerOnly(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await chmod(path, 0o700);
      await ownerOnly(path);
    } else if (entry.isFile()) {
      await chmod(path, 0o600);
    }
  }
}
