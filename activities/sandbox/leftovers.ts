/**
 * What a run leaves behind: the files the command left in the sandbox's /tmp and /dev/shm (as
 * the wrapper lists them on fd 3, see bwrap.ts), and the run's folders on the host, removed
 * whatever shape the code gave them.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const MAX_REPORTED_WRITES = 100;
/** Bytes of the wrapper's listing read; past them, entries are only counted. */
export const LISTING_BYTES = 1024 ** 2;

/**
 * What the command left in /tmp and /dev/shm (files, links, empty folders), as the wrapper
 * listed them inside the sandbox: at most MAX_REPORTED_WRITES of each, then how many more.
 */
export function leftOutside(listing: Buffer, truncated: boolean, unlisted: number): string[] {
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
