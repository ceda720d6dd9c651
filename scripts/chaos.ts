/**
 * The chaos suite: random faults in the middle of real runs, and a count of the governance rows
 * they leave.
 *
 *   node --import tsx scripts/chaos.ts [--trials 20] [--seed N] [--timeout 240] [--keep]
 *
 * Starts a world of its own (PostgreSQL in its own process, a Temporal dev server with its state
 * in a sqlite file, each worker kind in its own OS process, the coding model over the OpenAI
 * protocol), runs each PRD once undisturbed (the expected rows), then the trials: each a fresh
 * database and workers, one run (the scripted sample or the coding model), and one fault or two
 * in the middle of it: kill -9 of a worker kind (manager, governance, sandbox, employee:scripted,
 * employee:openai) and a new process after a random while, a PostgreSQL restart, or a Temporal
 * dev server restart. Every run must complete, and its rows must equal the undisturbed run's:
 * none lost, none duplicated. Prints a line per trial and the totals; exits 1 when any trial
 * failed. The seed is printed: `--seed` replays the same trials. Details and the test-sized
 * version: test/helpers/chaos.ts, test/chaos.test.ts.
 */
import { parseArgs } from 'node:util';
import { installSdkLogger } from '../workers/logging.js';
import {
  ChaosWorld,
  TABLE_HEADER,
  formatTotals,
  formatTrial,
  planTrials,
  runBaseline,
  runTrial,
  totals,
  type Baseline,
  type PrdKind,
  type TrialResult,
} from '../test/helpers/chaos.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    seed: { type: 'string' },
    timeout: { type: 'string', default: '240' },
    keep: { type: 'boolean', default: false },
  },
});
const trials = Number(values.trials);
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const timeoutMs = Number(values.timeout) * 1000;
if (!Number.isInteger(trials) || trials < 1 || !Number.isInteger(seed) || !(timeoutMs > 0)) {
  console.error('usage: chaos.ts [--trials N>=1] [--seed integer] [--timeout seconds] [--keep]');
  process.exit(2);
}

installSdkLogger('ERROR');
const plans = planTrials({ trials, seed });
console.log(`chaos: ${trials} trials, seed ${seed} (replay: node --import tsx scripts/chaos.ts --trials ${trials} --seed ${seed})`);
const started = Date.now();
const world = await ChaosWorld.start({ log: (l) => console.log(l), keep: values.keep });
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  console.log('interrupted: stopping after this trial');
});

const results: TrialResult[] = [];
try {
  const baselines = new Map<PrdKind, Baseline>();
  for (const prd of new Set(plans.map((p) => p.prd))) {
    const b = await runBaseline(world, prd, { completionTimeoutMs: timeoutMs });
    baselines.set(prd, b);
    const rows = Object.values(b.counted.counts).reduce((a, c) => a + c, 0);
    console.log(
      `undisturbed ${prd} run: ${(b.durationMs / 1000).toFixed(1)}s, ${rows} governance rows (${Object.entries(b.counted.counts)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`,
    );
  }
  console.log('');
  console.log(TABLE_HEADER);
  for (const plan of plans) {
    if (interrupted) break;
    const result = await runTrial(world, plan, { baseline: baselines.get(plan.prd)!, completionTimeoutMs: timeoutMs });
    results.push(result);
    console.log(formatTrial(result));
  }
} finally {
  // A failed trial's workers' logs stay for a look.
  await world.teardown({ keep: !results.every((r) => r.ok) });
}
const t = totals(results);
console.log('');
console.log(formatTotals(t));
console.log(
  `seed ${seed}; ${((Date.now() - started) / 60_000).toFixed(1)} minutes${values.keep || !t.ok ? `; workers' logs in ${world.dir}` : ''}`,
);
process.exit(t.ok && results.length === trials ? 0 : 1);
