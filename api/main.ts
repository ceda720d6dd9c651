/**
 * The Manager API as a service of its own (like a worker entry): the Director's API and
 * dashboard on MANAGER_HOST:MANAGER_PORT (default 127.0.0.1:8000), over the configured
 * database and Temporal. `aura up` runs the same API inside its one process.
 *
 *   node --import tsx api/main.ts     (npm run manager-api)
 */
import { loadConfig, loadDotEnv } from '../config/config.js';
import { openDatabase } from '../db/open.js';
import { connectClient } from '../director/runs.js';
import { installSdkLogger } from '../workers/logging.js';
import { ConfigError, UserError } from '../errors/index.js';
import { startApi } from './server.js';

const log = (line: string) => console.log(`[aura-api] ${line}`);

async function main(): Promise<number> {
  installSdkLogger('WARN');
  loadDotEnv();
  const config = loadConfig();
  if (config.manager.keys.length === 0) {
    throw new UserError('no API key is configured: set MANAGER_API_KEY, or MANAGER_API_KEYS (name:role:sha256), in .env');
  }
  // The workers apply migrations and sync the registry; the API reads the database as it is.
  const database = await openDatabase(config, log, { migrate: false });
  const client = await connectClient(config.temporal.address ?? `127.0.0.1:${config.temporal.port}`, config.temporal.namespace, {
    keyFile: config.directorCommands.keyFile,
    channel: 'api',
  });
  const api = await startApi({ client, db: database.db, config, logger: true });
  log(
    `dashboard and API at ${api.url}/ (${config.manager.keys.length} key(s): ${[...new Set(config.manager.keys.map((k) => `${k.name} (${k.role})`))].join(', ')})`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log('stopping…');
  await api.close();
  await client.connection.close();
  await database.close();
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  if (err instanceof ConfigError || err instanceof UserError) {
    console.error(`[aura-api] ${err.message}`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
