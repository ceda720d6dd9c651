/**
 * Lays files out in a fresh folder. Paths are checked again here (the Auditor checks them
 * too): whatever an output asks for, nothing is written outside the folder.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { unsafePathReason } from '../../governance/glob.js';
import { forceRemove, sandboxTempBase } from './run-command.js';

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
