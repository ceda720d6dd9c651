/**
 * Which isolation this host permits, checked by building a real sandbox: bwrap and setpriv on
 * the PATH, whether bwrap can refuse nested user namespaces, prlimit, and the cgroups a run's
 * group can be made in. The result is a `SandboxHost`, made once per process.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { bwrapArgs, OUTER_ENV, prepareRun } from './bwrap.js';
import { probeCgroup, probeCgroupV1 } from './cgroup.js';
import { SandboxHost, SandboxUids, type SandboxMode, type SandboxSupport, type SandboxTools } from './host.js';
import { DEFAULT_LIMITS } from './limits.js';

/** Probes this host; `uids` hands out the user id of a root worker's trial sandbox and later runs. */
export function probeSandboxHost(uids = new SandboxUids()): SandboxHost {
  const root = userInfo().uid === 0;
  const prlimit = spawnSync('prlimit', ['--cpu=5', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  const cgroup = probeCgroup();
  const cgroupV1 = cgroup.parent ? { memory: null, why: 'cgroup v2 applies' } : probeCgroupV1();
  const tools: SandboxTools = { bwrap: onPath('bwrap'), setpriv: onPath('setpriv') };
  let problem: string | null = null;
  let bwrapVersion: string | null = null;
  let disableUserns = false;
  if (!tools.bwrap) {
    problem = 'bubblewrap (bwrap) is not installed';
  } else if (root && !tools.setpriv) {
    problem = 'setpriv (util-linux) is not installed: a root worker needs it to drop to the sandbox user';
  } else {
    bwrapVersion = spawnSync(tools.bwrap, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout?.trim() || 'bubblewrap';
    const help = spawnSync(tools.bwrap, ['--help'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
    // Nested user namespaces would let the code reach more kernel surface: refused where bwrap can.
    const attempts = help.includes('--disable-userns') ? [true, false] : [false];
    for (const disable of attempts) {
      disableUserns = disable;
      problem = trialRun(tools, root ? uids.take() : null, disable);
      if (problem === null) break;
    }
  }
  const support: SandboxSupport = { jail: problem === null, problem, bwrapVersion, root, prlimit, cgroup, cgroupV1 };
  return new SandboxHost(support, tools, disableUserns, uids);
}

/** Builds a sandbox and runs a check in it; returns what went wrong, or null. */
function trialRun(tools: SandboxTools, uid: number | null, disableUserns: boolean): string | null {
  const run = prepareRun(tools.setpriv, uid);
  try {
    const argv = [
      ...run.prefix,
      tools.bwrap!,
      ...bwrapArgs(run, DEFAULT_LIMITS, disableUserns),
      '/bin/sh',
      '-c',
      'test -w /workspace && test -w /tmp && test -w /dev/shm && test ! -e /root && test -r /proc/self/status',
    ];
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: run.workspace, encoding: 'utf8', timeout: 15_000, env: OUTER_ENV });
    if (r.status === 0) return null;
    const said = `${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim().split('\n').slice(-3).join(' ');
    return `bubblewrap cannot build the sandbox${uid !== null ? ` as uid ${run.uid}` : ''}: ${said || `exit ${r.status}`}`;
  } finally {
    run.cleanup();
  }
}

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

let processHost: SandboxHost | null = null;

/**
 * This process's host, probed on first use and kept: the probe builds a real sandbox (too
 * slow for every run), and the user ids and cgroup names of the process's runs must not
 * collide, so every run the process makes, the workers' and the tests', goes through it.
 */
export function processSandboxHost(): SandboxHost {
  return (processHost ??= probeSandboxHost());
}

/** What this process's sandbox can do (probed once). */
export function isolationSupport(): SandboxSupport {
  return processSandboxHost().support;
}

/** Isolated when bwrap works; otherwise unsafe only when the operator asked for it. */
export function sandboxMode(env: NodeJS.ProcessEnv = process.env): SandboxMode {
  return processSandboxHost().mode(env);
}

/** The uids this process handed out (what a check for leftovers of its own sandboxes looks for). */
export function sandboxUidsHandedOut(): ReadonlySet<number> {
  return processSandboxHost().uids.handed();
}
