/**
 * Histories recorded from real runs (test/histories/, committed) must replay against today's
 * workflow code without a determinism error. A change that breaks this needs `patched()`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, inject } from 'vitest';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../config/config.js';
import { installSdkLogger } from '../workers/logging.js';

const dir = join(PROJECT_ROOT, 'test', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
/** `{ workflowId, history }`: the history in proto3 JSON, as `temporal workflow show --output json` writes it. */
const load = (file: string): { workflowId: string; history: unknown } => JSON.parse(readFileSync(join(dir, file), 'utf8'));
const replay = (history: unknown, workflowId: string) =>
  Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, workflowId);

describe('replay of recorded histories', () => {
  installSdkLogger('ERROR');

  it('has recorded histories of both workflows', () => {
    expect(files.some((f) => f.startsWith('prd-run-'))).toBe(true);
    expect(files.some((f) => f.startsWith('task-run-'))).toBe(true);
    // A run with a repair round and a repair task after a failed final verification.
    expect(files).toEqual(expect.arrayContaining(['prd-run-v3-repair.json', 'task-run-v3-repair.json']));
    // A retention purge through every step (request, horizon, purge, checkpoint after).
    expect(files).toContain('retention-purge-v4.json');
  });

  for (const file of files) {
    it(`replays ${file} without a determinism error`, async () => {
      const { workflowId, history } = load(file);
      await expect(replay(history, workflowId)).resolves.toBeUndefined();
    });
  }

  it('reports a determinism error when code and history disagree', async () => {
    // The guard itself must be able to fail: under another workflow id the run's code
    // schedules children with other ids than the history holds.
    const { history } = load(files.find((f) => f.startsWith('prd-run-'))!);
    await expect(replay(history, 'prd-run-some-other-run')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
