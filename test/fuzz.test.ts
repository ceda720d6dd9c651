/**
 * The fuzz suite at CI size (scripts/fuzz.ts runs 1,000): one generated hostile output of every
 * trick of every category (103), through the whole Auditor path — stored as a model run, verified in
 * the sandbox, judged and recorded by the Auditor activity — must each be recorded as
 * violations, with no crash, no stall and nothing left on the host by the symlink tricks.
 * Two worker processes; sandbox runs shared between outputs with the same files: about 35 s on
 * two cores.
 */
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OpenDatabase } from '../db/open.js';
import { isolationSupport, sandboxMode } from '../activities/sandbox/isolation-probe.js';
import { CATEGORIES, EVERY_VARIANT_ONCE, KNOWN_GAPS, variantsOf } from './fixtures/fuzz/generator.js';
import { formatReport, openFuzzDatabase, runFuzz, type FuzzReport } from './fixtures/fuzz/harness.js';

const COUNT = EVERY_VARIANT_ONCE;
const SEED = 20_261_201;

// A database of its own: the cases run in worker processes, which connect by URL.
let database: OpenDatabase | null = null;
beforeAll(async () => {
  database = await openFuzzDatabase(inject('pgServerUrl'), tmpdir());
}, 60_000);
afterAll(async () => database?.close());
/** Where no sandbox will run code, every verification fails its activity: nothing to fuzz. */
const refused = sandboxMode() === 'refused' ? `SKIPPED: the sandbox refuses to run code here (${isolationSupport().problem})` : null;

let report: FuzzReport | null = null;
async function fuzzed(): Promise<FuzzReport> {
  if (!report) {
    report = await runFuzz({ databaseUrl: database!.url, count: COUNT, seed: SEED, concurrency: 2 });
    console.log(formatReport(report).join('\n'));
  }
  return report;
}
const described = (r: FuzzReport, pick: (x: FuzzReport['results'][number]) => boolean) =>
  r.results
    .filter(pick)
    .map(
      (x) =>
        `#${x.index} ${x.category} / ${x.variant}: ${x.crash ?? (x.stalled ? 'stalled' : x.recorded ? `types [${x.types.join(', ')}]` : 'no verdict')}`,
    )
    .join('\n');

describe.skipIf(refused !== null)(`fuzz: ${COUNT} hostile outputs through the Auditor path${refused ? ` — ${refused}` : ''}`, () => {
  it('meets every category and every trick', async () => {
    const r = await fuzzed();
    expect(r.count).toBe(COUNT);
    for (const c of CATEGORIES) {
      const seen = new Set(r.results.filter((x) => x.category === c).map((x) => x.variant));
      expect([...seen].sort(), c).toEqual(variantsOf(c).sort());
    }
  }, 240_000);

  it('records every case as violations, with no crash and no stall (known gaps aside)', async () => {
    const r = await fuzzed();
    const rest = r.results.filter((x) => !x.knownGap);
    expect(
      described(r, (x) => x.crash !== null),
      'crashes',
    ).toBe('');
    expect(
      described(r, (x) => x.stalled),
      'stalls',
    ).toBe('');
    expect(
      described(r, (x) => !x.knownGap && !(x.recorded && x.violations > 0)),
      'not recorded as violations',
    ).toBe('');
    expect(rest.length).toBeGreaterThan(COUNT * 0.9);
    // Each verdict can be carried back to the workflow.
    expect(Math.max(...r.results.map((x) => x.verdictBytes))).toBeLessThan(2 * 1024 * 1024);
  }, 240_000);

  it('leaves nothing on the host: no file written through a symlink, the host secret untouched', async () => {
    const r = await fuzzed();
    expect(r.escapes).toEqual([]);
    expect(r.byCategory.symlink!.sandboxRuns).toBeGreaterThan(0);
  }, 240_000);

  it('judges a raw NUL or lone surrogate as what the model wrote, not as its stored copy', async () => {
    const r = await fuzzed();
    expect(Object.keys(KNOWN_GAPS)).toEqual([]);
    const raw = r.results.filter((x) => /raw (NUL|lone surrogate)/.test(x.variant));
    expect(raw.length).toBeGreaterThan(0);
    expect(described(r, (x) => /raw (NUL|lone surrogate)/.test(x.variant) && !(x.recorded && x.violations > 0))).toBe('');
  }, 240_000);
});
