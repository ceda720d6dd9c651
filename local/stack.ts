/**
 * The whole platform in one process, on embedded defaults: PostgreSQL (embedded unless
 * DATABASE_URL), Temporal (a dev server unless TEMPORAL_ADDRESS) and a worker for every queue.
 * `aura up` and `aura demo` run this; production runs the pieces separately (workers/).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { AuraConfig } from '../config/config.js';
import { ensurePrivateHome, openDatabase, type OpenDatabase } from '../db/open.js';
import { workerRoles, type QueueRole } from '../workers/create-worker.js';
import { registerSearchAttributes } from '../workers/search-attributes.js';
import { startWorkers } from '../workers/start-workers.js';
import { startDevServer } from './temporal-server.js';
import { hashApiKey } from '../config/config.js';
import { startApi } from '../api/server.js';
import { commandSigningInterceptor } from '../director/command-signer.js';

export interface Stack {
  database: OpenDatabase;
  temporalAddress: string;
  uiUrl: string | null;
  client: Client;
  roles: QueueRole[];
  /** The Manager API and dashboard (null when not asked for), and how to sign in to it. */
  api: { url: string; signIn: string } | null;
  /** Resolves when the workers stop. */
  running: Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(
  config: AuraConfig,
  log: (line: string) => void,
  opts: { databaseName?: string; recreateDatabase?: boolean; api?: boolean } = {},
): Promise<Stack> {
  const cleanup: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const fn of cleanup.reverse()) await fn().catch((err) => log(`while stopping: ${String(err)}`));
  };
  try {
    // AURA_HOME holds the database passwords, Temporal's state and the workspaces: this user's alone.
    await ensurePrivateHome(config.home, log);
    const database = await openDatabase(config, log, { databaseName: opts.databaseName, recreate: opts.recreateDatabase });
    cleanup.push(() => database.close());

    let address: string;
    let uiUrl: string | null = null;
    if (config.temporal.address) {
      address = config.temporal.address;
      await registerSearchAttributes(address, config.temporal.namespace);
      log(`using Temporal at ${address}`);
    } else {
      log(`starting the Temporal dev server on 127.0.0.1:${config.temporal.port} (state in ${join(config.home, 'temporal.db')})`);
      const server = await startDevServer({
        cliPath: config.temporal.cliPath,
        dbFile: join(config.home, 'temporal.db'),
        port: config.temporal.port,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        log,
      });
      cleanup.push(() => server.stop());
      address = server.address;
      uiUrl = server.uiUrl;
    }

    const connection = await NativeConnection.connect({ address });
    cleanup.push(() => connection.close());
    const roles: QueueRole[] = workerRoles(config);
    log('bundling workflows and starting workers…');
    const workers = await startWorkers(roles, { connection, namespace: config.temporal.namespace, db: database.db, config });
    // Workers first: drain them before their connection and database go away.
    cleanup.push(() => workers.stop());

    const clientConnection = await Connection.connect({ address });
    cleanup.push(() => clientConnection.close());
    // The Director's commands from here (the API, the demo) carry their proof of identity.
    const client = new Client({
      connection: clientConnection,
      namespace: config.temporal.namespace,
      interceptors: { workflow: [commandSigningInterceptor({ keyFile: config.directorCommands.keyFile, channel: 'api' })] },
    });

    let api: Stack['api'] = null;
    if (opts.api) {
      const { config: withKeys, signIn } = apiKeys(config);
      const running = await startApi({
        client,
        db: database.db,
        config: { ...withKeys, manager: { ...withKeys.manager, temporalUiUrl: withKeys.manager.temporalUiUrl ?? uiUrl } },
      });
      cleanup.push(() => running.close());
      api = { url: running.url, signIn };
    }
    return { database, temporalAddress: address, uiUrl, client, roles, api, running: workers.running, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The keys the local API accepts: the configured ones, or (none configured) a key of this
 * machine's Director kept in AURA_HOME/manager-api-key (mode 600), made on first use.
 * The key itself is never printed: the sign-in note names where it is.
 */
function apiKeys(config: AuraConfig): { config: AuraConfig; signIn: string } {
  if (config.manager.keys.length > 0) {
    return {
      config,
      signIn: config.manager.apiKey
        ? `sign in with MANAGER_API_KEY (as ${config.manager.keys[0]!.name})`
        : 'sign in with a key of MANAGER_API_KEYS',
    };
  }
  const file = join(config.home, 'manager-api-key');
  if (!existsSync(file)) {
    mkdirSync(config.home, { recursive: true });
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  }
  const key = readFileSync(file, 'utf8').trim();
  return {
    config: { ...config, manager: { ...config.manager, keys: [{ name: config.director, role: 'director', sha256: hashApiKey(key) }] } },
    signIn: `sign in with the key in ${file} (as ${config.director}; set MANAGER_API_KEY to choose one)`,
  };
}
