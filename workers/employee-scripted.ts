// Worker for the `aura-employee-scripted` task queue (the deterministic demo/test provider).
import { runWorkers } from './run-workers.js';

await runWorkers(['employee:scripted']);
