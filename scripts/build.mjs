#!/usr/bin/env node
/**
 * Builds dist/: the `aura` CLI, every worker entry and the Manager API as ES modules bundled
 * with esbuild (npm dependencies stay outside, in node_modules). Plain JavaScript, so that it
 * runs with nothing but Node and the installed dependencies.
 *
 * Why esbuild rather than `tsc` to dist/: it is the compiler tsx runs the sources with in
 * development (taken from tsx's own dependency, so no second compiler and no new dependency:
 * the build reads the sources exactly as `node --import tsx` does), and it builds the whole
 * tree in well under a second, so
 * scripts/ensure-setup.sh can rebuild whenever a source is newer than the build; `tsc --noEmit`
 * (npm run check) stays the type check. Code splitting keeps each command lazy: what a command
 * loads with `await import()` is a chunk of its own, read only when that command runs.
 *
 * Every output file sits directly in dist/, and each source's `import.meta.url` is rewritten to
 * the URL the source itself has (`new URL('../api/static.ts', import.meta.url)`), so that paths
 * computed from it (PROJECT_ROOT, the dashboard's files, the workflows the Temporal worker
 * bundles at start, createRequire) are the same as when the sources run through tsx.
 *
 * The workflows are not part of this build: the Temporal worker bundles them itself, at start,
 * from workflows/ (webpack). An installed package cannot do that (the worker's bundler compiles
 * no TypeScript inside node_modules), so `npm pack` (prepack: --workflow-bundle) also has the
 * worker's own bundler write dist/workflow-bundle.js, and bin/aura hands it to the workers as
 * AURA_WORKFLOW_BUNDLE, as the tests do with theirs.
 *
 *   node scripts/build.mjs            build dist/ (into a fresh folder, then swapped in)
 *   node scripts/build.mjs --workflow-bundle   …and dist/workflow-bundle.js (a few seconds more)
 *   node scripts/build.mjs --shrinkwrap        write npm-shrinkwrap.json for `npm pack` (postpack removes it)
 *
 * The shrinkwrap is package-lock.json with each package's registry address filled in: installed
 * from the tarball, Aura gets exactly the versions it was tested with (as `npm ci` gives a
 * checkout), and an install can come from npm's cache alone (`npm install -g --offline`).
 *   node scripts/build.mjs --check    exit 0 when dist/ is up to date, 1 when missing or stale
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.built');

/** The output name (dist/<name>.js) of each entry point. */
export const ENTRIES = {
  aura: 'client/main.ts',
  'manager-api': 'api/main.ts',
  'worker-dev': 'workers/dev.ts',
  'worker-manager': 'workers/manager.ts',
  'worker-governance': 'workers/governance.ts',
  'worker-sandbox': 'workers/sandbox.ts',
  'worker-employee-scripted': 'workers/employee-scripted.ts',
  'worker-employee-openai': 'workers/employee-openai.ts',
  'worker-employee-gemini': 'workers/employee-gemini.ts',
  'worker-employee-ollama': 'workers/employee-ollama.ts',
};

/** The folders whose TypeScript goes into the build: a newer file there makes dist/ stale. */
export const SOURCE_DIRS = [
  'activities',
  'api',
  'client',
  'config',
  'db',
  'director',
  'errors',
  'governance',
  'integrity',
  'local',
  'workers',
  'workflows',
];

function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(join(ROOT, dir))) walk(join(ROOT, dir));
  for (const file of ['package.json', 'tsconfig.json', 'scripts/build.mjs']) newest = Math.max(newest, statSync(join(ROOT, file)).mtimeMs);
  return newest;
}

function upToDate() {
  return existsSync(STAMP) && statSync(STAMP).mtimeMs >= newestSource();
}

/** import.meta.url of a source, as seen from a file directly in dist/. */
const sourceUrlPlugin = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.split(sep).includes('node_modules')) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
      const fromDist = relative(DIST, args.path).split(sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromDist)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

async function build() {
  const { build: esbuild } = createRequire(join(ROOT, 'node_modules', 'tsx', 'package.json'))('esbuild');
  const started = Date.now();
  const out = `${DIST}.tmp-${process.pid}`;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await esbuild({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, source]) => [name, join(ROOT, source)])),
    outdir: out,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [sourceUrlPlugin],
  });
  if (process.argv.includes('--workflow-bundle')) {
    const code = `const { buildWorkflowBundle } = await import('./workers/create-worker.ts'); await buildWorkflowBundle(${JSON.stringify(join(out, 'workflow-bundle.js'))});`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`the workflow bundle was not built (exit ${r.status})`);
  }
  // Dated when the build started reading the sources: one edited meanwhile is newer, so the next check rebuilds.
  writeFileSync(join(out, '.built'), `${new Date(started).toISOString()}\n`);
  utimesSync(join(out, '.built'), new Date(started), new Date(started));
  // Swapped in whole: a command started meanwhile finds either the old build or none (bin/aura then runs the sources).
  const old = `${DIST}.old-${process.pid}`;
  try {
    if (existsSync(DIST)) renameSync(DIST, old);
    renameSync(out, DIST);
  } catch (err) {
    // Another build swapped its own in at the same moment: keep it if it is up to date.
    rmSync(out, { recursive: true, force: true });
    if (!upToDate()) throw err;
  }
  rmSync(old, { recursive: true, force: true });
  console.error(`[aura] built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function shrinkwrap() {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path || entry.link || entry.resolved) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    entry.resolved = `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
  }
  writeFileSync(join(ROOT, 'npm-shrinkwrap.json'), `${JSON.stringify(lock, null, 2)}\n`);
}

if (process.argv.includes('--check')) process.exit(upToDate() ? 0 : 1);
if (process.argv.includes('--shrinkwrap')) shrinkwrap();
else await build();
