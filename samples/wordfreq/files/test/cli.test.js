import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, run } from '../src/cli.js';

// Resolved from this file, so the tests work whatever the current directory.
const BIN = fileURLToPath(new URL('../bin/wordfreq.js', import.meta.url));

/** A writable stand-in that records everything written to it. */
function sink() {
  return {
    text: '',
    write(chunk) {
      this.text += chunk;
      return true;
    },
  };
}

/** A readFile stand-in backed by an in-memory map of path -> contents. */
function fakeFs(files) {
  return async (path) => {
    if (Object.hasOwn(files, path)) return files[path];
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
  };
}

async function runWith(argv, { stdin = '', files = {} } = {}) {
  const stdout = sink();
  const stderr = sink();
  const code = await run(argv, { stdin: Readable.from([stdin]), stdout, stderr, readFile: fakeFs(files) });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('parseArgs', () => {
  test('defaults', () => {
    assert.deepEqual(parseArgs([]), { top: 10, minLength: 1, json: false, files: [] });
  });

  test('options and files in any order', () => {
    assert.deepEqual(parseArgs(['a.txt', '--top', '3', '--json', '--min-length', '4', 'b.txt']), {
      top: 3, minLength: 4, json: true, files: ['a.txt', 'b.txt'],
    });
  });

  test('--name=value form, "-" and "--"', () => {
    assert.deepEqual(parseArgs(['--top=5', '--min-length=2', '-', '--', '--json']), {
      top: 5, minLength: 2, json: false, files: ['-', '--json'],
    });
  });

  test('unknown option is rejected', () => {
    assert.throws(() => parseArgs(['--bogus']), { message: "unknown option '--bogus'" });
    assert.throws(() => parseArgs(['-t', '3']), { message: "unknown option '-t'" });
  });

  test('non-numeric and non-positive values are rejected', () => {
    for (const bad of ['abc', '0', '-1', '2.5', '1e3', '', '5x']) {
      assert.throws(() => parseArgs(['--top', bad]), {
        message: `option --top must be a positive integer, got '${bad}'`,
      });
    }
    assert.throws(() => parseArgs(['--min-length=0']), /--min-length must be a positive integer/);
  });

  test('missing value is rejected', () => {
    assert.throws(() => parseArgs(['--top']), { message: 'option --top requires a value' });
    assert.throws(() => parseArgs(['--json=yes']), { message: 'option --json does not take a value' });
  });
});

describe('run', () => {
  test('reads stdin when no files are given and prints aligned text', async () => {
    const words = `${'the '.repeat(12)}${'cat '.repeat(3)}dog`;
    const result = await runWith([], { stdin: words });
    assert.equal(result.code, 0);
    assert.equal(result.stdout, '12 the\n 3 cat\n 1 dog\n');
    assert.equal(result.stderr, '');
  });

  test('--top limits output and ties are ordered by word', async () => {
    const result = await runWith(['--top', '2'], { stdin: 'b a c b a c d' });
    assert.equal(result.stdout, '2 a\n2 b\n');
  });

  test('--json prints an array of {word, count}', async () => {
    const result = await runWith(['--json', '--min-length', '3'], { stdin: 'The cat sat on the mat, the end.' });
    assert.equal(result.code, 0);
    assert.deepEqual(JSON.parse(result.stdout), [
      { word: 'the', count: 3 },
      { word: 'cat', count: 1 },
      { word: 'end', count: 1 },
      { word: 'mat', count: 1 },
      { word: 'sat', count: 1 },
    ]);
  });

  test('empty input prints nothing, or [] with --json', async () => {
    assert.deepEqual(await runWith([]), { code: 0, stdout: '', stderr: '' });
    assert.equal((await runWith(['--json'])).stdout, '[]\n');
  });

  test('counts are combined across files', async () => {
    const result = await runWith(['one.txt', 'two.txt'], {
      files: { 'one.txt': 'apple banana', 'two.txt': 'Apple cherry apple' },
    });
    assert.equal(result.stdout, '3 apple\n1 banana\n1 cherry\n');
  });

  test('missing file exits 2 with a message and no output', async () => {
    const result = await runWith(['here.txt', 'gone.txt'], { files: { 'here.txt': 'hello' } });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'wordfreq: gone.txt: no such file or directory\n');
  });

  test('bad option exits 2 with the message and usage', async () => {
    const result = await runWith(['--top', 'many']);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^wordfreq: option --top must be a positive integer, got 'many'\n/);
    assert.match(result.stderr, /Usage: wordfreq/);
  });
});

describe('bin/wordfreq.js', () => {
  function withTempDir(fn) {
    const dir = mkdtempSync(join(tmpdir(), 'wordfreq-test-'));
    try {
      return fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('counts words in a file', () => {
    withTempDir((dir) => {
      const file = join(dir, 'input.txt');
      writeFileSync(file, 'It was the best of times, it was the worst of times.\n');
      const result = spawnSync(process.execPath, [BIN, '--top', '3', file], { encoding: 'utf8' });
      assert.equal(result.stderr, '');
      assert.equal(result.status, 0);
      assert.equal(result.stdout, '2 it\n2 of\n2 the\n');
    });
  });

  test('reads stdin and prints JSON', () => {
    const result = spawnSync(process.execPath, [BIN, '--json', '--top', '1'], {
      input: 'the cat the dog',
      encoding: 'utf8',
    });
    assert.equal(result.status, 0);
    assert.deepEqual(JSON.parse(result.stdout), [{ word: 'the', count: 2 }]);
  });

  test('missing file exits 2 with a message on stderr', () => {
    withTempDir((dir) => {
      const missing = join(dir, 'does-not-exist.txt');
      const result = spawnSync(process.execPath, [BIN, missing], { encoding: 'utf8' });
      assert.equal(result.status, 2);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, `wordfreq: ${missing}: no such file or directory\n`);
    });
  });
});
