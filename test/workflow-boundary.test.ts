/**
 * Workflows must stay deterministic and bundleable: a workflow file imports only the
 * workflow SDK, other workflow files and the pure governance layer; activities come in as
 * types only. The governance layer itself does no I/O. This test fails the build otherwise.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config/config.js';

interface Finding {
  file: string;
  problem: string;
}

const VALUE_IMPORT = /^\s*(?:import|export)\s+(?!type\b)([^;]*?)\s+from\s+['"]([^'"]+)['"]/gm;
const BARE_IMPORT = /^\s*import\s+['"]([^'"]+)['"]/gm;

export function checkSource(file: string, source: string, allowed: (spec: string) => boolean): Finding[] {
  const findings: Finding[] = [];
  for (const m of source.matchAll(VALUE_IMPORT)) {
    const clause = m[1]!.trim();
    const spec = m[2]!;
    // `import { type A, type B } from` is type-only too.
    const typeOnly =
      /^\{[^}]*\}$/.test(clause) &&
      clause
        .slice(1, -1)
        .split(',')
        .every((p) => !p.trim() || p.trim().startsWith('type '));
    if (!typeOnly && !allowed(spec)) findings.push({ file, problem: `imports ${spec}` });
  }
  for (const m of source.matchAll(BARE_IMPORT)) if (!allowed(m[1]!)) findings.push({ file, problem: `imports ${m[1]}` });
  const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  for (const [pattern, what] of [
    [/process\.env/, 'reads process.env'],
    [/Math\.random\s*\(/, 'uses Math.random()'],
    [/Date\.now\s*\(|new Date\s*\(\s*\)/, 'reads the wall clock'],
    [/\brequire\s*\(/, 'uses require()'],
  ] as const) {
    if (pattern.test(code)) findings.push({ file, problem: what });
  }
  return findings;
}

const workflowAllowed = (spec: string) =>
  spec === '@temporalio/workflow' || spec === '@temporalio/common' || spec.startsWith('./') || spec.startsWith('../governance/');
const governanceAllowed = (spec: string) => spec === 'zod' || spec.startsWith('./');

function scan(folder: string, allowed: (spec: string) => boolean): Finding[] {
  const dir = join(PROJECT_ROOT, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => checkSource(`${folder}/${f}`, readFileSync(join(dir, f), 'utf8'), allowed));
}

describe('layer boundaries', () => {
  it('workflow files import only the workflow SDK, workflow files and governance/', () => {
    expect(scan('workflows', workflowAllowed)).toEqual([]);
  });

  it('governance/ is pure: zod and its own files only, no environment, clock or randomness', () => {
    expect(scan('governance', governanceAllowed)).toEqual([]);
  });

  it('the check catches what it is meant to catch', () => {
    const bad = [
      "import { readFileSync } from 'node:fs';",
      "import { createDb } from '../db/connect.js';",
      "import { createHrActivities } from '../activities/hr/index.js';",
      "import OpenAI from 'openai';",
      "import 'pg';",
      'const key = process.env.OPENAI_API_KEY;',
      'const r = Math.random();',
      'const t = new Date();',
    ].join('\n');
    const problems = checkSource('bad.ts', bad, workflowAllowed).map((f) => f.problem);
    expect(problems).toEqual([
      'imports node:fs',
      'imports ../db/connect.js',
      'imports ../activities/hr/index.js',
      'imports openai',
      'imports pg',
      'reads process.env',
      'uses Math.random()',
      'reads the wall clock',
    ]);
    const fine = "import type { HrActivities } from '../activities/hr/index.js';\nimport { proxyActivities } from '@temporalio/workflow';";
    expect(checkSource('fine.ts', fine, workflowAllowed)).toEqual([]);
  });
});
