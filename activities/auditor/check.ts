/**
 * Checking one output by hand (`aura auditor check`): the same detectors and the same sandbox
 * as a run, on a task file, an output file and an optional workspace folder, without Temporal
 * or a database. This is how a team tunes its policy and a reviewer re-checks a verdict.
 */
import { TESTER_CAPABILITY } from '../../governance/acceptance-tests.js';
import { readdir, readFile, lstat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { detectViolations, type VerificationResult } from '../../governance/audit-rules.js';
import { parseTaskOutput } from '../../governance/task-output.js';
import { taskSpecSchema, type TaskSpec } from '../../governance/schemas.js';
import type { Violation } from '../../governance/types.js';
import { sha256 } from '../context.js';
import { notRun, unverifiable, verifyFiles } from '../sandbox/index.js';
import { NODE_BUILTINS } from './index.js';
import { UnusableInput } from '../../errors/index.js';

export interface CheckVerdict {
  clean: boolean;
  violations: Violation[];
  verification: (VerificationResult & { isolation?: string[] }) | null;
  task: { id: string; title: string };
}

/** Parses a task file's JSON; an unusable task is an error, not a verdict. */
export function parseTask(json: unknown): TaskSpec {
  const parsed = taskSpecSchema.safeParse(json);
  if (!parsed.success) {
    throw new UnusableInput(
      `the task is not usable: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(task)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

export async function checkOutput(args: { task: TaskSpec; outputText: string; workspaceDir?: string | null }): Promise<CheckVerdict> {
  const workspace = args.workspaceDir ? await readWorkspace(args.workspaceDir) : new Map<string, string>();
  const parsed = parseTaskOutput(args.outputText);
  let verification: CheckVerdict['verification'] = null;
  if (parsed.ok) {
    const skipped = unverifiable(parsed.output.files);
    if (skipped) {
      verification = notRun(skipped);
    } else {
      const files = new Map(workspace);
      for (const f of parsed.output.files) files.set(f.path, f.content);
      verification = await verifyFiles(files, args.task.acceptance.command, args.task.acceptance.timeoutMs);
    }
  }
  // A tester's tests (the task as its tester sees it) are judged red: on the workspace as it
  // stands, nothing of the task implemented, they must fail.
  const red = args.task.capability === TESTER_CAPABILITY;
  const violations = detectViolations(
    {
      task: args.task,
      rawOutput: args.outputText,
      parsedOutput: parsed,
      verification: red ? null : verification,
      ...(red ? { red: verification } : {}),
      employeeFailure: null,
      context: { workspaceFiles: [...workspace.keys()], otherTasks: [], builtinModules: NODE_BUILTINS },
    },
    sha256,
  );
  return { clean: violations.length === 0, violations, verification, task: { id: args.task.id, title: args.task.title } };
}

/** Every regular file below `dir` (no links; no node_modules or .git), by relative path. */
export async function readWorkspace(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  let root;
  try {
    root = await lstat(dir);
  } catch {
    throw new UnusableInput(`workspace ${dir} does not exist`);
  }
  if (!root.isDirectory()) throw new UnusableInput(`workspace ${dir} is not a folder`);
  const walk = async (at: string) => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.set(relative(dir, path).split(sep).join('/'), await readFile(path, 'utf8'));
    }
  };
  await walk(dir);
  return files;
}
