/**
 * Runs one shell command in a folder, as a process group we can kill whole: wall-clock limit,
 * CPU-time limit (prlimit), bounded captured output, and no network (a fresh network
 * namespace via `unshare -n`) where the host allows it. Callers learn which isolation applied.
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { heartbeat } from '../context.js';

export interface CommandLimits {
  wallClockMs: number;
  cpuSeconds: number;
  /** Bytes of stdout+stderr kept (the tail); past `killAfterOutputBytes` the run is stopped. */
  keepOutputBytes: number;
  killAfterOutputBytes: number;
}

export const DEFAULT_LIMITS: CommandLimits = {
  wallClockMs: 60_000,
  cpuSeconds: 120,
  keepOutputBytes: 16_384,
  killAfterOutputBytes: 8 * 1024 * 1024,
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

let probed: { unshare: boolean; prlimit: boolean } | null = null;

/** Which isolation tools work on this host (checked once: containers often forbid unshare). */
export function isolationSupport(): { unshare: boolean; prlimit: boolean } {
  if (!probed) {
    const works = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore', timeout: 5_000 }).status === 0;
    probed = { unshare: works('unshare', ['-n', 'true']), prlimit: works('prlimit', ['--cpu=5', 'true']) };
  }
  return probed;
}

export async function runCommand(command: string, cwd: string, limits: CommandLimits = DEFAULT_LIMITS): Promise<CommandResult> {
  const support = isolationSupport();
  const argv: string[] = [];
  const isolation: string[] = [];
  if (support.unshare) {
    argv.push('unshare', '-n', '--');
    isolation.push('network: none (own network namespace)');
  } else {
    isolation.push('network: NOT isolated (unshare is not permitted on this host)');
  }
  if (support.prlimit) {
    argv.push('prlimit', `--cpu=${limits.cpuSeconds}`, `--core=0`, '--');
    isolation.push(`cpu: ${limits.cpuSeconds}s`);
  }
  argv.push('/bin/sh', '-c', command);
  isolation.push(`wall clock: ${limits.wallClockMs}ms`);

  const started = Date.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd,
    detached: true, // its own process group: the whole tree is killed at the limit
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      HOME: cwd,
      TMPDIR: cwd,
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

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: null, signal: null }));
  });
  clearTimeout(timer);
  clearInterval(beat);
  killTree(); // leftovers that detached from the shell still die with the group

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
