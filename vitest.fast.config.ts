import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The inner loop, `npm run test:fast` (about two minutes): the pure rules, the workflows against
 * stub activities, the recorded histories' replay, the record's own checks, and one end-to-end
 * run on the real stack. `npm test` runs everything (docs/testing.md).
 */
export const FAST = [
  'test/governance/**/*.test.ts',
  'test/workflows/**/*.test.ts',
  'test/replay.test.ts',
  'test/workflow-boundary.test.ts',
  'test/config.test.ts',
  'test/details.test.ts',
  'test/storable.test.ts',
  'test/parsed-output.test.ts',
  'test/providers.test.ts',
  'test/api-security.test.ts',
  'test/director-view.test.ts',
  'test/dashboard-view.test.ts',
  'test/ledger.test.ts',
  'test/least-privilege.test.ts',
  'test/hr-keys.test.ts',
  'test/hr-retention.test.ts',
  'test/model-call-attempts.test.ts',
  'test/e2e-run.test.ts',
];

// Not mergeConfig: it would add these to the whole suite's include instead of replacing it.
export default defineConfig({ ...base, test: { ...base.test, include: FAST } });
