/**
 * A small, dependency-free glob matcher for task scopes: `*` matches within one path
 * segment, `**` across segments, `?` one character. Paths are workspace-relative with `/`.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more whole directories; a trailing `**` matches everything below.
        const slash = glob[i + 2] === '/';
        source += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else {
        source += '[^/]*';
      }
    } else if (ch === '?') {
      source += '[^/]';
    } else {
      source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

export function matchesAnyGlob(path: string, globs: readonly string[]): boolean {
  return globs.some((glob) => matchesGlob(path, glob));
}

type Step = { kind: 'char'; c: string } | { kind: 'one' } | { kind: 'star' } | { kind: 'dirs' } | { kind: 'all' };

/**
 * Whether `path` matches `glob`, exactly as `globToRegExp(glob).test(path)` says, in time
 * proportional to the product of their lengths: every position in the glob is followed at once
 * instead of backtracking. The regular expression of a scope with many globstar folders, or many
 * stars in one name, backtracked for hours over a path of a few hundred characters, blocking the
 * worker: the scope is a planner's, the path a model's.
 */
export function matchesGlob(path: string, glob: string): boolean {
  const steps = globSteps(glob);
  const n = steps.length;
  // Positions in the glob reached so far, and (for a run of folders, `**/`) positions inside one:
  // a run once begun ends only with a "/".
  let at = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  let inRun = new Uint8Array(n);
  let nextInRun = new Uint8Array(n);
  // `*`, `**` and `**/` may match nothing: a position before one is also a position after it.
  const skip = (set: Uint8Array) => {
    for (let j = 0; j < n; j++) if (set[j] && steps[j]!.kind !== 'char' && steps[j]!.kind !== 'one') set[j + 1] = 1;
  };
  at[0] = 1;
  skip(at);
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    // As the regular expression's ".": anything but a line terminator.
    const dot = ch !== '\n' && ch !== '\r' && ch !== '\u2028' && ch !== '\u2029';
    next.fill(0);
    nextInRun.fill(0);
    let alive = false;
    const to = (set: Uint8Array, j: number) => {
      set[j] = 1;
      alive = true;
    };
    for (let j = 0; j < n; j++) {
      const step = steps[j]!;
      if (step.kind === 'dirs' && (at[j] || inRun[j])) {
        // Any characters ending with "/" (the regular expression's `(?:.*\/)?`).
        if (dot) to(nextInRun, j);
        if (ch === '/') to(next, j + 1);
      }
      if (!at[j]) continue;
      if (step.kind === 'char') {
        if (ch === step.c) to(next, j + 1);
      } else if (step.kind === 'one') {
        if (ch !== '/') to(next, j + 1);
      } else if (step.kind === 'star') {
        if (ch !== '/') to(next, j);
      } else if (step.kind === 'all') {
        if (dot) to(next, j);
      }
    }
    if (!alive) return false;
    skip(next);
    [at, next] = [next, at];
    [inRun, nextInRun] = [nextInRun, inRun];
  }
  return at[n] === 1;
}

/** The glob as `globToRegExp` reads it: literal characters, "?", "*", "**" followed by "/", and "**". */
function globSteps(glob: string): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        steps.push({ kind: slash ? 'dirs' : 'all' });
        i += slash ? 2 : 1;
      } else steps.push({ kind: 'star' });
    } else if (ch === '?') steps.push({ kind: 'one' });
    else steps.push({ kind: 'char', c: ch });
  }
  return steps;
}

/**
 * Why a path may not be written at all, whatever the scope: absolute, escaping with `..`,
 * or otherwise not a plain relative path. Returns null for a safe path.
 */
export function unsafePathReason(path: string): string | null {
  if (path.length === 0) return 'empty path';
  if (path.includes('\0')) return 'path contains a NUL byte';
  // Control characters and lone surrogates: no file name a person can read or a tool can trust.
  if (/[\u0001-\u001f\u007f]/.test(path)) return 'path contains a control character';
  if (!(path as string & { isWellFormed(): boolean }).isWellFormed()) return 'path is not valid Unicode';
  if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path)) return 'absolute path';
  if (path.includes('\\')) return 'backslash in path';
  const segments = path.split('/');
  if (segments.some((s) => s === '..')) return 'path escapes the workspace with ".."';
  if (segments.some((s) => s === '' || s === '.')) return 'path has empty or "." segments';
  // Anywhere, in any case: a nested .git could plant hooks or config in the exported workspace.
  if (segments.some((s) => s.toLowerCase() === '.git')) return 'path writes into .git';
  return null;
}
