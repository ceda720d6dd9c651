/**
 * How long each test file took (seconds, all its tests and hooks), as measured by the last run
 * that wrote test/suite/durations.json (`AURA_TEST_DURATIONS=write npm test`). The sequencer
 * starts the longest files first, so that two workers finish together instead of one waiting
 * on a long file started last; the reporter prints the ten slowest files of every run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import type { Reporter, TestModule } from 'vitest/node';

const ROOT = join(new URL('.', import.meta.url).pathname, '..', '..');
const FILE = join(ROOT, 'test', 'suite', 'durations.json');

function recorded(): Record<string, number> {
  if (!existsSync(FILE)) return {};
  try {
    return JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

/** Longest recorded first; a file with no record yet first of all (it may be long). */
export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = recorded();
    const of = (f: TestSpecification) => seconds[relative(ROOT, f.moduleId)] ?? Number.POSITIVE_INFINITY;
    return [...files].sort((a, b) => of(b) - of(a));
  }
}

/** Prints the ten slowest files at the end; with AURA_TEST_DURATIONS=write, records every file's time. */
export default class SlowestFiles implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const rows = modules
      .map((m) => ({ file: relative(ROOT, m.moduleId), seconds: m.diagnostic().duration / 1000, tests: [...m.children.allTests()].length }))
      .sort((a, b) => b.seconds - a.seconds);
    if (rows.length === 0) return;
    const lines = rows.slice(0, 10).map((r) => `  ${r.seconds.toFixed(1).padStart(7)} s  ${String(r.tests).padStart(4)} tests  ${r.file}`);
    console.log(`\nThe ten slowest test files (all their tests and hooks):\n${lines.join('\n')}`);
    if (process.env.AURA_TEST_DURATIONS === 'write') {
      const all = { ...recorded(), ...Object.fromEntries(rows.map((r) => [r.file, Math.round(r.seconds * 10) / 10])) };
      const sorted = Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
      writeFileSync(FILE, `${JSON.stringify(sorted, null, 2)}\n`);
      console.log(`(durations written to ${relative(ROOT, FILE)})`);
    }
  }
}
