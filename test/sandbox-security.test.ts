/**
 * Security regressions of the verification sandbox, each as this test's worker and, when that
 * is root, as an unprivileged worker (`nobody`, through test/fixtures/sandbox-probe-runner.ts):
 * - a check that makes setuid copies of a shell in /workspace, /tmp and /dev/shm (and opens
 *   its folders to everyone) hands no other local user anything, during the run or after;
 * - a check cannot fill the host's disk: /workspace and /tmp are size-capped (no space left);
 * - a check cannot create files without end: /workspace, /tmp and /dev/shm share a file cap;
 * - the memory limit is a budget of the whole sandbox, not of each of its processes.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand, type CommandResult } from '../activities/sandbox/run-command.js';
import { DEFAULT_LIMITS, type CommandLimits } from '../activities/sandbox/limits.js';
import { isolationSupport, sandboxMode } from '../activities/sandbox/isolation-probe.js';
import { probeCgroupV1 } from '../activities/sandbox/cgroup.js';
import { sandboxTempBase } from '../activities/sandbox/workspace-dir.js';
import { verifyFiles, type SandboxVerification } from '../activities/sandbox/index.js';
import { PROJECT_ROOT } from '../config/config.js';

const RUNNER = join(PROJECT_ROOT, 'test', 'fixtures', 'sandbox-probe-runner.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

const isRoot = process.getuid!() === 0;
const support = isolationSupport();
const isolated = sandboxMode() === 'bwrap';
const idOf = (flag: string) => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
const nobody = (() => {
  const uid = idOf('-u');
  const gid = idOf('-g');
  return Number.isInteger(uid) && uid > 0 && Number.isInteger(gid) ? { uid, gid } : null;
})();
const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
/** Another local user, neither the worker nor the sandbox: nobody, or (when nobody is the worker) this one. */
const STRANGER = 4_242;
const asUser = (uid: number, gid: number, argv: string[]) => [
  'setpriv',
  `--reuid=${uid}`,
  `--regid=${gid}`,
  '--clear-groups',
  '--',
  ...argv,
];
const nobodyReadsCheckout = (() => {
  if (!isRoot || !nobody || !hasSetpriv) return false;
  const [cmd, ...argv] = asUser(nobody.uid, nobody.gid, ['test', '-r', join(PROJECT_ROOT, 'package.json')]);
  return spawnSync(cmd!, argv).status === 0;
})();

const whyNotIsolated = isolated ? null : `SKIPPED: bubblewrap cannot build a sandbox here (${support.problem})`;
const whyNotStranger = !isRoot
  ? 'SKIPPED: needs root to act as another local user'
  : !nobody || !hasSetpriv
    ? 'SKIPPED: no nobody user or no setpriv'
    : whyNotIsolated;
const whyNotNobody = whyNotStranger ?? (nobodyReadsCheckout ? null : `SKIPPED: nobody cannot read this checkout (${PROJECT_ROOT})`);
const titled = (title: string, why: string | null) => (why ? `${title} — ${why}` : title);

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

interface RunnerOutput {
  uid: number;
  mode: string;
  result: CommandResult;
  verification?: SandboxVerification;
}

/** The runner as nobody: a worker of its own, with the temporary folder it is given. */
function runnerAsNobody(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunnerOutput> {
  const home = mkdtempSync(join(tmpdir(), 'aura-sandbox-sec-home-'));
  cleanup.push(home);
  chownSync(home, nobody!.uid, nobody!.gid);
  const [cmd, ...argv] = asUser(nobody!.uid, nobody!.gid, [process.execPath, '--import', TSX, RUNNER, ...args]);
  return new Promise((resolve, reject) => {
    execFile(
      cmd!,
      argv,
      {
        cwd: home,
        env: { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: home, TMPDIR: home, ...env },
        timeout: 150_000,
        maxBuffer: 32 * 1024 ** 2,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as RunnerOutput);
        } catch {
          reject(new Error(`the runner failed (${err?.message ?? 'no JSON'}):\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** A workspace folder for a runner started as nobody. */
function nobodyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aura-sandbox-sec-ws-'));
  cleanup.push(dir);
  chownSync(dir, nobody!.uid, nobody!.gid);
  return dir;
}

// ---- setuid copies --------------------------------------------------------------------------

/** The check: setuid copies of bash everywhere it may write, every folder opened to everyone; it then waits. */
const setuidCheck = (marker: string) =>
  [
    `for d in /workspace /tmp /dev/shm; do cp /bin/bash "$d/sh-${marker}" && chmod 4755 "$d/sh-${marker}" && chmod 777 "$d"; done`,
    `chmod 777 /workspace/* 2>/dev/null`,
    `ls -l /workspace/sh-${marker} /tmp/sh-${marker} /dev/shm/sh-${marker}`,
    'sleep 3',
    'echo check done',
  ].join('; ');

/**
 * What a stranger finds of the marker's files (in the folders the sandbox's host folders sit in)
 * and what running each one gives it as effective uid; the README it could append to.
 */
function strangerLooks(uid: number, marker: string): Promise<string> {
  const roots = [...new Set([sandboxTempBase(), tmpdir(), '/tmp', '/var/tmp', '/dev/shm'])].join(' ');
  const script = [
    `find ${roots} -maxdepth 4 \\( -name 'sh-${marker}' -o -name 'README-${marker}.md' \\) 2>/dev/null | while read -r f; do`,
    `  case "$f" in *README*) if echo appended >> "$f" 2>/dev/null; then echo "APPENDED $f"; else echo "SEEN $f"; fi ;;`,
    `  *) echo "FOUND $f euid=$("$f" -p -c 'id -u' 2>&1)" ;; esac`,
    'done',
  ].join('\n');
  const [cmd, ...argv] = asUser(uid, uid, ['/bin/sh', '-c', script]);
  return new Promise((resolve) => {
    execFile(cmd!, argv, { encoding: 'utf8', timeout: 30_000 }, (_err, stdout) => resolve(stdout));
  });
}

/** Looks as the stranger, again and again, until `running` settles; then once more. */
async function watchWhile<T>(uid: number, marker: string, running: Promise<T>): Promise<{ value: T; seen: string[] }> {
  let done = false;
  const seen: string[] = [];
  const watching = (async () => {
    while (!done) {
      const out = (await strangerLooks(uid, marker)).trim();
      if (out) seen.push(out);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const value = await running.finally(() => {
    done = true;
  });
  await watching;
  const after = (await strangerLooks(uid, marker)).trim();
  if (after) seen.push(`after the run: ${after}`);
  return { value, seen };
}

/** As root: any of the marker's setuid files still on the host. */
function leftOnHost(marker: string): string {
  const roots = [...new Set([sandboxTempBase(), tmpdir(), '/tmp', '/var/tmp', '/dev/shm'])];
  return spawnSync('find', [...roots, '-maxdepth', '5', '-name', `sh-${marker}`], { encoding: 'utf8' }).stdout.trim();
}

describe('setuid copies made by a check hand nothing to another local user', () => {
  it.skipIf(whyNotStranger !== null)(
    titled('a root worker: nobody reaches no copy, during or after the run, nor the files being judged', whyNotStranger),
    async () => {
      const marker = randomBytes(6).toString('hex');
      const files = new Map([[`README-${marker}.md`, 'judged\n']]);
      const { value: v, seen } = await watchWhile(nobody!.uid, marker, verifyFiles(files, setuidCheck(marker), 30_000));
      expect(v.ran).toBe(true);
      expect(v.excerpt, 'the setuid bit was set inside (the check means something)').toMatch(/-rwsr-xr-x/);
      expect(v.excerpt).toContain('check done');
      expect(seen, 'another user reached what the sandbox wrote').toEqual([]);
      expect(leftOnHost(marker), 'a setuid copy outlived the run').toBe('');
    },
    60_000,
  );

  it.skipIf(whyNotNobody !== null)(
    titled('a worker running as nobody, its folders in /tmp: another user reaches no copy', whyNotNobody),
    async () => {
      const marker = randomBytes(6).toString('hex');
      const { value: out, seen } = await watchWhile(
        STRANGER,
        marker,
        runnerAsNobody(['--verify', setuidCheck(marker)], { TMPDIR: '/tmp' }),
      );
      expect(out.uid).toBe(nobody!.uid);
      const v = out.verification!;
      expect(v.ran).toBe(true);
      expect(v.excerpt).toMatch(/-rwsr-xr-x/);
      expect(seen, 'another user reached what the sandbox wrote').toEqual([]);
      expect(leftOnHost(marker), 'a setuid copy outlived the run').toBe('');
    },
    120_000,
  );
});

// ---- disk ----------------------------------------------------------------------------------

/** 600 MB in files of 50 MB (each under the per-file limit) in `dir`. */
const fill = (dir: string) =>
  `for i in $(seq 1 12); do head -c 50000000 /dev/zero > ${dir}/fill-$i || exit 3; done; echo wrote 600 MB in ${dir}`;

describe('a check cannot fill the disk: /workspace and /tmp are size-capped', () => {
  it.skipIf(!isolated)(
    titled(`as this test's worker: 600 MB fails with no space left, and the verdict shows it`, whyNotIsolated),
    async () => {
      for (const dir of ['/workspace', '/tmp']) {
        const v = await verifyFiles(new Map([['README.md', 'x\n']]), fill(dir), 60_000);
        expect(v.ran).toBe(true);
        expect(v.passed, `${dir}: ${v.excerpt}`).toBe(false);
        expect(v.excerpt, dir).toMatch(/No space left on device/);
        expect(v.excerpt).not.toContain('wrote 600 MB');
      }
    },
    120_000,
  );

  it.skipIf(whyNotNobody !== null)(
    titled('as nobody: 600 MB fails with no space left', whyNotNobody),
    async () => {
      for (const dir of ['/workspace', '/tmp']) {
        const out = await runnerAsNobody([nobodyDir(), fill(dir)]);
        expect(out.result.exitCode, `${dir}: ${out.result.output}`).not.toBe(0);
        expect(out.result.output, dir).toMatch(/No space left on device/);
      }
    },
    120_000,
  );
});

// ---- file count ----------------------------------------------------------------------------

/**
 * `n` empty files in each of /workspace, /tmp and /dev/shm, then a pause long enough for the
 * worker's watch (every 100 ms) to see them all, however fast they were made.
 */
const manyFiles = (n: number) =>
  `for d in /workspace /tmp /dev/shm; do (cd $d && seq -f "f-%g" 1 ${n} | xargs touch) || exit 3; done; sleep 1.5; echo made ${n} files in each`;
/** 3 × 4,000 files against 10,000: each folder alone is under the cap, their sum is not. */
const FILE_CAP: Partial<CommandLimits> = { maxFiles: 10_000, wallClockMs: 30_000 };
const OVER = manyFiles(4_000);
const UNDER = manyFiles(1_000);

describe('a check cannot create files without end: /workspace, /tmp and /dev/shm share a file cap', () => {
  it.skipIf(!isolated)(
    titled(`as this test's worker: 12,000 empty files against a cap of 10,000 stop the run, which says so; 3,000 pass`, whyNotIsolated),
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aura-sandbox-sec-ws-'));
      cleanup.push(dir);
      const over = await runCommand(OVER, dir, { ...DEFAULT_LIMITS, ...FILE_CAP });
      expect(over.exitCode, over.output).not.toBe(0);
      expect(over.output).not.toContain('made 4000 files');
      expect(over.output).toMatch(
        /\(too many files: the sandbox's \/workspace, \/tmp and \/dev\/shm held \d+ files, folders and links, over its cap of 10000: the run was stopped\)/,
      );
      expect(over.isolation.join('\n')).toContain('files: 10000 files, folders and links in /workspace, /tmp and /dev/shm together');

      const under = await runCommand(UNDER, dir, { ...DEFAULT_LIMITS, ...FILE_CAP });
      expect(under.exitCode, under.output).toBe(0);
      expect(under.output).toContain('made 1000 files in each');
      expect(under.output).not.toMatch(/too many files|files not counted/);
    },
    60_000,
  );

  it.skipIf(!isolated)(
    titled(
      `as this test's worker: the default cap (${DEFAULT_LIMITS.maxFiles}) stops 150,000 files, in the verdict's excerpt`,
      whyNotIsolated,
    ),
    async () => {
      const v = await verifyFiles(new Map([['README.md', 'x\n']]), manyFiles(50_000), 60_000);
      expect(v.ran).toBe(true);
      expect(v.passed, v.excerpt).toBe(false);
      expect(v.excerpt).toMatch(new RegExp(`too many files: .* over its cap of ${DEFAULT_LIMITS.maxFiles}: the run was stopped`));
    },
    90_000,
  );

  it.skipIf(whyNotNobody !== null)(
    titled('as nobody: 12,000 empty files against a cap of 10,000 stop the run, which says so; 3,000 pass', whyNotNobody),
    async () => {
      const over = (await runnerAsNobody([nobodyDir(), OVER, JSON.stringify(FILE_CAP)])).result;
      expect(over.exitCode, over.output).not.toBe(0);
      expect(over.output).not.toContain('made 4000 files');
      expect(over.output).toMatch(/too many files: .* over its cap of 10000: the run was stopped/);
      const under = (await runnerAsNobody([nobodyDir(), UNDER, JSON.stringify(FILE_CAP)])).result;
      expect(under.exitCode, under.output).toBe(0);
      expect(under.output).not.toMatch(/too many files|files not counted/);
    },
    90_000,
  );
});

// ---- memory budget -------------------------------------------------------------------------

/** Three processes of 300 MB each (touched), each saying so if it still holds them 2.5 s later. */
const THREE_HOLDERS = `for i in 1 2 3; do node -e "const b = Buffer.alloc(300 * 1024 * 1024, 1); setTimeout(() => console.log('held', b.length), 2500)" & done; wait; echo all exited`;
const BUDGET: Partial<CommandLimits> = { memoryBytes: 512 * 1024 ** 2, wallClockMs: 30_000 };
const held = (output: string) => output.split('\n').filter((l) => l.startsWith('held ')).length;

describe('the memory limit is a budget of the whole sandbox', () => {
  it.skipIf(!isolated)(
    titled(`as this test's worker: three processes of 300 MB cannot all hold them against 512 MB`, whyNotIsolated),
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aura-sandbox-sec-ws-'));
      cleanup.push(dir);
      const r = await runCommand(THREE_HOLDERS, dir, { ...DEFAULT_LIMITS, ...BUDGET });
      expect(held(r.output), r.output).toBeLessThan(3);
      expect(r.output).toMatch(/out of memory/);
      expect(r.isolation.join('\n')).toMatch(/memory: 536870912 bytes for the whole sandbox/);
      // Which mechanism holds it is said: here, a cgroup where this worker may make one.
      if (support.cgroup.parent) expect(r.isolation.join('\n')).toMatch(/whole sandbox \(cgroup v2 memory.max/);
      else if (support.cgroupV1.memory) expect(r.isolation.join('\n')).toMatch(/whole sandbox \(cgroup v1 memory.limit_in_bytes/);
      else expect(r.isolation.join('\n')).toMatch(/whole sandbox \(no cgroup: .*the worker sums/);
    },
    60_000,
  );

  it.skipIf(whyNotNobody !== null)(
    titled('as nobody: three processes of 300 MB cannot all hold them against 512 MB', whyNotNobody),
    async () => {
      const out = await runnerAsNobody([nobodyDir(), THREE_HOLDERS, JSON.stringify(BUDGET)]);
      expect(held(out.result.output), out.result.output).toBeLessThan(3);
      expect(out.result.output).toMatch(/out of memory/);
      expect(out.result.isolation.join('\n')).toMatch(/memory: 536870912 bytes for the whole sandbox/);
    },
    60_000,
  );
});

describe('cgroup v1 is found where this process sits in it, and said why not otherwise', () => {
  it('reads the memory hierarchy from mountinfo and /proc/self/cgroup (a mount of a sub-tree too)', () => {
    const fake = mkdtempSync(join(tmpdir(), 'aura-sandbox-sec-cg-'));
    cleanup.push(fake);
    const hier = join(fake, 'memory');
    mkdirSync(join(hier, 'b'), { recursive: true });
    const cgroupFile = join(fake, 'cgroup');
    writeFileSync(cgroupFile, '8:pids:/\n4:memory:/a/b\n0::/\n');
    const mountinfo = join(fake, 'mountinfo');
    // The hierarchy's /a is what is mounted: this process's /a/b is <mount>/b.
    writeFileSync(mountinfo, `34 30 0:31 /a ${hier} rw,relatime - cgroup cgroup rw,memory\n`);
    // A plain folder is no memory group: its sub-folder has no memory.limit_in_bytes.
    expect(probeCgroupV1({ mountinfo, cgroup: cgroupFile })).toEqual({
      memory: null,
      why: `${join(hier, 'b')}: a sub-group cannot be made by this user (ENOENT)`,
    });
    writeFileSync(cgroupFile, '8:pids:/\n0::/\n');
    expect(probeCgroupV1({ mountinfo, cgroup: cgroupFile }).why).toBe('no cgroup v1 memory hierarchy holds this process');
  });

  it.skipIf(!isolated)(
    titled('every verdict names the tmpfs caps and the memory budget it had', whyNotIsolated),
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aura-sandbox-sec-ws-'));
      cleanup.push(dir);
      const r = await runCommand('true', dir, { ...DEFAULT_LIMITS, workspaceBytes: 100 * 1024 ** 2, tmpBytes: 10 * 1024 ** 2 });
      expect(r.exitCode).toBe(0);
      const list = r.isolation.join('\n');
      expect(list).toContain('capped at 104857600, 10485760 and 16777216 bytes');
      expect(list).toMatch(/memory: \d+ bytes for the whole sandbox \((cgroup v2|cgroup v1|no cgroup)/);
    },
    30_000,
  );
});
