// Worker for the `aura-employee-openai` task queue (concurrency and rate limit from the registry).
import { runWorkers } from './run-workers.js';

await runWorkers(['employee:openai']);
