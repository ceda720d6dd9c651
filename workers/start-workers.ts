/**
 * Starts the workers for some task queues on one connection and drains them on stop. The one
 * start/drain loop: the worker entries (run-workers.ts), the local stack (local/stack.ts) and
 * the tests all use it.
 */
import type { Worker } from '@temporalio/worker';
import { createWorker, type QueueRole, type WorkerDeps } from './create-worker.js';

export interface RunningWorkers {
  roles: QueueRole[];
  /** Resolves when every worker has stopped; rejects when one fails. */
  running: Promise<void>;
  /** Shuts the workers down and waits until their in-flight tasks are drained. */
  stop(): Promise<void>;
}

export async function startWorkers(roles: QueueRole[], deps: WorkerDeps): Promise<RunningWorkers> {
  const workers: Worker[] = [];
  // Created workers that never ran hold nothing to drain.
  for (const role of roles) workers.push(await createWorker(role, deps));
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return {
    roles,
    running,
    async stop() {
      shutdown();
      await running;
    },
  };
}
