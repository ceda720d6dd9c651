/**
 * The verification sandbox against hostile generated code: a real node program
 * (test/fixtures/sandbox/probe.mjs) tries to read a secret of the worker, reach host services
 * over TCP and Unix sockets, read and write host files, signal the worker, leave a SysV shared
 * memory segment and a process behind; a fork bomb and a memory bomb follow. Each is run as
 * this test's worker (whoever runs vitest) and, when that is root, as an unprivileged worker
 * (`nobody`, through test/fixtures/sandbox-probe-runner.ts): the sandbox must hold either way.
 * The same probe run without the sandbox shows that every one of those attempts would work.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand, type CommandResult } from '../activities/sandbox/run-command.js';
import { DEFAULT_LIMITS, type CommandLimits } from '../activities/sandbox/limits.js';
import { isolationSupport, sandboxMode } from '../activities/sandbox/isolation-probe.js';
import { probeCgroup } from '../activities/sandbox/cgroup.js';
import { sandboxTempBase } from '../activities/sandbox/workspace-dir.js';
import { failIfRefused, verifyFiles } from '../activities/sandbox/index.js';
import { checkOutput, parseTask } from '../activities/auditor/check.js';
import { detectViolations, type VerificationResult } from '../governance/audit-rules.js';
import { sha256 } from '../activities/context.js';
import { PROJECT_ROOT } from '../config/config.js';

const PROBE = join(PROJECT_ROOT, 'test', 'fixtures', 'sandbox', 'probe.mjs');
const RUNNER = join(PROJECT_ROOT, 'test', 'fixtures', 'sandbox-probe-runner.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SECRET = `aura-fake-secret-${randomBytes(8).toString('hex')}`;
/** The probe's own check: it exits 0 and wrote its file in the workspace, then the command exits 7. */
const PROBE_COMMAND = 'node probe.mjs && test "$(cat inside.txt)" = "written in the workspace" && exit 7';

const isRoot = process.getuid!() === 0;
const support = isolationSupport();
const isolated = sandboxMode() === 'bwrap';
const nobody = (() => {
  const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  return Number.isInteger(uid) && uid > 0 && Number.isInteger(gid) ? { uid, gid } : null;
})();
const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
const hasIpcmk = spawnSync('ipcmk', ['--version'], { stdio: 'ignore' }).status === 0;
/** A checkout in a private folder (mode 700) cannot be read by nobody: no worker can run from it as nobody. */
const nobodyReadsCheckout =
  isRoot &&
  nobody !== null &&
  hasSetpriv &&
  spawnSync('setpriv', [
    `--reuid=${nobody.uid}`,
    `--regid=${nobody.gid}`,
    '--clear-groups',
    '--',
    'test',
    '-r',
    join(PROJECT_ROOT, 'package.json'),
  ]).status === 0;

/** A path the sandboxed code may write: directly in its own /tmp or /dev/shm. */
const runsOwn = (path: string) => dirname(path) === '/tmp' || dirname(path) === '/dev/shm';

/** Titles carry the reason when a precondition is absent. */
const whyNotIsolated = isolated ? null : `SKIPPED: bubblewrap cannot build a sandbox here (${support.problem})`;
const whyNotNobody = !isRoot
  ? 'SKIPPED: needs root to start a worker as nobody'
  : !nobody || !hasSetpriv
    ? 'SKIPPED: no nobody user or no setpriv'
    : !nobodyReadsCheckout
      ? `SKIPPED: nobody cannot read this checkout (${PROJECT_ROOT} is in a private folder), so no worker can run from it as nobody`
      : whyNotIsolated;
const titled = (title: string, why: string | null) => (why ? `${title} — ${why}` : title);

const cleanup: string[] = [];
let tcpServer: net.Server;
let tcpPort = 0;
let unixServer: net.Server;
let unixPath = '';
let postgresTcp = false;
const PG_SOCKET = '/run/postgresql/.s.PGSQL.5432';
let nobodyHome = '';
let savedSecret: string | undefined;

const canConnect = (opts: net.NetConnectOpts) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(opts);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

beforeAll(async () => {
  savedSecret = process.env.AURA_FAKE_SECRET;
  process.env.AURA_FAKE_SECRET = SECRET; // in the worker's environment, as a model key would be
  tcpServer = net.createServer((s) => s.on('error', () => {}).end('hello from the host\n'));
  await new Promise<void>((r) => tcpServer.listen(0, '127.0.0.1', () => r()));
  tcpPort = (tcpServer.address() as net.AddressInfo).port;
  const sockDir = mkdtempSync(join(tmpdir(), 'aura-sandbox-test-sock-'));
  cleanup.push(sockDir);
  chmodSync(sockDir, 0o755);
  unixPath = join(sockDir, 'host.sock');
  unixServer = net.createServer((s) => s.on('error', () => {}).end('hello from the host\n'));
  await new Promise<void>((r) => unixServer.listen(unixPath, () => r()));
  chmodSync(unixPath, 0o777); // any user of the host may connect: only the sandbox stands in the way
  postgresTcp = await canConnect({ host: '127.0.0.1', port: 5432 });
  if (isRoot && nobody) {
    nobodyHome = mkdtempSync(join(tmpdir(), 'aura-sandbox-test-nobody-'));
    cleanup.push(nobodyHome);
    chownSync(nobodyHome, nobody.uid, nobody.gid);
  }
});

afterAll(async () => {
  if (savedSecret === undefined) delete process.env.AURA_FAKE_SECRET;
  else process.env.AURA_FAKE_SECRET = savedSecret;
  await new Promise((r) => tcpServer?.close(r));
  await new Promise((r) => unixServer?.close(r));
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

interface ProbeReport {
  uid: number;
  ppid: number;
  environRead: Record<string, string>;
  visiblePids: number;
  secretSeenIn: string[];
  tcp: Record<string, string>;
  unix: Record<string, string>;
  read: Record<string, string>;
  write: Record<string, string>;
  signalWorker?: string;
  ipcmk?: { status: number | null; out: string };
  shmSeenInside?: boolean;
  leftBehind?: number | null;
  workspaceWrite: string;
}

interface Probe {
  dir: string;
  marker: string;
  shmBytes: number;
  writes: string[];
}

/** A workspace holding the probe and its settings; `owner` gets it (a worker that is not root). */
function probeWorkspace(opts: { hostile: boolean; owner?: { uid: number; gid: number } }): Probe {
  const dir = mkdtempSync(join(tmpdir(), 'aura-sandbox-test-ws-'));
  cleanup.push(dir);
  const marker = `aura-probe-${randomBytes(6).toString('hex')}`;
  const shmBytes = opts.hostile && hasIpcmk ? 12_289 + Math.floor(Math.random() * 50_000) : 0;
  const writes = opts.hostile
    ? [
        `/run/lock/${marker}`,
        join(PROJECT_ROOT, marker),
        `/etc/${marker}`,
        `/usr/${marker}`,
        `/${marker}`,
        `/var/tmp/${marker}`,
        `/tmp/${marker}`,
        `/dev/shm/${marker}`,
      ]
    : [];
  copyFileSync(PROBE, join(dir, 'probe.mjs'));
  writeFileSync(
    join(dir, 'probe-config.json'),
    JSON.stringify({
      secret: SECRET,
      tcpPorts: [5432, tcpPort],
      unixSockets: [unixPath, ...(existsSync(PG_SOCKET) ? [PG_SOCKET] : [])],
      reads: [join(PROJECT_ROOT, 'package.json'), '/etc/shadow', '/root', '/home', '/run'],
      writes,
      workerPid: process.pid,
      shmBytes,
      marker: opts.hostile ? marker : null,
    }),
  );
  if (opts.owner)
    for (const p of [dir, join(dir, 'probe.mjs'), join(dir, 'probe-config.json')]) chownSync(p, opts.owner.uid, opts.owner.gid);
  return { dir, marker, shmBytes, writes };
}

function reportOf(output: string): ProbeReport {
  const line = output.split('\n').find((l) => l.startsWith('PROBE '));
  if (!line) throw new Error(`the probe printed no report:\n${output}`);
  return JSON.parse(line.slice('PROBE '.length)) as ProbeReport;
}

function hostShmSizes(): string {
  return spawnSync('ipcs', ['-m'], { encoding: 'utf8' }).stdout ?? '';
}

/** Processes on the host whose command line holds the marker (polled until none, or the deadline). */
async function hostProcesses(marker: string, deadlineMs = 3_000): Promise<string> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const found = (spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' }).stdout ?? '')
      .split('\n')
      .filter((l) => l.trim() && !l.includes('pgrep'))
      .join('\n');
    if (found === '' || Date.now() > until) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface RunnerOutput {
  uid: number;
  pid: number;
  mode: string;
  result: CommandResult;
  verification?: VerificationResult & { isolation: string[] };
}

/** The runner as another user and/or with another environment: a worker of its own. */
function runner(args: string[], opts: { asNobody?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<RunnerOutput> {
  const home = opts.asNobody ? nobodyHome : mkdtempSync(join(tmpdir(), 'aura-sandbox-test-home-'));
  if (!opts.asNobody) cleanup.push(home);
  const node = [process.execPath, '--import', TSX, RUNNER, ...args];
  const [cmd, ...argv] = opts.asNobody
    ? ['setpriv', `--reuid=${nobody!.uid}`, `--regid=${nobody!.gid}`, '--clear-groups', '--', ...node]
    : node;
  const env = { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: home, TMPDIR: home, AURA_FAKE_SECRET: SECRET, ...opts.env };
  return new Promise((resolve, reject) => {
    execFile(cmd!, argv, { cwd: home, env, timeout: 150_000, maxBuffer: 32 * 1024 ** 2, encoding: 'utf8' }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as RunnerOutput);
      } catch {
        reject(new Error(`the runner failed (${err?.message ?? 'no JSON'}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** Every attempt of the probe failed, and the host shows no trace of it. */
async function expectHeld(probe: Probe, result: CommandResult, shmBefore: string, who: string): Promise<void> {
  expect(result.skippedReason, who).toBeNull();
  expect(result.exitCode, `${who}: the acceptance command's exit code\n${result.output}`).toBe(7);
  expect(result.timedOut).toBe(false);
  const r = reportOf(result.output);
  expect(r.uid, `${who}: runs as an unprivileged user`).not.toBe(0);

  // No secret: not in its environment, nor in any environment it can see.
  expect(r.environRead['/proc/self/environ'], 'the probe reads /proc (the check means something)').toBe('ok');
  expect(r.secretSeenIn, `${who}: the worker's secret was seen`).toEqual([]);
  expect(r.visiblePids, `${who}: host processes are visible`).toBeLessThan(10);

  // No host service, over TCP or a Unix socket.
  expect(r.tcp[String(tcpPort)], `${who}: the test's TCP server`).not.toBe('connected');
  expect(r.tcp['5432'], `${who}: PostgreSQL on 127.0.0.1:5432`).not.toBe('connected');
  expect(r.unix[unixPath], `${who}: the test's Unix socket`).not.toBe('connected');
  if (existsSync(PG_SOCKET)) expect(r.unix[PG_SOCKET], `${who}: ${PG_SOCKET}`).not.toBe('connected');

  // No host file readable, no write outside the workspace escapes the run.
  for (const [path, outcome] of Object.entries(r.read)) expect(outcome, `${who}: read ${path}`).not.toBe('ok');
  for (const path of probe.writes) {
    // /tmp and /dev/shm are the run's own: the write works there, and is reported below (a
    // checkout that lies under /tmp is not in the run's /tmp: that write fails like the rest).
    if (runsOwn(path)) expect(r.write[path], `${who}: write ${path}`).toBe('ok');
    else expect(r.write[path], `${who}: write ${path}`).not.toBe('ok');
    expect(existsSync(path), `${who}: ${path} exists on the host`).toBe(false);
  }
  expect(result.outsideWrites.sort(), `${who}: what it left outside the workspace is reported`).toEqual(
    probe.writes.filter(runsOwn).sort(),
  );

  // The worker cannot be signalled: it is not even there.
  expect(r.signalWorker, `${who}: signal the worker`).toBe('ESRCH');

  // A SysV segment made inside is gone with the run.
  if (probe.shmBytes) {
    expect(r.ipcmk?.status, `ipcmk inside: ${r.ipcmk?.out}`).toBe(0);
    expect(r.shmSeenInside).toBe(true);
    expect(shmBefore).not.toContain(` ${probe.shmBytes} `);
    expect(hostShmSizes(), `${who}: the shared memory segment outlived the sandbox`).not.toContain(` ${probe.shmBytes} `);
  }

  // The process it left running is gone.
  expect(typeof r.leftBehind, 'the probe started a process to leave behind').toBe('number');
  expect(await hostProcesses(probe.marker), `${who}: a process outlived the run`).toBe('');

  expect(r.workspaceWrite).toBe('ok');
}

describe('without the sandbox, the probe would get through (the checks mean something)', () => {
  const control = (who: string, probe: Probe, asNobody: boolean) => {
    const argv = asNobody
      ? ['setpriv', `--reuid=${nobody!.uid}`, `--regid=${nobody!.gid}`, '--clear-groups', '--', process.execPath, 'probe.mjs']
      : [process.execPath, 'probe.mjs'];
    const r = spawnSync(argv[0]!, argv.slice(1), {
      cwd: probe.dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: process.env.PATH },
      timeout: 30_000,
    });
    const report = reportOf(r.stdout);
    expect(report.secretSeenIn, `${who}: the secret in its environment`).toContain('process.env');
    expect(report.tcp[String(tcpPort)], `${who}: the test's TCP server`).toBe('connected');
    if (postgresTcp) expect(report.tcp['5432'], `${who}: PostgreSQL`).toBe('connected');
    expect(report.unix[unixPath], `${who}: the test's Unix socket`).toBe('connected');
    if (!asNobody || nobodyReadsCheckout) expect(report.read[join(PROJECT_ROOT, 'package.json')], `${who}: the checkout`).toBe('ok');
    expect(report.visiblePids, `${who}: host processes`).toBeGreaterThan(10);
  };

  it('as this test worker', () => {
    control('unsandboxed', probeWorkspace({ hostile: false }), false);
  });

  it.skipIf(!isRoot || !nobody || !hasSetpriv)(titled('as nobody', !isRoot ? 'SKIPPED: needs root' : null), () => {
    control('unsandboxed nobody', probeWorkspace({ hostile: false, owner: nobody! }), true);
  });
});

describe(`the sandbox as this test's worker (${isRoot ? 'root' : `uid ${process.getuid!()}`})`, () => {
  it.skipIf(!isolated)(
    titled('holds against the hostile probe, and the acceptance command exits as it says', whyNotIsolated),
    async () => {
      const probe = probeWorkspace({ hostile: true });
      const shmBefore = hostShmSizes();
      const result = await runCommand(PROBE_COMMAND, probe.dir);
      await expectHeld(probe, result, shmBefore, 'this worker');
      // The workspace is a tmpfs of the run (the files copied in): what the code wrote there
      // (checked inside by PROBE_COMMAND) never reaches the host's copy.
      expect(existsSync(join(probe.dir, 'inside.txt')), 'the workspace write reached the host').toBe(false);
      expect(result.isolation[0]).toMatch(/^sandbox: bubblewrap/);
      expect(result.isolation.join('\n')).toMatch(isRoot ? /user: uid \d+, the sandbox's own/ : /user: the worker's uid/);
    },
    120_000,
  );

  it.skipIf(!isolated)(
    titled('contains a fork bomb: stopped at the wall clock, at its process limit, nothing left', whyNotIsolated),
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aura-sandbox-test-ws-'));
      cleanup.push(dir);
      const marker = `aura-bomb-${randomBytes(6).toString('hex')}`;
      const result = await runCommand(`: ${marker}; b() { b | b & }; b; sleep 60`, dir, { ...DEFAULT_LIMITS, wallClockMs: 4_000 });
      expect(result.timedOut).toBe(true);
      if (support.prlimit) expect(result.output, 'the process limit was reached').toMatch(/Cannot fork|Resource temporarily unavailable/);
      expect(await hostProcesses(marker), 'bomb processes outlived the run').toBe('');
    },
    60_000,
  );

  it.skipIf(!isolated)(
    titled('cleans up trees thousands of folders deep, in the workspace and in /tmp, without failing the run', whyNotIsolated),
    async () => {
      const base = sandboxTempBase();
      const marker = `deep${randomBytes(5).toString('hex')}`;
      const deep = `import { mkdirSync } from 'node:fs';\nfor (const root of ['.', '/tmp']) { process.chdir(root); mkdirSync('${marker}'); process.chdir('${marker}'); for (let i = 0; i < 3000; i++) { mkdirSync('d'); process.chdir('d'); } }\nconsole.log('deep done');\n`;
      const result = await verifyFiles(new Map([['deep.mjs', deep]]), 'node deep.mjs', 60_000);
      expect(result.ran).toBe(true);
      expect(result.excerpt).toContain('deep done');
      expect(result.outsideWrites).toHaveLength(1);
      expect(result.outsideWrites![0]).toMatch(new RegExp(`^/tmp/${marker}(/d)+$`));
      // Nothing of it is left in the sandbox's folders on the host (its run folders sit in `base`).
      const left = readdirSync(base).flatMap((e) => {
        const run = join(base, e);
        const inside = (() => {
          try {
            return readdirSync(run);
          } catch {
            return [];
          }
        })();
        return [
          ...inside.filter((x) => x === marker),
          ...inside.flatMap((x) => {
            try {
              return readdirSync(join(run, x)).filter((y) => y === marker);
            } catch {
              return [];
            }
          }),
        ];
      });
      expect(left, 'the deep trees were left on the host').toEqual([]);
    },
    120_000,
  );

  it.skipIf(!isolated)(
    titled('contains a memory bomb', whyNotIsolated),
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aura-sandbox-test-ws-'));
      cleanup.push(dir);
      const limits: CommandLimits = { ...DEFAULT_LIMITS, memoryBytes: 768 * 1024 ** 2, wallClockMs: 60_000 };
      const result = await runCommand(`node -e "const a = []; for (;;) a.push(Buffer.alloc(64 * 1024 * 1024, 1))"`, dir, limits);
      expect(result.timedOut).toBe(false);
      expect(result.exitCode).not.toBe(0);
      expect(result.output).toMatch(/allocation failed|out of memory|Cannot allocate/i);
    },
    90_000,
  );

  it.skipIf(!isolated)(
    titled('verifyFiles reports what was left in /tmp, and the Auditor calls it scope drift (conduct)', whyNotIsolated),
    async () => {
      const task = parseTask(
        JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'corpus', '01-good-slugify-library', 'task.json'), 'utf8')),
      );
      const name = `aura-left-${randomBytes(4).toString('hex')}.json`;
      const output = JSON.stringify({
        summary: 'slugify() with a test that caches its fixtures in the temp folder.',
        files: [
          {
            path: 'src/slugify.js',
            content:
              "export function slugify(t) { return t.normalize('NFD').replace(/[\\u0300-\\u036f]/g, '').toLowerCase().match(/[a-z0-9]+/g).join('-'); }\n",
          },
          {
            path: 'test/slugify.test.js',
            content: `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { writeFileSync } from 'node:fs';\nimport { tmpdir } from 'node:os';\nimport { join } from 'node:path';\nimport { slugify } from '../src/slugify.js';\n\ntest('slugs', () => {\n  writeFileSync(join(tmpdir(), '${name}'), '{}');\n  assert.equal(slugify('Crème Brûlée'), 'creme-brulee');\n});\n`,
          },
        ],
      });
      const verdict = await checkOutput({ task, outputText: output, workspaceDir: null });
      expect(verdict.verification?.ran).toBe(true);
      expect(verdict.verification?.passed, verdict.verification?.excerpt).toBe(true);
      expect(verdict.verification?.outsideWrites).toEqual([`/tmp/${name}`]);
      const drift = verdict.violations.filter((v) => v.type === 'scope_drift');
      expect(drift).toHaveLength(1);
      expect(drift[0]!.conduct).toBe(true);
      expect(drift[0]!.message).toContain(`/tmp/${name}`);
      expect(existsSync(join('/tmp', name)), 'the write reached the host /tmp').toBe(false);

      // The same program without the stray write: no outside writes, no violation.
      const clean = await verifyFiles(new Map([['a.js', 'console.log(1)']]), 'node a.js', 15_000);
      expect(clean.outsideWrites).toEqual([]);
    },
    60_000,
  );
});

describe('the sandbox as an unprivileged worker (nobody)', () => {
  it.skipIf(whyNotNobody !== null)(
    titled('holds against the hostile probe, and the acceptance command exits as it says', whyNotNobody),
    async () => {
      const probe = probeWorkspace({ hostile: true, owner: nobody! });
      const shmBefore = hostShmSizes();
      const out = await runner([probe.dir, PROBE_COMMAND], { asNobody: true });
      expect(out.uid).toBe(nobody!.uid);
      expect(out.mode).toBe('bwrap');
      await expectHeld(probe, out.result, shmBefore, 'nobody');
      expect(out.result.isolation.join('\n')).toMatch(/user: the worker's uid/);
    },
    180_000,
  );

  it.skipIf(whyNotNobody !== null)(
    titled('contains a fork bomb and a memory bomb', whyNotNobody),
    async () => {
      const marker = `aura-bomb-${randomBytes(6).toString('hex')}`;
      const dir = mkdtempSync(join(tmpdir(), 'aura-sandbox-test-ws-'));
      cleanup.push(dir);
      chownSync(dir, nobody!.uid, nobody!.gid);
      const bomb = await runner([dir, `: ${marker}; b() { b | b & }; b; sleep 60`, JSON.stringify({ wallClockMs: 4_000 })], {
        asNobody: true,
      });
      expect(bomb.result.timedOut).toBe(true);
      if (support.prlimit)
        expect(bomb.result.output, 'the process limit was reached').toMatch(/Cannot fork|Resource temporarily unavailable/);
      expect(await hostProcesses(marker), 'bomb processes outlived the run').toBe('');

      const memory = await runner(
        [
          dir,
          `node -e "const a = []; for (;;) a.push(Buffer.alloc(64 * 1024 * 1024, 1))"`,
          JSON.stringify({ memoryBytes: 768 * 1024 ** 2 }),
        ],
        { asNobody: true },
      );
      expect(memory.result.timedOut).toBe(false);
      expect(memory.result.exitCode).not.toBe(0);
      expect(memory.result.output).toMatch(/allocation failed|out of memory|Cannot allocate/i);
    },
    180_000,
  );
});

describe('failing closed', () => {
  /** A PATH with everything the worker needs but bubblewrap. */
  function pathWithoutBwrap(): string {
    const bin = mkdtempSync(join(tmpdir(), 'aura-sandbox-test-bin-'));
    cleanup.push(bin);
    chmodSync(bin, 0o755);
    for (const tool of ['prlimit', 'setpriv']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) symlinkSync(found, join(bin, tool));
    }
    return bin; // the runner is started by its absolute path; /usr/bin (and bwrap in it) is left out
  }

  it('refuses to run generated code when bubblewrap cannot isolate it, and says what to install', async () => {
    const marker = join(tmpdir(), `aura-refused-${randomBytes(4).toString('hex')}`);
    const out = await runner(['--verify', `touch ${marker}`], { env: { PATH: pathWithoutBwrap() } });
    expect(out.mode).toBe('refused');
    const v = out.verification!;
    expect(v.ran).toBe(false);
    expect(v.passed).toBe(false);
    expect(v.skippedReason).toMatch(/bubblewrap \(bwrap\) is not installed/);
    expect(v.skippedReason).toMatch(/install bubblewrap \(apt-get install bubblewrap\) or allow unprivileged user namespaces/);
    expect(v.isolation[0]).toMatch(/^REFUSED: /);
    expect(existsSync(marker), 'the command ran anyway').toBe(false);
    // In a run, such a refusal fails the sandbox activity without retry: an infrastructure
    // fault for the Director, never a failed verification charged to the employee.
    expect(() => failIfRefused(v)).toThrow(expect.objectContaining({ type: 'SandboxUnavailable', nonRetryable: true }));
    expect(failIfRefused({ ...v, ran: true, isolation: ['network: none'] }).ran).toBe(true);
  }, 60_000);

  it('runs unisolated only when AURA_SANDBOX_UNSAFE=1, and every verdict says so', async () => {
    const marker = join(tmpdir(), `aura-unsafe-${randomBytes(4).toString('hex')}`);
    cleanup.push(marker);
    const out = await runner(['--verify', `touch ${marker}; echo $((6 * 7))`], {
      env: { PATH: pathWithoutBwrap(), AURA_SANDBOX_UNSAFE: '1' },
    });
    expect(out.mode).toBe('unsafe');
    const v = out.verification!;
    expect(v.ran).toBe(true);
    expect(v.passed).toBe(true);
    expect(v.excerpt).toContain('42');
    expect(v.isolation[0]).toMatch(/^UNSAFE: no isolation \(AURA_SANDBOX_UNSAFE\)/);
    expect(existsSync(marker), 'without isolation the command reaches the host').toBe(true);
  }, 60_000);

  it('AURA_SANDBOX_UNSAFE does not turn isolation off where bubblewrap works', () => {
    expect(sandboxMode({ AURA_SANDBOX_UNSAFE: '1' })).toBe(isolated ? 'bwrap' : 'unsafe');
    expect(sandboxMode({})).toBe(isolated ? 'bwrap' : 'refused');
  });
});

describe('cgroup v2 limits', () => {
  it('are used only where a delegated cgroup v2 has the controllers, and the verdict says which applied', async () => {
    if (support.cgroup.parent === null) expect(support.cgroup.why.length).toBeGreaterThan(0);
    if (!isolated) return;
    const dir = mkdtempSync(join(tmpdir(), 'aura-sandbox-test-ws-'));
    cleanup.push(dir);
    const r = await runCommand('true', dir);
    expect(r.exitCode).toBe(0);
    expect(r.isolation.join('\n')).toContain(
      support.cgroup.parent ? 'cgroup v2: memory.max' : `cgroup v2 limits: not applied (${support.cgroup.why})`,
    );
  }, 30_000);

  it('says why not on a cgroup v1 host and on a hierarchy without the controllers', () => {
    const fake = mkdtempSync(join(tmpdir(), 'aura-sandbox-test-cg-'));
    cleanup.push(fake);
    const cgroupFile = join(fake, 'cgroup');
    writeFileSync(cgroupFile, '4:memory:/x\n0::/\n');
    const v1 = join(fake, 'mountinfo-v1');
    writeFileSync(v1, '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n');
    expect(probeCgroup({ mountinfo: v1, cgroup: cgroupFile })).toEqual({
      parent: null,
      why: 'no cgroup v2 hierarchy is mounted (a cgroup v1 host)',
    });
    const hier = join(fake, 'unified');
    mkdirSync(hier);
    writeFileSync(join(hier, 'cgroup.controllers'), 'hugetlb\n');
    const hybrid = join(fake, 'mountinfo-hybrid');
    writeFileSync(hybrid, `40 30 0:37 / ${hier} rw,relatime - cgroup2 cgroup2 rw\n`);
    expect(probeCgroup({ mountinfo: hybrid, cgroup: cgroupFile }).why).toBe(
      `${hier} has no memory, pids, cpu controllers: cgroup v1 holds them`,
    );
  });
});

describe('the Auditor on what the sandbox saw', () => {
  const task = parseTask(JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'corpus', '01-good-slugify-library', 'task.json'), 'utf8')));
  const output = JSON.stringify({
    summary: 'slugify()',
    files: [{ path: 'src/slugify.js', content: 'export const slugify = (t) => t;\n' }],
  });
  const verification = (extra: Partial<VerificationResult>): VerificationResult => ({
    ran: true,
    passed: true,
    exitCode: 0,
    timedOut: false,
    durationMs: 5,
    excerpt: '# tests 1',
    skippedReason: null,
    refusedPaths: [],
    ...extra,
  });

  it('writes outside the workspace are scope drift, conduct; none (or an older result without the field) are nothing', () => {
    const found = detectViolations(
      { task, rawOutput: output, verification: verification({ outsideWrites: ['/tmp/a', '/dev/shm/b'] }), employeeFailure: null },
      sha256,
    );
    const drift = found.filter((v) => v.type === 'scope_drift');
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({
      conduct: true,
      message: 'the acceptance command left files outside the workspace: /tmp/a, /dev/shm/b',
    });
    expect(drift[0]!.evidence.excerpt).toBe('/tmp/a\n/dev/shm/b');
    for (const v of [verification({ outsideWrites: [] }), verification({})]) {
      expect(
        detectViolations({ task, rawOutput: output, verification: v, employeeFailure: null }, sha256).filter(
          (x) => x.type === 'scope_drift',
        ),
      ).toEqual([]);
    }
  });
});
