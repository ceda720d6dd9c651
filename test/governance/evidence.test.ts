/**
 * The excerpt a repair round is shown of a failing check: the failing tests' own evidence,
 * within the budget, whatever passed after them. TAP samples are real: `node --test` run on
 * small files in a temporary folder (its output is TAP when stdout is not a terminal).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureEvidence, omittedMarker } from '../../governance/evidence.js';

/** What the sandbox kept before: the last characters. */
const tailOnly = (text: string, n: number) => (text.length <= n ? text : `…${text.slice(text.length - n)}`);

/** Half of a character: a surrogate without its pair. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const MARKER = /^… \((\d+) characters omitted\) …$/;

/**
 * Every kept part is the output's own text, in order, and every marker counts exactly the
 * characters it stands for: the excerpt never puts words in the output's mouth.
 */
function expectFaithful(excerpt: string, output: string): void {
  const parts: ({ text: string } | { omitted: number })[] = [];
  let text: string[] | null = null;
  for (const line of excerpt.split('\n')) {
    const m = MARKER.exec(line);
    if (!m) {
      (text ??= []).push(line);
      continue;
    }
    if (text) parts.push({ text: text.join('\n') });
    text = null;
    parts.push({ omitted: Number(m[1]) });
  }
  if (text) parts.push({ text: text.join('\n') });
  let pos = 0;
  for (const [i, p] of parts.entries()) {
    if ('omitted' in p) {
      expect(p.omitted).toBeGreaterThan(0);
      pos += p.omitted;
      continue;
    }
    expect(output.startsWith(p.text, pos), `part ${i} is the output's text at ${pos}: ${JSON.stringify(p.text.slice(0, 80))}`).toBe(true);
    pos += p.text.length;
    if (i < parts.length - 1 && output[pos] === '\n') pos++; // the line's newline, before the marker line
  }
  expect(pos).toBe(output.length);
}

let dir = '';

/** What `node --test` prints for `source` (stdout then stderr, as a pipe sees them). */
function nodeTest(name: string, source: string, extra: Record<string, string> = {}): string {
  const folder = mkdtempSync(join(dir, `${name}-`));
  writeFileSync(join(folder, `${name}.test.mjs`), source);
  for (const [file, content] of Object.entries(extra)) writeFileSync(join(folder, file), content);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NODE_') || k.startsWith('VITEST')) delete env[k];
  const r = spawnSync(process.execPath, ['--test'], { cwd: folder, env, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(1);
  return r.stdout + r.stderr;
}

const passing = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `test('${prefix} ${i + 1} passes', () => { assert.ok(true); });`).join('\n');

const HEADER = `import test, { describe, it } from 'node:test';\nimport assert from 'node:assert/strict';\n`;

let oneFailure = '';
let hugeThenSmall = '';
let manyFailures = '';
let notLoaded = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aura-evidence-'));
  oneFailure = nodeTest(
    'one',
    `${HEADER}${passing('before', 3)}
test('adds the tax', () => { assert.strictEqual(Math.round(100 * 1.2), 121, 'the price with tax'); });
${passing('after', 40)}
`,
  );
  hugeThenSmall = nodeTest(
    'huge',
    `${HEADER}${passing('before', 2)}
test('renders the page', () => { assert.strictEqual('<p>' + 'x'.repeat(6000) + '</p>', '<p>hello</p>'); });
${passing('middle', 10)}
describe('cart', () => {
  it('totals', () => { assert.deepStrictEqual({ total: 41, items: [1, 2] }, { total: 42, items: [1, 2] }); });
});
${passing('after', 30)}
`,
  );
  manyFailures = nodeTest(
    'many',
    `${HEADER}${Array.from({ length: 25 }, (_, i) => `test('case ${i + 1}', () => { assert.strictEqual(${i}, ${i + 100}); });`).join('\n')}
${passing('after', 10)}
`,
  );
  notLoaded = nodeTest(
    'broken',
    `${HEADER}import { helper } from './missing-helper.mjs';\ntest('uses the helper', () => { assert.ok(helper); });\n`,
    { 'fine.test.mjs': `${HEADER}${passing('fine', 40)}\n` },
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('failureEvidence: TAP from node --test', () => {
  it('returns output that fits the budget unchanged', () => {
    expect(failureEvidence(oneFailure, oneFailure.length)).toBe(oneFailure);
    expect(failureEvidence('short\n', 2_000)).toBe('short\n');
  });

  it('keeps the failing test and its assertion where the last 2,000 characters show only passes', () => {
    expect(oneFailure.length).toBeGreaterThan(4_000);
    const old = tailOnly(oneFailure, 2_000);
    expect(old).not.toContain('not ok');
    expect(old).not.toContain('the price with tax');
    expect(old).toContain('# fail 1');

    const excerpt = failureEvidence(oneFailure, 2_000);
    expect(excerpt.length).toBeLessThanOrEqual(2_000);
    expect(excerpt).toMatch(/^not ok 4 - adds the tax$/m);
    expect(excerpt).toContain('the price with tax');
    expect(excerpt).toMatch(/^ {2}expected: 121$/m);
    expect(excerpt).toMatch(/^ {2}actual: 120$/m);
    expect(excerpt).toContain("operator: 'strictEqual'");
    expect(excerpt).toMatch(/^# pass 43$/m);
    expect(excerpt).toMatch(/^# fail 1$/m);
    expect(excerpt).not.toMatch(/^ok \d+ - after/m);
    expect(excerpt).toMatch(/^… \(\d+ characters omitted\) …$/m);
    expectFaithful(excerpt, oneFailure);
  });

  it('gives each failing test a fair share: a huge first failure is cut, the second one is kept whole', () => {
    const excerpt = failureEvidence(hugeThenSmall, 2_000);
    expect(excerpt.length).toBeLessThanOrEqual(2_000);
    expect(excerpt).toMatch(/^not ok 3 - renders the page$/m);
    expect(excerpt).toContain('Expected values to be strictly equal');
    // Its 6,000-character lines are cut each, so the lines after them are still shown.
    expect(excerpt).toMatch(/^ {2}expected: '<p>hello<\/p>'$/m);
    expect(excerpt).toMatch(/^ {2}actual: '<p>x{100}/m);
    // The second failure (a test in a suite), its diagnostics whole.
    expect(excerpt).toMatch(/^ {4}not ok 1 - totals$/m);
    expect(excerpt).toMatch(/^ {6}expected:\n {8}total: 42$/m);
    expect(excerpt).toMatch(/^ {6}actual:\n {8}total: 41$/m);
    expect(excerpt).toContain("operator: 'deepStrictEqual'");
    // The suite that failed because of it: its line, not its YAML.
    expect(excerpt).toMatch(/^not ok 14 - cart$/m);
    expect(excerpt).not.toContain('1 subtest failed');
    expect(excerpt).toMatch(/^# fail 2$/m);
    // The huge block was cut where it was, and said so.
    const first = excerpt.slice(excerpt.indexOf('not ok 3'), excerpt.indexOf('not ok 1 - totals'));
    expect(first).toMatch(/^… \(\d+ characters omitted\) …$/m);
    expectFaithful(excerpt, hugeThenSmall);
  });

  it('with more failures than fit, shows the first ones within the budget and says what it left out', () => {
    const excerpt = failureEvidence(manyFailures, 2_000);
    expect(excerpt.length).toBeLessThanOrEqual(2_000);
    expect(excerpt).toMatch(/^not ok 1 - case 1$/m);
    expect(excerpt).toMatch(/^not ok 2 - case 2$/m);
    expect(excerpt).toMatch(/^ {2}expected: 100$/m);
    expect(excerpt).not.toMatch(/^not ok 25 - case 25$/m);
    expect(excerpt).toMatch(/^# fail 25$/m);
    expectFaithful(excerpt, manyFailures);
  });

  it('keeps the stderr of a test file that did not load (printed as comments before its result)', () => {
    const excerpt = failureEvidence(notLoaded, 2_000);
    expect(tailOnly(notLoaded, 2_000)).not.toContain('ERR_MODULE_NOT_FOUND');
    expect(excerpt.length).toBeLessThanOrEqual(2_000);
    expect(excerpt).toMatch(/^not ok \d+ - .*broken\.test\.mjs$/m);
    expect(excerpt).toContain("Cannot find module '");
    expect(excerpt).toContain('missing-helper.mjs');
    expect(excerpt).toMatch(/^# fail 1$/m);
    expectFaithful(excerpt, notLoaded);
  });
});

const JEST = [
  '> shop@1.0.0 test',
  '> jest --ci',
  '',
  ...Array.from({ length: 12 }, (_, i) => ` PASS  src/module-${i}.test.js`),
  ' FAIL  src/sum.test.js',
  '  ● sum › adds 1 + 2 to equal 3',
  '',
  '    expect(received).toBe(expected) // Object.is equality',
  '',
  '    Expected: 4',
  '    Received: 3',
  '',
  "      3 | test('adds 1 + 2 to equal 3', () => {",
  '    > 4 |   expect(sum(1, 2)).toBe(4);',
  '        |                     ^',
  '      5 | });',
  '',
  '      at Object.<anonymous> (src/sum.test.js:4:21)',
  '',
  ...Array.from({ length: 30 }, (_, i) => [
    ` PASS  src/feature-${i}.test.js`,
    '  console.log',
    `    rendering widget ${i} with options { compact: true, theme: 'dark' }`,
    '',
    `      at Widget.render (src/widget-${i}.js:12:13)`,
    '',
  ]).flat(),
  'Test Suites: 1 failed, 42 passed, 43 total',
  'Tests:       1 failed, 187 passed, 188 total',
  'Snapshots:   0 total',
  'Time:        4.12 s',
  'Ran all test suites.',
  '',
].join('\n');

const PYTEST = [
  '============================= test session starts ==============================',
  'platform linux -- Python 3.12.3, pytest-8.2.0, pluggy-1.5.0',
  'rootdir: /work',
  'collected 121 items',
  '',
  ...Array.from({ length: 60 }, (_, i) => `tests/test_shop.py::test_item_${i} PASSED${' '.repeat(20)}[ ${Math.floor(i / 1.21)}%]`),
  'tests/test_shop.py::test_add FAILED                                       [ 50%]',
  ...Array.from({ length: 60 }, (_, i) => `tests/test_shop.py::test_other_${i} PASSED${' '.repeat(19)}[ ${50 + Math.floor(i / 1.21)}%]`),
  '',
  '=================================== FAILURES ===================================',
  '___________________________________ test_add ___________________________________',
  '',
  '    def test_add():',
  '>       assert add(1, 2) == 4',
  'E       assert 3 == 4',
  'E        +  where 3 = add(1, 2)',
  '',
  'tests/test_shop.py:14: AssertionError',
  '----------------------------- Captured stdout call -----------------------------',
  ...Array.from({ length: 40 }, (_, i) => `loading fixture ${i}: 12 rows, 3 columns, cache warm`),
  '=========================== short test summary info ============================',
  'FAILED tests/test_shop.py::test_add',
  '======================== 1 failed, 120 passed in 0.42s =========================',
  '',
].join('\n');

const GO_TEST = [
  '=== RUN   TestParse',
  '--- PASS: TestParse (0.00s)',
  ...Array.from({ length: 40 }, (_, i) => [`=== RUN   TestCase${i}`, `--- PASS: TestCase${i} (0.00s)`]).flat(),
  '=== RUN   TestTotal',
  '    cart_test.go:42: Total() = 41, want 42',
  '--- FAIL: TestTotal (0.00s)',
  ...Array.from({ length: 40 }, (_, i) => [`=== RUN   TestMore${i}`, `--- PASS: TestMore${i} (0.00s)`]).flat(),
  'FAIL',
  'exit status 1',
  'FAIL\texample.com/shop\t0.012s',
  '',
].join('\n');

describe('failureEvidence: other runners', () => {
  it('jest: the failing test, what it expected and received, the head and the summary', () => {
    expect(JEST.length).toBeGreaterThan(3_000);
    expect(tailOnly(JEST, 2_000)).not.toContain('Expected: 4');
    const excerpt = failureEvidence(JEST, 2_000);
    expect(excerpt.length).toBeLessThanOrEqual(2_000);
    expect(excerpt).toContain('> jest --ci');
    expect(excerpt).toContain(' FAIL  src/sum.test.js');
    expect(excerpt).toContain('  ● sum › adds 1 + 2 to equal 3');
    expect(excerpt).toContain('    Expected: 4\n    Received: 3');
    expect(excerpt).toContain('Tests:       1 failed, 187 passed, 188 total');
    expect(excerpt).toMatch(/^… \(\d+ characters omitted\) …$/m);
    expectFaithful(excerpt, JEST);
  });

  it('pytest: the assertion lines and the summary', () => {
    const excerpt = failureEvidence(PYTEST, 2_000);
    expect(excerpt.length).toBeLessThanOrEqual(2_000);
    expect(excerpt).toContain('tests/test_shop.py::test_add FAILED');
    expect(excerpt).toContain('>       assert add(1, 2) == 4\nE       assert 3 == 4\nE        +  where 3 = add(1, 2)');
    expect(excerpt).toContain('tests/test_shop.py:14: AssertionError');
    expect(excerpt).toContain('1 failed, 120 passed in 0.42s');
    expect(excerpt).toContain('test session starts');
    expectFaithful(excerpt, PYTEST);
  });

  it('go test: the failing test and its message', () => {
    expect(tailOnly(GO_TEST, 1_000)).not.toContain('want 42');
    const excerpt = failureEvidence(GO_TEST, 1_000);
    expect(excerpt.length).toBeLessThanOrEqual(1_000);
    expect(excerpt).toContain('    cart_test.go:42: Total() = 41, want 42\n--- FAIL: TestTotal (0.00s)');
    expect(excerpt).toContain('FAIL\texample.com/shop\t0.012s');
    expectFaithful(excerpt, GO_TEST);
  });

  it('output with no word of a failure: its head and its tail', () => {
    const output = Array.from({ length: 400 }, (_, i) => `line ${i}`).join('\n');
    const excerpt = failureEvidence(output, 500);
    expect(excerpt.length).toBeLessThanOrEqual(500);
    expect(excerpt.startsWith('line 0\n')).toBe(true);
    expect(excerpt.endsWith('line 399')).toBe(true);
    expectFaithful(excerpt, output);
  });
});

describe('failureEvidence: the budget', () => {
  it('is never exceeded, and whatever is left out is said, for every sample and budget', () => {
    const oneLine = 'x'.repeat(5_000) + ' AssertionError: boom ' + 'y'.repeat(5_000);
    const surrogates = '😀'.repeat(3_000);
    const samples = { oneFailure, hugeThenSmall, manyFailures, notLoaded, JEST, PYTEST, GO_TEST, oneLine, surrogates };
    for (const [name, output] of Object.entries(samples)) {
      for (const budget of [0, 1, 10, 40, 80, 150, 300, 700, 1_000, 2_000, 5_000]) {
        const excerpt = failureEvidence(output, budget);
        expect(excerpt.length, `${name} within ${budget}`).toBeLessThanOrEqual(budget);
        if (output.length <= budget) expect(excerpt).toBe(output);
        else if (budget >= 80) {
          expect(excerpt, `${name} within ${budget}`).toMatch(/^… \(\d+ characters omitted\) …$/m);
          expectFaithful(excerpt, output);
          expect(LONE_SURROGATE.test(excerpt), `${name} within ${budget}: no half of a character`).toBe(false);
        }
      }
    }
  });

  it('takes no time worth counting on output of thousands of failing tests', () => {
    const output = Array.from({ length: 20_000 }, (_, i) => `not ok ${i + 1} - case ${i + 1}\n  ---\n  error: 'boom ${i}'\n  ...`).join(
      '\n',
    );
    const started = performance.now();
    const excerpt = failureEvidence(output, 2_000);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(excerpt.length).toBeLessThanOrEqual(2_000);
    expect(excerpt).toMatch(/^not ok 1 - case 1$/m);
    expectFaithful(excerpt, output);
  });

  it('names the marker it uses', () => {
    expect(omittedMarker(12)).toBe('… (12 characters omitted) …');
  });
});
