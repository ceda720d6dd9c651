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
 *
 * Where each part lives: isolation-probe.ts (what this host permits, once per process),
 * bwrap.ts (the sandbox itself), cgroup.ts and watch.ts (the whole-sandbox budget and file cap),
 * leftovers.ts (what a run leaves), and here the command line and the spawn under limits.
 */ import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { cancellationSignal, heartbeat } from '../context.js';
import { bwrapArgs, dropTo, OUTER_ENV, prepareRun, WRAPPER, type Run } from './bwrap.js';
import { enterCgroup, makeBudget, removeBudget, type Budget } from './cgroup.js';
import type { SandboxHost, SandboxSupport } from './host.js';
import { processSandboxHost } from './isolation-probe.js';
import { leftOutside, LISTING_BYTES } from './leftovers.js';
import { DEFAULT_LIMITS, type CommandLimits } from './limits.js';
import { sandboxFileCount, treeMemoryBytes, WATCH_MS } from './watch.js';
import { chownTreeSync } from './workspace-dir.js';

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

const INSTALL_HINT =
  'install bubblewrap (apt-get install bubblewrap) or allow unprivileged user namespaces (user.max_user_namespaces > 0; ' +
  'kernel.unprivileged_userns_clone=1 where it exists; in a container, a seccomp/AppArmor profile that permits them), ' +
  'or set AURA_SANDBOX_UNSAFE=1 to run generated code without isolation';

/** A command ready to start: its command line and environment, and what it runs within. */
interface Invocation {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** In the sandbox: fd 3 carries the wrapper's listing, and its tmpfs files are counted. */
  sandboxed: boolean;
  /** The sandbox's own folder (its /etc files), or null without the sandbox. */
  run: Run | null;
  budget: Budget;
  isolation: string[];
}

/** Runs `/bin/sh -c <command>` over a copy of `cwd` in the sandbox, or refuses to (see above). */
export async function runCommand(
  command: string,
  cwd: string,
  limits: CommandLimits = DEFAULT_LIMITS,
  host: SandboxHost = processSandboxHost(),
): Promise<CommandResult> {
  const mode = host.mode();
  if (mode === 'refused') return refused(host.support);
  return spawnWithLimits(buildInvocation(host, mode === 'bwrap', command, cwd, limits), limits);
}

function refused(support: SandboxSupport): CommandResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    outputLimited: false,
    durationMs: 0,
    output: '',
    isolation: [`REFUSED: ${support.problem}`],
    skippedReason: `the sandbox refused to run generated code: ${support.problem}; ${INSTALL_HINT}`,
    outsideWrites: [],
  };
}

/** The command line (in the sandbox, or unisolated when the operator asked), its budget, and what applies. */
function buildInvocation(host: SandboxHost, bwrap: boolean, command: string, cwd: string, limits: CommandLimits): Invocation {
  const { support, tools } = host;
  const isolation: string[] = [];
  const uid = support.root ? host.uids.take() : null;
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
  let budget: Budget;
  let env: NodeJS.ProcessEnv;
  if (bwrap) {
    if (uid !== null) chownTreeSync(cwd, uid, uid);
    run = prepareRun(tools.setpriv, uid, cwd);
    budget = makeBudget(support, limits, () => host.cgroupName());
    const groups = budget.kind === 'v2' ? [budget.dir] : budget.kind === 'v1' ? [budget.memory] : [];
    argv = [
      ...(groups.length > 0 ? enterCgroup(groups) : []),
      ...run.prefix,
      tools.bwrap!,
      ...bwrapArgs(run, limits, host.disableUserns),
      '/bin/sh',
      '-c',
      WRAPPER,
      'aura-sandbox',
      ...inner,
    ];
    env = OUTER_ENV;
    isolation.push(
      `sandbox: ${support.bwrapVersion}: own user, PID, IPC, network, mount, UTS and (where the kernel has one) cgroup namespaces${host.disableUserns ? ', no nested user namespaces' : ''}; every process dies with it`,
      'network: none (own network namespace, loopback only)',
      `filesystem: read-only /usr and the node binary only (no checkout, /home, /root, /run, /var); no writable host folder: /workspace (a copy of the files), /tmp and /dev/shm are tmpfs of this run alone (nosuid, nodev), capped at ${limits.workspaceBytes}, ${limits.tmpBytes} and ${limits.shmBytes} bytes (no space left past them), gone with the run; what is left in /tmp and /dev/shm is reported`,
      `files: ${limits.maxFiles} files, folders and links in /workspace, /tmp and /dev/shm together (bwrap has no tmpfs inode cap: the worker counts their used inodes every ${WATCH_MS} ms and stops the run past it; what is created between two looks may overshoot)`,
      uid !== null
        ? `user: uid ${uid}, the sandbox's own, without capabilities`
        : `user: the worker's uid ${run.uid}, without capabilities, in its own user namespace`,
    );
  } else {
    if (uid !== null) chownTreeSync(cwd, uid, uid);
    argv = [...(uid !== null ? dropTo(tools.setpriv, uid) : []), ...inner];
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
  if (bwrap) {
    isolation.push(
      budget.kind === 'v2'
        ? `cgroup v2: memory.max ${limits.memoryBytes} bytes, pids.max ${limits.maxProcesses}, cpu.max ${limits.cpus} CPU`
        : `cgroup v2 limits: not applied (${support.cgroup.why})`,
    );
  }
  const m = `memory: ${limits.memoryBytes} bytes for the whole sandbox`;
  isolation.push(
    budget.kind === 'v2'
      ? `${m} (cgroup v2 memory.max, no swap; its tmpfs pages count), processes: ${limits.maxProcesses} (cgroup v2 pids.max)`
      : budget.kind === 'v1'
        ? `${m} (cgroup v1 memory.limit_in_bytes${budget.memsw ? ' and memory.memsw.limit_in_bytes' : ''}; its tmpfs pages count), processes: ${limits.maxProcesses} (RLIMIT_NPROC in its own user namespace)`
        : `${m} (no cgroup: ${budget.why}; the worker sums the resident anonymous memory and swap of the sandbox's processes every ${WATCH_MS} ms and stops the run above it, and RLIMIT_DATA holds each process to it${bwrap ? '; its tmpfs is capped apart' : ''}), processes: ${nproc ? `${limits.maxProcesses} (RLIMIT_NPROC${bwrap ? ' in its own user namespace' : ' of its own user id'})` : 'not limited'}`,
  );
  isolation.push(`wall clock: ${limits.wallClockMs}ms, output: ${limits.killAfterOutputBytes} bytes`);
  return { argv, env, cwd, sandboxed: bwrap, run, budget, isolation };
}

/** Starts the command in its own process group and holds it to the limits; cleans up after it. */
async function spawnWithLimits(inv: Invocation, limits: CommandLimits): Promise<CommandResult> {
  const { argv, sandboxed, budget, run } = inv;
  const started = Date.now();
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: inv.cwd,
    detached: true, // its own process group: the whole tree is killed at the limit
    stdio: sandboxed ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    env: inv.env,
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
  const fd3 = sandboxed ? (child.stdio[3] as Readable | null) : null;
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
  const files = sandboxed && child.pid ? sandboxFileCount(child.pid) : null;
  const watch =
    (budget.kind === 'watch' || files) && child.pid
      ? setInterval(() => {
          if (budget.kind === 'watch') {
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
  const oomKills = await removeBudget(budget);

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
    isolation: inv.isolation,
    skippedReason: null,
    outsideWrites,
  };
}
