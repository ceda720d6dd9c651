/**
 * `aura doctor` as a newcomer meets it: the real binary, in a process of its own (the sandbox
 * probe reads this process's PATH once), on a machine made to miss something: no bwrap on PATH,
 * a taken port, a bad variable, an AURA_HOME that is not the user's. Each case also checks that
 * the rest of the report still holds, and the ready case that the same checks can pass.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../config/config.js';
import { checkHome, checkNode } from '../client/doctor.js';

const dir = mkdtempSync(join(tmpdir(), 'aura-doctor-'));
const fakeTemporal = join(dir, 'temporal');
let taken: Server;
let takenPort: number;

/** Ports nobody listens on (the OS hands them out; closed again before the doctor looks). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

let ports: number[];
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const [temporal, ui, manager, postgres] = ports;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AURA_HOME: join(dir, 'home'),
    // A stand-in that answers --version as the CLI does: the check runs what it finds.
    TEMPORAL_CLI_PATH: fakeTemporal,
    AURA_TEMPORAL_PORT: String(temporal),
    AURA_TEMPORAL_UI_PORT: String(ui),
    MANAGER_PORT: String(manager),
    AURA_EMBEDDED_POSTGRES_PORT: String(postgres),
    ...extra,
  };
  return env;
}

function doctor(env: NodeJS.ProcessEnv, asNobody = false) {
  const argv = [join(PROJECT_ROOT, 'bin', 'aura'), 'doctor'];
  const [cmd, ...args] = asNobody ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...argv] : argv;
  const r = spawnSync(cmd!, args, { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
  const line = (name: string) => r.stdout.split('\n').find((l) => new RegExp(`^(ok|warn|FAIL) +${name} `).test(l)) ?? '';
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, line };
}

beforeAll(async () => {
  writeFileSync(fakeTemporal, '#!/bin/sh\necho "temporal version 1.5.1 (test stand-in)"\n', { mode: 0o755 });
  ports = await freePorts(4);
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  takenPort = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => taken.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('aura doctor', () => {
  it('is ready on this machine: every check ok or warn, exit 0', () => {
    const r = doctor(baseEnv());
    expect(r.stderr).toBe('');
    expect(r.line('node')).toMatch(/^ok +node +Node \d+\.\d+\.\d+ \(needs ≥ 20\.3\.0\)/);
    expect(r.line('bubblewrap')).toMatch(/^ok +bubblewrap +bubblewrap [\d.]+ builds a sandbox/);
    expect(r.line('temporal')).toMatch(/^ok +temporal +temporal version 1\.5\.1 \(test stand-in\)/);
    expect(r.line('ports')).toMatch(new RegExp(`^ok +ports +free: ${ports.slice(0, 3).join(', ')}`));
    expect(r.line('aura home')).toContain(join(dir, 'home'));
    expect(r.stdout).not.toMatch(/^FAIL/m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('ready');
    expect(r.code).toBe(0);
  });

  it('says bubblewrap is missing, and how to install it, when bwrap is not on PATH (exit 1)', () => {
    // A PATH with what bin/aura and the other checks use, and no bwrap.
    const bin = join(dir, 'bin-without-bwrap');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['node', 'bash', 'dirname', 'readlink', 'find', 'id', 'setpriv']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(bin, tool));
    }
    const r = doctor(baseEnv({ PATH: bin }));
    expect(r.line('bubblewrap')).toMatch(
      /^FAIL +bubblewrap +bubblewrap \(bwrap\) is not installed: the sandbox refuses to run generated code → install it: apt-get install bubblewrap/,
    );
    expect(r.line('node')).toMatch(/^ok /);
    expect(r.line('ports')).toMatch(/^ok /);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('not ready: bubblewrap');
    expect(r.code).toBe(1);
  });

  it('says which port is taken and which variable moves it (exit 1)', () => {
    const r = doctor(baseEnv({ AURA_TEMPORAL_PORT: String(takenPort) }));
    expect(r.line('ports')).toMatch(new RegExp(`^FAIL +ports +taken: ${takenPort} \\(AURA_TEMPORAL_PORT\\) → .*AURA_TEMPORAL_PORT`));
    expect(r.line('bubblewrap')).toMatch(/^ok /);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('not ready: ports');
    expect(r.code).toBe(1);
  });

  it('leaves the Manager API port out for the demo (--for demo), which does not listen on it', () => {
    const [temporal, ui] = ports;
    const r = spawnSync(join(PROJECT_ROOT, 'bin', 'aura'), ['doctor', '--for', 'demo'], {
      cwd: dir,
      env: baseEnv({ MANAGER_PORT: String(takenPort) }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toMatch(new RegExp(`^ok +ports +free: ${temporal}, ${ui}$`, 'm'));
    expect(r.status).toBe(0);
  });

  it('names a bad variable without its value, and still checks what needs no configuration', () => {
    const r = doctor(baseEnv({ AURA_TEMPORAL_PORT: 'seventy' }));
    expect(r.line('config')).toMatch(/^FAIL +config +.*AURA_TEMPORAL_PORT/);
    expect(r.stdout).not.toContain('seventy');
    expect(r.line('bubblewrap')).toMatch(/^ok /);
    expect(r.code).toBe(1);
  });

  it('PostgreSQL of DATABASE_URL: reached, and its role looked at (a superuser could rewrite the record)', () => {
    const server = inject('pgServerUrl');
    const r = doctor(baseEnv({ DATABASE_URL: server }));
    const role = decodeURIComponent(new URL(server).username);
    expect(r.line('postgresql')).toMatch(
      new RegExp(`^warn +postgresql +the application role ${role} is a superuser: it could rewrite the record → `),
    );
    expect(r.code).toBe(0);
    const wrong = new URL(server);
    wrong.password = 'not-its-password';
    const refused = doctor(baseEnv({ DATABASE_URL: wrong.toString() }));
    expect(refused.line('postgresql')).toMatch(/^FAIL +postgresql +DATABASE_URL does not connect: .*password authentication failed/);
    expect(refused.stdout).not.toContain('not-its-password');
    expect(refused.code).toBe(1);
  });

  it.skipIf(userInfo().uid !== 0)('as another user: the sandbox as that user, and an AURA_HOME that is not theirs', () => {
    const home = join(dir, 'root-home');
    mkdirSync(home, { mode: 0o700 });
    chmodSync(dir, 0o755);
    const r = doctor(baseEnv({ AURA_HOME: home }), true);
    expect(r.line('bubblewrap')).toMatch(/^ok +bubblewrap +.* builds a sandbox as uid 65534/);
    expect(r.line('aura home')).toMatch(new RegExp(`^FAIL +aura home +${home} is not writable by this user \\(it belongs to uid 0\\)`));
    expect(r.code).toBe(1);
  });
});

describe('doctor checks, one by one', () => {
  it('Node against package.json engines', () => {
    expect(checkNode('18.19.0').status).toBe('fail');
    expect(checkNode('20.2.9').status).toBe('fail');
    expect(checkNode('20.3.0').status).toBe('ok');
    expect(checkNode('24.1.0').status).toBe('ok');
  });

  it('AURA_HOME: to be made, open to others, or private', () => {
    const base = mkdtempSync(join(dir, 'home-'));
    expect(checkHome(join(base, 'new', 'aura'))).toMatchObject({ status: 'ok', detail: expect.stringContaining('made at first start') });
    const open = join(base, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    expect(checkHome(open)).toMatchObject({ status: 'warn', advice: `chmod 700 ${open}` });
    chmodSync(open, 0o700);
    expect(checkHome(open).status).toBe('ok');
    const file = join(base, 'file');
    writeFileSync(file, '');
    expect(checkHome(file).status).toBe('fail');
  });
});
