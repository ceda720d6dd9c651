/**
 * Opens the application database: DATABASE_URL (or POSTGRES_HOST and friends) when set, else
 * the embedded PostgreSQL under AURA_HOME, started here unless another Aura process already
 * runs it. Two roles: the tables' owner (DATABASE_OWNER_URL; on the embedded server
 * POSTGRES_USER) migrates, sets the application role's rights and the owner-only settings, and
 * is let go; the returned `db` is the application role (DATABASE_URL; on the embedded server,
 * or with DATABASE_OWNER_URL alone, POSTGRES_APP_USER, created when missing). With
 * DATABASE_URL alone, that one role does everything, as before, and a warning says what it
 * could do to the record. See docs/operations.md.
 *
 * No role gets a password everyone knows. On the embedded server the owner and the application
 * role get random passwords, made at the first start and kept in AURA_HOME/secrets (mode 700,
 * files 600) in an AURA_HOME of mode 700; data made with the shipped defaults gets them at its
 * next start. Beside DATABASE_OWNER_URL alone, the application role's password is derived from
 * the owner's unless POSTGRES_APP_PASSWORD names one. (A server of one's own reached with a
 * shipped default is refused earlier, by config/config.ts.)
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, link, lstat, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import net from 'node:net';
import pg from 'pg';
import { z } from 'zod';
import { DEFAULT_PASSWORDS, type AuraConfig } from '../config/config.js';
import { ConfigError } from '../errors/index.js';
import { createDb, loginRefusal, type Db } from './connect.js';
import { dropDatabase, ensureDatabase, ensureOwnerPassword, startEmbeddedPostgres, type FormerPassword } from './embedded-postgres.js';
import { migrateToLatest } from './migrate.js';
import { syncRegistry } from './repositories/employees.js';
import { loadRegistry } from '../config/employee-registry.js';
import {
  currentRole,
  ensureLoginRole,
  excessRights,
  grantApplicationRights,
  resetLoginRole,
  roleRights,
  syncRetentionDays,
} from './repositories/roles.js';

export interface OpenDatabase {
  /** The application role's connection. */
  db: Db;
  /** The application role's URL: what a worker or CLI started from here uses as DATABASE_URL. */
  url: string;
  /** The owner's URL (DATABASE_OWNER_URL for a child process); null when one role does everything. */
  ownerUrl: string | null;
  embedded: boolean;
  close(): Promise<void>;
}

type Log = (line: string) => void;
interface OpenOptions {
  databaseName?: string;
  recreate?: boolean;
  migrate?: boolean;
}

/** Where the roles connect (any database on the server: only the path changes later). */
interface Server {
  owner: URL | null;
  app: URL;
  /**
   * The application role to create (or whose password to update) as the owner. `unshared`: no
   * password every start agrees on (DATABASE_OWNER_URL without a password, POSTGRES_APP_PASSWORD
   * unset), usable only where the server does not check the application role's password.
   */
  createApp: { user: string; password: string; unshared?: boolean } | null;
  embedded: boolean;
  stop: (() => Promise<void>) | null;
}

export async function openDatabase(config: AuraConfig, log: Log, opts: OpenOptions = {}): Promise<OpenDatabase> {
  const server = await locateServer(config, log);
  try {
    const name = databaseName(config, server, opts);
    const admin = inDatabase(server.owner ?? server.app, 'postgres');
    if (opts.recreate) await dropDatabase(admin, name);
    if (opts.recreate || opts.databaseName || server.embedded) await ensureDatabase(admin, name);
    const ownerUrl = server.owner ? inDatabase(server.owner, name) : null;
    const url = inDatabase(server.app, name);
    const db = ownerUrl ? await openAsOwner(config, log, opts, { ownerUrl, url, createApp: server.createApp }) : createDb(url);
    try {
      if (!ownerUrl && opts.migrate !== false) await prepareAlone(db, config, log);
      if (opts.migrate !== false) await syncRegistry(db, loadRegistry(config.employeesFile), config.providers.enabled);
      await warnOfExcessRights(db, ownerUrl === null, log);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    const stop = server.stop;
    return {
      db,
      url,
      ownerUrl,
      embedded: stop !== null,
      close: async () => {
        await db.destroy();
        await stop?.();
      },
    };
  } catch (err) {
    await server.stop?.();
    throw err;
  }
}

async function locateServer(config: AuraConfig, log: Log): Promise<Server> {
  const { url, ownerUrl, appUser } = config.database;
  if (url || ownerUrl) {
    const owner = ownerUrl ? new URL(ownerUrl) : null;
    if (url) return twoRolesOrOne({ owner, app: new URL(url), createApp: null, embedded: false, stop: null });
    const createApp = besideOwner(config, owner!);
    const app = withUser(owner!, appUser, createApp.password);
    return twoRolesOrOne({ owner, app, createApp, embedded: false, stop: null });
  }
  await ensurePrivateHome(config.home, log);
  const secrets = join(config.home, SECRETS);
  const password = chosen(config.database.password) ?? (await keptPassword(secrets, OWNER_PASSWORD_FILE));
  const appPassword = chosen(config.database.appPassword) ?? (await keptPassword(secrets, APP_PASSWORD_FILE));
  const formers = await formerOwnerPasswords(secrets, password);
  const port = config.database.embeddedPort;
  const { user } = config.database;
  let stop: (() => Promise<void>) | null = null;
  if (await portAnswers(port)) {
    log(`using the embedded PostgreSQL already running on 127.0.0.1:${port}`);
    await ensureOwnerPassword(port, user, password, formers, log);
  } else {
    log(`starting embedded PostgreSQL on 127.0.0.1:${port} (data in ${join(config.home, 'postgres')})`);
    const started = await startEmbeddedPostgres({
      dataDir: join(config.home, 'postgres'),
      port,
      user,
      password,
      formerPasswords: formers,
      database: 'postgres',
      systemDir: config.systemDir,
      log,
    });
    stop = started.stop;
  }
  await rm(join(secrets, `${OWNER_PASSWORD_FILE}${PREVIOUS}`), { force: true });
  const owner = withUser(new URL(`postgres://127.0.0.1:${port}/postgres`), user, password);
  const app = withUser(owner, appUser, appPassword);
  return twoRolesOrOne({ owner, app, createApp: { user: appUser, password: appPassword }, embedded: true, stop });
}

// ---- passwords --------------------------------------------------------------------------------

const SECRETS = 'secrets';
const OWNER_PASSWORD_FILE = 'db-owner-password';
const APP_PASSWORD_FILE = 'db-app-password';
/** `<file>.previous`: the password a role had before a rotation (docs/operations.md), used once. */
const PREVIOUS = '.previous';

/** The configured password, or null when it is a shipped default (never a role's password). */
function chosen(password: string): string | null {
  return DEFAULT_PASSWORDS.includes(password) ? null : password;
}

/**
 * The application role's password beside DATABASE_OWNER_URL alone: POSTGRES_APP_PASSWORD when
 * set (config refuses a shipped default there), else HMAC-SHA-256 of the role's name keyed with
 * the owner's password, which every start holding the owner's URL computes alike (a random one
 * per start would lock the others out). An owner's URL without a password (trust, .pgpass,
 * PGPASSWORD) leaves nothing secret to derive from: a random password, checked later to matter
 * nowhere.
 */
function besideOwner(config: AuraConfig, owner: URL): NonNullable<Server['createApp']> {
  const user = config.database.appUser;
  const password = chosen(config.database.appPassword);
  if (password) return { user, password };
  const ownerPassword = decodeURIComponent(owner.password);
  if (ownerPassword) {
    return { user, password: createHmac('sha256', ownerPassword).update(`aura application role ${user}`).digest('base64url') };
  }
  return { user, password: randomBytes(24).toString('base64url'), unshared: true };
}

/**
 * `secrets/<name>`: its password, made (random, 32 characters) when missing. The folder is mode
 * 700 and the file 600, tightened when they are ours and looser; a file made by a concurrent start
 * wins (written aside, then linked into place, so nobody reads half a file).
 */
async function keptPassword(secrets: string, name: string): Promise<string> {
  await privateFolder(secrets);
  const file = join(secrets, name);
  try {
    await writeNew(file, `${randomBytes(24).toString('base64url')}\n`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await lstat(file);
  if (!st.isFile()) throw new Error(`${file} must be a file holding a password`);
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) await chmod(file, 0o600);
  const password = (await readFile(file, 'utf8')).trim();
  if (!password) throw new Error(`${file} is empty: remove it, and a new password is made at the next start (docs/operations.md)`);
  return password;
}

/** Writes `file` (mode 600) only when it does not exist: EEXIST otherwise. */
async function writeNew(file: string, text: string): Promise<void> {
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(aside, text, { mode: 0o600, flag: 'wx' });
  try {
    await link(aside, file);
  } catch (err) {
    // A file system without hard links: written in place (exclusive, so still only once).
    if (!['EPERM', 'ENOTSUP', 'ENOSYS'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    await writeFile(file, text, { mode: 0o600, flag: 'wx' });
  } finally {
    await rm(aside, { force: true });
  }
}

/** What the embedded owner may still have: the password before a rotation, the kept one when POSTGRES_PASSWORD replaced it, the shipped defaults. */
async function formerOwnerPasswords(secrets: string, password: string): Promise<FormerPassword[]> {
  const read = async (file: string) => (await readFile(join(secrets, file), 'utf8').catch(() => '')).trim();
  const formers: FormerPassword[] = [];
  const previous = await read(`${OWNER_PASSWORD_FILE}${PREVIOUS}`);
  if (previous) formers.push({ password: previous, what: `the password in ${SECRETS}/${OWNER_PASSWORD_FILE}${PREVIOUS}` });
  const kept = await read(OWNER_PASSWORD_FILE);
  if (kept && kept !== password) formers.push({ password: kept, what: `the password in ${SECRETS}/${OWNER_PASSWORD_FILE}` });
  for (const known of DEFAULT_PASSWORDS) formers.push({ password: known, what: `the shipped default password ${known}` });
  return formers.filter((f) => f.password !== password);
}

// ---- AURA_HOME --------------------------------------------------------------------------------

const HOME_HOLDS = "it holds the database passwords, Temporal's state, the ledger's signing key and the workspaces";

/**
 * AURA_HOME for this user alone: created mode 700 (the folders above it as usual), and tightened
 * to 700 when it exists open to group or others and belongs to this user. A shared folder
 * (sticky bit, such as /tmp) or another user's is left as it is, with a warning.
 */
export async function ensurePrivateHome(home: string, log: Log): Promise<void> {
  await mkdir(dirname(home), { recursive: true });
  await mkdir(home, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await stat(home);
  if ((st.mode & 0o077) === 0) return;
  const mode = (st.mode & 0o7777).toString(8);
  if (st.mode & 0o1000) {
    log(`WARNING: AURA_HOME ${home} is a shared folder (mode ${mode}): ${HOME_HOLDS}. Set AURA_HOME to a folder of your own`);
  } else if (process.getuid && st.uid !== process.getuid()) {
    log(`WARNING: AURA_HOME ${home} is open to other users (mode ${mode}) and not yours to change: ${HOME_HOLDS}. Make it mode 700`);
  } else {
    await chmod(home, st.mode & 0o700);
    log(`AURA_HOME ${home} was open to other users (mode ${mode}); it is now mode ${(st.mode & 0o700).toString(8)}: ${HOME_HOLDS}`);
  }
}

/** A folder of this user's alone: created mode 700, tightened when ours and looser; another user's is refused. */
async function privateFolder(dir: string): Promise<void> {
  await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      throw new Error(`${dir} cannot be used (${err.message}): AURA_HOME belongs to another user; set AURA_HOME to a folder of your own`);
    }
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await lstat(dir);
  if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid())) {
    throw new Error(`${dir} must be a folder of this user's (it holds the database passwords)`);
  }
  if ((st.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** The same role named twice is one role: it does everything, as with DATABASE_URL alone. */
function twoRolesOrOne(server: Server): Server {
  if (server.owner && decodeURIComponent(server.owner.username) === decodeURIComponent(server.app.username)) {
    return { ...server, owner: null, app: server.owner, createApp: null };
  }
  return server;
}

function withUser(url: URL, user: string, password: string): URL {
  const copy = new URL(url);
  copy.username = encodeURIComponent(user);
  copy.password = encodeURIComponent(password);
  return copy;
}

function inDatabase(url: URL, name: string): string {
  const copy = new URL(url);
  copy.pathname = `/${encodeURIComponent(name)}`;
  return copy.toString();
}

function databaseName(config: AuraConfig, server: Server, opts: OpenOptions): string {
  if (opts.databaseName) return opts.databaseName;
  if (server.embedded) return config.database.name;
  const named = (u: URL) => decodeURIComponent(u.pathname.slice(1));
  if (server.owner && config.database.url && named(server.owner) !== named(server.app)) {
    throw new Error('DATABASE_URL and DATABASE_OWNER_URL name different databases: they must name the same one');
  }
  return named(server.owner ?? server.app);
}

/**
 * As the owner: migrate, make sure the application role can log in, give it its rights, write
 * the owner-only settings; then the owner's pool is closed and the application's returned.
 */
async function openAsOwner(
  config: AuraConfig,
  log: Log,
  opts: OpenOptions,
  roles: { ownerUrl: string; url: string; createApp: Server['createApp'] },
): Promise<Db> {
  const owner = createDb(roles.ownerUrl, 3);
  let db: Db | null = null;
  try {
    const migrate = opts.migrate !== false;
    if (migrate) await applyMigrations(owner, log);
    if (roles.createApp?.unshared) await applicationPasswordIgnored(owner, roles.url, roles.createApp.user);
    else if (roles.createApp) await ensureApplicationLogin(owner, roles.url, roles.createApp, log);
    db = createDb(roles.url);
    const appRole = await currentRole(db).catch((err) => {
      const message = `the application role cannot connect (${(err as Error).message}); create it as docs/operations.md shows`;
      throw Object.assign(new Error(message), { cause: err });
    });
    await grantApplicationRights(owner, appRole).catch((err) => {
      const message = `could not set the rights of the application role ${appRole}: ${(err as Error).message}`;
      throw Object.assign(new Error(message), { cause: err });
    });
    if (migrate) await retentionSetting(owner, config, log);
    return db;
  } catch (err) {
    await db?.destroy();
    throw err;
  } finally {
    await owner.destroy();
  }
}

async function applyMigrations(db: Db, log: Log): Promise<void> {
  const applied = await migrateToLatest(db);
  if (applied.length > 0) log(`database migrated: ${applied.join(', ')}`);
}

/** Creates the application role when missing; gives it the configured password when it cannot log in with it. */
export async function ensureApplicationLogin(owner: Db, url: string, app: { user: string; password: string }, log: Log): Promise<void> {
  if (await ensureLoginRole(owner, app.user, app.password)) {
    log(`created the application role ${app.user}`);
    return;
  }
  const refused = await loginRefusal(url);
  if (refused) {
    await resetLoginRole(owner, app.user, app.password);
    log(`the application role ${app.user} could not log in (${refused}): its login and password are set again`);
  }
}

/**
 * With no password every start agrees on, the application role can only be used where the server
 * does not check its password (trust): created when missing (with a random password), then a login
 * with another random one must be let in. Else a ConfigError says to set one.
 */
async function applicationPasswordIgnored(owner: Db, url: string, user: string): Promise<void> {
  await ensureLoginRole(owner, user, randomBytes(24).toString('base64url'));
  const probe = new URL(url);
  probe.password = randomBytes(24).toString('base64url');
  if (await loginRefusal(probe.toString())) {
    throw new ConfigError([
      `POSTGRES_APP_PASSWORD: not set, and DATABASE_OWNER_URL holds no password to derive the application role's from, on a server that checks passwords; set POSTGRES_APP_PASSWORD, or DATABASE_URL (docs/operations.md)`,
    ]);
  }
}

async function retentionSetting(owner: Db, config: AuraConfig, log: Log): Promise<void> {
  const was = await syncRetentionDays(owner, config.auditLogRetentionDays);
  if (was !== null) log(`retention set to ${config.auditLogRetentionDays} days (was ${was})`);
}

/** DATABASE_URL alone: its role migrates and writes the settings, as far as it may. */
async function prepareAlone(db: Db, config: AuraConfig, log: Log): Promise<void> {
  try {
    await applyMigrations(db, log);
  } catch (err) {
    if (!mustBeOwner(err)) throw err;
    throw new Error(`${(err as Error).message}: migrations need the tables' owner; set DATABASE_OWNER_URL (see docs/operations.md)`);
  }
  try {
    await retentionSetting(db, config, log);
  } catch (err) {
    if (!mustBeOwner(err)) throw err;
    log(
      `AUDIT_LOG_RETENTION_DAYS (${config.auditLogRetentionDays}) differs from the database's retention, ` +
        'and only the owner may change it: set DATABASE_OWNER_URL',
    );
  }
}

function mustBeOwner(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause ?? err;
  return (cause as { code?: string }).code === '42501' || /permission denied|must be owner/.test(String((err as Error).message));
}

/** One warning line when the application's role could change or disable the record. */
async function warnOfExcessRights(db: Db, alone: boolean, log: Log): Promise<void> {
  const rights = await roleRights(db);
  const problems = excessRights(rights);
  if (problems.length === 0) return;
  const fix = alone
    ? 'keep the owner for migrations in DATABASE_OWNER_URL and give DATABASE_URL a role of its own'
    : 'give DATABASE_URL a role of its own, not the owner';
  log(
    `WARNING: the application runs as database role ${rights.role}, which ${problems.join('; ')}: ` +
      `it could change or disable the governance record. To fix it, ${fix} (docs/operations.md)`,
  );
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
