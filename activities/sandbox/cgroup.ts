/**
 * The run's whole-sandbox budget held by the kernel: a cgroup v2 group (memory.max, pids.max,
 * cpu.max) where a delegated one can be made, else a cgroup v1 memory group, else none and the
 * worker's watch (watch.ts). The worker itself is never moved into a group.
 */
import { accessSync, constants, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SandboxSupport } from './host.js';
import type { CommandLimits } from './limits.js';

/** The run's whole-sandbox memory budget: a cgroup (v2 or v1) or, without one, the worker's watch. */
export type Budget = { kind: 'v2'; dir: string } | { kind: 'v1'; memory: string; memsw: boolean } | { kind: 'watch'; why: string };

const CG_CONTROLLERS = ['memory', 'pids', 'cpu'];

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
function makeCgroup(parent: string | null, limits: CommandLimits, name: () => string): string | null {
  if (!parent) return null;
  const dir = join(parent, name());
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
export function enterCgroup(dirs: string[]): string[] {
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

/**
 * The run's whole-sandbox memory budget: a cgroup v2 group where one can be made, else cgroup
 * v1 groups, else the worker's own watch (never the per-process RLIMIT_DATA alone).
 */
export function makeBudget(support: SandboxSupport, limits: CommandLimits, name: () => string): Budget {
  const v2 = makeCgroup(support.cgroup.parent, limits, name);
  if (v2) return { kind: 'v2', dir: v2 };
  const v1 = makeCgroupV1(support.cgroupV1, limits, name);
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
function makeCgroupV1(v1: SandboxSupport['cgroupV1'], limits: CommandLimits, name: () => string): Budget | null {
  if (!v1.memory) return null;
  const memory = join(v1.memory, name());
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

/** Kills whatever is left in the run's groups and removes them; returns how many processes their memory limit killed. */
export async function removeBudget(budget: Budget): Promise<number> {
  return budget.kind === 'v2' ? removeCgroup(budget.dir) : budget.kind === 'v1' ? removeCgroupV1(budget) : 0;
}
