/**
 * The benchmarks' worker process: every queue of the platform, as workers/dev.ts runs them
 * (workers/run-workers.ts), plus the bare baseline's worker (bench/bare/) on its own queue and
 * bundle. Before any worker exists, the Temporal runtime is installed with a Prometheus
 * endpoint (BENCH_METRICS_ADDRESS) so the parent can read where the time goes: activity
 * execution latencies per activity type and queue, workflow task latencies.
 * Configured by the environment, like any worker; started by bench/platform.ts.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../config/config.js';
import { runWorkers } from '../workers/run-workers.js';
import { BARE_QUEUE, BARE_WORKFLOWS_PATH, createBareActivities } from './bare/activities.js';

const EXPECTED = ['No activities registered', 'No workflows registered'];
Runtime.install({
  logger: new DefaultLogger('WARN', (entry) => {
    if (!EXPECTED.some((m) => entry.message.startsWith(m))) console.error(`[temporal ${entry.level.toLowerCase()}] ${entry.message}`);
  }),
  telemetryOptions: { metrics: { prometheus: { bindAddress: process.env.BENCH_METRICS_ADDRESS ?? '127.0.0.1:9464' } } },
});

const config = loadConfig();
const address = config.temporal.address ?? `127.0.0.1:${config.temporal.port}`;
const connection = await NativeConnection.connect({ address });
const bare = await Worker.create({
  connection,
  namespace: config.temporal.namespace,
  taskQueue: BARE_QUEUE,
  workflowsPath: BARE_WORKFLOWS_PATH,
  activities: createBareActivities({
    apiKey: config.providers.openaiApiKey ?? 'none',
    baseUrl: config.providers.openaiBaseUrl,
    model: 'fixed-latency-coder',
  }),
});
const bareRunning = bare.run();
console.log(`[bench-worker] bare baseline polling ${BARE_QUEUE}`);

try {
  // Prints "polling …" once the platform's workers run; returns when they have drained.
  await runWorkers('all');
} finally {
  if (bare.getState() === 'RUNNING') bare.shutdown();
  await bareRunning;
  await connection.close();
}
