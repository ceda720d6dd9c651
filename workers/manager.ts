// Worker for the `aura-manager` task queue.
import { runWorkers } from './run-workers.js';

await runWorkers(['manager']);
