/**
 * `npm run bench`: every benchmark in turn, one table (figure, measured, goal, ratio, pass/miss)
 * and bench/results.json (date, machine, every figure and its details). See docs/benchmarks.md.
 *
 *   1–4 in one world (bench/platform.ts: embedded PostgreSQL, a Temporal dev server, the
 *       workers in a child process, the model replaced by bench/model-server.ts at a fixed
 *       latency): governed overhead, critical path, throughput, concurrency (bench/governed.ts);
 *   5   the ledger (bench/ledger.ts), in a scratch database of its own;
 *   6   the Director's update latency (bench/director.ts), on `aura demo`'s stack.
 *
 * Knobs (environment):
 *   BENCH_QUICK=1                 small sizes, about 3 minutes, for trying the code
 *   BENCH_ONLY=overhead,critical,throughput,concurrency,ledger,director   a subset
 *   BENCH_LATENCY_MS=200          the model's latency
 *   BENCH_SAMPLES, BENCH_PARALLELS=2,4,8, BENCH_THROUGHPUT_SECONDS, BENCH_THROUGHPUT_RUNS,
 *   BENCH_THROUGHPUT_TASKS, BENCH_CONCURRENT_RUNS, BENCH_LEDGER_ENTRIES, BENCH_LEDGER_SECONDS,
 *   BENCH_DIRECTOR_UPDATES; BENCH_TEMPORAL_DB=memory and
 *   BENCH_TEMPORAL_SQLITE_PRAGMAS=journal_mode=wal,synchronous=normal to compare the dev server's storage
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadDotEnv, PROJECT_ROOT } from '../config/config.js';
import { installSdkLogger } from '../workers/logging.js';
import { type BenchResult, formatTable } from './figures.js';
import { concurrency, criticalPath, governedOverhead, throughput } from './governed.js';
import { directorBench } from './director.js';
import { ledgerBench } from './ledger.js';
import { startBenchWorld } from './platform.js';

const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const num = (name: string, full: number, quick: number) => (env[name] ? Number(env[name]) : QUICK ? quick : full);
const list = (name: string, full: number[], quick: number[]) => (env[name] ? env[name]!.split(',').map(Number) : QUICK ? quick : full);
const ONLY = new Set((env.BENCH_ONLY ?? 'overhead,critical,throughput,concurrency,ledger,director').split(',').map((s) => s.trim()));
const LATENCY = num('BENCH_LATENCY_MS', 200, 200);

const t0 = performance.now();
const stamp = () => `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
const log = (line: string) => console.log(`[bench ${stamp()}] ${line}`);

function machine() {
  const cpus = os.cpus();
  let bwrap: string | null = null;
  try {
    bwrap = execFileSync('bwrap', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    /* none */
  }
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
    bwrap,
  };
}

async function main() {
  installSdkLogger('ERROR');
  loadDotEnv();
  const started = new Date();
  const results: { name: string; result: BenchResult }[] = [];
  const failures: string[] = [];
  const attempt = async (name: string, fn: () => Promise<BenchResult>) => {
    try {
      results.push({ name, result: await fn() });
    } catch (err) {
      // A benchmark that cannot finish is reported as such; the others still run.
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      log(`${name} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  };

  const mc = machine();
  log(
    `machine: ${mc.cpus} × ${mc.cpuModel}, ${mc.memoryGiB} GiB, Node ${mc.node}; load average ${mc.loadAverageAtStart.join(' ')}${QUICK ? '; QUICK sizes' : ''}`,
  );

  if (['overhead', 'critical', 'throughput', 'concurrency'].some((b) => ONLY.has(b))) {
    const world = await startBenchWorld({ latencyMs: LATENCY, log });
    try {
      if (ONLY.has('overhead')) await attempt('overhead', () => governedOverhead(world, { samples: num('BENCH_SAMPLES', 10, 3), log }));
      if (ONLY.has('critical'))
        await attempt('critical', () => criticalPath(world, { parallels: list('BENCH_PARALLELS', [2, 4, 8], [2, 8]), log }));
      if (ONLY.has('throughput'))
        await attempt('throughput', () =>
          throughput(world, {
            seconds: num('BENCH_THROUGHPUT_SECONDS', 60, 15),
            warmupSeconds: QUICK ? 3 : 10,
            runsInFlight: num('BENCH_THROUGHPUT_RUNS', 3, 2),
            tasksPerRun: num('BENCH_THROUGHPUT_TASKS', 10, 10),
            log,
          }),
        );
      if (ONLY.has('concurrency'))
        await attempt('concurrency', () => concurrency(world, { runs: num('BENCH_CONCURRENT_RUNS', 200, 30), log }));
    } finally {
      const warnings = world
        .workerOutput()
        .split('\n')
        .filter((l) => /\[temporal (warn|error)\]|error/i.test(l));
      if (warnings.length > 0)
        log(`the worker process logged ${warnings.length} warning/error line(s); the first: ${warnings.slice(0, 3).join(' | ')}`);
      await world.stop();
    }
  }
  if (ONLY.has('ledger')) {
    const entries = num('BENCH_LEDGER_ENTRIES', 250_000, 50_000);
    log(`5. ledger: 8 writers, then verify over ${entries.toLocaleString('en-US')} entries`);
    await attempt('ledger', () => ledgerBench({ entries, seconds: num('BENCH_LEDGER_SECONDS', 10, 3), log }));
  }
  if (ONLY.has('director')) {
    const updates = num('BENCH_DIRECTOR_UPDATES', 100, 20);
    log(`6. Director update latency: ${updates} pause/resume updates`);
    await attempt('director', () => directorBench({ updates, log }));
  }

  const wallSeconds = (performance.now() - t0) / 1000;
  const figures = results.flatMap((r) => r.result.figures);
  console.log('');
  console.log(
    `Aura Orchestra benchmarks — ${started.toISOString()} — ${mc.cpus} × ${mc.cpuModel}, ${mc.memoryGiB} GiB, Node ${mc.node}${QUICK ? ' — QUICK sizes' : ''}`,
  );
  console.log('');
  console.log(formatTable(figures));
  for (const r of results) if (r.result.text?.length) console.log(['', ...r.result.text].join('\n'));
  if (failures.length > 0) console.log(['', 'benchmarks that did not finish:', ...failures.map((f) => `  ${f}`)].join('\n'));
  console.log('');
  console.log(`total ${wallSeconds.toFixed(0)} s; written to bench/results.json`);

  const out = {
    date: started.toISOString(),
    quick: QUICK,
    wallSeconds: Math.round(wallSeconds),
    machine: { ...mc, loadAverageAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))) },
    modelLatencyMs: LATENCY,
    figures,
    details: Object.fromEntries(results.map((r) => [r.name, r.result.details])),
    failures,
  };
  writeFileSync(join(PROJECT_ROOT, 'bench', 'results.json'), `${JSON.stringify(out, null, 2)}\n`);
  return failures.length === 0;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
