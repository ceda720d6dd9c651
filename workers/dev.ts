// All-in-one development worker: every queue (manager, governance, sandbox, each provider in
// the employee registry) in one process.
import { runWorkers } from './run-workers.js';

await runWorkers('all');
