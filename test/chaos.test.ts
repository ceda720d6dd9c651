/**
 * The chaos suite, CI-sized (the full one: scripts/chaos.ts). A world of its own — PostgreSQL in
 * its own process, a Temporal dev server with its state in a sqlite file, each worker kind in its
 * own OS process — and two runs that between them kill -9 every worker kind (manager,
 * governance, sandbox, employee:scripted, employee:openai) mid-run, restart PostgreSQL and
 * restart the Temporal server. Every run completes, goes the way the undisturbed run of its PRD
 * went, and leaves exactly its rows: none lost, none duplicated (counted per table and kind, and
 * per attempt). The timings are drawn from a fixed seed; see test/helpers/chaos.ts.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installSdkLogger } from '../workers/logging.js';
import {
  ChaosWorld,
  formatTrial,
  planTrials,
  runBaseline,
  runTrial,
  total,
  type Baseline,
  type PrdKind,
  type TrialLayout,
} from './helpers/chaos.js';

const SEED = 20_251_201;
// Every worker kind killed once, PostgreSQL and Temporal restarted once, in two runs (one of each
// PRD). The PostgreSQL restart strikes while a verification runs (scripts/chaos.ts restarts it at
// any moment, for longer).
const LAYOUTS: TrialLayout[] = [
  { prd: 'wordfreq', targets: ['employee:scripted', { target: 'postgres', during: 'sandbox' }, 'governance', 'manager'] },
  { prd: 'coding', targets: ['employee:openai', 'temporal', 'sandbox'] },
];
const plans = planTrials({ trials: LAYOUTS.length, seed: SEED, layouts: LAYOUTS, maxDownMs: 2_000 });

let world: ChaosWorld;
const baselines = new Map<PrdKind, Baseline>();

beforeAll(async () => {
  installSdkLogger('ERROR');
  world = await ChaosWorld.start({ temporalCli: inject('temporalCli'), workflowBundle: inject('workflowBundlePath') });
  for (const prd of ['wordfreq', 'coding'] as const) {
    const baseline = await runBaseline(world, prd);
    baselines.set(prd, baseline);
    console.log(`undisturbed ${prd} run: ${(baseline.durationMs / 1000).toFixed(1)} s`);
  }
}, 300_000);
afterAll(async () => {
  await world?.teardown();
});

describe('chaos: faults in the middle of runs', () => {
  for (const plan of plans) {
    const what = plan.faults
      .map((f) =>
        f.target === 'postgres' ? 'a PostgreSQL restart' : f.target === 'temporal' ? 'a Temporal restart' : `kill -9 of ${f.target}`,
      )
      .join(', then ');
    it(`${plan.prd} run with ${what}: completes, no governance row lost or duplicated`, async () => {
      const options = { baseline: baselines.get(plan.prd)!, completionTimeoutMs: 240_000 };
      let result = await runTrial(world, plan, options);
      console.log(formatTrial(result));
      // Faults are timed against the undisturbed run; on a machine busier then than now the run may
      // end before one falls due. The trial is then run again, each fault at half its time: the
      // faults that strike are what this test is about, and the missed run is still checked below.
      if (result.status === 'completed' && result.faults.some((f) => f.atMs === null && !f.error)) {
        expect(result.lost).toEqual({});
        expect(result.duplicated).toEqual({});
        result = await runTrial(world, { ...plan, faults: plan.faults.map((f) => ({ ...f, at: f.at / 2 })) }, options);
        console.log(`again, each fault at half its time:\n${formatTrial(result)}`);
      }
      expect(result.faults.map((f) => f.error ?? null)).toEqual(plan.faults.map(() => null));
      expect(
        result.faults.map((f) => f.atMs !== null),
        'every fault struck while the run was going',
      ).toEqual(plan.faults.map(() => true));
      expect(result.status, result.reason ?? '').toBe('completed');
      expect(result.flowChanged).toBeNull();
      expect(result.lost).toEqual({});
      expect(result.duplicated).toEqual({});
      expect(total(result.actual)).toBe(total(baselines.get(plan.prd)!.counted.counts));
      expect(result.notes).toEqual([]);
    }, 330_000);
  }
});
