/**
 * Runs an embedded PostgreSQL in a process of its own until SIGTERM/SIGINT:
 *   node --import tsx scripts/embedded-postgres-server.ts <dataDir> <port> <user> <password> [--ephemeral]
 * Prints "READY <url>" once it accepts connections. With --ephemeral its data is removed when
 * it stops (the test suite's server: test/helpers/global-setup.ts). Started as root, the data
 * lives under AURA_SYSTEM_DIR (see db/embedded-postgres.ts); `<dataDir>.location` names it.
 */
import { loadConfig } from '../config/config.js';
import { startEmbeddedPostgres } from '../db/embedded-postgres.js';

const args = process.argv.slice(2);
const ephemeral = args.includes('--ephemeral');
const [dataDir, port, user, password, ...rest] = args.filter((a) => a !== '--ephemeral');
if (!dataDir || !port || !user || !password || rest.length > 0) {
  console.error('usage: embedded-postgres-server.ts <dataDir> <port> <user> <password> [--ephemeral]');
  process.exit(2);
}
const pg = await startEmbeddedPostgres({
  dataDir,
  port: Number(port),
  user,
  password,
  database: 'postgres',
  ephemeral,
  systemDir: loadConfig().systemDir,
  log: (line) => console.error(`[embedded-postgres] ${line}`),
});
console.log(`READY ${pg.url}`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await pg.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => {}, 1 << 30); // stay alive until told to stop
