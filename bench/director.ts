/**
 * Director command latency, on the embedded defaults (a scratch database `aura_bench_director`,
 * the dev server on free ports, as `aura demo` runs it): the sample PRD's run
 * is approved, then paused and resumed by turns; each sample is the time from sending the
 * Update to a `status` query that shows its effect (paused / no longer paused). The Update
 * itself answers only once the run has recorded the action, so this is the whole path: client
 * → server → workflow → governance activity (PostgreSQL + ledger) → answer → query.
 * A run that finishes between samples is replaced by a new one.
 * Part of `npm run bench` (bench/run.ts); alone it prints p50/p95 beside the goal (p95 ≤ 500 ms)
 * and writes bench/results-director.json.
 * Usage: node --import tsx bench/director.ts [--updates N]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, loadDotEnv, PROJECT_ROOT } from '../config/config.js';
import { startStack } from '../local/stack.js';
import { approvePlan, pauseRun, resumeRun, runStatus, submitRun } from '../director/runs.js';
import { readPrd, SAMPLE_PRD } from '../client/cli.js';
import { freePort } from '../test/helpers/free-port.js';
import { installSdkLogger } from '../workers/logging.js';
import { formatTable, type BenchResult } from './figures.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const GOAL_P95_MS = 500;

export async function directorBench(opts: { updates: number; log?: (line: string) => void }): Promise<BenchResult> {
  const UPDATES = opts.updates;
  const log = opts.log ?? ((line: string) => console.log(`[bench] ${line}`));
  const config = loadConfig({
    ...process.env,
    AURA_TEMPORAL_PORT: String(await freePort()),
    AURA_TEMPORAL_UI_PORT: String(await freePort()),
  });
  log('starting PostgreSQL, the Temporal dev server and the workers…');
  const stack = await startStack(config, () => {}, { databaseName: 'aura_bench_director', recreateDatabase: true });
  const client = stack.client;
  const prd = readPrd(SAMPLE_PRD);
  const samples: number[] = [];
  let runs = 0;

  const newRun = async () => {
    runs += 1;
    const { runId } = await submitRun(client, { prd, project: 'bench-director', options: { director: 'bench' } });
    for (;;) {
      if ((await runStatus(client, runId)).status === 'awaiting_approval') break;
      await sleep(50);
    }
    await approvePlan(client, runId, 'bench', 'benchmark');
    return runId;
  };

  try {
    let runId = await newRun();
    let pause = true;
    while (samples.length < UPDATES) {
      const started = performance.now();
      try {
        if (pause) await pauseRun(client, runId, 'bench', 'benchmark');
        else await resumeRun(client, runId, 'bench', 'benchmark');
      } catch {
        // The run finished (or is between phases that cannot be paused): a new one.
        const s = (await runStatus(client, runId)).status;
        if (s === 'paused') pause = false;
        else if (['completed', 'failed', 'rejected', 'cancelled'].includes(s)) {
          runId = await newRun();
          pause = true;
        } else await sleep(20);
        continue;
      }
      const status = (await runStatus(client, runId)).status;
      if ((status === 'paused') !== pause)
        throw new Error(`the ${pause ? 'pause' : 'resume'} was answered but the status query shows ${status}`);
      samples.push(performance.now() - started);
      pause = !pause;
      if (samples.length % 20 === 0) log(`${samples.length}/${UPDATES} updates`);
    }
  } finally {
    await stack.stop();
  }

  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p95 = percentile(sorted, 95);
  const max = sorted[sorted.length - 1]!;
  const note = `${samples.length} updates, alternately pause and resume, over ${runs} run(s) of the sample PRD (scripted employees); max ${max.toFixed(0)} ms`;
  return {
    figures: [
      { bench: '6', key: 'directorP50Ms', label: 'Director update → visible effect, p50', value: p50, unit: 'ms', note },
      {
        bench: '6',
        key: 'directorP95Ms',
        label: 'Director update → visible effect, p95',
        value: p95,
        unit: 'ms',
        goal: { kind: 'max', value: GOAL_P95_MS },
      },
    ],
    details: {
      date: new Date().toISOString(),
      updates: samples.length,
      runs,
      p50Ms: Math.round(p50),
      p95Ms: Math.round(p95),
      maxMs: Math.round(max),
      goalP95Ms: GOAL_P95_MS,
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--updates');
  installSdkLogger('ERROR');
  loadDotEnv();
  directorBench({ updates: i >= 0 ? Number(args[i + 1]) : 100 }).then(
    ({ figures, details }) => {
      console.log('');
      console.log(formatTable(figures));
      writeFileSync(join(PROJECT_ROOT, 'bench', 'results-director.json'), `${JSON.stringify(details, null, 2)}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
