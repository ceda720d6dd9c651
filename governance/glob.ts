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
  return globs.some((glob) => globToRegExp(glob).test(path));
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
