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
    // Two files at a time suits a 2-core machine; the longest start first (test/suite/durations.json).
    maxWorkers: 2,
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
