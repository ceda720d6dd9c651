/**
 * What the benchmarks read from Linux's /proc: CPU time of a process and of the children it
 * has reaped (a worker's sandbox runs, a PostgreSQL server's backends), resident memory, the
 * machine's busy time. Linux only; elsewhere every figure is null.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`: 100 on Linux). */
const TICKS = 100;

function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces and parentheses.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** [ppid, self cpu seconds, reaped children's cpu seconds] (fields 4, 14+15, 16+17 of stat). */
function cpuOf(pid: number): { ppid: number; self: number; reaped: number } | null {
  const f = statFields(pid);
  if (!f) return null;
  // f[0] is field 3 (state): field n is f[n - 3].
  return { ppid: Number(f[1]), self: (Number(f[11]) + Number(f[12])) / TICKS, reaped: (Number(f[13]) + Number(f[14])) / TICKS };
}

export function parentOf(pid: number): number | null {
  return cpuOf(pid)?.ppid || null;
}

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const c = cpuOf(Number(name));
    if (c?.ppid === pid) out.push(Number(name));
  }
  return out;
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/**
 * CPU seconds of a process: its own, and its children's (those it reaped, and those alive now).
 * Null when it is gone.
 */
export function processCpu(pid: number | null): { self: number; children: number } | null {
  if (!pid) return null;
  const c = cpuOf(pid);
  if (!c) return null;
  let live = 0;
  for (const child of childrenOf(pid)) live += cpuOf(child)?.self ?? 0;
  return { self: c.self, children: c.reaped + live };
}

/** Resident memory now and at its peak (VmRSS, VmHWM), in MiB. */
export function memoryOf(pid: number | null): { rssMiB: number; peakMiB: number } | null {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** The machine's CPU seconds, busy and in all, summed over its cores (/proc/stat). */
export function machineCpu(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: (total - idle) / TICKS, total: total / TICKS };
  } catch {
    return null;
  }
}
