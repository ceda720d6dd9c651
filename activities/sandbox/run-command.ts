/**
 * Runs one shell command over a folder of generated code inside a bubblewrap sandbox, and says
 * which locks applied. The same sandbox whether the worker is root or not:
 * - own user, PID, IPC, network, mount, UTS and cgroup namespaces (`bwrap --unshare-all`): no
 *   network but loopback, no host process visible or signalable, no host IPC objects; nothing
 *   outlives the run (the PID namespace dies with its first process, which dies with the
 *   worker too: `--die-with-parent`);
 * - a minimal read-only file system: /usr (and the /bin, /lib… links or folders as on the
 *   host), the node binary, /etc/ld.so.cache and /etc/alternatives, a generated passwd, group,
 *   hosts and nsswitch.conf; a fresh /proc and /dev. No checkout, no /home, /root, /run, /var;
 * - no writable host folder at all: /workspace, /tmp and /dev/shm are size-capped tmpfs
 *   (nosuid, nodev) of this run alone; the workspace copy is bound read-only at /.source and
 *   copied into /workspace before the command. Nothing the code writes reaches the host's disk,
 *   another local user, or outlives the run (a setuid file it makes has no effect and dies with
 *   the mount namespace); what the command leaves in /tmp and /dev/shm is listed inside the
 *   sandbox and reported (`outsideWrites`). A check that writes past a cap gets ENOSPC;
 * - a file count of those three tmpfs together (`maxFiles`: files, folders, links, each an
 *   inode): bwrap cannot pass tmpfs `nr_inodes`, so the worker counts their used inodes
 *   every 100 ms (statfs through /proc/<pid>/root of the sandbox's first command process) and
 *   stops the run past the cap; what a check creates between two looks can overshoot it;
 * - an unprivileged user without capabilities: as root the worker first drops to a user id of
 *   the sandbox's own (`setpriv`), then starts bwrap; otherwise bwrap runs as the worker's user;
 * - limits: prlimit inside (CPU seconds, data memory, file size, no core dumps, and processes,
 *   counted within the sandbox's own user namespace); a memory budget of the whole sandbox, the
 *   first of: cgroup v2 memory.max, pids.max and cpu.max where a delegated cgroup v2 with those
 *   controllers is writable; cgroup v1 memory.limit_in_bytes where that v1 hierarchy is
 *   writable (a root worker on a v1 host); otherwise the worker sums the
 *   resident anonymous memory of the sandbox's processes every 100 ms and stops the run above
 *   the budget. Which one applied is on every verdict's isolation list. Wall clock, output and
 *   a kill of the whole process group as before; a minimal environment.
 *
 * Fails closed: when bwrap cannot build the sandbox (not installed, user namespaces refused)
 * the command is not run at all, unless AURA_SANDBOX_UNSAFE=1, which runs it with limits
 * but no isolation and says so on every verdict.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { tmpdir, userInfo } from 'node:os';
import { cancellationSignal, heartbeat } from '../context.js';

export interface CommandLimits {
  wallClockMs: number;
  cpuSeconds: number;
  memoryBytes: number;
  maxProcesses: number;
  maxFileBytes: number;
  /** Size caps of the sandbox's tmpfs: /workspace (the copy of the files included), /tmp, /dev/shm. */
  workspaceBytes: number;
  tmpBytes: number;
  shmBytes: number;
  /**
   * Files, folders and links (inodes) of those three tmpfs together, the copy of the files and
   * the three mount roots included; past it the run is stopped (the worker looks every 100 ms).
   */
  maxFiles: number;
  /** CPUs' worth of time per period (cgroup v2 cpu.max, where it applies). */
  cpus: number;
  /** Bytes of stdout+stderr kept (the tail); past `killAfterOutputBytes` the run is stopped. */
  keepOutputBytes: number;
  killAfterOutputBytes: number;
}

export const DEFAULT_LIMITS: CommandLimits = {
  wallClockMs: 60_000,
  cpuSeconds: 120,
  memoryBytes: 2 * 1024 ** 3,
  maxProcesses: 256,
  maxFileBytes: 64 * 1024 ** 2,
  workspaceBytes: 256 * 1024 ** 2,
  tmpBytes: 64 * 1024 ** 2,
  shmBytes: 16 * 1024 ** 2,
  // An empty file on tmpfs holds about 1 KiB of kernel memory and none of the byte caps: 100,000
  // are about 100 MB, which no real check needs (the files judged are tens to hundreds).
  maxFiles: 100_000,
  cpus: 1,
  keepOutputBytes: 16_384,
  killAfterOutputBytes: 8 * 1024 ** 2,
};

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  outputLimited: boolean;
  durationMs: number;
  output: string;
  isolation: string[];
  /** Why the command was not run at all (no sandbox could isolate it), else null. */
  skippedReason: string | null;
  /** What the command left outside the workspace, as paths inside the sandbox (`/tmp/x`). */
  outsideWrites: string[];
}

/** What this host's sandbox can do (probed once). */
export interface SandboxSupport {
  /** bwrap builds the sandbox (as the user it runs as). */
  jail: boolean;
  /** Why it cannot, or null. */
  problem: string | null;
  /** e.g. "bubblewrap 0.8.0". */
  bwrapVersion: string | null;
  /** The worker is root: each run drops to a user id of its own. */
  root: boolean;
  prlimit: boolean;
  /** A cgroup v2 folder to create each run's group in, or null and why not. */
  cgroup: { parent: string | null; why: string };
  /** Else a cgroup v1 memory folder to create each run's group in, or null and why not. */
  cgroupV1: { memory: string | null; why: string };
}

/** What a run will do: isolate, refuse, or (the operator's explicit choice) run unisolated. */
export type SandboxMode = 'bwrap' | 'refused' | 'unsafe';

/**
 * User ids handed to sandboxes as root, one per run in turn: high and unused by any account,
 * so nothing of the host belongs to them.
 */
const SANDBOX_UID_BASE = 1_700_000;
const SANDBOX_UID_SPAN = 60_000;
let nextUid = (process.pid * 97) % SANDBOX_UID_SPAN;
/** The uids this process handed out (what a check for leftovers of its own sandboxes looks for). */
const handedOut = new Set<number>();
function sandboxUid(): number {
  nextUid = (nextUid + 1) % SANDBOX_UID_SPAN;
  handedOut.add(SANDBOX_UID_BASE + nextUid);
  return SANDBOX_UID_BASE + nextUid;
}
export function sandboxUidsHandedOut(): ReadonlySet<number> {
  return handedOut;
}

const INSTALL_HINT =
  'install bubblewrap (apt-get install bubblewrap) or allow unprivileged user namespaces (user.max_user_namespaces > 0; ' +
  'kernel.unprivileged_userns_clone=1 where it exists; in a container, a seccomp/AppArmor profile that permits them), ' +
  'or set AURA_SANDBOX_UNSAFE=1 to run generated code without isolation';

/** AURA_SANDBOX_UNSAFE as the configuration reads booleans. */
export function unsafeModeRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['true', '1', 'yes'].includes((env.AURA_SANDBOX_UNSAFE ?? '').trim());
}

/** Isolated when bwrap works; otherwise unsafe only when the operator asked for it. */
export function sandboxMode(env: NodeJS.ProcessEnv = process.env): SandboxMode {
  if (isolationSupport().jail) return 'bwrap';
  return unsafeModeRequested(env) ? 'unsafe' : 'refused';
}

let probed: SandboxSupport | null = null;
let useDisableUserns = false;
/** Absolute paths, found once on the worker's PATH. */
const tools: { bwrap: string | null; setpriv: string | null } = { bwrap: null, setpriv: null };

/** Which isolation this host permits, checked once by building a real sandbox. */
export function isolationSupport(): SandboxSupport {
  if (probed) return probed;
  const root = userInfo().uid === 0;
  const prlimit = spawnSync('prlimit', ['--cpu=5', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  const cgroup = probeCgroup();
  const cgroupV1 = cgroup.parent ? { memory: null, why: 'cgroup v2 applies' } : probeCgroupV1();
  const bwrap = (tools.bwrap = onPath('bwrap'));
  tools.setpriv = onPath('setpriv');
  let problem: string | null = null;
  let bwrapVersion: string | null = null;
  if (!bwrap) {
    problem = 'bubblewrap (bwrap) is not installed';
  } else if (root && !tools.setpriv) {
    problem = 'setpriv (util-linux) is not installed: a root worker needs it to drop to the sandbox user';
  } else {
    bwrapVersion = spawnSync(bwrap, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout?.trim() || 'bubblewrap';
    const help = spawnSync(bwrap, ['--help'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
    // Nested user namespaces would let the code reach more kernel surface: refused where bwrap can.
    const attempts = help.includes('--disable-userns') ? [true, false] : [false];
    for (const disable of attempts) {
      useDisableUserns = disable;
      problem = trialRun(bwrap, root);
      if (problem === null) break;
    }
  }
  probed = { jail: problem === null, problem, bwrapVersion, root, prlimit, cgroup, cgroupV1 };
  return probed;
}

/** Builds a sandbox and runs a check in it; returns what went wrong, or null. */
function trialRun(bwrap: string, root: boolean): string | null {
  const run = prepareRun(root ? sandboxUid() : null);
  try {
    const argv = [
      ...run.prefix,
      bwrap,
      ...bwrapArgs(run, DEFAULT_LIMITS),
      '/bin/sh',
      '-c',
      'test -w /workspace && test -w /tmp && test -w /dev/shm && test ! -e /root && test -r /proc/self/status',
    ];
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: run.workspace, encoding: 'utf8', timeout: 15_000, env: OUTER_ENV });
    if (r.status === 0) return null;
    const said = `${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim().split('\n').slice(-3).join(' ');
    return `bubblewrap cannot build the sandbox${root ? ` as uid ${run.uid}` : ''}: ${said || `exit ${r.status}`}`;
  } finally {
    run.cleanup();
  }
}

/** The environment bwrap itself starts with (/proc/1/environ inside shows it): nothing secret. */
const OUTER_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      /* next */
    }
  }
  return null;
}

/**
 * Where a run's folders go (the workspace copy too): the temporary folder, unless the worker is
 * root and the sandbox user could not reach it (bwrap opens what it binds as that user).
 */
export function sandboxTempBase(): string {
  if (userInfo().uid !== 0) return tmpdir();
  return [tmpdir(), '/tmp', '/var/tmp'].find(reachableByAnyone) ?? tmpdir();
}

function reachableByAnyone(path: string): boolean {
  try {
    let at = realpathSync(path);
    for (;;) {
      if ((statSync(at).mode & 0o001) === 0) return false;
      if (at === '/') return true;
      at = dirname(at);
    }
  } catch {
    return false;
  }
}

interface Run {
  uid: number;
  dir: string;
  etc: string;
  /** The files to copy into the sandbox's /workspace (bound read-only). */
  workspace: string;
  /** setpriv as root; nothing otherwise. */
  prefix: string[];
  cleanup: () => void;
}

/**
 * This run's own folder (0700) holding the few generated /etc files, read-only in the sandbox.
 * As root, it (and the workspace) belongs to the sandbox user, who must open them for bwrap.
 */
function prepareRun(uid: number | null, workspace?: string): Run {
  const dir = mkdtempSync(join(sandboxTempBase(), 'aura-sandbox-run-'));
  const etc = join(dir, 'etc');
  const ws = workspace ?? join(dir, 'workspace');
  mkdirSync(etc, { mode: 0o700 });
  if (!workspace) mkdirSync(ws, { mode: 0o700 });
  const id = uid ?? userInfo().uid;
  const gid = uid ?? userInfo().gid;
  const others = id === 65_534 ? '' : 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
  writeFileSync(join(etc, 'passwd'), `root:x:0:0:root:/root:/bin/sh\nsandbox:x:${id}:${gid}:aura sandbox:/workspace:/bin/sh\n${others}`);
  writeFileSync(join(etc, 'group'), `root:x:0:\nsandbox:x:${gid}:\n${gid === 65_534 ? '' : 'nogroup:x:65534:\n'}`);
  writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost aura-sandbox\n::1 localhost ip6-localhost ip6-loopback\n');
  writeFileSync(join(etc, 'nsswitch.conf'), 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n');
  if (uid !== null) chownTreeSync(dir, uid, uid);
  return { uid: id, dir, etc, workspace: ws, prefix: uid !== null ? dropTo(uid) : [], cleanup: () => forceRemove(dir) };
}

/** As root: become the sandbox's user (no groups, no way back) before anything else runs. */
function dropTo(uid: number): string[] {
  return [tools.setpriv ?? 'setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--no-new-privs', '--'];
}

/** Where the workspace copy is bound, read-only, to be copied into /workspace. */
const SOURCE = '/.source';

/** Everything bwrap is told, in order: namespaces, environment, the file system. */
function bwrapArgs(run: Run, limits: CommandLimits): string[] {
  const node = realpathSync(process.execPath);
  const a = [
    '--unshare-all',
    '--unshare-user',
    ...(useDisableUserns ? ['--disable-userns'] : []),
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'aura-sandbox',
    '--clearenv',
    '--setenv',
    'PATH',
    `${dirname(node)}:/usr/local/bin:/usr/bin:/bin`,
    '--setenv',
    'HOME',
    '/workspace',
    '--setenv',
    'TMPDIR',
    '/tmp',
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--setenv',
    'CI',
    'true',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  for (const top of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let st;
    try {
      st = lstatSync(top);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) a.push('--symlink', readlinkSync(top), top);
    else if (st.isDirectory()) a.push('--ro-bind', top, top);
  }
  for (const path of ['/etc/ld.so.cache', '/etc/alternatives']) a.push('--ro-bind-try', path, path);
  for (const file of ['passwd', 'group', 'hosts', 'nsswitch.conf']) a.push('--ro-bind', join(run.etc, file), `/etc/${file}`);
  // The node binary alone (not its folder's neighbours) when it lives outside /usr.
  if (!node.startsWith('/usr/')) a.push('--ro-bind', node, node);
  a.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--ro-bind',
    run.workspace,
    SOURCE,
    // bwrap mounts each tmpfs nosuid and nodev; --size caps its bytes (ENOSPC past it).
    '--size',
    String(limits.workspaceBytes),
    '--tmpfs',
    '/workspace',
    '--size',
    String(limits.tmpBytes),
    '--tmpfs',
    '/tmp',
    '--size',
    String(limits.shmBytes),
    '--tmpfs',
    '/dev/shm',
    '--remount-ro',
    '/',
    '--remount-ro',
    '/dev',
    '--chdir',
    '/workspace',
  );
  return a;
}

/**
 * The sandbox's first process: copies the workspace in, runs the command (without fd 3), then
 * writes on fd 3 what is left in /tmp and /dev/shm (files, links, empty folders; NUL-separated).
 */
const WRAPPER = [
  `cp -a ${SOURCE}/. /workspace/ || { echo "aura: the workspace could not be copied into the sandbox" >&2; exit 125; }`,
  '"$@" 3>&-',
  's=$?',
  // Most checks leave nothing: the shell's own globbing says so without starting a program.
  'left=',
  'for f in /tmp/* /tmp/.[!.]* /tmp/..?* /dev/shm/* /dev/shm/.[!.]* /dev/shm/..?*; do if [ -e "$f" ] || [ -L "$f" ]; then left=1; break; fi; done',
  'for d in /tmp /dev/shm; do [ -r "$d" ] && [ -x "$d" ] || left=1; done',
  'if [ -n "$left" ]; then',
  '  chmod -R u+rwx /tmp /dev/shm 2>/dev/null',
  '  find /tmp /dev/shm -mindepth 1 \\( ! -type d -o -empty \\) -print0 >&3 2>/dev/null',
  'fi',
  'exit $s',
].join('\n');

/** The run's whole-sandbox memory budget: a cgroup (v2 or v1) or, without one, the worker's watch. */
type Budget = { kind: 'v2'; dir: string } | { kind: 'v1'; memory: string; memsw: boolean } | { kind: 'watch'; why: string };

/** How often the worker sums the sandbox's memory where no cgroup holds it, and counts its files. */
const WATCH_MS = 100;

export async function runCommand(command: string, cwd: string, limits: CommandLimits = DEFAULT_LIMITS): Promise<CommandResult> {
  const support = isolationSupport();
  const mode = sandboxMode();
  const isolation: string[] = [];
  if (mode === 'refused') {
    const reason = `the sandbox refused to run generated code: ${support.problem}; ${INSTALL_HINT}`;
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      outputLimited: false,
      durationMs: 0,
      output: '',
      isolation: [`REFUSED: ${support.problem}`],
      skippedReason: reason,
      outsideWrites: [],
    };
  }

  const bwrap = mode === 'bwrap';
  const uid = support.root ? sandboxUid() : null;
  const inner: string[] = [];
  // Inside bwrap, RLIMIT_NPROC counts the sandbox's own user namespace only; outside, only a
  // user id of its own keeps other processes of the user out of the count.
  const nproc = bwrap || uid !== null;
  if (support.prlimit) {
    inner.push('prlimit', `--cpu=${limits.cpuSeconds}`, `--data=${limits.memoryBytes}`, `--fsize=${limits.maxFileBytes}`, '--core=0');
    if (nproc) inner.push(`--nproc=${limits.maxProcesses}`);
    inner.push('--');
  }
  inner.push('/bin/sh', '-c', command);

  let argv: string[];
  let run: Run | null = null;
  let budget: Budget | null = null;
  let env: NodeJS.ProcessEnv;
  if (bwrap) {
    if (uid !== null) chownTreeSync(cwd, uid, uid);
    run = prepareRun(uid, cwd);
    budget = makeBudget(support, limits);
    const groups = budget.kind === 'v2' ? [budget.dir] : budget.kind === 'v1' ? [budget.memory] : [];
    argv = [
      ...(groups.length > 0 ? enterCgroup(groups) : []),
      ...run.prefix,
      tools.bwrap!,
      ...bwrapArgs(run, limits),
      '/bin/sh',
      '-c',
      WRAPPER,
      'aura-sandbox',
      ...inner,
    ];
    env = OUTER_ENV;
    isolation.push(
      `sandbox: ${support.bwrapVersion}: own user, PID, IPC, network, mount, UTS and (where the kernel has one) cgroup namespaces${useDisableUserns ? ', no nested user namespaces' : ''}; every process dies with it`,
      'network: none (own network namespace, loopback only)',
      `filesystem: read-only /usr and the node binary only (no checkout, /home, /root, /run, /var); no writable host folder: /workspace (a copy of the files), /tmp and /dev/shm are tmpfs of this run alone (nosuid, nodev), capped at ${limits.workspaceBytes}, ${limits.tmpBytes} and ${limits.shmBytes} bytes (no space left past them), gone with the run; what is left in /tmp and /dev/shm is reported`,
      `files: ${limits.maxFiles} files, folders and links in /workspace, /tmp and /dev/shm together (bwrap has no tmpfs inode cap: the worker counts their used inodes every ${WATCH_MS} ms and stops the run past it; what is created between two looks may overshoot)`,
      uid !== null
        ? `user: uid ${uid}, the sandbox's own, without capabilities`
        : `user: the worker's uid ${run.uid}, without capabilities, in its own user namespace`,
    );
  } else {
    if (uid !== null) chownTreeSync(cwd, uid, uid);
    argv = [...(uid !== null ? dropTo(uid) : []), ...inner];
    env = {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: cwd,
      TMPDIR: cwd,
      LANG: 'C.UTF-8',
      CI: 'true',
      NODE_OPTIONS: '',
    };
    // No cgroup is made without the sandbox; the worker's watch still holds the memory budget.
    budget = { kind: 'watch', why: 'no sandbox (AURA_SANDBOX_UNSAFE)' };
    isolation.push(
      `UNSAFE: no isolation (AURA_SANDBOX_UNSAFE): ${support.problem}`,
      `network, host files and processes: NOT isolated (runs as ${uid !== null ? `uid ${uid}, without privileges` : "the worker's user"})`,
    );
  }
  if (support.prlimit) {
    isolation.push(
      `limits: cpu ${limits.cpuSeconds}s, data memory ${limits.memoryBytes} bytes, file size ${limits.maxFileBytes} bytes, no core dumps${nproc ? `, ${limits.maxProcesses} processes` : ''} (prlimit)`,
    );
  } else {
    isolation.push('limits: NONE from prlimit (prlimit is not available)');
  }
  if (bwrap && budget) {
    isolation.push(
      budget.kind === 'v2'
        ? `cgroup v2: memory.max ${limits.memoryBytes} bytes, pids.max ${limits.maxProcesses}, cpu.max ${limits.cpus} CPU`
        : `cgroup v2 limits: not applied (${support.cgroup.why})`,
    );
  }
  if (budget) {
    const m = `memory: ${limits.memoryBytes} bytes for the whole sandbox`;
    isolation.push(
      budget.kind === 'v2'
        ? `${m} (cgroup v2 memory.max, no swap; its tmpfs pages count), processes: ${limits.maxProcesses} (cgroup v2 pids.max)`
        : budget.kind === 'v1'
          ? `${m} (cgroup v1 memory.limit_in_bytes${budget.memsw ? ' and memory.memsw.limit_in_bytes' : ''}; its tmpfs pages count), processes: ${limits.maxProcesses} (RLIMIT_NPROC in its own user namespace)`
          : `${m} (no cgroup: ${budget.why}; the worker sums the resident anonymous memory and swap of the sandbox's processes every ${WATCH_MS} ms and stops the run above it, and RLIMIT_DATA holds each process to it${bwrap ? '; its tmpfs is capped apart' : ''}), processes: ${nproc ? `${limits.maxProcesses} (RLIMIT_NPROC${bwrap ? ' in its own user namespace' : ' of its own user id'})` : 'not limited'}`,
    );
  }
  isolation.push(`wall clock: ${limits.wallClockMs}ms, output: ${limits.killAfterOutputBytes} bytes`);

  const started = Date.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd,
    detached: true, // its own process group: the whole tree is killed at the limit
    stdio: bwrap ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    env,
  });

  let kept = Buffer.alloc(0);
  let total = 0;
  let outputLimited = false;
  let timedOut = false;
  const killTree = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  const onData = (chunk: Buffer) => {
    total += chunk.length;
    kept = Buffer.concat([kept, chunk]);
    if (kept.length > limits.keepOutputBytes) kept = kept.subarray(kept.length - limits.keepOutputBytes);
    if (total > limits.killAfterOutputBytes && !outputLimited) {
      outputLimited = true;
      killTree();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  // What the wrapper lists on fd 3 (the command never has it): at most LISTING_BYTES of it kept.
  const listing: Buffer[] = [];
  let listed = 0;
  let unlisted = 0;
  const fd3 = bwrap ? (child.stdio[3] as Readable | null) : null;
  fd3?.on('data', (chunk: Buffer) => {
    if (listed < LISTING_BYTES) {
      listing.push(chunk);
      listed += chunk.length;
    } else {
      for (const b of chunk) if (b === 0) unlisted++;
    }
  });

  // No cgroup holds the sandbox's memory: the worker sums it and stops the run above the budget.
  // In the sandbox, the worker also counts the files of its tmpfs and stops the run past the cap.
  let overBudget = 0;
  let tooManyFiles = 0;
  const files = bwrap && child.pid ? sandboxFileCount(child.pid) : null;
  const watch =
    (budget?.kind === 'watch' || files) && child.pid
      ? setInterval(() => {
          if (budget?.kind === 'watch') {
            const held = treeMemoryBytes(child.pid!);
            if (held > limits.memoryBytes && overBudget === 0) {
              overBudget = held;
              killTree();
            }
          }
          const used = files?.count() ?? null;
          if (used !== null && used > limits.maxFiles && tooManyFiles === 0) {
            tooManyFiles = used;
            killTree();
          }
        }, WATCH_MS)
      : null;

  const timer = setTimeout(() => {
    timedOut = true;
    killTree();
  }, limits.wallClockMs);
  const beat = setInterval(() => heartbeat({ runningMs: Date.now() - started }), 2_000);
  // The Director cancelled the run: the whole tree dies now, not at the wall clock.
  const cancelled = cancellationSignal();
  cancelled?.addEventListener('abort', killTree, { once: true });

  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  // The last output may still be in the pipes; a process that escaped the group could hold
  // them open forever, so wait briefly for 'close', not for ever.
  await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000))]);
  clearTimeout(timer);
  clearInterval(beat);
  if (watch) clearInterval(watch);
  files?.close();
  cancelled?.removeEventListener('abort', killTree);
  killTree(); // leftovers in the group die too
  child.stdout!.destroy();
  child.stderr!.destroy();
  fd3?.destroy();
  const oomKills = budget?.kind === 'v2' ? await removeCgroup(budget.dir) : budget?.kind === 'v1' ? await removeCgroupV1(budget) : 0;

  let outsideWrites: string[] = [];
  if (run) {
    outsideWrites = leftOutside(Buffer.concat(listing), listed >= LISTING_BYTES, unlisted);
    run.cleanup();
  }
  let output = kept.toString('utf8') + (total > kept.length ? `\n(${total - kept.length} earlier bytes not kept)` : '');
  if (oomKills > 0) output += `\n(out of memory: the sandbox's cgroup memory limit killed ${oomKills} process(es))`;
  if (overBudget > 0)
    output += `\n(out of memory: the sandbox's processes held ${overBudget} bytes, over its budget of ${limits.memoryBytes} bytes: the run was stopped)`;
  if (tooManyFiles > 0)
    output += `\n(too many files: the sandbox's /workspace, /tmp and /dev/shm held ${tooManyFiles} files, folders and links, over its cap of ${limits.maxFiles}: the run was stopped)`;
  else if (files?.failure)
    output += `\n(files not counted: the worker could not look at the sandbox's tmpfs (${files.failure}); the cap of ${limits.maxFiles} files did not hold this run)`;

  return {
    exitCode: code,
    signal,
    timedOut,
    outputLimited,
    durationMs: Date.now() - started,
    output,
    isolation,
    skippedReason: null,
    outsideWrites,
  };
}

const MAX_REPORTED_WRITES = 100;
/** Bytes of the wrapper's listing read; past them, entries are only counted. */
const LISTING_BYTES = 1024 ** 2;

/**
 * What the command left in /tmp and /dev/shm (files, links, empty folders), as the wrapper
 * listed them inside the sandbox: at most MAX_REPORTED_WRITES of each, then how many more.
 */
function leftOutside(listing: Buffer, truncated: boolean, unlisted: number): string[] {
  const entries = listing.toString('utf8').split('\0');
  // The last entry is cut short when the listing was, or empty after the final NUL.
  const last = entries.pop();
  if (last && !truncated) entries.push(last);
  else if (last) unlisted++;
  const found: string[] = [];
  for (const root of ['/tmp', '/dev/shm']) {
    const mine = entries.filter((e) => e.startsWith(`${root}/`)).sort();
    found.push(...mine.slice(0, MAX_REPORTED_WRITES));
    if (mine.length > MAX_REPORTED_WRITES) found.push(`${root}/… (${mine.length - MAX_REPORTED_WRITES} more)`);
  }
  if (unlisted > 0) found.push(`/tmp or /dev/shm: … (${unlisted} more, not listed)`);
  return found;
}

/** The sandbox's tmpfs whose inodes count against `maxFiles`, as paths below its root. */
const COUNTED_MOUNTS = ['workspace', 'tmp', 'dev/shm'];

/**
 * Counts the used inodes of the sandbox's tmpfs from the worker (bwrap cannot give a tmpfs an
 * inode cap): statfs through /proc/<pid>/root of the wrapper, bwrap's child's child, which bwrap
 * forks only once the sandbox's mounts are in place. The wrapper's /proc folder is opened once,
 * so a later process that gets its pid is never looked at. Needs no privilege: root may look at
 * any process's root, and an unprivileged worker owns the sandbox's user namespace.
 */
function sandboxFileCount(outer: number): { count: () => number | null; close: () => void; failure: string | null } {
  let proc: number | null = null;
  let looked = false;
  const state = {
    failure: null as string | null,
    count(): number | null {
      if (proc === null) {
        const wrapper = childrenOf(outer).flatMap(childrenOf)[0];
        if (wrapper === undefined) return null;
        try {
          proc = openSync(`/proc/${wrapper}`, 'r');
        } catch {
          return null; // gone meanwhile: the run is ending
        }
      }
      let used = 0;
      try {
        for (const mount of COUNTED_MOUNTS) {
          const s = statfsSync(`/proc/self/fd/${proc}/root/${mount}`);
          // A tmpfs without an inode limit says 0 of 0: it cannot be counted this way.
          if (s.files === 0) throw Object.assign(new Error(`/${mount} reports no inode count`), { code: 'NOCOUNT' });
          used += s.files - s.ffree;
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        // The wrapper has exited (the run is ending), or the look is refused: said at the end
        // when no look ever succeeded.
        if (code !== 'ENOENT' && code !== 'ESRCH' && !looked) state.failure = code;
        return null;
      }
      looked = true;
      state.failure = null;
      return used;
    },
    close(): void {
      if (proc !== null) closeSync(proc);
      proc = null;
    },
  };
  return state;
}

/** The children of a process (of all its threads), or none when it is gone. */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .split(' ')
        .filter((c) => c.trim())
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** Resident anonymous memory and swap of a process and all its descendants (threads' children included). */
function treeMemoryBytes(root: number): number {
  let kb = 0;
  const seen = new Set<number>();
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      kb += Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0) + Number(/^VmSwap:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) stack.push(Number(c));
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return kb * 1024;
}

/**
 * Removes a folder the generated code may have shaped to resist it: thousands of levels deep
 * (Node's recursive rm overflows its stack), or made unreadable to its own user. `rm` and
 * `chmod` walk any depth; a folder that still resists is reported, never thrown: cleaning up
 * is not the verification, and must not fail it (or re-run the code on a retry).
 */
export function forceRemove(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    return;
  } catch {
    /* deep or locked: the tools below */
  }
  spawnSync('chmod', ['-R', 'u+rwx', dir], { stdio: 'ignore', timeout: 120_000 });
  const r = spawnSync('rm', ['-rf', '--one-file-system', dir], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) console.error(`[aura] sandbox: could not remove ${dir}: ${(r.stderr || String(r.error ?? '')).trim().slice(0, 300)}`);
}

// ---- cgroup v2 --------------------------------------------------------------------------

const CG_CONTROLLERS = ['memory', 'pids', 'cpu'];
let cgroupSerial = 0;

/**
 * A cgroup v2 folder this worker may create sub-groups in with the memory, pids and cpu
 * controllers: its own cgroup or its parent, when delegated (writable) and able to enable
 * them for sub-groups. The worker itself is never moved.
 */
export function probeCgroup(files = { mountinfo: '/proc/self/mountinfo', cgroup: '/proc/self/cgroup' }): {
  parent: string | null;
  why: string;
} {
  let mount: string | null = null;
  try {
    for (const line of readFileSync(files.mountinfo, 'utf8').split('\n')) {
      const [before, after] = line.split(' - ');
      if (after?.startsWith('cgroup2 ')) {
        mount = before!.split(' ')[4]!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
        break;
      }
    }
  } catch {
    /* no /proc */
  }
  if (!mount) return { parent: null, why: 'no cgroup v2 hierarchy is mounted (a cgroup v1 host)' };
  let rel: string | undefined;
  try {
    rel = readFileSync(files.cgroup, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
      ?.slice(3);
  } catch {
    /* no /proc */
  }
  if (rel === undefined) return { parent: null, why: 'this process is in no cgroup v2 group' };
  const own = rel === '/' ? mount : join(mount, rel);
  const candidates = rel === '/' ? [own] : [own, dirname(own)];
  const reasons: string[] = [];
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim().split(/\s+/);
    } catch {
      return [];
    }
  };
  for (const dir of candidates) {
    const missing = CG_CONTROLLERS.filter((c) => !read(join(dir, 'cgroup.controllers')).includes(c));
    if (missing.length > 0) {
      reasons.push(
        `${dir} has no ${missing.join(', ')} controller${missing.length > 1 ? 's' : ''}${mount.endsWith('/unified') ? ': cgroup v1 holds them' : ''}`,
      );
      continue;
    }
    try {
      for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control']) accessSync(join(dir, f), constants.W_OK);
    } catch {
      reasons.push(`${dir} is not delegated to this user`);
      continue;
    }
    const off = CG_CONTROLLERS.filter((c) => !read(join(dir, 'cgroup.subtree_control')).includes(c));
    try {
      if (off.length > 0) writeFileSync(join(dir, 'cgroup.subtree_control'), off.map((c) => `+${c}`).join(' '));
    } catch (err) {
      reasons.push(`${dir} cannot give its sub-groups ${off.join(', ')} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      continue;
    }
    const trial = join(dir, `aura-sandbox-probe-${process.pid}`);
    try {
      mkdirSync(trial);
      for (const f of ['memory.max', 'pids.max', 'cpu.max']) accessSync(join(trial, f), constants.W_OK);
      return { parent: dir, why: '' };
    } catch (err) {
      reasons.push(`${dir}: a sub-group cannot be made (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    } finally {
      try {
        rmdirSync(trial);
      } catch {
        /* never made */
      }
    }
  }
  return { parent: null, why: reasons.join('; ') };
}

/** This run's group with its limits, or null (the run then goes without cgroup limits). */
function makeCgroup(parent: string | null, limits: CommandLimits): string | null {
  if (!parent) return null;
  const dir = join(parent, `aura-sandbox-${process.pid}-${++cgroupSerial}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
    try {
      writeFileSync(join(dir, 'memory.swap.max'), '0');
    } catch {
      /* no swap accounting */
    }
    writeFileSync(join(dir, 'pids.max'), String(limits.maxProcesses));
    writeFileSync(join(dir, 'cpu.max'), `${Math.max(1_000, Math.round(limits.cpus * 100_000))} 100000`);
    return dir;
  } catch {
    try {
      rmdirSync(dir);
    } catch {
      /* never made */
    }
    return null;
  }
}

/** A shell that moves itself into the groups, then becomes the rest of the command line. */
function enterCgroup(dirs: string[]): string[] {
  return [
    '/bin/sh',
    '-c',
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || { echo "aura: cannot enter cgroup $1" >&2; exit 125; }; shift; n=$((n - 1)); done; exec "$@"',
    'aura-cgroup',
    String(dirs.length),
    ...dirs,
  ];
}

/** Kills whatever is left in the group and removes it; returns how many processes its memory limit killed. */
async function removeCgroup(dir: string): Promise<number> {
  const events = (() => {
    try {
      return readFileSync(join(dir, 'memory.events'), 'utf8');
    } catch {
      return '';
    }
  })();
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch {
    /* kernels before 5.14: the PID namespace is gone already */
  }
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return Number(/^oom_kill (\d+)$/m.exec(events)?.[1] ?? 0);
}

// ---- cgroup v1 and the budget ---------------------------------------------------------------

/**
 * The run's whole-sandbox memory budget: a cgroup v2 group where one can be made, else cgroup
 * v1 groups, else the worker's own watch (never the per-process RLIMIT_DATA alone).
 */
function makeBudget(support: SandboxSupport, limits: CommandLimits): Budget {
  const v2 = makeCgroup(support.cgroup.parent, limits);
  if (v2) return { kind: 'v2', dir: v2 };
  const v1 = makeCgroupV1(support.cgroupV1, limits);
  if (v1) return v1;
  const why = [support.cgroup.parent ? 'no cgroup v2 group could be made' : `cgroup v2: ${support.cgroup.why}`];
  why.push(support.cgroupV1.memory ? 'no cgroup v1 memory group could be made' : `cgroup v1: ${support.cgroupV1.why}`);
  return { kind: 'watch', why: why.join('; ') };
}

/** Where a v1 controller's hierarchy is mounted, and this process's group in it (from mountinfo and /proc/self/cgroup). */
function v1Group(controller: string, mountinfo: string, cgroups: string): string | null {
  const rel = cgroups
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f.length >= 3 && f[0] !== '0' && f[1]!.split(',').includes(controller))
    ?.slice(2)
    .join(':');
  if (rel === undefined) return null;
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    const [fstype, , options] = (after ?? '').split(' ');
    if (fstype !== 'cgroup' || !(options ?? '').split(',').includes(controller)) continue;
    const f = before!.split(' ');
    const unescape = (p: string) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const root = unescape(f[3]!);
    const mount = unescape(f[4]!);
    if (root === '/') return join(mount, rel);
    if (rel === root || rel.startsWith(`${root}/`)) return join(mount, rel.slice(root.length));
    return null; // this process's group is outside what is mounted here
  }
  return null;
}

/**
 * The cgroup v1 memory folder this worker may create sub-groups in (its own group; a root worker
 * on a v1 host), or null and why not. The worker itself is never moved. No v1 pids group: the
 * process limit is already the sandbox's whole (RLIMIT_NPROC counts in its own user namespace),
 * and each group a run enters costs it a few milliseconds.
 */
export function probeCgroupV1(files = { mountinfo: '/proc/self/mountinfo', cgroup: '/proc/self/cgroup' }): {
  memory: string | null;
  why: string;
} {
  let mountinfo = '';
  let cgroups = '';
  try {
    mountinfo = readFileSync(files.mountinfo, 'utf8');
    cgroups = readFileSync(files.cgroup, 'utf8');
  } catch {
    return { memory: null, why: 'no /proc' };
  }
  const usable = (controller: string, file: string): { dir: string | null; why: string } => {
    const dir = v1Group(controller, mountinfo, cgroups);
    if (!dir) return { dir: null, why: `no cgroup v1 ${controller} hierarchy holds this process` };
    const trial = join(dir, `aura-sandbox-probe-${process.pid}`);
    try {
      mkdirSync(trial);
      accessSync(join(trial, file), constants.W_OK);
      accessSync(join(trial, 'cgroup.procs'), constants.W_OK);
      return { dir, why: '' };
    } catch (err) {
      return { dir: null, why: `${dir}: a sub-group cannot be made by this user (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
    } finally {
      try {
        rmdirSync(trial);
      } catch {
        /* never made */
      }
    }
  };
  const memory = usable('memory', 'memory.limit_in_bytes');
  return { memory: memory.dir, why: memory.why };
}

/** This run's v1 groups with their limits, or null (the worker's watch then holds the budget). */
function makeCgroupV1(v1: SandboxSupport['cgroupV1'], limits: CommandLimits): Budget | null {
  if (!v1.memory) return null;
  const name = `aura-sandbox-${process.pid}-${++cgroupSerial}`;
  const memory = join(v1.memory, name);
  try {
    mkdirSync(memory);
    writeFileSync(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
  } catch {
    removeQuietly(memory);
    return null;
  }
  let memsw = false;
  try {
    writeFileSync(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    memsw = true;
  } catch {
    /* no swap accounting */
  }
  return { kind: 'v1', memory, memsw };
}

function removeQuietly(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* never made */
  }
}

/** Kills whatever is left in the v1 groups and removes them; returns how many processes the memory limit killed. */
async function removeCgroupV1(budget: Extract<Budget, { kind: 'v1' }>): Promise<number> {
  let oomKills = 0;
  try {
    oomKills = Number(/^oom_kill (\d+)$/m.exec(readFileSync(join(budget.memory, 'memory.oom_control'), 'utf8'))?.[1] ?? 0);
  } catch {
    /* older kernels do not count */
  }
  // The PID namespace is going or gone; whatever is still in a group is killed. A group empties
  // a few milliseconds after its last process: short waits first, about 2.5 s in all.
  for (const dir of [budget.memory]) {
    for (let i = 0, wait = 2; i < 60; i++, wait = Math.min(wait * 2, 50)) {
      try {
        rmdirSync(dir);
        break;
      } catch {
        try {
          for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n'))
            if (pid.trim()) process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
  return oomKills;
}

function chownTreeSync(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    chownSync(path, uid, gid);
    if (st.isDirectory()) chownTreeSync(path, uid, gid);
  }
}
