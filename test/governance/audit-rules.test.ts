import { describe, expect, it } from 'vitest';
import {
  detectViolations,
  excerpt,
  importSpecifiers,
  type AuditContext,
  type AuditInput,
  type Hasher,
  type VerificationResult,
} from '../../governance/audit-rules.js';
import { parseTaskOutput } from '../../governance/task-output.js';
import { taskSpecSchema, type TaskSpec } from '../../governance/schemas.js';

const hash: Hasher = (s) => 'h:' + s.length;

const task: TaskSpec = taskSpecSchema.parse({
  id: 'T1',
  title: 'Parser',
  instructions: 'Write the parser.',
  scope: ['src/**/*.ts', 'README.md'],
  acceptance: { command: 'npm test', timeoutMs: 5_000 },
  timeLimitMs: 9_000,
});

function verification(overrides: Partial<VerificationResult> = {}): VerificationResult {
  return {
    ran: true,
    passed: true,
    exitCode: 0,
    timedOut: false,
    durationMs: 12,
    excerpt: 'ok',
    skippedReason: null,
    refusedPaths: [],
    ...overrides,
  };
}

function output(paths: string[], summary = 'done'): string {
  return JSON.stringify({ summary, files: paths.map((path) => ({ path, content: `// ${path}` })) });
}

function audit(overrides: Partial<AuditInput>): ReturnType<typeof detectViolations> {
  return detectViolations(
    { task, rawOutput: output(['src/a.ts']), verification: verification(), employeeFailure: null, ...overrides },
    hash,
  );
}

describe('excerpt', () => {
  it('keeps short text as is', () => {
    expect(excerpt('hello')).toBe('hello');
  });

  it('keeps text of exactly the limit as is', () => {
    const text = 'x'.repeat(600);
    expect(excerpt(text)).toBe(text);
  });

  it('cuts longer text at 600 characters and says how much was left off', () => {
    const text = 'a'.repeat(600) + 'b'.repeat(50);
    expect(excerpt(text)).toBe(`${'a'.repeat(600)}… (50 more characters)`);
  });

  it('takes a custom limit', () => {
    expect(excerpt('abcdefgh', 3)).toBe('abc… (5 more characters)');
  });
});

describe('parseTaskOutput', () => {
  it('parses valid output', () => {
    const result = parseTaskOutput(output(['src/a.ts']));
    expect(result).toEqual({ ok: true, output: { summary: 'done', files: [{ path: 'src/a.ts', content: '// src/a.ts' }] } });
  });

  it('strips unknown keys', () => {
    const result = parseTaskOutput(JSON.stringify({ summary: 's', files: [], extra: 1 }));
    expect(result).toEqual({ ok: true, output: { summary: 's', files: [] } });
  });

  it('reports text that is not JSON, never repairing it', () => {
    const result = parseTaskOutput('```json\n{"summary":"x","files":[]}\n```');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.startsWith('not JSON: ')).toBe(true);
  });

  it('reports a schema mismatch with the path of the problem', () => {
    const result = parseTaskOutput(JSON.stringify({ summary: 'x', files: [{ path: '', content: 'c' }] }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^files\.0\.path: /);
  });

  it('reports a missing field', () => {
    const result = parseTaskOutput(JSON.stringify({ summary: 'x' }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^files: /);
  });

  it('labels a top-level mismatch "(output)"', () => {
    const result = parseTaskOutput('[]');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^\(output\): /);
  });
});

describe('detectViolations', () => {
  it('finds nothing in clean output with passing verification', () => {
    expect(audit({ rawOutput: output(['src/a.ts', 'src/deep/b.ts', 'README.md']) })).toEqual([]);
  });

  it('finds nothing in clean output when there is no verification result', () => {
    expect(audit({ verification: null })).toEqual([]);
  });

  it('reports malformed JSON as malformed_output only, with the raw text as evidence', () => {
    const raw = 'Sure! Here is the code: {';
    const violations = audit({ rawOutput: raw, verification: verification({ passed: false, exitCode: 1, excerpt: 'FAIL' }) });
    expect(violations).toHaveLength(1);
    expect(violations[0]!.type).toBe('malformed_output');
    expect(violations[0]!.message).toContain('not JSON');
    expect(violations[0]!.evidence).toEqual({ excerpt: raw, sha256: `h:${raw.length}` });
  });

  it('reports a schema mismatch as malformed_output only, even with a timed-out verification', () => {
    const raw = JSON.stringify({ summary: 'x', files: [{ path: '../x' }] });
    const violations = audit({ rawOutput: raw, verification: verification({ timedOut: true, passed: false }) });
    expect(violations.map((v) => v.type)).toEqual(['malformed_output']);
    expect(violations[0]!.message).toContain('does not match the task-output schema');
    expect(violations[0]!.evidence.sha256).toBe(`h:${raw.length}`);
  });

  it('treats a missing output as malformed', () => {
    const violations = audit({ rawOutput: null, verification: null });
    expect(violations.map((v) => v.type)).toEqual(['malformed_output']);
    expect(violations[0]!.evidence).toEqual({ excerpt: '', sha256: 'h:0' });
  });

  it('reports a file outside the scope as scope_drift with the path as evidence', () => {
    const violations = audit({ rawOutput: output(['src/a.ts', 'package.json']) });
    expect(violations).toEqual([
      {
        type: 'scope_drift',
        message: 'writes "package.json", outside the task\'s scope (src/**/*.ts, README.md)',
        evidence: { excerpt: 'package.json', sha256: 'h:12' },
      },
    ]);
  });

  it('reports one scope_drift per out-of-scope file', () => {
    const violations = audit({ rawOutput: output(['lib/a.ts', 'src/ok.ts', 'src/a.js']) });
    expect(violations.map((v) => [v.type, v.evidence.excerpt])).toEqual([
      ['scope_drift', 'lib/a.ts'],
      ['scope_drift', 'src/a.js'],
    ]);
  });

  it.each([
    ['../x', '".."'],
    ['src/../../etc/passwd.ts', '".."'],
    ['/etc/passwd', 'absolute path'],
    ['.git/hooks/pre-commit', '.git'],
    ['src\\a.ts', 'backslash'],
  ])('reports the unsafe path %s as scope_drift even when the scope allows everything', (path, reason) => {
    const everything = { ...task, scope: ['**'] };
    const violations = detectViolations(
      { task: everything, rawOutput: output([path]), verification: verification(), employeeFailure: null },
      hash,
    );
    expect(violations).toHaveLength(1);
    expect(violations[0]!.type).toBe('scope_drift');
    expect(violations[0]!.message).toContain(reason);
    expect(violations[0]!.evidence).toEqual({ excerpt: path, sha256: `h:${path.length}` });
  });

  it('reports a failed verification with the command, exit code and output excerpt', () => {
    const violations = audit({ verification: verification({ passed: false, exitCode: 2, excerpt: '1 test failed' }) });
    expect(violations).toEqual([
      {
        type: 'failed_verification',
        message: 'acceptance command "npm test" exited with 2',
        evidence: { excerpt: '1 test failed', sha256: 'h:13' },
      },
    ]);
  });

  it('reports a verification that timed out as timeout, not failed_verification', () => {
    const violations = audit({ verification: verification({ passed: false, exitCode: null, timedOut: true, excerpt: 'still running' }) });
    expect(violations).toEqual([
      {
        type: 'timeout',
        message: 'the acceptance command exceeded 5000 ms',
        evidence: { excerpt: 'still running', sha256: 'h:13' },
      },
    ]);
  });

  it('reports a verification that could not run as failed_verification with the reason as evidence', () => {
    const reason = 'the output has no files: nothing to verify';
    const violations = audit({
      rawOutput: output([]),
      verification: verification({ ran: false, passed: false, exitCode: null, skippedReason: reason }),
    });
    expect(violations).toEqual([
      {
        type: 'failed_verification',
        message: `the acceptance command could not run: ${reason}`,
        evidence: { excerpt: reason, sha256: `h:${reason.length}` },
      },
    ]);
  });

  it('reports scope drift and a failed verification together, scope first', () => {
    const violations = audit({ rawOutput: output(['lib/x.ts']), verification: verification({ passed: false, exitCode: 1 }) });
    expect(violations.map((v) => v.type)).toEqual(['scope_drift', 'failed_verification']);
  });

  it('reports an employee that timed out as timeout only, with its message as evidence', () => {
    const violations = audit({ rawOutput: 'not json', employeeFailure: { timedOut: true, message: 'deadline exceeded' } });
    expect(violations).toEqual([
      {
        type: 'timeout',
        message: "the employee exceeded the task's time limit of 9000 ms",
        evidence: { excerpt: 'deadline exceeded', sha256: 'h:17' },
      },
    ]);
  });

  it('reports any other employee failure as malformed_output only', () => {
    const violations = audit({ rawOutput: null, verification: null, employeeFailure: { timedOut: false, message: 'HTTP 500' } });
    expect(violations).toEqual([
      {
        type: 'malformed_output',
        message: 'the employee returned no usable output: HTTP 500',
        evidence: { excerpt: 'HTTP 500', sha256: 'h:8' },
      },
    ]);
  });

  it('hashes the full evidence but keeps only an excerpt of it', () => {
    const long = 'E'.repeat(1_000);
    const violations = audit({ verification: verification({ passed: false, exitCode: 1, excerpt: long }) });
    expect(violations).toHaveLength(1);
    expect(violations[0]!.evidence.sha256).toBe('h:1000');
    expect(violations[0]!.evidence.excerpt).toBe(`${'E'.repeat(600)}… (400 more characters)`);
  });

  it('passes the evidence text to the hasher', () => {
    const seen: string[] = [];
    detectViolations(
      {
        task,
        rawOutput: output(['lib/x.ts']),
        verification: verification({ passed: false, exitCode: 1, excerpt: 'boom' }),
        employeeFailure: null,
      },
      (s) => {
        seen.push(s);
        return 'fixed';
      },
    );
    expect(seen).toEqual(['lib/x.ts', 'boom']);
  });
});

describe('detectViolations: files the sandbox could not write', () => {
  it('flags safe, in-scope paths that were refused as malformed output', () => {
    const v = audit({ rawOutput: output(['src/a.ts', 'src/a.ts/b.ts']), verification: verification({ refusedPaths: ['src/a.ts/b.ts'] }) });
    expect(v.map((x) => x.type)).toEqual(['malformed_output']);
    expect(v[0]!.message).toContain('src/a.ts/b.ts');
  });

  it('does not report an unsafe refused path twice (it is already scope drift)', () => {
    const v = audit({ rawOutput: output(['src/a.ts', '../x.ts']), verification: verification({ refusedPaths: ['../x.ts'] }) });
    expect(v.map((x) => x.type)).toEqual(['scope_drift']);
  });
});

// ---------------------------------------------------------------------------------------------
// The newer detectors: self-assignment, other tasks' files, hallucinated imports and claims.
// ---------------------------------------------------------------------------------------------

/** A task that may write anywhere safe, so only the detector under test speaks. */
const openTask: TaskSpec = taskSpecSchema.parse({
  id: 'T2',
  title: 'Feature',
  instructions: 'Write the feature.',
  scope: ['**'],
  acceptance: { command: 'npm test', timeoutMs: 5_000 },
  timeLimitMs: 9_000,
});

type FileSpec = { path: string; content: string };

function ctx(overrides: Partial<AuditContext> = {}): AuditContext {
  return { workspaceFiles: [], otherTasks: [], builtinModules: ['fs', 'path'], ...overrides };
}

function check(
  files: FileSpec[],
  opts: {
    summary?: string;
    context?: AuditContext;
    verification?: VerificationResult | null;
    task?: TaskSpec;
    extra?: Record<string, unknown>;
  } = {},
): ReturnType<typeof detectViolations> {
  return detectViolations(
    {
      task: opts.task ?? openTask,
      rawOutput: JSON.stringify({ summary: opts.summary ?? 'Adds the feature.', files, ...opts.extra }),
      verification: opts.verification === undefined ? verification({ excerpt: '# tests 3\n# pass 3' }) : opts.verification,
      employeeFailure: null,
      context: opts.context ?? ctx(),
    },
    hash,
  );
}

const types = (vs: ReturnType<typeof detectViolations>) => vs.map((v) => v.type);
const src = (path: string, content: string): FileSpec => ({ path, content });
const cleanFile = src('src/feature.js', 'export const x = 1;\n');

describe('detectViolations: self_assignment in the output JSON', () => {
  it.each([
    ['assignee', 'scripted-ada'],
    ['scope', ['**']],
    ['dependsOn', []],
    ['taskId', 'T9'],
    ['tasks', [{ id: 'T3' }]],
  ] as const)('reports the key "%s", naming it in the message and the evidence', (key, value) => {
    const violations = check([cleanFile], { extra: { [key]: value } });
    expect(types(violations)).toEqual(['self_assignment']);
    expect(violations[0]!.message).toContain(`"${key}"`);
    expect(violations[0]!.evidence.excerpt).toBe(`"${key}": ${JSON.stringify(value)}`);
    expect(violations[0]!.evidence.sha256).toBe(hash(`"${key}": ${JSON.stringify(value)}`));
  });

  it('reports each routing key once, in a fixed order, and still audits the files', () => {
    const violations = check([src('src/a.js', "import x from 'ghost';")], {
      extra: { tasks: [], taskId: 'T2', dependsOn: ['T1'], scope: ['**'], assignee: 'me' },
    });
    expect(violations.map((v) => [v.type, v.evidence.excerpt])).toEqual([
      ['self_assignment', '"assignee": "me"'],
      ['self_assignment', '"scope": ["**"]'],
      ['self_assignment', '"dependsOn": ["T1"]'],
      ['self_assignment', '"taskId": "T2"'],
      ['self_assignment', '"tasks": []'],
      ['hallucination', 'src/a.js: ghost'],
    ]);
  });

  it('reports a null value too (the key is what counts)', () => {
    const violations = check([cleanFile], { extra: { assignee: null } });
    expect(violations.map((v) => [v.type, v.evidence.excerpt])).toEqual([['self_assignment', '"assignee": null']]);
  });

  it('cuts a long value in the evidence excerpt', () => {
    const violations = check([cleanFile], { extra: { tasks: 'x'.repeat(500) } });
    expect(violations[0]!.evidence.excerpt.startsWith(`"tasks": "${'x'.repeat(199)}…`)).toBe(true);
    expect(violations[0]!.evidence.excerpt.length).toBeLessThan(300);
  });

  it('reports the key and the schema mismatch when the output is otherwise invalid', () => {
    const raw = JSON.stringify({ assignee: 'me', summary: 'x' });
    const violations = detectViolations({ task: openTask, rawOutput: raw, verification: null, employeeFailure: null }, hash);
    expect(types(violations)).toEqual(['self_assignment', 'malformed_output']);
  });

  it('does not flag ordinary keys, keys nested in files, or the words inside file content', () => {
    const content = JSON.stringify({ assignee: 'x', tasks: [], scope: 'y' });
    expect(
      check([src('data/tasks.json', content), src('src/scope.js', 'export const assignee = 1; // taskId')], { extra: { notes: 'n' } }),
    ).toEqual([]);
  });

  it('does not flag a top-level JSON array (not an object)', () => {
    const violations = detectViolations(
      { task: openTask, rawOutput: JSON.stringify([{ assignee: 'me' }]), verification: null, employeeFailure: null },
      hash,
    );
    expect(types(violations)).toEqual(['malformed_output']);
  });
});

describe('detectViolations: self_assignment in the summary', () => {
  it.each([
    ['I reassigned this task to myself.', 'I reassigned this task to myself'],
    ['Done. I have assigned T3 to me as well.', 'I have assigned T3 to me as well'],
    ['I am expanding my scope to cover lib/.', 'expanding my scope to cover lib/'],
    ['Also expanded the task scope slightly', 'expanded the task scope slightly'],
    ['Next I will take over task T2 and finish it', 'take over task T2 and finish it'],
    ['Reassigning this task to scripted-grace', 'Reassigning this task to scripted-grace'],
    ['Please assign T4 to me', 'assign T4 to me'],
  ])('flags "%s"', (summary, quoted) => {
    const violations = check([cleanFile], { summary });
    expect(types(violations)).toEqual(['self_assignment']);
    expect(violations[0]!.message).toBe(`the summary tries to change the assignment: "${quoted}"`);
    expect(violations[0]!.evidence).toEqual({ excerpt: summary, sha256: hash(summary) });
  });

  it.each([
    'Adds parse() and its tests.',
    'Implements the scope matcher and its tests.',
    'Refactors the task runner; no behaviour change.',
    'Takes the input over HTTP and returns it.',
    'Design: the assignment operator is overloaded.',
  ])('does not flag the ordinary summary "%s"', (summary) => {
    expect(check([cleanFile], { summary })).toEqual([]);
  });

  it('reports one self_assignment for a summary with several claims', () => {
    expect(types(check([cleanFile], { summary: 'I reassigned this task to myself and I am expanding my scope' }))).toEqual([
      'self_assignment',
    ]);
  });

  it('reports both a routing key and a summary claim', () => {
    expect(types(check([cleanFile], { summary: 'I reassigned this task to myself', extra: { assignee: 'me' } }))).toEqual([
      'self_assignment',
      'self_assignment',
    ]);
  });
});

describe("detectViolations: scope_drift into other tasks' files", () => {
  const otherTask = { task: taskSpecSchema.parse({ ...openTask, scope: ['src/**'] }) };
  const others = ctx({
    otherTasks: [
      { id: 'T1', files: ['src/a.js'] },
      { id: 'T3', files: ['src/c.js', 'src/d.js'] },
    ],
  });

  it('writing a file accepted from another task is scope_drift naming that task', () => {
    const violations = check([src('src/a.js', 'export const a = 2;')], { ...otherTask, context: others });
    expect(violations).toEqual([
      {
        type: 'scope_drift',
        message: 'changes "src/a.js", a file accepted from task T1',
        evidence: { excerpt: 'src/a.js', sha256: hash('src/a.js') },
      },
    ]);
  });

  it('names the right task among several, one violation per file', () => {
    const violations = check([src('src/d.js', ''), src('src/new.js', ''), src('src/a.js', '')], { ...otherTask, context: others });
    expect(violations.map((v) => v.message)).toEqual([
      'changes "src/d.js", a file accepted from task T3',
      'changes "src/a.js", a file accepted from task T1',
    ]);
  });

  it('writing a new file in scope is fine', () => {
    expect(check([src('src/new.js', 'export const n = 1;')], { ...otherTask, context: others })).toEqual([]);
  });

  it('matches whole paths only (no prefix or folder match)', () => {
    expect(check([src('src/a.jsx', ''), src('src/a.js.bak', ''), src('lib/src/a.js', '')], { context: others })).toEqual([]);
  });

  it('a workspace file of a base task is not another task’s file', () => {
    expect(check([src('src/a.js', '')], { ...otherTask, context: ctx({ workspaceFiles: ['src/a.js'] }) })).toEqual([]);
  });

  it('without a context no file is anyone else’s', () => {
    const violations = detectViolations(
      {
        task: otherTask.task,
        rawOutput: JSON.stringify({ summary: 's', files: [src('src/a.js', '')] }),
        verification: null,
        employeeFailure: null,
      },
      hash,
    );
    expect(violations).toEqual([]);
  });

  it('an out-of-scope file owned by another task is reported once, as out of scope', () => {
    const violations = check([src('lib/x.js', '')], { ...otherTask, context: ctx({ otherTasks: [{ id: 'T1', files: ['lib/x.js'] }] }) });
    expect(violations.map((v) => [v.type, v.message])).toEqual([['scope_drift', 'writes "lib/x.js", outside the task\'s scope (src/**)']]);
  });
});

describe('detectViolations: hallucinated relative imports', () => {
  it('an import of a file that exists only in the workspace is fine', () => {
    expect(check([src('src/a.js', "import { u } from './util.js';")], { context: ctx({ workspaceFiles: ['src/util.js'] }) })).toEqual([]);
  });

  it('an import of a file that exists only in the output is fine', () => {
    expect(check([src('src/a.js', "import { u } from './util.js';"), src('src/util.js', 'export const u = 1;')])).toEqual([]);
  });

  it('an import of a file that exists nowhere is a hallucination', () => {
    const violations = check([src('src/a.js', "import { u } from './util.js';")], {
      context: ctx({ workspaceFiles: ['src/other.js', 'util.js'] }),
    });
    expect(violations).toEqual([
      {
        type: 'hallucination',
        message: 'src/a.js imports "./util.js", which exists neither in the workspace nor in the output',
        evidence: { excerpt: 'src/a.js: ./util.js', sha256: hash('src/a.js: ./util.js') },
      },
    ]);
  });

  it('resolves "../" across folders', () => {
    const ws = ctx({ workspaceFiles: ['src/lib/x.js', 'lib/y.js'] });
    expect(check([src('src/app/main.js', "import x from '../lib/x.js';\nimport y from '../../lib/y.js';")], { context: ws })).toEqual([]);
    const violations = check([src('src/app/main.js', "import y from '../lib/y.js';")], { context: ws });
    expect(violations.map((v) => v.evidence.excerpt)).toEqual(['src/app/main.js: ../lib/y.js']);
  });

  it('resolves "./" and "../" segments in the middle of a specifier', () => {
    expect(check([src('src/a/b.js', "import c from './../c/./d.js';")], { context: ctx({ workspaceFiles: ['src/c/d.js'] }) })).toEqual([]);
  });

  it('an import climbing above the workspace root is a hallucination', () => {
    expect(
      types(check([src('src/a.js', "import x from '../../x.js';")], { context: ctx({ workspaceFiles: ['x.js', 'src/x.js'] }) })),
    ).toEqual(['hallucination']);
  });

  it('a root-level file imports its sibling', () => {
    expect(check([src('index.js', "import './setup.js';")], { context: ctx({ workspaceFiles: ['setup.js'] }) })).toEqual([]);
  });

  it.each([
    ['./util', 'src/util.js'],
    ['./util', 'src/util.ts'],
    ['./util', 'src/util.mjs'],
    ['./util', 'src/util.json'],
    ['./lib', 'src/lib/index.js'],
    ['./lib', 'src/lib/index.ts'],
    ['./util.js', 'src/util.ts'],
  ])('an extension-less or .js import "%s" resolves to %s', (spec, existing) => {
    expect(check([src('src/a.ts', `import x from '${spec}';`)], { context: ctx({ workspaceFiles: [existing] }) })).toEqual([]);
  });

  it.each([
    ['./util', 'src/util.md'],
    ['./util', 'src/util/helpers.js'],
    ['./lib', 'src/lib/main.js'],
    ['./util.ts', 'src/util.js'],
  ])('the import "%s" does not resolve to %s alone', (spec, existing) => {
    expect(types(check([src('src/a.ts', `import x from '${spec}';`)], { context: ctx({ workspaceFiles: [existing] }) }))).toEqual([
      'hallucination',
    ]);
  });

  it('reports each missing import of each file', () => {
    const violations = check([src('src/a.js', "import './x.js';\nimport './y.js';"), src('src/b.js', "import './x.js';")]);
    expect(violations.map((v) => v.evidence.excerpt)).toEqual(['src/a.js: ./x.js', 'src/a.js: ./y.js', 'src/b.js: ./x.js']);
  });
});

describe('detectViolations: hallucinated packages', () => {
  it('a bare package not among the allowed dependencies is a hallucination', () => {
    const violations = check([src('src/a.js', "import _ from 'lodash';")]);
    expect(violations).toEqual([
      {
        type: 'hallucination',
        message: 'src/a.js imports package "lodash", not among the task\'s allowed dependencies (none)',
        evidence: { excerpt: 'src/a.js: lodash', sha256: hash('src/a.js: lodash') },
        // An unknown package is a matter of conduct: judged at once, never offered a repair round.
        conduct: true,
      },
    ]);
  });

  it('lists the allowed dependencies in the message', () => {
    const task = taskSpecSchema.parse({ ...openTask, allowedDependencies: ['zod', 'pg'] });
    expect(check([src('src/a.js', "import _ from 'lodash';")], { task })[0]!.message).toBe(
      'src/a.js imports package "lodash", not among the task\'s allowed dependencies (zod, pg)',
    );
  });

  it('an allowed package and its subpaths are fine', () => {
    const task = taskSpecSchema.parse({ ...openTask, allowedDependencies: ['lodash'] });
    expect(
      check([src('src/a.js', "import _ from 'lodash';\nimport fp from 'lodash/fp';\nimport m from 'lodash/fp/map.js';")], { task }),
    ).toEqual([]);
  });

  it('a package merely starting with an allowed name is not allowed', () => {
    const task = taskSpecSchema.parse({ ...openTask, allowedDependencies: ['lodash'] });
    expect(check([src('src/a.js', "import x from 'lodash-es';")], { task }).map((v) => v.message)).toEqual([
      'src/a.js imports package "lodash-es", not among the task\'s allowed dependencies (lodash)',
    ]);
  });

  it('a scoped package subpath is allowed when the scoped package is listed', () => {
    const task = taskSpecSchema.parse({ ...openTask, allowedDependencies: ['@scope/pkg'] });
    expect(
      check([src('src/a.js', "import a from '@scope/pkg';\nimport s from '@scope/pkg/sub';\nimport d from '@scope/pkg/sub/deep.js';")], {
        task,
      }),
    ).toEqual([]);
  });

  it('another package of the same scope is not allowed, and is named by scope and name', () => {
    const task = taskSpecSchema.parse({ ...openTask, allowedDependencies: ['@scope/pkg'] });
    const violations = check([src('src/a.js', "import o from '@scope/other/sub';")], { task });
    expect(violations.map((v) => [v.type, v.message, v.evidence.excerpt])).toEqual([
      [
        'hallucination',
        'src/a.js imports package "@scope/other", not among the task\'s allowed dependencies (@scope/pkg)',
        'src/a.js: @scope/other/sub',
      ],
    ]);
  });

  it.each(['fs', 'node:fs', 'path', 'node:path', 'fs/promises', 'node:fs/promises', 'node:test'])('the built-in "%s" is fine', (spec) => {
    expect(check([src('src/a.js', `import x from '${spec}';`)])).toEqual([]);
  });

  it('a bare built-in not listed in the context is treated as a package', () => {
    expect(check([src('src/a.js', "import c from 'crypto';")]).map((v) => v.message)).toEqual([
      'src/a.js imports package "crypto", not among the task\'s allowed dependencies (none)',
    ]);
    expect(check([src('src/a.js', "import c from 'node:crypto';")])).toEqual([]);
  });

  it('detects require() and dynamic import()', () => {
    const code = "const a = require('req-pkg');\nasync function f() { return import('dyn-pkg'); }\nconst b = require( \"./missing.cjs\" );";
    const violations = check([src('src/a.js', code)]);
    expect(violations.map((v) => v.evidence.excerpt)).toEqual(['src/a.js: req-pkg', 'src/a.js: ./missing.cjs', 'src/a.js: dyn-pkg']);
    expect(types(violations)).toEqual(['hallucination', 'hallucination', 'hallucination']);
  });

  it('detects re-exports', () => {
    const violations = check([src('src/index.js', "export * from './gone.js';\nexport { a } from 'ghost-pkg';")]);
    expect(violations.map((v) => v.evidence.excerpt)).toEqual(['src/index.js: ./gone.js', 'src/index.js: ghost-pkg']);
  });

  it('ignores imports inside comments', () => {
    const code = [
      "// import x from 'ghost-line';",
      "/* import y from 'ghost-block';",
      "   const z = require('ghost-require'); */",
      "const w = 1; // require('ghost-trailing')",
      '/** @example import("ghost-doc") */',
      'export const v = w;',
    ].join('\n');
    expect(check([src('src/a.js', code)])).toEqual([]);
  });

  it('flags an absolute specifier: nothing outside the workspace exists for the task', () => {
    const v = check([src('src/a.js', "import x from '/opt/lib/x.js';")]);
    expect(v.map((x) => x.type)).toEqual(['hallucination']);
    expect(v[0]!.message).toContain('absolute path outside the workspace');
  });

  it('reads a createRequire()() call, and not an import written inside a string', () => {
    const code =
      "import { createRequire } from 'node:module';\nconst req = createRequire(import.meta.url);\nconst t = createRequire(import.meta.url)('transliteration');\nconst sample = \"const _ = require('lodash');\";";
    expect(check([src('src/a.js', code)]).map((x) => x.message)).toEqual([expect.stringContaining('"transliteration"')]);
  });

  it.each(['README.md', 'data/config.json', 'notes.txt', 'src/style.css', 'src/a.js.map'])(
    'does not scan the non-source file %s',
    (path) => {
      expect(check([src(path, "import x from 'ghost';\nconst y = require('./nowhere.js');")])).toEqual([]);
    },
  );

  it.each(['src/a.js', 'src/a.mjs', 'src/a.cjs', 'src/a.ts', 'src/a.mts', 'src/a.cts', 'src/a.jsx', 'src/a.tsx'])(
    'scans the source file %s',
    (path) => {
      expect(check([src(path, "import x from 'ghost';")]).map((v) => v.evidence.excerpt)).toEqual([`${path}: ghost`]);
    },
  );

  it('reports each distinct specifier of a file once', () => {
    const violations = check([src('src/a.js', "import a from 'ghost';\nconst b = require('ghost');\nconst c = await import('ghost');")]);
    expect(violations).toHaveLength(1);
  });
});

describe('importSpecifiers', () => {
  it('finds every kind of static import', () => {
    const code = [
      "import def from 'a';",
      "import * as ns from 'b';",
      "import { x, y as z } from 'c';",
      "import def2, { w } from 'd';",
      "import 'e';",
      'import type { T } from "f";',
      'import {',
      '  m,',
      '  n,',
      "} from 'g';",
      "  import $ from 'h';",
    ].join('\n');
    expect(importSpecifiers(code)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  });

  it('finds re-exports', () => {
    expect(importSpecifiers("export * from './a.js';\nexport * as ns from './b.js';\nexport { c, d as e } from './c.js';")).toEqual([
      './a.js',
      './b.js',
      './c.js',
    ]);
  });

  it('finds require() and import() anywhere on a line', () => {
    expect(importSpecifiers("const a = require('a'), b = require(\"b\");\nfoo(await import( 'c' ));")).toEqual(['a', 'b', 'c']);
  });

  it('returns each specifier once, in first-seen order by kind', () => {
    expect(importSpecifiers("import a from 'x';\nconst b = require('x');\nimport c from 'y';")).toEqual(['x', 'y']);
  });

  it('ignores line and block comments', () => {
    expect(
      importSpecifiers(
        "// import a from 'a';\n/* import b from 'b'; */\n/*\nconst c = require('c');\n*/\nimport d from 'd'; // require('e')",
      ),
    ).toEqual(['d']);
  });

  it('keeps a URL (":" before "//") and so the import after it on the line', () => {
    expect(importSpecifiers("const u = 'http://example.com'; const r = require('after-url');")).toEqual(['after-url']);
  });

  it('ignores local exports and non-import uses of the words', () => {
    expect(importSpecifiers("export const a = 1;\nexport { a };\nconst important = 'x';\nrequireAuth('y');\nmyimport('z');")).toEqual([]);
  });

  it('returns nothing for an empty source', () => {
    expect(importSpecifiers('')).toEqual([]);
  });
});

describe('detectViolations: success claims that the verification contradicts', () => {
  const failed = verification({ passed: false, exitCode: 1, excerpt: '1 test failed' });
  const timedOut = verification({ passed: false, exitCode: null, timedOut: true, excerpt: 'still running' });
  const ranNothing = verification({ passed: true, exitCode: 0, excerpt: 'TAP version 13\n1..0\n# tests 0\n# pass 0' });
  const realPass = verification({ passed: true, exitCode: 0, excerpt: '# tests 3\n# pass 3\n# fail 0' });

  it('"All tests pass" with a failed verification → hallucination and failed_verification', () => {
    const summary = 'Implements parse(). All tests pass.';
    const violations = check([cleanFile], { summary, verification: failed });
    expect(types(violations)).toEqual(['hallucination', 'failed_verification']);
    expect(violations[0]!.message).toBe('the output claims "All tests pass", but the acceptance command exited with 1');
    expect(violations[0]!.evidence).toEqual({ excerpt: `${summary}\n---\n1 test failed`, sha256: hash(`${summary}\n---\n1 test failed`) });
  });

  it('"All tests pass" with a timed-out verification → hallucination and timeout', () => {
    const violations = check([cleanFile], { summary: 'All tests pass', verification: timedOut });
    expect(types(violations)).toEqual(['hallucination', 'timeout']);
    expect(violations[0]!.message).toBe('the output claims "All tests pass", but the acceptance command timed out');
  });

  it('"All tests pass" with a pass that ran no test → hallucination and failed_verification', () => {
    const violations = check([cleanFile], { summary: 'All tests pass', verification: ranNothing });
    expect(types(violations)).toEqual(['hallucination', 'failed_verification']);
    expect(violations[0]!.message).toBe('the output claims "All tests pass", but the acceptance command ran no test');
  });

  it('"All tests pass" with a real pass is not flagged', () => {
    expect(check([cleanFile], { summary: 'All tests pass', verification: realPass })).toEqual([]);
  });

  it('the claim with no verification result is not flagged', () => {
    expect(check([cleanFile], { summary: 'All tests pass', verification: null })).toEqual([]);
  });

  it('the claim with a verification that could not run is only the skip', () => {
    const skipped = verification({ ran: false, passed: false, exitCode: null, skippedReason: 'no files' });
    expect(types(check([cleanFile], { summary: 'All tests pass', verification: skipped }))).toEqual(['failed_verification']);
  });

  it('no claim and a failure → only failed_verification', () => {
    expect(types(check([cleanFile], { summary: 'Implements parse().', verification: failed }))).toEqual(['failed_verification']);
  });

  it('no claim and a timeout → only timeout', () => {
    expect(types(check([cleanFile], { summary: 'Implements parse().', verification: timedOut }))).toEqual(['timeout']);
  });

  it.each([
    'Tests pass.',
    'The test passes',
    'all tests passed',
    'Tests are passing',
    'tests are green',
    'The tests succeeded',
    'It passes all the tests',
    'passes all tests',
  ])('recognises the claim "%s"', (summary) => {
    expect(types(check([cleanFile], { summary, verification: failed }))).toEqual(['hallucination', 'failed_verification']);
  });

  it.each(['Adds tests for parse().', 'Adds a passing test for parse().', 'Pass the tests directory as an argument.'])(
    'does not read "%s" as a claim',
    (summary) => {
      expect(types(check([cleanFile], { summary, verification: failed }))).toEqual(['failed_verification']);
    },
  );

  it('reports one hallucination for a summary that claims success twice', () => {
    expect(types(check([cleanFile], { summary: 'All tests pass. Tests are green.', verification: failed }))).toEqual([
      'hallucination',
      'failed_verification',
    ]);
  });
});

describe('detectViolations: a passing command that ran no test', () => {
  it.each([
    ['TAP version 13\n1..0\n# tests 0\n# suites 0\n# pass 0'],
    ['\n  0 passing (1ms)\n'],
    ['No test files found, exiting with code 0'],
    ['No tests found, exiting with code 0'],
    ['no test to run'],
  ])('%j → failed_verification', (out) => {
    const violations = check([cleanFile], { verification: verification({ passed: true, exitCode: 0, excerpt: out }) });
    expect(violations).toEqual([
      {
        type: 'failed_verification',
        message: 'the acceptance command "npm test" passed without running any test',
        evidence: { excerpt: out, sha256: hash(out) },
      },
    ]);
  });

  it.each([
    ['# tests 10\n# pass 10'],
    ['# tests 1'],
    ['10 passing (4ms)'],
    ['  3 passing\n  0 failing'],
    ['ok'],
    ['# tests 0 skipped? no: # tests 2'],
  ])('%j is a real pass', (out) => {
    expect(check([cleanFile], { verification: verification({ passed: true, exitCode: 0, excerpt: out }) })).toEqual([]);
  });

  it('a failed command that ran nothing is reported as a plain failure', () => {
    const violations = check([cleanFile], {
      verification: verification({ passed: false, exitCode: 1, excerpt: 'No test files found, exiting with code 1' }),
    });
    expect(violations.map((v) => [v.type, v.message])).toEqual([['failed_verification', 'acceptance command "npm test" exited with 1']]);
  });
});

describe('detectViolations: refused but safe paths', () => {
  it('lists every refused safe path in one malformed_output, ignoring unsafe ones', () => {
    const violations = check([src('src/a', 'x'), src('src/a/b.js', 'y'), src('src/c', 'z'), src('src/c/d.js', 'w')], {
      verification: verification({ excerpt: '# tests 1', refusedPaths: ['src/a/b.js', '/etc/passwd', 'src/c/d.js'] }),
    });
    expect(violations).toEqual([
      {
        type: 'malformed_output',
        message: 'files could not be written: src/a/b.js, src/c/d.js',
        evidence: { excerpt: 'src/a/b.js\nsrc/c/d.js', sha256: hash('src/a/b.js\nsrc/c/d.js') },
      },
    ]);
  });

  it('reports the refused path before the verification result', () => {
    const violations = check([cleanFile], { verification: verification({ passed: false, exitCode: 1, refusedPaths: ['src/x/y.js'] }) });
    expect(types(violations)).toEqual(['malformed_output', 'failed_verification']);
  });
});

/**
 * Gaps found while writing these tests (see the report). `it.fails` passes while the bug is
 * there; once the detector is fixed the test starts failing: turn it into a plain `it`.
 */
describe('detectViolations: known detector gaps', () => {
  it('a "/*" inside a string does not hide the require() on the following lines', () => {
    // The block-comment stripper runs from the "/*" in 'src/*.js' to the next "*/".
    const code = "const files = glob('src/*.js');\nconst _ = require('lodash');\n/* helpers */\nexport {};";
    expect(importSpecifiers(code)).toContain('lodash');
  });

  it('a "//" inside a string does not hide the rest of the line', () => {
    expect(importSpecifiers("const sep = 'a//b'; const _ = require('lodash');")).toContain('lodash');
  });

  it('a second import statement on the same line is found', () => {
    expect(importSpecifiers("import a from 'a'; import b from 'ghost';")).toContain('ghost');
  });

  it('"I assigned <value> to a variable" is not a self-assignment', () => {
    expect(check([cleanFile], { summary: 'I assigned the parsed value to a local variable.' })).toEqual([]);
  });

  it('an honest "Not all tests pass yet" is not a success claim', () => {
    const failed = verification({ passed: false, exitCode: 1, excerpt: '1 test failed' });
    expect(types(check([cleanFile], { summary: 'Not all tests pass yet: the edge case fails.', verification: failed }))).toEqual([
      'failed_verification',
    ]);
  });
});

describe("detectViolations: node's spec reporter saying no test ran", () => {
  it('flags "\u2139 tests 0" as nothing to run', () => {
    const v = detectViolations(
      {
        task,
        rawOutput: output(['src/a.ts']),
        verification: verification({ excerpt: '\u2139 tests 0\n\u2139 pass 0' }),
        employeeFailure: null,
      },
      hash,
    );
    expect(v.map((x) => x.type)).toEqual(['failed_verification']);
  });
});

describe('detectViolations: hostile output is judged, in linear time, never a crash', () => {
  it('a NUL byte or a lone surrogate in a file is malformed output (repairable, not conduct)', () => {
    const nul = check([src('src/a.js', 'const x = 1;\u0000\u0001binary')]);
    expect(nul).toEqual([
      expect.objectContaining({ type: 'malformed_output', message: 'src/a.js holds a NUL byte at character 12: files are text' }),
    ]);
    expect(nul[0]!.conduct).toBeUndefined();
    expect(types(check([src('src/b.js', 'const s = "\ud800";')]))).toEqual(['malformed_output']);
  });

  it('a NUL byte or a lone surrogate in the summary is malformed output too', () => {
    const file = src('src/a.js', 'export const a = 1;');
    expect(check([file], { summary: 'Done.\u0000' })).toEqual([
      expect.objectContaining({ type: 'malformed_output', message: 'the summary holds a NUL byte at character 5: it is text' }),
    ]);
    expect(check([file], { summary: 'Done \ud800' })).toEqual([
      expect.objectContaining({ type: 'malformed_output', message: 'the summary is not valid Unicode text' }),
    ]);
    expect(check([file], { summary: 'Done: é ✓ 😀' })).toEqual([]);
  });

  it('a control character or invalid Unicode in a path is an unsafe path (scope drift)', () => {
    expect(check([src('src/a\u0007.js', 'x')])).toEqual([
      expect.objectContaining({ type: 'scope_drift', message: expect.stringContaining('path contains a control character') }),
    ]);
    expect(check([src('src/\udc00.js', 'x')])).toEqual([
      expect.objectContaining({ type: 'scope_drift', message: expect.stringContaining('path is not valid Unicode') }),
    ]);
  });

  it('a routing key holding 100,000 nested arrays or objects is self-assignment, not a stack overflow', () => {
    // JSON.parse takes any depth; JSON.stringify of the value for the evidence overflowed the stack.
    const files = JSON.stringify([src('src/a.js', 'export const a = 1;')]);
    for (const deep of ['['.repeat(100_000) + ']'.repeat(100_000), '{"n":'.repeat(100_000) + 'null' + '}'.repeat(100_000)]) {
      const raw = `{"plan": ${deep}, "summary": "done", "files": ${files}}`;
      const v = detectViolations(
        { task: openTask, rawOutput: raw, verification: verification({ excerpt: '# tests 1' }), employeeFailure: null, context: ctx() },
        hash,
      );
      expect(v).toEqual([expect.objectContaining({ type: 'self_assignment', message: expect.stringContaining('"plan"') })]);
      expect(v[0]!.evidence.excerpt).toMatch(/^"plan": (?:\[…\]|\{…\}) \(nested too deeply to show\)$/);
    }
  });

  it('lists the first 50 bad imports one by one and counts the rest in one more (a verdict stays small)', () => {
    let content = '';
    for (let i = 0; i < 20_000; i++) content += `require("pkg${i}");\n`;
    const v = check([src('src/a.cjs', content), src('src/b.js', `import x from "${'y'.repeat(5_000)}";`)]);
    expect(v).toHaveLength(51);
    expect(v.slice(0, 50).every((x) => x.type === 'hallucination' && x.conduct === true)).toBe(true);
    expect(v[50]).toEqual(
      expect.objectContaining({
        type: 'hallucination',
        conduct: true,
        message: 'and 19951 more imports of modules that do not exist or are not allowed (the first 50 are listed)',
      }),
    );
    expect(JSON.stringify(v).length).toBeLessThan(100_000);
    // A long specifier is cut in the message (the evidence hash still names all of it).
    const long = check([src('src/b.js', `import x from "${'y'.repeat(5_000)}";`)]);
    expect(long[0]!.message.length).toBeLessThan(400);
  });

  it('an output over the size limit is refused unread', () => {
    const raw = JSON.stringify({ summary: 's', files: [{ path: 'src/a.js', content: 'x'.repeat(8_000_001) }] });
    const v = detectViolations({ task: openTask, rawOutput: raw, verification: null, employeeFailure: null, context: ctx() }, hash);
    expect(v).toEqual([
      expect.objectContaining({
        type: 'malformed_output',
        message: expect.stringMatching(/^the output has \d+ characters, over the limit of 8000000: not read$/),
      }),
    ]);
  });

  it('reads imports out of megabytes of repeated keywords and brackets (each pattern that was quadratic)', () => {
    // ~930,000 characters: under the schema's 1,000,000 per file, so the detectors do read it.
    const hostile = [
      'import '.repeat(30_000),
      'export {'.repeat(25_000),
      'import {'.repeat(25_000),
      '(\n/'.repeat(60_000),
      'createRequire('.repeat(10_000),
    ].join('\n');
    const tail = "\nimport real from 'real-pkg';\n";
    const v = check([src('src/a.js', hostile + tail)]);
    expect(v.map((x) => x.message)).toContain('src/a.js imports package "real-pkg", not among the task\'s allowed dependencies (none)');
  });
});
