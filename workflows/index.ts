// The workflow bundle's entry: every workflow the Manager runs.
export { prdRun } from './prd-run.js';
export { taskRun } from './task-run.js';
export { retentionPurge } from './retention-purge.js';
