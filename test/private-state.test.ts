/**
 * What Aura keeps on this machine is its user's alone, and no role gets a password everyone
 * knows: AURA_HOME is made mode 700 (tightened when it is ours and open to others), the Temporal
 * dev server's state file and its -wal/-shm are mode 600, a server of one's own configured with a
 * shipped default password is refused with a ConfigError naming the variable, and the
 * application role Aura creates beside DATABASE_OWNER_URL never gets the default password.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, PROJECT_ROOT } from '../config/config.js';
import * as dbOpen from '../db/open.js';
import { ConfigError } from '../errors/index.js';
import { startDevServer } from '../local/temporal-server.js';

const asRoot = process.getuid?.() === 0;
const folders: string[] = [];
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'aura-private-state-'));
  folders.push(dir);
  chmodSync(dir, 0o755);
  return dir;
};
const modeOf = (path: string) => statSync(path).mode & 0o7777;
const collect = () => {
  const lines: string[] = [];
  return { lines, log: (line: string) => void lines.push(line) };
};

describe('AURA_HOME', () => {
  it('is created mode 700, and tightened when it is ours and open to others', async () => {
    const dir = scratch();
    const fresh = join(dir, 'new', 'aura');
    await dbOpen.ensurePrivateHome(fresh, () => {});
    expect(modeOf(fresh)).toBe(0o700);
    expect(modeOf(join(dir, 'new'))).toBe(0o755); // the folders above keep the usual mode

    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    const said = collect();
    await dbOpen.ensurePrivateHome(open, said.log);
    expect(modeOf(open)).toBe(0o700);
    expect(said.lines.join('\n')).toContain(open);
  });

  it('is left alone, with a warning, when it is a shared folder (sticky bit) or not ours', async () => {
    const dir = scratch();
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const said = collect();
    await dbOpen.ensurePrivateHome(shared, said.log);
    expect(modeOf(shared)).toBe(0o1777);
    expect(said.lines.join('\n')).toMatch(/WARNING.*shared/);
    if (asRoot) {
      const theirs = join(dir, 'theirs');
      mkdirSync(theirs);
      chmodSync(theirs, 0o755);
      const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
      chownSync(theirs, nobody, nobody);
      const warned = collect();
      await dbOpen.ensurePrivateHome(theirs, warned.log);
      expect(modeOf(theirs)).toBe(0o755);
      expect(warned.lines.join('\n')).toMatch(/WARNING.*not yours/);
    }
  });
});

describe("the Temporal dev server's state file", () => {
  it('is mode 600 with its -wal and -shm, in a folder of mode 700; an earlier 644 file is tightened', async () => {
    const home = join(scratch(), 'aura');
    const dbFile = join(home, 'temporal.db');
    const start = () => startDevServer({ cliPath: inject('temporalCli'), dbFile, namespace: 'default', log: () => {} });
    const files = () => [dbFile, `${dbFile}-wal`, `${dbFile}-shm`].filter((f) => existsSync(f));

    const first = await start();
    expect(modeOf(home)).toBe(0o700);
    expect(files()).toContain(`${dbFile}-wal`); // WAL mode: the server keeps its log beside the file
    for (const f of files()) expect(modeOf(f), f).toBe(0o600);
    await first.stop();

    // What earlier versions left: the file and its companions readable by everyone.
    for (const f of files()) chmodSync(f, 0o644);
    const second = await start();
    for (const f of files()) expect(modeOf(f), f).toBe(0o600);
    await second.stop();
    for (const f of files()) expect(modeOf(f), f).toBe(0o600);
  });
});

describe('a server of your own with a shipped default password', () => {
  const refusal = (env: Record<string, string>): string => {
    try {
      loadConfig(env, PROJECT_ROOT);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems.join('\n');
    }
    throw new Error(`not refused: ${JSON.stringify(env)}`);
  };

  it('is refused, naming the variable', () => {
    expect(refusal({ DATABASE_URL: 'postgres://aura_app:change_me_app@db.example:5432/aura' })).toMatch(/^DATABASE_URL: .*default/);
    expect(refusal({ DATABASE_OWNER_URL: 'postgres://aura_admin:change_me@db.example/aura' })).toMatch(/^DATABASE_OWNER_URL: .*default/);
    expect(refusal({ POSTGRES_HOST: 'db.example' })).toMatch(/^POSTGRES_PASSWORD: .*default/);
    expect(refusal({ POSTGRES_HOST: 'db.example', POSTGRES_PASSWORD: 'change_me' })).toMatch(/^POSTGRES_PASSWORD: .*default/);
    expect(refusal({ DATABASE_OWNER_URL: 'postgres://o:secret@db.example/aura', POSTGRES_APP_PASSWORD: 'change_me_app' })).toMatch(
      /^POSTGRES_APP_PASSWORD: .*default/,
    );
  });

  it('is not a refusal for the embedded server, nor for passwords of your own', () => {
    expect(loadConfig({ POSTGRES_PASSWORD: 'change_me', POSTGRES_APP_PASSWORD: 'change_me_app' }, PROJECT_ROOT).database.url).toBeNull();
    expect(loadConfig({ DATABASE_OWNER_URL: 'postgres://o:secret@db.example/aura' }, PROJECT_ROOT).database.ownerUrl).toBeTruthy();
    expect(loadConfig({ DATABASE_URL: 'postgres://a:s3cret@db.example/aura' }, PROJECT_ROOT).database.url).toBeTruthy();
    expect(loadConfig({ POSTGRES_HOST: 'db.example', POSTGRES_PASSWORD: 's3cret' }, PROJECT_ROOT).database.url).toBeTruthy();
  });

  it('beside DATABASE_OWNER_URL alone, the application role Aura creates never gets the default password', async () => {
    const role = `aura_pw_${randomBytes(4).toString('hex')}`;
    const name = `aura_t_${randomBytes(5).toString('hex')}`;
    const serverUrl = inject('pgServerUrl');
    const config = loadConfig({ DATABASE_OWNER_URL: serverUrl, POSTGRES_APP_USER: role, AURA_HOME: scratch() }, PROJECT_ROOT);
    const opened = await dbOpen.openDatabase(config, () => {}, { databaseName: name, recreate: true });
    try {
      const password = decodeURIComponent(new URL(opened.url).password);
      expect(['change_me', 'change_me_app', '']).not.toContain(password);
      // Where the server asks for passwords at all, the default one is refused.
      if ((await login(serverUrl, role, 'surely-not-the-password', name)) !== 'ok') {
        expect(await login(serverUrl, role, 'change_me_app', name)).toBe('28P01');
      }
      // Another start agrees on the same password: no start locks another out.
      const again = await dbOpen.openDatabase(config, () => {}, { databaseName: name });
      expect(again.url).toBe(opened.url);
      await again.close();
    } finally {
      await opened.close();
      const owner = new pg.Client({ connectionString: serverUrl });
      await owner.connect();
      await owner.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await owner.query(`DROP ROLE IF EXISTS ${role}`);
      await owner.end();
    }
  });
});

async function login(serverUrl: string, user: string, password: string, database: string): Promise<string> {
  const url = new URL(serverUrl);
  url.username = user;
  url.password = password;
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await client.end().catch(() => {});
  }
}
