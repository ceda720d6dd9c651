import { describe, expect, it } from 'vitest';
import { globToRegExp, matchesAnyGlob, matchesGlob, unsafePathReason } from '../../governance/glob.js';

const matches = (glob: string, path: string) => globToRegExp(glob).test(path);

describe('globToRegExp', () => {
  it('matches a literal path exactly, anchored at both ends', () => {
    expect(matches('src/index.ts', 'src/index.ts')).toBe(true);
    expect(matches('src/index.ts', 'src/index.tsx')).toBe(false);
    expect(matches('src/index.ts', 'lib/src/index.ts')).toBe(false);
  });

  it('escapes regex metacharacters such as "." and "+"', () => {
    expect(matches('a.ts', 'a.ts')).toBe(true);
    expect(matches('a.ts', 'abts')).toBe(false);
    expect(matches('c++/x(1).h', 'c++/x(1).h')).toBe(true);
    expect(matches('c++/x(1).h', 'cc/x1.h')).toBe(false);
    expect(matches('$x^{a}|b', '$x^{a}|b')).toBe(true);
  });

  it('"*" matches within a single segment only', () => {
    expect(matches('src/*.ts', 'src/a.ts')).toBe(true);
    expect(matches('src/*.ts', 'src/.ts')).toBe(true);
    expect(matches('src/*.ts', 'src/deep/a.ts')).toBe(false);
    expect(matches('src/*', 'src/a/b')).toBe(false);
    expect(matches('*', 'README.md')).toBe(true);
    expect(matches('*', 'docs/README.md')).toBe(false);
  });

  it('"**/" matches zero or more whole directories', () => {
    expect(matches('src/**/*.ts', 'src/a.ts')).toBe(true);
    expect(matches('src/**/*.ts', 'src/x/a.ts')).toBe(true);
    expect(matches('src/**/*.ts', 'src/x/y/z/a.ts')).toBe(true);
    expect(matches('src/**/*.ts', 'lib/a.ts')).toBe(false);
    expect(matches('src/**/*.ts', 'src/x/a.js')).toBe(false);
    expect(matches('**/test.ts', 'test.ts')).toBe(true);
    expect(matches('**/test.ts', 'a/b/test.ts')).toBe(true);
    expect(matches('**/test.ts', 'a/btest.ts')).toBe(false);
  });

  it('a trailing "**" matches everything below', () => {
    expect(matches('src/**', 'src/a.ts')).toBe(true);
    expect(matches('src/**', 'src/a/b/c.ts')).toBe(true);
    expect(matches('src/**', 'srcx/a.ts')).toBe(false);
    expect(matches('**', 'any/path/at/all')).toBe(true);
  });

  it('"?" matches exactly one character, never "/"', () => {
    expect(matches('file?.txt', 'file1.txt')).toBe(true);
    expect(matches('file?.txt', 'file.txt')).toBe(false);
    expect(matches('file?.txt', 'file12.txt')).toBe(false);
    expect(matches('a?b', 'a/b')).toBe(false);
  });

  it('returns a RegExp with the expected source for a typical glob', () => {
    expect(globToRegExp('src/**/*.ts').source).toBe('^src\\/(?:.*\\/)?[^/]*\\.ts$');
  });
});

describe('matchesAnyGlob', () => {
  it('is true when any glob matches', () => {
    expect(matchesAnyGlob('docs/a.md', ['src/**', 'docs/*.md'])).toBe(true);
  });

  it('is false when no glob matches', () => {
    expect(matchesAnyGlob('test/a.ts', ['src/**', 'docs/*.md'])).toBe(false);
  });

  it('is false for an empty list of globs', () => {
    expect(matchesAnyGlob('src/a.ts', [])).toBe(false);
  });
});

describe('matchesGlob', () => {
  it('agrees with the regular expression on every small glob and path', () => {
    // A fixed sequence of random globs and paths over the characters that matter.
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const globParts = ['a', 'b', '/', '.', '*', '**', '**/', '?', '\\'];
    const pathParts = ['a', 'b', '/', '.', '\n', '\u2028', '\\', 'ab/'];
    for (let i = 0; i < 30_000; i++) {
      const glob = Array.from({ length: rand(7) }, () => globParts[rand(globParts.length)]).join('');
      const path = Array.from({ length: rand(9) }, () => pathParts[rand(pathParts.length)]).join('');
      expect(matchesGlob(path, glob), JSON.stringify({ glob, path })).toBe(globToRegExp(glob).test(path));
    }
  });

  it('takes linear time where the regular expression backtracks for ever', () => {
    const started = performance.now();
    expect(matchesAnyGlob(`lib/${'a/'.repeat(245)}y.js`, [`lib/${'**/'.repeat(10)}x.js`])).toBe(false);
    expect(matchesAnyGlob(`lib/${'a'.repeat(480)}.js`, [`lib/${'*a'.repeat(10)}*b`])).toBe(false);
    expect(matchesAnyGlob(`lib/${'a/'.repeat(245)}x.js`, [`lib/${'**/'.repeat(10)}x.js`])).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('unsafePathReason', () => {
  it.each(['src/a.ts', 'README.md', 'a/b/c/d.txt', '.github/workflows/ci.yml', '.gitignore', 'a..b/c', '...'])(
    'accepts the plain relative path %s',
    (path) => {
      expect(unsafePathReason(path)).toBeNull();
    },
  );

  it.each([
    ['', 'empty path'],
    ['/etc/passwd', 'absolute path'],
    ['/', 'absolute path'],
    ['C:\\Windows\\x', 'absolute path'],
    ['c:/x', 'absolute path'],
    ['..', 'path escapes the workspace with ".."'],
    ['../x', 'path escapes the workspace with ".."'],
    ['a/../../x', 'path escapes the workspace with ".."'],
    ['a/b/..', 'path escapes the workspace with ".."'],
    ['a\\b', 'backslash in path'],
    ['..\\x', 'backslash in path'],
    ['a//b', 'path has empty or "." segments'],
    ['a/', 'path has empty or "." segments'],
    ['./a', 'path has empty or "." segments'],
    ['a/./b', 'path has empty or "." segments'],
    ['.git/config', 'path writes into .git'],
    ['.git/hooks/pre-commit', 'path writes into .git'],
    ['.git', 'path writes into .git'],
    ['a\0b', 'path contains a NUL byte'],
  ])('rejects %j: %s', (path, reason) => {
    expect(unsafePathReason(path)).toBe(reason);
  });

  it('checks NUL before anything else', () => {
    expect(unsafePathReason('/abs/\0/../x')).toBe('path contains a NUL byte');
  });
});

describe('unsafePathReason: .git anywhere', () => {
  it.each(['sub/.git/config', 'a/b/.git/hooks/pre-commit', '.GIT/config', 'x/.Git'])('refuses %s', (p) => {
    expect(unsafePathReason(p)).toBe('path writes into .git');
  });
});
