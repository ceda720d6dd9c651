/**
 * Opens the application database: DATABASE_URL (or POSTGRES_HOST and friends) when set, else
 * the embedded PostgreSQL under AURA_HOME, started here unless another Aura process already
 * runs it. Migrations are applied and the employee registry synced before anyone uses it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { z } from 'zod';
import type { AuraConfig } from '../config/config.js';
import { createDb, type Db } from './connect.js';
import { dropDatabase, ensureDatabase, startEmbeddedPostgres } from './embedded-postgres.js';
import { migrateToLatest } from './migrate.js';
import { syncRegistry, type RegistryEntry } from './repositories/employees.js';

export interface OpenDatabase {
  db: Db;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openDatabase(
  config: AuraConfig,
  log: (line: string) => void,
  opts: { databaseName?: string; recreate?: boolean; migrate?: boolean } = {},
): Promise<OpenDatabase> {
  let serverUrl: URL; // any database on the server; only the path changes below
  let stopEmbedded: (() => Promise<void>) | null = null;
  if (config.database.url) {
    serverUrl = new URL(config.database.url);
  } else {
    const port = config.database.embeddedPort;
    if (await portAnswers(port)) {
      log(`using the embedded PostgreSQL already running on 127.0.0.1:${port}`);
    } else {
      log(`starting embedded PostgreSQL on 127.0.0.1:${port} (data in ${join(config.home, 'postgres')})`);
      const pg = await startEmbeddedPostgres({
        dataDir: join(config.home, 'postgres'),
        port,
        user: config.database.user,
        password: config.database.password,
        database: 'postgres',
        systemDir: config.systemDir,
        log,
      });
      stopEmbedded = pg.stop;
    }
    serverUrl = new URL(`postgres://127.0.0.1:${port}/postgres`);
    serverUrl.username = encodeURIComponent(config.database.user);
    serverUrl.password = encodeURIComponent(config.database.password);
  }
  const name = opts.databaseName ?? (config.database.url ? decodeURIComponent(serverUrl.pathname.slice(1)) : config.database.name);
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  let db: Db | null = null;
  try {
    if (opts.recreate) await dropDatabase(admin.toString(), name);
    if (opts.recreate || opts.databaseName || !config.database.url) await ensureDatabase(admin.toString(), name);
    db = createDb(url.toString());
    if (opts.migrate !== false) {
      const applied = await migrateToLatest(db);
      if (applied.length > 0) log(`database ${name} migrated: ${applied.join(', ')}`);
      await syncRegistry(db, loadRegistry(config.employeesFile), config.providers.enabled);
    }
  } catch (err) {
    await db?.destroy();
    await stopEmbedded?.();
    throw err;
  }
  const opened = db;
  return {
    db: opened,
    url: url.toString(),
    embedded: stopEmbedded !== null,
    close: async () => {
      await opened.destroy();
      await stopEmbedded?.();
    },
  };
}

const registrySchema = z.object({
  employees: z
    .array(
      z.object({
        id: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, 'ids are lowercase letters, digits, ".", "_" or "-"'),
        provider: z.string().min(1),
        model: z.string().min(1),
        capabilities: z.array(z.string().min(1)).min(1),
        initialReputation: z.number().min(0).max(100).optional(),
        pricePerMillionTokens: z.object({ input: z.number().min(0), output: z.number().min(0) }).optional(),
        concurrency: z.number().int().min(1).max(1_000).optional(),
        rateLimitPerMinute: z.number().int().min(1).optional(),
        contextTokens: z.number().int().min(1_000).max(2_000_000).optional(),
      }),
    )
    .min(1),
});

export function loadRegistry(file: string): RegistryEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`employee registry ${file}: ${(err as Error).message}`);
  }
  const parsed = registrySchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`employee registry ${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data.employees;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
