/**
 * A test world whose employees speak the OpenAI wire protocol to the coding model of
 * test/fixtures/coding-model.ts (registry: test/fixtures/converging/employees.json).
 */
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { PROJECT_ROOT } from '../../config/config.js';
import { FakeModelServer } from '../fixtures/fake-model-server.js';
import { codingModel } from '../fixtures/coding-model.js';
import { startTestEnv, type TestEnv } from './env.js';

export const CODING_PRD =
  '# Word tally\n\nA module that tallies the words of a text, and a report of the most frequent words built on it.\n';
export const CODING_EMPLOYEES = join(PROJECT_ROOT, 'test', 'fixtures', 'converging', 'employees.json');

export async function startCodingEnv(): Promise<{ env: TestEnv; server: FakeModelServer; close(): Promise<void> }> {
  const server = new FakeModelServer().setDefault(codingModel());
  const started = await server.start();
  const env = await startTestEnv({
    workers: false,
    env: { AURA_EMPLOYEES_FILE: CODING_EMPLOYEES, OPENAI_API_KEY: 'sk-test-coding-model', OPENAI_BASE_URL: `${started.url}/v1` },
  });
  await env.startWorkers(['manager', 'governance', 'sandbox', 'employee:openai']);
  return {
    env,
    server,
    close: async () => {
      await env.teardown();
      await started.close();
    },
  };
}

/** Task calls of a run in order, with their round, attempt and prompt. */
export async function taskCalls(env: TestEnv, runId: string) {
  return env.db
    .selectFrom('model_runs')
    .innerJoin('task_queue', 'task_queue.id', 'model_runs.task_id')
    .select([
      'task_queue.task_key',
      'model_runs.employee_id',
      'model_runs.task_attempt',
      'model_runs.round',
      'model_runs.prompt',
      'model_runs.prompt_version',
      'model_runs.error',
      'model_runs.input_tokens',
      'model_runs.output_tokens',
    ])
    .where('model_runs.run_id', '=', runId)
    .where('model_runs.kind', '=', 'task')
    .where('model_runs.error', 'is', null)
    .orderBy('model_runs.created_at')
    .execute();
}

/** One coding world for a test file: started before its tests, closed after them. */
export function useCodingEnv(): { readonly env: TestEnv; readonly server: FakeModelServer } {
  let world: Awaited<ReturnType<typeof startCodingEnv>> | null = null;
  beforeAll(async () => {
    world = await startCodingEnv();
  }, 120_000);
  afterAll(async () => world?.close());
  return {
    get env() {
      return world!.env;
    },
    get server() {
      return world!.server;
    },
  };
}
