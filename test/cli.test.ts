/**
 * The `aura` CLI as a person uses it: bad input gets a clear message and a non-zero exit and
 * starts nothing (the program in this process, test/helpers/cli.ts); a bad configuration stops
 * the real binary, and a good submission runs to its report through it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config/config.js';
import { SAMPLE_PRD_FILE, startTestEnv, type TestEnv } from './helpers/env.js';
import { aura as runAura } from './helpers/cli.js';

let env: TestEnv;
/** The run the good submission started (the completion tests complete its id). */
let submittedRun = '';
const dir = mkdtempSync(join(tmpdir(), 'aura-cli-'));

beforeAll(async () => {
  env = await startTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});

/** The real binary (bin/aura), in the test's folder. */
function auraProcess(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(join(PROJECT_ROOT, 'bin', 'aura'), args, {
    cwd: dir,
    env: { ...env.childEnv, AURA_DIRECTOR: 'cli-tester', ...extraEnv },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function workflowCount(): Promise<number> {
  let n = 0;
  for await (const _ of env.client.workflow.list()) n++;
  return n;
}

describe('aura CLI: bad input', () => {
  const unknownRun = '00000000-0000-4000-8000-000000000000';

  it.each([
    ['a missing PRD file', () => ['submit', 'no-such-prd.md'], /cannot read PRD no-such-prd\.md: no such file/],
    [
      'an empty PRD file',
      () => (writeFileSync(join(dir, 'empty.md'), '  \n\n'), ['submit', join(dir, 'empty.md')]),
      /PRD \S*\/empty\.md is empty/,
    ],
    ['a folder as PRD', () => ['submit', '.'], /PRD \. is not a file/],
    [
      'a binary PRD (a NUL byte)',
      () => (writeFileSync(join(dir, 'binary.md'), Buffer.from('# PRD\n\u0000\u0001\u0002', 'utf8')), ['submit', join(dir, 'binary.md')]),
      /PRD \S*\/binary\.md is not text: it has a NUL byte at offset 6/,
    ],
    [
      'a PRD that is not UTF-8',
      () => (
        writeFileSync(join(dir, 'latin1.md'), Buffer.from([0x23, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a])),
        ['submit', join(dir, 'latin1.md')]
      ),
      /PRD \S*\/latin1\.md is not UTF-8 text/,
    ],
    [
      'a verification decision that is not one',
      () => ['verification', unknownRun, 'maybe', '--reason', 'x'],
      /command-argument value 'maybe' is invalid for argument 'decision'. Allowed choices are accept, replan, stop/,
    ],
    ['a bad --max-parallel', () => ['submit', SAMPLE_PRD_FILE, '--max-parallel', '0'], /--max-parallel must be a positive whole number/],
    [
      'a bad --max-repair-rounds',
      () => ['submit', SAMPLE_PRD_FILE, '--max-repair-rounds', '-1'],
      /--max-repair-rounds must be a whole number from 0 to 10/,
    ],
    ['status of an unknown run', () => ['status', unknownRun], /unknown run: 00000000-0000-4000-8000-000000000000/],
    ['approving an unknown run', () => ['approve', unknownRun], /unknown run/],
    ['a rejection without --reason', () => ['reject', unknownRun], /required option '--reason <text>' not specified/],
    ['a rejection with a blank reason', () => ['reject', unknownRun, '--reason', '   '], /a rejection needs a reason/],
    ['resolve with no decision', () => ['resolve', unknownRun, 'T1', '--reason', 'x'], /choose exactly one of --reassign/],
    ['an unknown command', () => ['frobnicate'], /unknown command 'frobnicate'/],
  ])('refuses %s with a clear message and exit code 2', async (_what, args, message) => {
    const r = await runAura(args(), { ...env.childEnv, AURA_DIRECTOR: 'cli-tester' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('stops on bad configuration, naming the variable', () => {
    const r = auraProcess(['status', unknownRun], { AUDIT_LOG_RETENTION_DAYS: 'a year', ENABLE_STRICT_POLICY: 'maybe' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/AUDIT_LOG_RETENTION_DAYS: .*\(value not shown, 6 characters\)/);
    expect(r.stderr).toMatch(/ENABLE_STRICT_POLICY: must be true or false \(value not shown, 5 characters\)/);
    expect(r.stderr).not.toMatch(/a year|maybe/);
  });

  it('started no workflow for any of them', async () => {
    expect(await workflowCount()).toBe(0);
  });
});

describe('aura CLI: a good submission', () => {
  it('submits the sample PRD, follows it and prints the report', async () => {
    // Asynchronously: the workers run in this process and need its event loop meanwhile.
    const r = await promisify(execFile)(
      join(PROJECT_ROOT, 'bin', 'aura'),
      ['submit', SAMPLE_PRD_FILE, '--project', 'cli-run', '--auto-approve', '--follow'],
      {
        cwd: dir,
        env: { ...env.childEnv, AURA_DIRECTOR: 'cli-tester' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    ).then((out) => ({ ...out, code: 0 }));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/run [0-9a-f-]{36} started/);
    expect(r.stdout).toMatch(/T1 +running +scripted-overconfident|T1 +accepted/);
    expect(r.stdout).toContain('status: completed');
    expect(r.stdout).toContain(
      'attempt 1: scripted-overconfident — scope_drift, hallucination, failed_verification; HR: WARNING, STRIKE, WARNING',
    );
    const runId = r.stdout.match(/run ([0-9a-f-]{36}) started/)![1]!;
    const status = await promisify(execFile)(join(PROJECT_ROOT, 'bin', 'aura'), ['status', runId, '--json'], {
      env: env.childEnv,
      encoding: 'utf8',
    }).then((o) => ({ ...o, code: 0 }));
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'completed', report: { reassignments: 1 } });
    submittedRun = runId;
  });
});

describe('aura completion', () => {
  const complete = async (...words: string[]) => {
    const r = await runAura(['__complete', '--', ...words], env.childEnv);
    expect(r.code).toBe(0);
    return r.stdout.split('\n').filter(Boolean);
  };

  it('completes commands, options and argument choices from the program itself', async () => {
    expect(await complete('st')).toEqual(['stop', 'status']);
    expect(await complete('ledger', '')).toEqual(expect.arrayContaining(['verify', 'checkpoint']));
    expect(await complete('runs', '--')).toEqual(expect.arrayContaining(['--status', '--needs-director', '--limit', '--json', '--help']));
    expect(await complete('verification', 'some-run', '')).toEqual(['accept', 'replan', 'stop']);
    // After an option that takes a value, the next word is that value, not the argument.
    expect(await complete('resolve', '--reason', 'x', '')).toEqual([submittedRun]);
    expect(await complete('submit', '')).toEqual([]); // a file: the shell completes it
  });

  it('completes run ids from the record', async () => {
    expect(submittedRun).toMatch(/^[0-9a-f-]{36}$/);
    expect(await complete('status', '')).toEqual([submittedRun]);
    expect(await complete('history', submittedRun.slice(0, 6))).toEqual([submittedRun]);
    expect(await complete('status', 'no-such-prefix')).toEqual([]);
  });

  it('the bash script asks the binary and fills COMPREPLY', () => {
    const script = spawnSync(join(PROJECT_ROOT, 'bin', 'aura'), ['completion', 'bash'], { env: env.childEnv, encoding: 'utf8' });
    expect(script.status).toBe(0);
    writeFileSync(join(dir, 'aura.bash'), script.stdout);
    const tab = (line: string) => {
      const r = spawnSync(
        'bash',
        [
          '-c',
          `source ${join(dir, 'aura.bash')}; COMP_WORDS=(${line}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _aura_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { env: { ...env.childEnv, PATH: `${join(PROJECT_ROOT, 'bin')}:${env.childEnv.PATH}` }, encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.stderr).toBe('');
      return r.stdout.split('\n').filter(Boolean);
    };
    expect(tab(`aura appr`)).toEqual(['approve']);
    expect(tab(`aura status ''`)).toEqual([submittedRun]);
    expect(spawnSync('bash', ['-c', `source ${join(dir, 'aura.bash')}; complete -p aura`], { encoding: 'utf8' }).stdout).toContain(
      'complete -o default -F _aura_complete aura',
    );
  });

  const hasZsh = spawnSync('sh', ['-c', 'command -v zsh'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasZsh)('the zsh script registers _aura with compinit and hands it the candidates, or files when there are none', () => {
    const script = spawnSync(join(PROJECT_ROOT, 'bin', 'aura'), ['completion', 'zsh'], { env: env.childEnv, encoding: 'utf8' });
    writeFileSync(join(dir, 'aura.zsh'), script.stdout);
    // compadd and _files work only inside a completion: stand-ins print what _aura gave them.
    const r = spawnSync(
      'zsh',
      [
        '-f',
        '-c',
        [
          `autoload -U compinit; compinit -u -d ${join(dir, 'zcompdump')}`,
          `source ${join(dir, 'aura.zsh')}`,
          'print "registered: ${_comps[aura]}"',
          'compadd() { print -- "compadd: ${(j:,:)@}"; }',
          '_files() { print files; }',
          'words=(aura appr); CURRENT=2; _aura',
          "words=(aura status ''); CURRENT=3; _aura",
          "words=(aura submit ''); CURRENT=3; _aura",
        ].join('\n'),
      ],
      { env: { ...env.childEnv, PATH: `${join(PROJECT_ROOT, 'bin')}:${env.childEnv.PATH}` }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'registered: _aura',
      'compadd: -Q,--,approve',
      `compadd: -Q,--,${submittedRun}`,
      'files',
    ]);
  });
});
