/**
 * The worker's own looks at a running sandbox, for the limits no kernel holds for it: the
 * memory of its processes where no cgroup holds them, and the files of its tmpfs (bwrap
 * cannot give a tmpfs an inode cap).
 */
import { closeSync, openSync, readdirSync, readFileSync, statfsSync } from 'node:fs';

/** How often the worker sums the sandbox's memory where no cgroup holds it, and counts its files. */
export const WATCH_MS = 100;

/** The sandbox's tmpfs whose inodes count against `maxFiles`, as paths below its root. */
const COUNTED_MOUNTS = ['workspace', 'tmp', 'dev/shm'];

/**
 * Counts the used inodes of the sandbox's tmpfs from the worker (bwrap cannot give a tmpfs an
 * inode cap): statfs through /proc/<pid>/root of the wrapper, bwrap's child's child, which bwrap
 * forks only once the sandbox's mounts are in place. The wrapper's /proc folder is opened once,
 * so a later process that gets its pid is never looked at. Needs no privilege: root may look at
 * any process's root, and an unprivileged worker owns the sandbox's user namespace.
 */
export function sandboxFileCount(outer: number): { count: () => number | null; close: () => void; failure: string | null } {
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
export function treeMemoryBytes(root: number): number {
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
