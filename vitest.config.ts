import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { LongestFirst } from './test/suite/durations.js';

/**
 * The whole suite (`npm test`, what CI runs). `npm run test:fast` is the inner loop
 * (vitest.fast.config.ts); docs/testing.md says what runs where and how long it takes.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Files at once: twice the cores (AURA_TEST_WORKERS to choose). Most of a file's time is spent
    // waiting (servers starting, workflow tasks, heartbeats, Chromium): the whole suite takes about
    // 450 CPU-seconds, so two files at a time left the two cores idle more than half the time.
    // The longest files start first (test/suite/durations.json).
    maxWorkers: Number(process.env.AURA_TEST_WORKERS) || 2 * availableParallelism(),
    // A worker process keeps its imported modules from one file to the next (each file still has
    // its own Temporal server, database and workers): the project's TypeScript is loaded once
    // per worker, not once per file.
    isolate: false,
    sequence: { sequencer: LongestFirst },
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    reporters: ['default', './test/suite/durations.ts'],
  },
});
