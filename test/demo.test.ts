/**
 * The README's first quick-start command, as a person runs it: `aura demo` on embedded
 * defaults (embedded PostgreSQL, a Temporal dev server with its Web UI, scripted employees).
 * Its run and task workflows are visible through the Web UI with their search attributes,
 * and Ctrl-C stops everything cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { PROJECT_ROOT } from '../config/config.js';
import { freePort } from './helpers/global-setup.js';

let child: ChildProcess | null = null;
const home = mkdtempSync(join(tmpdir(), 'aura-demo-'));
afterAll(() => {
  // The whole group it started (it runs in one of its own).
  if (child && child.exitCode === null) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
  // As root, the embedded PostgreSQL's data lives where <home>/postgres.location says.
  const location = join(home, 'postgres.location');
  if (existsSync(location)) rmSync(dirname(readFileSync(location, 'utf8').split('\n')[0]!), { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

function waitFor(text: () => string, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (pattern.test(text())) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${pattern}; output so far:\n${text()}`));
      }
    }, 250);
  });
}

const decode = (field: { data: string }) => JSON.parse(Buffer.from(field.data, 'base64').toString('utf8'));

describe('aura demo', () => {
  it('runs the sample PRD to a completed run with a reassignment, shows it in the Web UI, and stops on Ctrl-C', async () => {
    const [temporalPort, uiPort, pgPort] = [await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AURA_HOME: home,
      AURA_TEMPORAL_PORT: String(temporalPort),
      AURA_TEMPORAL_UI_PORT: String(uiPort),
      AURA_EMBEDDED_POSTGRES_PORT: String(pgPort),
      TEMPORAL_CLI_PATH: inject('temporalCli'),
    };
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    let out = '';
    // A process group of its own, as a terminal gives a command: Ctrl-C reaches the whole group.
    child = spawn(join(PROJECT_ROOT, 'bin', 'aura'), ['demo', '--keep'], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout!.on('data', (b) => (out += b.toString()));
    child.stderr!.on('data', (b) => (out += b.toString()));

    await waitFor(() => out, /still running for inspection/, 150_000);
    expect(out).toContain('starting embedded PostgreSQL');
    expect(out).toContain('starting the Temporal dev server');
    expect(out).toContain('status: completed');
    expect(out).toMatch(/reassignments: 1 /);
    expect(out).toContain('final verification: "node --test" passed');
    // The run's record verifies, from the first entry, and is signed.
    expect(out).toMatch(/the record: INTACT: \d+ entries \(from the first\) to \d+, \d+ signed checkpoints, 17 tables of rows checked/);
    expect(out).toMatch(/signed checkpoint to entry \d+/);

    // The Web UI's own API lists the run and its three task workflows, with search attributes.
    const query = encodeURIComponent('AuraProject = "wordfreq-demo"');
    const res = await fetch(`http://127.0.0.1:${uiPort}/api/v1/namespaces/default/workflows?query=${query}`);
    expect(res.status).toBe(200);
    const { executions } = (await res.json()) as {
      executions: { type: { name: string }; status: string; searchAttributes: { indexedFields: Record<string, { data: string }> } }[];
    };
    expect(executions.map((e) => e.type.name).sort()).toEqual(['prdRun', 'taskRun', 'taskRun', 'taskRun']);
    expect(executions.every((e) => e.status === 'WORKFLOW_EXECUTION_STATUS_COMPLETED')).toBe(true);
    const run = executions.find((e) => e.type.name === 'prdRun')!;
    expect(decode(run.searchAttributes.indexedFields.AuraRunStatus!)).toBe('completed');
    const models = executions
      .filter((e) => e.type.name === 'taskRun')
      .map((e) => decode(e.searchAttributes.indexedFields.AuraModel!))
      .sort();
    expect(models).toEqual(['scripted-ada', 'scripted-ada', 'scripted-grace']);

    // Ctrl-C: everything it started stops, and it exits cleanly.
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    // Ctrl-C at a terminal: SIGINT to the group, the embedded PostgreSQL and Temporal included.
    const shown = out.length;
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('[aura] stopped');
    // PostgreSQL heard it too and ended its connections: expected, so not reported as lost.
    expect(out.slice(shown)).not.toContain('database connection lost');
    await expect(fetch(`http://127.0.0.1:${uiPort}/`)).rejects.toThrow();
  });
});
