/**
 * The folders a run works in: where they go (somewhere the sandbox user can reach), who owns
 * them, and the files laid out in them. Paths are checked again here (the Auditor checks them
 * too): whatever an output asks for, nothing is written outside the folder.
 */
import { chownSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { unsafePathReason } from '../../governance/glob.js';
import { forceRemove } from './leftovers.js';

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

/** As root: hands a run's folder to the sandbox user, who must open it for bwrap. */
export function chownTreeSync(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    chownSync(path, uid, gid);
    if (st.isDirectory()) chownTreeSync(path, uid, gid);
  }
}

/** A fresh folder the sandbox can bind (as root: one the sandbox user can reach). */
export async function makeTempDir(prefix = 'aura-sandbox-'): Promise<string> {
  return mkdtemp(join(sandboxTempBase(), prefix));
}

/** Removes a sandbox folder whatever the code left in it; never throws (see forceRemove). */
export async function removeDir(dir: string): Promise<void> {
  forceRemove(dir);
}

/** Writes the files; returns the paths it refused. */
export async function writeFiles(root: string, files: Iterable<[string, string]>): Promise<string[]> {
  const refused: string[] = [];
  const base = resolve(root);
  for (const [path, content] of files) {
    const target = resolve(base, path);
    if (unsafePathReason(path) !== null || !target.startsWith(base + sep)) {
      refused.push(path);
      continue;
    }
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content, { mode: 0o644 });
    } catch {
      refused.push(path); // e.g. a file and a folder of the same name
    }
  }
  return refused;
}
