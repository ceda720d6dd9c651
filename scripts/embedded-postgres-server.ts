/**
 * Runs an embedded PostgreSQL in a process of its own until SIGTERM/SIGINT:
 *   node --import tsx scripts/embedded-postgres-server.ts <dataDir> <port> <user> <password>
 * Prints "READY <url>" once it accepts connections. The test suite uses it so that the
 * embedded-postgres package's exit hooks (which end their process with code 0 on
 * 'beforeExit') live here and not in the test runner, whose exit code must stay honest.
 */
import { startEmbeddedPostgres } from '../db/embedded-postgres.js';

const [dataDir, port, user, password] = process.argv.slice(2);
if (!dataDir || !port || !user || !password) {
  console.error('usage: embedded-postgres-server.ts <dataDir> <port> <user> <password>');
  process.exit(2);
}
const pg = await startEmbeddedPostgres({ dataDir, port: Number(port), user, password, database: 'postgres' });
console.log(`READY ${pg.url}`);
const stop = async () => {
  await pg.stop();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
setInterval(() => {}, 1 << 30); // stay alive until told to stop
