/**
 * A ledger the database's owner cannot re-sign: the verifier trusts only pinned keys (never the
 * key stored beside a checkpoint), checkpoints go in only through the owner's guarded function,
 * the checkpointer keeps its own log of what it signed outside the database and refuses to sign
 * a range that does not continue it, and a transaction holding the chain head cannot make
 * `aura ledger verify` hang.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig, PROJECT_ROOT } from '../config/config.js';
import { createDb, type Db } from '../db/connect.js';
import { openDatabase, type OpenDatabase } from '../db/open.js';
import { appendEvent } from '../db/repositories/ledger.js';
import { chainHead, checkpoints, purgeThrough } from '../db/repositories/chain.js';
import { createCheckpoint } from '../integrity/checkpoint.js';
import { startCheckpointer } from '../integrity/checkpointer.js';
import { canonicalJson } from '../integrity/canonical.js';
import { MerkleBuilder } from '../integrity/merkle.js';
import { loadOrCreateSigningKey, type SigningKey } from '../integrity/signing.js';
import { verifyLedger, type VerifyOptions } from '../integrity/verify.js';
import { aura as runAura } from './helpers/cli.js';

interface World {
  dir: string;
  keyFile: string;
  key: SigningKey;
  signedLog: string;
  /** The application role, as the workers and the CLI run. */
  db: Db;
  /** The tables' owner (the suite server's superuser): the database owner of the findings. */
  su: Db;
  url: string;
  close(): Promise<void>;
}

const worlds: World[] = [];
afterAll(async () => {
  for (const w of worlds) await w.close();
});

async function world(shared?: { keyFile: string }): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'aura-ledger-trust-'));
  const serverUrl = inject('pgServerUrl');
  const name = `aura_t_${randomBytes(5).toString('hex')}`;
  const config = loadConfig({ DATABASE_OWNER_URL: serverUrl, AURA_HOME: dir }, PROJECT_ROOT);
  const database: OpenDatabase = await openDatabase(config, () => {}, { databaseName: name, recreate: true });
  const owner = new URL(serverUrl);
  owner.pathname = `/${name}`;
  const su = createDb(owner.toString(), 2);
  const keyFile = shared?.keyFile ?? join(dir, 'key.pem');
  const w: World = {
    dir,
    keyFile,
    key: loadOrCreateSigningKey(keyFile),
    signedLog: `${keyFile}.signed.log`,
    db: database.db,
    su,
    url: database.url,
    close: async () => {
      await su.destroy();
      await database.close();
    },
  };
  worlds.push(w);
  return w;
}

async function notes(w: World, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await appendEvent(w.db, { idempotencyKey: `n-${randomUUID()}`, actor: 'test', action: 'test.note', description: `note ${i}` });
  }
}

/** As the owner with every trigger off (session_replication_role = replica). */
async function asOwner(w: World, fn: (tx: Db) => Promise<unknown>): Promise<void> {
  await w.su.transaction().execute(async (tx) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(tx);
    await fn(tx);
  });
}

/** The owner's rewrite: one entry edited, every later hash recomputed, the head moved to match. */
async function rewriteFrom(w: World, target: number): Promise<void> {
  const saved = await w.su.selectFrom('ledger_entries').selectAll().where('seq', '>=', String(target)).orderBy('seq').execute();
  let prev = saved[0]!.prev_hash;
  const rewritten = saved.map((e, i) => {
    const entry = i === 0 ? e.entry.replace('"op":"insert"', '"op":"update"') : e.entry;
    const hash = createHash('sha256').update(prev).update(entry, 'utf8').digest();
    const row = { ...e, entry, prev_hash: prev, hash };
    prev = hash;
    return row;
  });
  await asOwner(w, async (tx) => {
    await sql`DELETE FROM ledger_entries WHERE seq >= ${target}`.execute(tx);
    await tx.insertInto('ledger_entries').values(rewritten).execute();
    await tx.updateTable('ledger_head').set({ hash: prev }).execute();
  });
}

/** `aura ledger verify` as the Director runs it, as the application role. */
function auraVerify(w: World, args: string[] = [], env: Record<string, string> = {}) {
  return aura(w, ['ledger', 'verify', ...args], env);
}

/** The CLI in this process (test/helpers/cli.ts), as the application role. */
function aura(w: World, args: string[], env: Record<string, string> = {}) {
  return runAura(args, {
    ...process.env,
    DATABASE_URL: w.url,
    DATABASE_OWNER_URL: '',
    AURA_HOME: w.dir,
    AURA_LEDGER_KEY_FILE: w.keyFile,
    ...env,
  });
}

/** A checkpoint body over entries from..to, signed by `key`, as an insider would make it. */
async function forgedCheckpoint(w: World, key: SigningKey, fromSeq: number, toSeq: number, lastHash?: Buffer) {
  const rows = await w.su
    .selectFrom('ledger_entries')
    .select(['entry', 'hash'])
    .where('seq', '>=', String(fromSeq))
    .where('seq', '<=', String(toSeq))
    .orderBy('seq')
    .execute();
  const tree = new MerkleBuilder();
  for (const r of rows) tree.add(r.entry);
  const last = lastHash ?? rows[rows.length - 1]!.hash;
  const body = canonicalJson({
    format: 'aura-ledger-checkpoint/1',
    chain: 'governance',
    fromSeq,
    toSeq,
    treeSize: toSeq - fromSeq + 1,
    rootHash: tree.root().toString('hex'),
    lastHash: last.toString('hex'),
    keyId: key.keyId,
    createdAt: new Date().toISOString(),
  });
  return {
    id: randomUUID(),
    from_seq: fromSeq,
    to_seq: toSeq,
    root_hash: tree.root(),
    last_hash: last,
    key_id: key.keyId,
    public_key: key.publicKeyPem,
    body,
    signature: key.sign(body),
  };
}

const kinds = (r: { problems: { kind: string }[] }) => r.problems.map((p) => p.kind);

describe('finding 3: the owner rewrites the chain, deletes the checkpoints, and the checkpointer is asked to re-sign', () => {
  it('the checkpointer refuses (and says so loudly), and verify with the pinned key and the signed log finds it: exit 1', async () => {
    const w = await world();
    await notes(w, 4);
    const first = (await createCheckpoint(w.db, w.key))!;
    await notes(w, 3);
    await createCheckpoint(w.db, w.key);
    expect(existsSync(w.signedLog)).toBe(true);
    expect(readFileSync(w.signedLog, 'utf8').trim().split('\n')).toHaveLength(2);
    const trusted: VerifyOptions = { trustedKeys: [w.key.publicKeyPem], signedLog: w.signedLog };
    expect(await verifyLedger(w.db, trusted)).toMatchObject({ intact: true, problems: [] });

    // The owner: an entry inside the first signed range edited, every later hash recomputed, the checkpoints gone.
    await rewriteFrom(w, first.toSeq - 1);
    await asOwner(w, (tx) => sql`DELETE FROM ledger_checkpoints`.execute(tx));

    // The running checkpointer (the real key) is asked to sign the forged entries: it refuses.
    await expect(createCheckpoint(w.db, w.key)).rejects.toThrow(/refusing to sign.*signed log/s);
    const lines: string[] = [];
    const stop = startCheckpointer(
      w.db,
      () => w.key,
      { everyEntries: 1, everyMinutes: 0 },
      (l) => lines.push(l),
      50,
    );
    await new Promise((r) => setTimeout(r, 600));
    await stop();
    expect(lines.some((l) => /REFUSING TO SIGN/.test(l))).toBe(true);
    expect(await checkpoints(w.db)).toEqual([]);

    const report = await verifyLedger(w.db, trusted);
    expect(report.intact).toBe(false);
    expect(kinds(report)).toContain('checkpoint_missing');

    // The Director's command: the key pinned from the key file, the signed log beside it.
    const cli = await auraVerify(w);
    expect(cli.stdout).toMatch(/TAMPERED/);
    expect(cli.stdout).toMatch(/checkpoint_missing/);
    expect(cli.code).toBe(1);
  });

  it('a checkpoint stored with a key of the owner is not trusted: the pinned key, never the key in the row', async () => {
    const w = await world();
    await notes(w, 3);
    await createCheckpoint(w.db, w.key);
    const before = (await chainHead(w.db)).seq;
    await notes(w, 2);
    await rewriteFrom(w, before + 1);
    const theirs = loadOrCreateSigningKey(join(w.dir, 'owners-own.pem'));
    const forged = await forgedCheckpoint(w, theirs, before + 1, before + 2);
    await asOwner(w, (tx) => tx.insertInto('ledger_checkpoints').values(forged).execute());
    const report = await verifyLedger(w.db, { trustedKeys: [w.key.publicKeyPem] });
    expect(report.intact).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'checkpoint_foreign_key', seq: before + 2, detail: expect.stringContaining(theirs.keyId) }),
    ]);
    const pub = join(w.dir, 'trusted.pub');
    writeFileSync(pub, w.key.publicKeyPem);
    const cli = await auraVerify(w, ['--key', pub], { AURA_LEDGER_KEY_FILE: join(w.dir, 'absent.pem') });
    expect(cli.stdout).toMatch(/checkpoint_foreign_key/);
    expect(cli.code).toBe(1);
  });
});

describe('the signed log across a retention purge', () => {
  it('signing goes on after a purge (from the horizon), and the record verifies with the pinned key and the log', async () => {
    const w = await world();
    await notes(w, 3);
    const horizon = (await createCheckpoint(w.db, w.key))!;
    await sql`UPDATE aura_settings SET value = '400 days' WHERE key = 'clock_offset'`.execute(w.su);
    const before = new Date(Date.now() + 86_400_000);
    await purgeThrough(w.db, { id: randomUUID(), before, horizonSeq: horizon.toSeq, reason: 'test', directorId: 'd', merkleRoot: '00' });
    await notes(w, 2);
    const next = (await createCheckpoint(w.db, w.key))!;
    expect(next.fromSeq).toBe(horizon.toSeq + 1);
    expect(readFileSync(w.signedLog, 'utf8').trim().split('\n')).toHaveLength(2);
    const report = await verifyLedger(w.db, { trustedKeys: [w.key.publicKeyPem], signedLog: w.signedLog });
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ intact: true, horizon: horizon.toSeq, unsigned: null });
  });
});

describe('one key for several databases', () => {
  it("each database continues its own lines of the log; a database made again under a name has the earlier one's checkpoints reported missing", async () => {
    const a = await world();
    const b = await world({ keyFile: a.keyFile });
    for (const w of [a, b, a, b]) {
      await notes(w, 2);
      await createCheckpoint(w.db, w.key);
    }
    const trusted = (w: World): VerifyOptions => ({ trustedKeys: [w.key.publicKeyPem], signedLog: w.signedLog });
    expect(await verifyLedger(a.db, trusted(a))).toMatchObject({ intact: true, signedLog: { lines: 2 } });
    expect(await verifyLedger(b.db, trusted(b))).toMatchObject({ intact: true, signedLog: { lines: 2 } });

    // As if b had been dropped and made again under its name since its first checkpoint (another oid).
    const lines = readFileSync(a.signedLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const bName = lines[1].chain.database;
    const earlier = { ...lines[1], id: randomUUID(), chain: { ...lines[1].chain, oid: lines[1].chain.oid + 1 } };
    writeFileSync(a.signedLog, [...lines, earlier].map((l) => `${JSON.stringify(l)}\n`).join(''));
    const report = await verifyLedger(b.db, trusted(b));
    expect(report.intact).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'checkpoint_missing', detail: expect.stringContaining(`earlier database named ${bName}`) }),
    ]);
    expect(await verifyLedger(a.db, trusted(a))).toMatchObject({ intact: true });
  });
});

describe('finding 4: the application role and the checkpoints', () => {
  it('may not INSERT into ledger_checkpoints; the guarded function refuses a range past the head, a gap or another key', async () => {
    const w = await world();
    await notes(w, 3);
    const head = (await chainHead(w.db)).seq;
    const own = loadOrCreateSigningKey(join(w.dir, 'apps-own.pem'));
    const far = await forgedCheckpoint(w, own, 1, head, Buffer.alloc(32, 7));
    const direct = await w.db
      .insertInto('ledger_checkpoints')
      .values({ ...far, to_seq: head + 1_000_000 })
      .execute()
      .then(
        () => null,
        (e: { code?: string }) => e,
      );
    expect(direct?.code).toBe('42501');

    const add = (cp: Awaited<ReturnType<typeof forgedCheckpoint>>) =>
      sql`SELECT aura_ledger_checkpoint_add(${cp.id}::uuid, ${cp.from_seq}::bigint, ${cp.to_seq}::bigint, ${cp.root_hash},
            ${cp.last_hash}, ${cp.key_id}, ${cp.public_key}, ${cp.body}, ${cp.signature})`.execute(w.db);
    await expect(add({ ...far, to_seq: head + 1_000_000 })).rejects.toMatchObject({
      code: '23514',
      message: expect.stringMatching(/head/),
    });
    await expect(add({ ...(await forgedCheckpoint(w, own, 2, head)) })).rejects.toMatchObject({ code: '23514' });

    // The real checkpointer goes through the same function; after it, another key is refused.
    const real = (await createCheckpoint(w.db, w.key))!;
    expect(real).toMatchObject({ fromSeq: 1, toSeq: head });
    await notes(w, 2);
    const next = (await chainHead(w.db)).seq;
    await expect(add(await forgedCheckpoint(w, own, head + 1, next))).rejects.toMatchObject({
      code: '23514',
      message: expect.stringMatching(/key/),
    });
    expect(await createCheckpoint(w.db, w.key)).toMatchObject({ fromSeq: head + 1, toSeq: next });
    expect(await verifyLedger(w.db, { trustedKeys: [w.key.publicKeyPem], signedLog: w.signedLog })).toMatchObject({ intact: true });
  });

  it('a foreign-key checkpoint and a future-dated one put in by the owner are flagged, and the checkpointer will not sign after them', async () => {
    const w = await world();
    await notes(w, 3);
    await createCheckpoint(w.db, w.key);
    const signedTo = (await chainHead(w.db)).seq;
    await notes(w, 2);
    const head = (await chainHead(w.db)).seq;
    const theirs = loadOrCreateSigningKey(join(w.dir, 'foreign.pem'));
    const foreign = await forgedCheckpoint(w, theirs, signedTo + 1, head);
    const future = await forgedCheckpoint(w, theirs, head + 1, head + 1_000_000, Buffer.alloc(32, 9));
    await asOwner(w, (tx) => tx.insertInto('ledger_checkpoints').values([foreign, future]).execute());

    const report = await verifyLedger(w.db, { trustedKeys: [w.key.publicKeyPem], signedLog: w.signedLog });
    expect(report.intact).toBe(false);
    expect(kinds(report)).toEqual(expect.arrayContaining(['checkpoint_foreign_key', 'checkpoint_future']));
    expect(report.problems.find((p) => p.kind === 'checkpoint_foreign_key')).toMatchObject({ seq: head });

    await notes(w, 1);
    await expect(createCheckpoint(w.db, w.key)).rejects.toThrow(/refusing to sign/);
    // Nor does `aura ledger checkpoint --out` hand the Director the forged checkpoint as an anchor.
    const out = join(w.dir, 'anchor.json');
    const cli = await aura(w, ['ledger', 'checkpoint', '--out', out]);
    expect(cli.stderr).toMatch(/refusing to sign/);
    expect(cli.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('a gap between checkpoints and a checkpoint created in the future are flagged', async () => {
    const w = await world();
    await notes(w, 2);
    await createCheckpoint(w.db, w.key);
    const signedTo = (await chainHead(w.db)).seq;
    await notes(w, 3);
    const head = (await chainHead(w.db)).seq;
    // Signed by the real key (as a stolen copy would), skipping an entry, dated next year.
    const skipping = await forgedCheckpoint(w, w.key, signedTo + 2, head);
    await asOwner(w, (tx) =>
      tx
        .insertInto('ledger_checkpoints')
        .values({ ...skipping, created_at: new Date(Date.now() + 365 * 86_400_000) })
        .execute(),
    );
    const report = await verifyLedger(w.db, { trustedKeys: [w.key.publicKeyPem] });
    expect(report.intact).toBe(false);
    expect(kinds(report)).toEqual(expect.arrayContaining(['checkpoint_gap', 'checkpoint_future']));
  });
});

describe('the signed log against the database', () => {
  it('a checkpoint within the log that the signer never logged is reported (signed with a copy of the key)', async () => {
    const w = await world();
    await notes(w, 2);
    const first = (await createCheckpoint(w.db, w.key))!;
    await notes(w, 3);
    await createCheckpoint(w.db, w.key);
    const copy = await forgedCheckpoint(w, w.key, first.toSeq + 1, first.toSeq + 1);
    await asOwner(w, (tx) => tx.insertInto('ledger_checkpoints').values(copy).execute());
    const report = await verifyLedger(w.db, { trustedKeys: [w.key.publicKeyPem], signedLog: w.signedLog });
    expect(report.intact).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'checkpoint_unlogged', seq: first.toSeq + 1 })]),
    );
  });
});

describe('finding 9: a transaction holding the chain head', () => {
  it('verify and the checkpointer give up promptly with a clear message (the CLI exits 2); the app role has an idle-in-transaction timeout', async () => {
    const w = await world();
    await notes(w, 2);
    const holder = new pg.Client({ connectionString: w.url });
    await holder.connect();
    holder.on('error', () => {});
    try {
      const timeout = await holder.query('SHOW idle_in_transaction_session_timeout');
      expect(timeout.rows[0].idle_in_transaction_session_timeout).toBe('1min');
      await holder.query('BEGIN');
      await holder.query('SELECT aura_ledger_seal(true)');
      const started = Date.now();
      const waited = new Promise((resolve) => setTimeout(() => resolve('still waiting after 8 s'), 8_000));
      const outcome = await Promise.race([
        verifyLedger(w.db, { lockTimeoutMs: 300 }).then(
          () => 'verified',
          (e: Error) => e.message,
        ),
        waited,
      ]);
      expect(outcome).toMatch(/the chain head is locked by another transaction/);
      expect(Date.now() - started).toBeLessThan(5_000);
      const signing = await Promise.race([
        createCheckpoint(w.db, w.key, { lockTimeoutMs: 300 }).then(
          () => 'signed',
          (e: Error) => e.message,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 8 s'), 8_000)),
      ]);
      expect(signing).toMatch(/locked by another transaction/);
      const cli = await auraVerify(w, ['--lock-timeout', '500']);
      expect(cli.stderr).toMatch(/the chain head is locked by another transaction/);
      expect(cli.code).toBe(2);
    } finally {
      await holder.end().catch(() => {});
    }
    expect(await verifyLedger(w.db, { trustedKeys: [w.key.publicKeyPem] })).toMatchObject({ intact: true });
  });
});
