// Worker for the `aura-governance` task queue.
import { runWorkers } from './run-workers.js';

await runWorkers(['governance']);
