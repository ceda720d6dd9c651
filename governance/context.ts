/**
 * What code an employee is shown: the files its task builds on, chosen deterministically and
 * cut to the employee's context budget. In-scope files first (the task may change them), then
 * the files of its direct dependencies (what it calls), then the rest of the workspace. Within
 * a group, files go by path. A file that does not fit whole is cut and marked as cut; files
 * past the budget are named only, so the employee knows they exist.
 */
import { matchesAnyGlob } from './glob.js';

/** Tokens an employee is shown when the registry says nothing. */
export const DEFAULT_CONTEXT_TOKENS = 16_000;
/** The usual rough measure: about four characters a token. */
export const CHARS_PER_TOKEN = 4;

export type ContextOrigin = 'scope' | 'dependency' | 'workspace';

export interface ContextFile {
  path: string;
  content: string;
  origin: ContextOrigin;
  /** True when only the start of the file fits the budget. */
  cut: boolean;
}

export interface TaskContext {
  files: ContextFile[];
  /** Files of the workspace left out whole for lack of budget (named in the prompt). */
  omitted: string[];
  /** Characters of file content shown. */
  chars: number;
}

export interface WorkspaceFile {
  path: string;
  content: string;
  /** The task the file was accepted from. */
  fromTask: string;
}

const ORDER: ContextOrigin[] = ['scope', 'dependency', 'workspace'];
/** A cut file keeps at least this much, or is only named. */
const MIN_CUT_CHARS = 200;

export function originOf(file: WorkspaceFile, scope: readonly string[], directDependencies: ReadonlySet<string>): ContextOrigin {
  if (matchesAnyGlob(file.path, scope)) return 'scope';
  return directDependencies.has(file.fromTask) ? 'dependency' : 'workspace';
}

export function selectContext(
  workspace: WorkspaceFile[],
  opts: { scope: readonly string[]; directDependencies: ReadonlySet<string>; budgetChars: number },
): TaskContext {
  const ranked = workspace
    .map((f) => ({ ...f, origin: originOf(f, opts.scope, opts.directDependencies) }))
    .sort((a, b) => ORDER.indexOf(a.origin) - ORDER.indexOf(b.origin) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  let left = Math.max(0, opts.budgetChars);
  const files: ContextFile[] = [];
  const omitted: string[] = [];
  for (const f of ranked) {
    if (f.content.length <= left) {
      files.push({ path: f.path, content: f.content, origin: f.origin, cut: false });
      left -= f.content.length;
    } else if (left >= MIN_CUT_CHARS) {
      files.push({ path: f.path, content: f.content.slice(0, left), origin: f.origin, cut: true });
      left = 0;
    } else {
      omitted.push(f.path);
    }
  }
  return { files, omitted, chars: files.reduce((n, f) => n + f.content.length, 0) };
}
