/**
 * Least privilege: the application connects as a role of its own, and PostgreSQL itself — not
 * only the ledger's triggers — refuses it anything that would rewrite or bypass the record:
 * UPDATE, DELETE or TRUNCATE of the record, disabling or dropping a trigger, writing the chain
 * or calling the owner's ledger functions, shadowing a ledger table with a temporary one. What
 * the application does every day still works, and each write is a ledger entry. A start whose
 * application connection could do more says so in one warning line.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../config/config.js';
import { createDb, type Db } from '../db/connect.js';
import { openDatabase } from '../db/open.js';
import { appendEvent } from '../db/repositories/ledger.js';
import { APPEND_ONLY_TABLES, excessRights, MUTABLE_TABLES, roleRights } from '../db/repositories/roles.js';
import { insertRun, updateRun, upsertProject } from '../db/repositories/runs.js';
import { useThrowawayDatabase } from './helpers/database.js';
import { ConfigError } from '../errors/index.js';

const database = useThrowawayDatabase();
let owner: Db;
const extraRoles: string[] = [];

beforeAll(() => {
  owner = createDb(database.ownerUrl, 2);
});
afterAll(async () => {
  for (const role of extraRoles) await sql`DROP OWNED BY ${sql.id(role)}`.execute(owner);
  for (const role of extraRoles) await sql`DROP ROLE ${sql.id(role)}`.execute(owner);
  await owner.destroy();
});

/** PostgreSQL's own refusal: insufficient privilege (which includes "must be owner"). */
async function refused(statement: Promise<unknown>): Promise<string> {
  const err = (await statement.then(
    () => null,
    (e: unknown) => e,
  )) as { code?: string; message?: string } | null;
  expect(err, 'the statement was not refused').not.toBeNull();
  expect(err!.code).toBe('42501');
  return err!.message ?? '';
}

const databaseName = () => decodeURIComponent(new URL(database.url).pathname.slice(1));
const collect = () => {
  const lines: string[] = [];
  return { lines, log: (line: string) => void lines.push(line) };
};

describe('the application role', () => {
  it('is not the owner, and has nothing more than the application needs', async () => {
    const rights = await roleRights(database.db);
    expect(rights.role).toBe('aura_app');
    expect(rights).toMatchObject({ superuser: false, ownedTables: [], excess: [], temporaryTables: false, ownerFunctions: [] });
    expect(excessRights(rights)).toEqual([]);
  });

  it('may not UPDATE, DELETE or TRUNCATE the record', async () => {
    for (const table of APPEND_ONLY_TABLES) {
      const key = sql.ref(table === 'evidence_blobs' ? 'sha256' : 'id'); // blobs are keyed by their hash
      expect(await refused(sql`UPDATE ${sql.table(table)} SET ${key} = ${key}`.execute(database.db))).toMatch(/permission denied/);
      await refused(sql`DELETE FROM ${sql.table(table)}`.execute(database.db));
      await refused(sql`TRUNCATE ${sql.table(table)}`.execute(database.db));
    }
    for (const table of MUTABLE_TABLES) {
      await refused(sql`DELETE FROM ${sql.table(table)}`.execute(database.db));
      await refused(sql`TRUNCATE ${sql.table(table)}`.execute(database.db));
    }
  });

  it('may not disable, drop or bypass the triggers', async () => {
    const db = database.db;
    expect(await refused(sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_ledger`.execute(db))).toMatch(/must be owner/);
    await refused(sql`ALTER TABLE incidents DISABLE TRIGGER ALL`.execute(db));
    await refused(sql`DROP TRIGGER audit_events_append_only ON audit_events`.execute(db));
    await refused(sql`DROP TABLE scores`.execute(db));
    await refused(sql`SET session_replication_role = replica`.execute(db));
    const tablesOwner = await sql<{
      o: string;
    }>`SELECT pg_get_userbyid(relowner) AS o FROM pg_class WHERE relname = 'audit_events'`.execute(db);
    await refused(sql`SET ROLE ${sql.id(tablesOwner.rows[0]!.o)}`.execute(db));
  });

  it('may not write the chain, nor call the functions that do', async () => {
    const db = database.db;
    await refused(
      sql`
      INSERT INTO ledger_entries (seq, at, entry, prev_hash, hash, row_table, row_key, row_hash)
      VALUES (999999, now(), '{}', '\\x00', '\\x00', 'audit_events', 'x', '\\x00')`.execute(db),
    );
    await refused(sql`INSERT INTO ledger_head (chain, seq, hash) VALUES ('other', 0, '\\x00')`.execute(db));
    await refused(
      sql`
      INSERT INTO ledger_pending (at, entry, row_table, row_key, row_hash) VALUES (now(), '{}', 't', 'k', '\\x00')`.execute(db),
    );
    await refused(sql`UPDATE ledger_head SET seq = seq + 1`.execute(db));
    await refused(sql`UPDATE aura_settings SET value = '1' WHERE key = 'retention_days'`.execute(db));
    await refused(sql`INSERT INTO retention_purges (id) VALUES (${randomUUID()})`.execute(db));
    await refused(sql`SELECT aura_ledger_append('audit_events', 'x', NULL, '\\x00'::bytea, 'insert')`.execute(db));
    await refused(sql`SELECT aura_ledger_carry(0)`.execute(db));
  });

  it('may not shadow a ledger table with a temporary one (the trigger would write there)', async () => {
    await refused(sql`CREATE TEMPORARY TABLE ledger_head (chain text, seq bigint, hash bytea)`.execute(database.db));
    await refused(sql`CREATE TABLE public.ledger_shadow (x int)`.execute(database.db));
  });

  it('may call the retention purge, which guards itself', async () => {
    const call = sql`SELECT aura_retention_purge(${randomUUID()}::uuid, now(), 1::bigint, '', 'someone', 'root')`.execute(database.db);
    await expect(call).rejects.toMatchObject({ code: '23514', message: expect.stringMatching(/needs a reason/) });
  });

  it('does its everyday writes, and each is a ledger entry', async () => {
    const db = database.db;
    const before = await sql<{ seq: string }>`SELECT seq FROM ledger_head WHERE chain = 'governance'`.execute(db);
    const runId = randomUUID();
    const projectId = await upsertProject(db, 'least-privilege');
    const workflowId = `prd-run-${runId}`;
    await insertRun(db, { id: runId, projectId, workflowId, prd: '# PRD', options: {}, status: 'planning', idempotencyKey: `lp/${runId}` });
    await updateRun(db, runId, { status: 'running' });
    await appendEvent(db, { idempotencyKey: `lp/${runId}/event`, actor: 'tester', action: 'test.note', description: 'a note', runId });
    await db.updateTable('employees').set({ updated_at: new Date() }).where('id', '=', 'scripted-ada').execute();

    // Sealing chains what the triggers wrote (a concurrent writer may have left it pending); it is the application's to call.
    await sql`SELECT aura_ledger_seal(true)`.execute(db);
    const event = await db
      .selectFrom('audit_events')
      .select('id')
      .where('idempotency_key', '=', `lp/${runId}/event`)
      .executeTakeFirstOrThrow();
    const entries = await db
      .selectFrom('ledger_entries')
      .select(['row_table', 'row_key'])
      .where('seq', '>', before.rows[0]!.seq)
      .orderBy('seq')
      .execute();
    expect(entries).toEqual(
      expect.arrayContaining([
        { row_table: 'orchestra_runs', row_key: runId },
        { row_table: 'audit_events', row_key: event.id },
        { row_table: 'employees', row_key: 'scripted-ada' },
      ]),
    );
    expect(entries.filter((e) => e.row_table === 'orchestra_runs')).toHaveLength(2); // insert, update
  });
});

describe('the start-up warning', () => {
  it('names the role and what it can do when the application connects as the owner', async () => {
    const { lines, log } = collect();
    const config = loadConfig({ DATABASE_URL: database.ownerUrl, AURA_HOME: '/tmp' }, PROJECT_ROOT);
    const opened = await openDatabase(config, log, { databaseName: databaseName() });
    await opened.close();
    const warnings = lines.filter((l) => l.startsWith('WARNING'));
    expect(warnings).toHaveLength(1);
    const ownerRole = decodeURIComponent(new URL(database.ownerUrl).username);
    expect(warnings[0]).toContain(`database role ${ownerRole}, which`);
    expect(warnings[0]).toMatch(/owns .*DISABLE TRIGGER/);
    expect(warnings[0]).toMatch(/DATABASE_OWNER_URL.*docs\/operations\.md/);
  });

  it('is silent for the application role, alone or with the owner', async () => {
    for (const env of [{ DATABASE_URL: database.url }, { DATABASE_URL: database.url, DATABASE_OWNER_URL: database.ownerUrl }]) {
      const { lines, log } = collect();
      const opened = await openDatabase(loadConfig({ ...env, AURA_HOME: '/tmp' }, PROJECT_ROOT), log, { databaseName: databaseName() });
      expect(await roleRights(opened.db)).toMatchObject({ role: 'aura_app' });
      await opened.close();
      expect(lines.filter((l) => /WARNING/.test(l))).toEqual([]);
    }
  });

  it('names the tables a role given too much could change', async () => {
    const role = `aura_lp_${randomBytes(4).toString('hex')}`;
    extraRoles.push(role);
    await sql`CREATE ROLE ${sql.id(role)} LOGIN PASSWORD 'loose'`.execute(owner);
    await sql`GRANT SELECT, UPDATE, DELETE ON audit_events, incidents TO ${sql.id(role)}`.execute(owner);
    const url = new URL(database.url);
    [url.username, url.password] = [role, 'loose'];
    const loose = createDb(url.toString(), 1);
    try {
      const problems = excessRights(await roleRights(loose));
      expect(problems).toEqual(['can UPDATE/DELETE audit_events, incidents']);
    } finally {
      await loose.destroy();
    }
  });
});

describe('the application role made by the owner', () => {
  it('is created when missing and gets the configured password back when it changed', async () => {
    const role = `aura_lp_${randomBytes(4).toString('hex')}`;
    extraRoles.push(role);
    const env = { DATABASE_OWNER_URL: database.ownerUrl, POSTGRES_APP_USER: role, POSTGRES_APP_PASSWORD: 'first-pw', AURA_HOME: '/tmp' };
    const first = collect();
    const opened = await openDatabase(loadConfig(env, PROJECT_ROOT), first.log, { databaseName: databaseName() });
    expect(await roleRights(opened.db)).toMatchObject({ role, superuser: false, excess: [] });
    await opened.close();
    expect(first.lines).toContain(`created the application role ${role}`);

    await sql`ALTER ROLE ${sql.id(role)} PASSWORD 'someone-else'`.execute(owner);
    const again = collect();
    const reopened = await openDatabase(loadConfig(env, PROJECT_ROOT), again.log, { databaseName: databaseName() });
    expect(await roleRights(reopened.db)).toMatchObject({ role });
    await reopened.close();
    // A server that trusts every local login (no password asked) has nothing to set again.
    const asked = again.lines.some((l) => l.includes('its login and password are set again'));
    const trusting = await passwordIgnored(role);
    expect(asked).toBe(!trusting);
  });
});

async function passwordIgnored(role: string): Promise<boolean> {
  const url = new URL(database.url);
  [url.username, url.password] = [role, 'surely-not-the-password'];
  const probe = createDb(url.toString(), 1);
  try {
    await sql`SELECT 1`.execute(probe);
    return true;
  } catch {
    return false;
  } finally {
    await probe.destroy();
  }
}

describe('the configuration of the roles and the ledger', () => {
  it('has defaults for the embedded server and the ledger', () => {
    const c = loadConfig({ AURA_HOME: '/srv/aura' }, PROJECT_ROOT);
    expect(c.database).toMatchObject({ url: null, ownerUrl: null, appUser: 'aura_app', appPassword: 'change_me_app' });
    const keyFile = join('/srv/aura', 'ledger', 'signing-key.pem');
    expect(c.ledger).toEqual({ keyFile, checkpointEveryEntries: 1000, checkpointEveryMinutes: 10 });
    const env = { DATABASE_OWNER_URL: 'postgres://o@db/aura', AURA_LEDGER_KEY_FILE: 'keys/k.pem', AURA_CHECKPOINT_EVERY_MINUTES: '5' };
    const set = loadConfig(env, PROJECT_ROOT);
    expect(set.database.ownerUrl).toBe('postgres://o@db/aura');
    expect(set.ledger).toMatchObject({ keyFile: join(PROJECT_ROOT, 'keys', 'k.pem'), checkpointEveryMinutes: 5 });
  });

  it('names a bad value without showing it', () => {
    const bad = {
      DATABASE_OWNER_URL: 'mysql://root:hunter2@db/x',
      POSTGRES_APP_USER: 'Bad-Name',
      AURA_CHECKPOINT_EVERY_ENTRIES: '0',
      AURA_CHECKPOINT_EVERY_MINUTES: 'often',
    };
    let error: unknown;
    try {
      loadConfig(bad, PROJECT_ROOT);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).message;
    for (const name of Object.keys(bad)) expect(text).toContain(`${name}: `);
    expect(text).not.toMatch(/hunter2|Bad-Name|often/);
  });
});
