import { describe, expect, it } from 'vitest';
import { detectViolations, excerpt, parseTaskOutput, type AuditInput, type Hasher, type VerificationResult } from '../../governance/audit-rules.js';
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
  return { ran: true, passed: true, exitCode: 0, timedOut: false, durationMs: 12, excerpt: 'ok', skippedReason: null, refusedPaths: [], ...overrides };
}

function output(paths: string[], summary = 'done'): string {
  return JSON.stringify({ summary, files: paths.map((path) => ({ path, content: `// ${path}` })) });
}

function audit(overrides: Partial<AuditInput>): ReturnType<typeof detectViolations> {
  return detectViolations({ task, rawOutput: output(['src/a.ts']), verification: verification(), employeeFailure: null, ...overrides }, hash);
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
    const violations = detectViolations({ task: everything, rawOutput: output([path]), verification: verification(), employeeFailure: null }, hash);
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
    const violations = audit({ rawOutput: output([]), verification: verification({ ran: false, passed: false, exitCode: null, skippedReason: reason }) });
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
      { task, rawOutput: output(['lib/x.ts']), verification: verification({ passed: false, exitCode: 1, excerpt: 'boom' }), employeeFailure: null },
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
