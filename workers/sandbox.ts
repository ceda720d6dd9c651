// Worker for the `aura-sandbox` task queue.
import { runWorkers } from './run-workers.js';

await runWorkers(['sandbox']);
