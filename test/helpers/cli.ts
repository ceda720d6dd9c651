/**
 * The `aura` CLI as the tests drive it: in this process (`aura`: the same program, its output and
 * exit code captured, its environment given), or as the real binary (`auraBinary`: one smoke test
 * per entry point keeps it honest; also for what only a process can show, such as signals).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../config/config.js';
import { main } from '../../client/cli.js';
import { capturedIo, closeDeferred } from '../../client/io.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function aura(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const io = capturedIo(env);
  try {
    const code = await main(['node', 'aura', ...args], io);
    return { code, stdout: io.stdout(), stderr: io.stderr() };
  } finally {
    await closeDeferred(io);
  }
}

export async function auraBinary(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  try {
    const r = await promisify(execFile)(join(PROJECT_ROOT, 'bin', 'aura'), args, { env, encoding: 'utf8', timeout: timeoutMs });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
