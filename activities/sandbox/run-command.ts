/**
 * Runs one shell command over a folder of generated code, locked down as far as the host
 * allows, and says which locks applied:
 * - as root with namespaces allowed (the usual worker): a new PID, mount and network
 *   namespace; the folder bind-mounted at /mnt and private tmpfs over /tmp, /var/tmp and
 *   /dev/shm; the command runs as a user id of its own (no account, no groups), so nothing
 *   outside the folder can be written and its process limit is its own, not shared with
 *   other sandboxes; no network at all; killing the namespace's first process kills every
 *   process in it.
 * - always: its own process group killed at the wall-clock limit; prlimit on CPU seconds,
 *   data memory (RLIMIT_DATA: heap and private mappings; address-space reservations such as
 *   WebAssembly's guard regions stay possible), file size and (with its own user id) process
 *   count; at most `killAfterOutputBytes` of output; a minimal environment.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chown, readdir, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { heartbeat } from '../context.js';

export interface CommandLimits {
  wallClockMs: number;
  cpuSeconds: number;
  memoryBytes: number;
  maxProcesses: number;
  maxFileBytes: number;
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
}

interface Support {
  jail: boolean;
  unshareNet: boolean;
  prlimit: boolean;
}

/**
 * User ids handed to sandboxes, one per run in turn: high, unused by any account, and each
 * sandbox's process limit (RLIMIT_NPROC is counted per user id) is then its own.
 */
const SANDBOX_UID_BASE = 1_700_000;
const SANDBOX_UID_SPAN = 60_000;
let nextUid = (process.pid * 97) % SANDBOX_UID_SPAN;
function sandboxUid(): number {
  nextUid = (nextUid + 1) % SANDBOX_UID_SPAN;
  return SANDBOX_UID_BASE + nextUid;
}

let probed: Support | null = null;

/** Which isolation this host permits (checked once: containers often forbid namespaces). */
export function isolationSupport(): Support {
  if (probed) return probed;
  const works = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 }).status === 0;
  const root = userInfo().uid === 0;
  const jail =
    root &&
    works('unshare', ['--mount', '--net', '--pid', '--fork', '--kill-child', '--', '/bin/sh', '-c', 'mount -t tmpfs tmpfs /mnt && test -d /mnt']) &&
    works('setpriv', [`--reuid=${SANDBOX_UID_BASE}`, `--regid=${SANDBOX_UID_BASE}`, '--clear-groups', '--', 'true']);
  probed = {
    jail,
    unshareNet: jail || works('unshare', ['-n', 'true']),
    prlimit: works('prlimit', ['--cpu=5', 'true']),
  };
  return probed;
}

/** Runs inside the namespaces as root, then drops to the sandbox user. */
const JAIL_SCRIPT = [
  'set -e',
  'work="$1"; uid="$2"; gid="$3"; shift 3',
  'mount --bind "$work" /mnt',
  'for d in /tmp /var/tmp /dev/shm; do if [ -d "$d" ]; then mount -t tmpfs -o size=256m,mode=1777 tmpfs "$d"; fi; done',
  'cd /mnt',
  'exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs -- "$@"',
].join('\n');

export async function runCommand(command: string, cwd: string, limits: CommandLimits = DEFAULT_LIMITS): Promise<CommandResult> {
  const support = isolationSupport();
  const isolation: string[] = [];
  const inner: string[] = [];
  if (support.prlimit) {
    inner.push('prlimit', `--cpu=${limits.cpuSeconds}`, `--data=${limits.memoryBytes}`, `--fsize=${limits.maxFileBytes}`, '--core=0');
    // RLIMIT_NPROC counts every process of the user: only meaningful for a user id of its own.
    if (support.jail) inner.push(`--nproc=${limits.maxProcesses}`);
    inner.push('--');
    isolation.push(`cpu ${limits.cpuSeconds}s, memory ${limits.memoryBytes} bytes, file size ${limits.maxFileBytes} bytes${support.jail ? `, ${limits.maxProcesses} processes` : ''}`);
  } else {
    isolation.push('resource limits: NONE (prlimit is not available)');
  }
  inner.push('/bin/sh', '-c', command);

  let argv: string[];
  if (support.jail) {
    const uid = sandboxUid();
    await chownTree(cwd, uid, uid);
    argv = ['unshare', '--mount', '--net', '--pid', '--fork', '--kill-child', '--mount-proc', '--', '/bin/sh', '-c', JAIL_SCRIPT, 'aura-jail', cwd, String(uid), String(uid), ...inner];
    isolation.push('network: none (own network namespace)', `filesystem: only the workspace copy is writable (runs as uid ${uid}, private /tmp)`, 'processes: own PID namespace, all killed at the limit');
  } else if (support.unshareNet) {
    argv = ['unshare', '-n', '--', ...inner];
    isolation.push('network: none (own network namespace)', 'filesystem: NOT confined (runs as this user; run the sandbox worker as root or as a dedicated user)');
  } else {
    argv = inner;
    isolation.push('network: NOT isolated (namespaces are not permitted on this host)', 'filesystem: NOT confined (runs as this user)');
  }
  isolation.push(`wall clock: ${limits.wallClockMs}ms, output: ${limits.killAfterOutputBytes} bytes`);

  const started = Date.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd,
    detached: true, // its own process group: the whole tree is killed at the limit
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: support.jail ? '/mnt' : cwd,
      TMPDIR: support.jail ? '/tmp' : cwd,
      LANG: 'C.UTF-8',
      CI: 'true',
      NODE_OPTIONS: '',
    },
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

  const timer = setTimeout(() => {
    timedOut = true;
    killTree();
  }, limits.wallClockMs);
  const beat = setInterval(() => heartbeat({ runningMs: Date.now() - started }), 2_000);

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
  killTree(); // leftovers in the group die too
  child.stdout!.destroy();
  child.stderr!.destroy();

  return {
    exitCode: code,
    signal,
    timedOut,
    outputLimited,
    durationMs: Date.now() - started,
    output: kept.toString('utf8') + (total > kept.length ? `\n(${total - kept.length} earlier bytes not kept)` : ''),
    isolation,
  };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir)) {
    const path = join(dir, entry);
    const st = await lstat(path);
    if (st.isSymbolicLink()) continue;
    await chown(path, uid, gid);
    if (st.isDirectory()) await chownTree(path, uid, gid);
  }
}
