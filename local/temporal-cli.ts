/**
 * Finding the `temporal` CLI (dev server + Web UI): TEMPORAL_CLI_PATH, then PATH, then Go's
 * bin folder. When it is missing and Go is here, it is built from the Go module proxy (once;
 * it lands in Go's bin folder, outside the project). When none of that works the caller falls
 * back to the SDK's own download, which needs internet.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function goEnv(name: string): string | null {
  const r = spawnSync('go', ['env', name], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export function goAvailable(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/** Where `go install` puts binaries: GOBIN, else GOPATH/bin, else ~/go/bin. */
export function goBinDir(): string {
  return goEnv('GOBIN') ?? join(goEnv('GOPATH')?.split(delimiter)[0] ?? join(homedir(), 'go'), 'bin');
}

export function findTemporalCli(explicitPath: string | null): string | null {
  if (explicitPath) {
    if (!isExecutable(explicitPath)) throw new Error(`TEMPORAL_CLI_PATH=${explicitPath} is not an executable file`);
    return explicitPath;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  const candidates = [join(homedir(), 'go', 'bin', 'temporal')];
  if (goAvailable()) candidates.unshift(join(goBinDir(), 'temporal'));
  return candidates.find((p) => existsSync(p) && isExecutable(p)) ?? null;
}

/** Builds the CLI with `go install`, streaming Go's output through `log`. */
export async function buildTemporalCli(log: (line: string) => void): Promise<string> {
  log(`building the Temporal CLI: go install ${TEMPORAL_CLI_MODULE} (first time only; takes a few minutes)`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['install', TEMPORAL_CLI_MODULE], { stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (b: Buffer) =>
      b
        .toString()
        .split('\n')
        .filter(Boolean)
        .forEach((l) => log(`  ${l}`));
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`go install ${TEMPORAL_CLI_MODULE} failed with exit code ${code}`)),
    );
  });
  const path = join(goBinDir(), 'temporal');
  if (!isExecutable(path)) throw new Error(`go install finished but ${path} is not there`);
  log(`built ${path} in ${Math.round((Date.now() - started) / 1000)}s`);
  return path;
}

/**
 * The CLI to run, building it when needed. Returns null when only the SDK's download is left
 * (a machine without Go); the message says what to install when that fails too.
 */
export async function ensureTemporalCli(explicitPath: string | null, log: (line: string) => void): Promise<string | null> {
  const found = findTemporalCli(explicitPath);
  if (found) return found;
  if (goAvailable()) return buildTemporalCli(log);
  log('no temporal CLI found and Go is not installed: trying the Temporal SDK download (needs internet)');
  return null;
}

export const INSTALL_HINT =
  'Install the Temporal CLI: put `temporal` on PATH or set TEMPORAL_CLI_PATH (https://docs.temporal.io/cli), ' +
  `or install Go and run: go install ${TEMPORAL_CLI_MODULE}. Or point TEMPORAL_ADDRESS at a running server.`;
