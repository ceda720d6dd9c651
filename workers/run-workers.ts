/**
 * Runs the workers for some task queues in this process until SIGINT/SIGTERM, then drains
 * them. Every entry in workers/ is a one-line call to this.
 */
import { NativeConnection } from '@temporalio/worker';
import { loadConfig, loadDotEnv } from '../config/config.js';
import { openDatabase } from '../db/open.js';
import { workerRoles, type QueueRole } from './create-worker.js';
import { installSdkLogger } from './logging.js';
import { registerSearchAttributes } from './search-attributes.js';
import { startWorkers } from './start-workers.js';
import { ConfigError } from '../errors/index.js';

export async function runWorkers(roles: QueueRole[] | 'all'): Promise<void> {
  const log = (line: string) => console.log(`[aura-worker] ${line}`);
  installSdkLogger('INFO');
  loadDotEnv();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const resolved: QueueRole[] = roles === 'all' ? workerRoles(config) : roles;

  const database = await openDatabase(config, log);
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.port}`;
  // The Manager sets Aura's search attributes; make sure the server knows them (idempotent).
  if (resolved.includes('manager')) await registerSearchAttributes(address, config.temporal.namespace);
  const connection = await NativeConnection.connect({ address });
  const workers = await startWorkers(resolved, { connection, namespace: config.temporal.namespace, db: database.db, config });
  log(`polling ${resolved.join(', ')} on ${address} (namespace ${config.temporal.namespace}); pid ${process.pid}`);

  const stop = () => void workers.stop().catch(() => {}); // a failure surfaces from `running`
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await workers.running;
  } finally {
    await connection.close();
    await database.close();
    log('stopped');
  }
}
