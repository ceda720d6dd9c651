/**
 * Runs an embedded PostgreSQL in a process of its own until SIGTERM/SIGINT:
 *   node --import tsx scripts/embedded-postgres-server.ts <dataDir> <port> <user> <password> [--ephemeral]
 * Prints "READY <url>" once it accepts connections. With --ephemeral its data is removed when
 * it stops (the test suite's server: test/helpers/global-setup.ts). Started as root, the data
 * lives under AURA_SYSTEM_DIR (see db/embedded-postgres.ts); `<dataDir>.location` names it.
 * SIGTERM/SIGINT at any time after this module starts running, READY printed or not, stops the
 * server (once it is up) and exits 0.
 */
import { loadConfig } from '../config/config.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../db/embedded-postgres.js';

// The handlers go in before anything starts and, above all, before READY is printed: until a
// handler is installed SIGTERM has its default action and ends this process on the spot (exit
// by signal), leaving PostgreSQL running without us and an ephemeral server's data in place.
// Whoever reads READY may send SIGTERM at once, while this process is still between writing
// READY and its next line (under load, the reader often runs first).
let pg: RunningPostgres | null = null;
let stopRequested = false;
let stopping = false;
const stop = async () => {
  stopRequested = true;
  if (!pg || stopping) return; // still starting: stopped as soon as it is up
  stopping = true;
  await pg.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

const args = process.argv.slice(2);
const ephemeral = args.includes('--ephemeral');
const [dataDir, port, user, password, ...rest] = args.filter((a) => a !== '--ephemeral');
if (!dataDir || !port || !user || !password || rest.length > 0) {
  console.error('usage: embedded-postgres-server.ts <dataDir> <port> <user> <password> [--ephemeral]');
  process.exit(2);
}
setInterval(() => {}, 1 << 30); // stay alive until told to stop
try {
  pg = await startEmbeddedPostgres({
    dataDir,
    port: Number(port),
    user,
    password,
    database: 'postgres',
    ephemeral,
    systemDir: loadConfig().systemDir,
    log: (line) => console.error(`[embedded-postgres] ${line}`),
  });
} catch (err) {
  console.error(`[embedded-postgres] ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
}
if (stopRequested)
  await stop(); // told to stop while starting: never READY
else console.log(`READY ${pg.url}`);
