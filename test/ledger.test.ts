/**
 * The hash-chained record: tampering by a superuser with triggers off is found and named,
 * concurrent writers keep one chain, a crash mid-append leaves no gap, and checkpoints (stored
 * and exported) catch a consistent rewrite.
 */
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig, PROJECT_ROOT } from '../config/config.js';
import { createDb, type Db } from '../db/connect.js';
import { openDatabase, type OpenDatabase } from '../db/open.js';
import { appendEvent } from '../db/repositories/ledger.js';
import { IdempotencyConflictError } from '../db/repositories/idempotent.js';
import { chainHead, sealLedger } from '../db/repositories/chain.js';
import { createCheckpoint, exportCheckpoint, readCheckpointFile } from '../integrity/checkpoint.js';
import { loadOrCreateSigningKey } from '../integrity/signing.js';
import { verifyLedger, type ProblemKind } from '../integrity/verify.js';

let database: OpenDatabase;
let db: Db;
let su: Db;
let superUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'aura-ledger-'));
const key = loadOrCreateSigningKey(join(dir, 'key.pem'));

beforeAll(async () => {
  const serverUrl = inject('pgServerUrl');
  const name = `aura_t_${randomBytes(5).toString('hex')}`;
  // The application role writes (as in production); the suite server's superuser tampers.
  const config = loadConfig({ DATABASE_OWNER_URL: serverUrl, AURA_HOME: dir }, PROJECT_ROOT);
  database = await openDatabase(config, () => {}, { databaseName: name, recreate: true });
  db = database.db;
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  superUrl = url.toString();
  su = createDb(superUrl, 2);
}, 60_000);

afterAll(async () => {
  await su?.destroy();
  await database?.close();
});

async function note(text: string, runId: string | null = null): Promise<string> {
  const id = `note-${randomUUID()}`;
  await appendEvent(db, { idempotencyKey: id, actor: 'test', action: 'test.note', description: text, runId });
  return id;
}

/** As a superuser with every trigger off (session_replication_role = replica). */
async function behindTheLedger(statements: string): Promise<void> {
  await su.transaction().execute(async (tx) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(tx);
    await sql.raw(statements).execute(tx);
  });
}

async function asSuperuser(fn: (tx: Db) => Promise<unknown>): Promise<void> {
  await su.transaction().execute(async (tx) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(tx);
    await fn(tx);
  });
}

async function entryOf(table: string, key: string): Promise<number> {
  const r = await su
    .selectFrom('ledger_entries')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('row_table', '=', table)
    .where('row_key', '=', key)
    .executeTakeFirstOrThrow();
  return Number(r.seq);
}

async function eventId(idempotencyKey: string): Promise<string> {
  return (await db.selectFrom('audit_events').select('id').where('idempotency_key', '=', idempotencyKey).executeTakeFirstOrThrow()).id;
}

/** The work in small parts: three ranges of the chain and every governed table in three parts, side by side. */
const SPLIT = { ways: 3, rangeEntries: 1, partBytes: 0 };

/** Verifies in one pass and in parts; both must find the same problems, in the same words. */
async function verifyBoth(opts: Parameters<typeof verifyLedger>[1] = {}) {
  const [whole, parts] = [await verifyLedger(db, opts), await verifyLedger(db, { ...opts, split: SPLIT })];
  expect(parts.problems).toEqual(whole.problems);
  expect(parts.entries).toBe(whole.entries);
  return whole;
}

async function expectIntact(): Promise<void> {
  const report = await verifyBoth();
  expect(report.problems).toEqual([]);
  expect(report.intact).toBe(true);
}

async function expectTampered(kind: ProblemKind, seq: number | null): Promise<void> {
  const report = await verifyBoth();
  expect(report.intact).toBe(false);
  expect(report.firstBad).toMatchObject({ kind, seq });
}

describe('the ledger chain', () => {
  it('records every governance write, verifies intact, and signs a checkpoint whose export verifies', async () => {
    const before = (await chainHead(db)).seq;
    for (let i = 0; i < 5; i++) await note(`note ${i}`);
    await db.updateTable('employees').set({ reputation: '61.50' }).where('id', '=', 'scripted-ada').execute();
    // A key with a space, a character past U+FFFF and an accent reads back whole.
    await db
      .insertInto('employee_capabilities')
      .values({ employee_id: 'scripted-ada', capability: 'pack 📦 café', reputation: 50 })
      .execute();
    expect((await chainHead(db)).seq).toBe(before + 7);
    await expectIntact();
    const cp = await createCheckpoint(db, key);
    expect(cp).toMatchObject({ toSeq: before + 7 });
    const file = join(dir, 'anchor.json');
    writeFileSync(file, JSON.stringify(exportCheckpoint(cp!)));
    const report = await verifyLedger(db, { anchor: readCheckpointFile(file), merkle: true });
    expect(report.intact).toBe(true);
    expect(report.anchor?.checked).toBe('chain hash and Merkle root');
  });

  it('names a governance row edited behind the ledger, and is intact again once it is put back', async () => {
    const k = await note('the original words');
    const id = await eventId(k);
    const seq = await entryOf('audit_events', id);
    await behindTheLedger(`UPDATE audit_events SET description = 'rewritten' WHERE id = '${id}'`);
    await expectTampered('row_changed', seq);
    await behindTheLedger(`UPDATE audit_events SET description = 'the original words' WHERE id = '${id}'`);
    await expectIntact();
  });

  it("names an employee's status changed behind the ledger", async () => {
    await db.updateTable('employees').set({ status: 'suspended' }).where('id', '=', 'scripted-grace').execute();
    const seq = await entryOf('employees', 'scripted-grace');
    await behindTheLedger(`UPDATE employees SET status = 'active' WHERE id = 'scripted-grace'`);
    await expectTampered('row_changed', seq);
    await behindTheLedger(`UPDATE employees SET status = 'suspended' WHERE id = 'scripted-grace'`);
    await expectIntact();
  });

  it('names a deleted governance row, and a row inserted with no entry', async () => {
    const k = await note('to be deleted');
    const id = await eventId(k);
    const seq = await entryOf('audit_events', id);
    // Kept aside in SQL, so the row comes back byte for byte (a JS Date would lose microseconds).
    await behindTheLedger(
      `CREATE TABLE tamper_${seq} AS SELECT * FROM audit_events WHERE id = '${id}'; DELETE FROM audit_events WHERE id = '${id}'`,
    );
    await expectTampered('row_deleted', seq);
    await behindTheLedger(`INSERT INTO audit_events SELECT * FROM tamper_${seq}; DROP TABLE tamper_${seq}`);
    await expectIntact();

    const forged = randomUUID();
    await behindTheLedger(
      `INSERT INTO incidents (id, violation, message, evidence, model_id) VALUES ('${forged}', 'timeout', 'forged', '{}', 'scripted-ada')`,
    );
    const report = await verifyLedger(db);
    expect(report.intact).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'row_unrecorded', seq: null, detail: expect.stringContaining(forged) }),
    ]);
    await behindTheLedger(`DELETE FROM incidents WHERE id = '${forged}'`);
    await expectIntact();
  });

  it('names an edited entry, a deleted entry (a gap), an inserted entry and two entries swapped', async () => {
    await note('a');
    await note('b');
    const head = (await chainHead(db)).seq;
    const saved = await su
      .selectFrom('ledger_entries')
      .selectAll()
      .where('seq', '=', String(head - 1))
      .executeTakeFirstOrThrow();
    const restore = async () => {
      await behindTheLedger(`DELETE FROM ledger_entries WHERE seq >= ${head - 1}`);
      await asSuperuser((tx) => tx.insertInto('ledger_entries').values([saved, last]).execute());
    };
    const last = await su.selectFrom('ledger_entries').selectAll().where('seq', '=', String(head)).executeTakeFirstOrThrow();

    await behindTheLedger(`UPDATE ledger_entries SET entry = replace(entry, '"op":"insert"', '"op":"update"') WHERE seq = ${head - 1}`);
    await expectTampered('entry_edited', head - 1);
    await restore();
    await expectIntact();

    await behindTheLedger(`DELETE FROM ledger_entries WHERE seq = ${head - 1}`);
    await expectTampered('gap', head - 1);
    await restore();
    await expectIntact();

    // An entry slipped in between: everything after it moves up one.
    await behindTheLedger(
      `UPDATE ledger_entries SET seq = seq + 1000000 WHERE seq >= ${head - 1};
       UPDATE ledger_entries SET seq = seq - 1000000 + 1 WHERE seq >= ${head - 1 + 1000000};
       INSERT INTO ledger_entries SELECT ${head - 1}, at, entry, prev_hash, hash, row_table, row_key, row_hash, run_id
         FROM ledger_entries WHERE seq = ${head - 2};`,
    );
    await expectTampered('chain_broken', head - 1);
    await restore();
    await expectIntact();

    await behindTheLedger(
      `UPDATE ledger_entries SET seq = -1 WHERE seq = ${head - 1};
       UPDATE ledger_entries SET seq = ${head - 1} WHERE seq = ${head};
       UPDATE ledger_entries SET seq = ${head} WHERE seq = -1;`,
    );
    await expectTampered('chain_broken', head - 1);
    await restore();
    await expectIntact();
  });

  it('a consistent rewrite of the chain (hashes recomputed, head moved) is caught by the signed checkpoint and the exported anchor', async () => {
    await note('signed soon');
    const cp = (await createCheckpoint(db, key))!;
    const anchor = join(dir, 'anchor-rewrite.json');
    writeFileSync(anchor, JSON.stringify(exportCheckpoint(cp)));
    const target = cp.toSeq - 1;
    const saved = await su.selectFrom('ledger_entries').selectAll().where('seq', '>=', String(target)).orderBy('seq').execute();
    const headBefore = await su.selectFrom('ledger_head').selectAll().executeTakeFirstOrThrow();
    // Rewrite: edit one entry and recompute every hash after it, as an insider who knows the scheme.
    let prev = saved[0]!.prev_hash;
    const rewritten = saved.map((e, i) => {
      const entry = i === 0 ? e.entry.replace('"op":"insert"', '"op":"update"') : e.entry;
      const hash = createHash('sha256').update(prev).update(entry, 'utf8').digest();
      const row = { ...e, entry, prev_hash: prev, hash };
      prev = hash;
      return row;
    });
    await behindTheLedger(`DELETE FROM ledger_entries WHERE seq >= ${target}`);
    await asSuperuser(async (tx) => {
      await tx.insertInto('ledger_entries').values(rewritten).execute();
      await tx.updateTable('ledger_head').set({ hash: prev }).execute();
    });
    const report = await verifyLedger(db, { anchor: readCheckpointFile(anchor), merkle: true });
    expect(report.intact).toBe(false);
    expect(report.problems.map((p) => p.kind)).toEqual(expect.arrayContaining(['checkpoint_invalid', 'anchor_mismatch']));
    expect(report.problems.some((p) => p.detail.includes('no longer give the Merkle root checkpoint'))).toBe(true);
    // Without recomputing the roots, the signed end hash alone still catches the rewrite.
    const quick = await verifyLedger(db);
    expect(quick.problems.some((p) => p.kind === 'checkpoint_invalid' && p.seq === cp.toSeq)).toBe(true);
    expect(report.problems.every((p) => p.kind !== 'entry_edited' && p.kind !== 'chain_broken')).toBe(true);
    await behindTheLedger(`DELETE FROM ledger_entries WHERE seq >= ${target}`);
    await asSuperuser(async (tx) => {
      await tx.insertInto('ledger_entries').values(saved).execute();
      await tx.updateTable('ledger_head').set({ hash: headBefore.hash }).execute();
    });
    await expectIntact();
  });
});

describe('entries and migrations', () => {
  it('names an entry rewritten into JSON that is not canonical, even with its hashes recomputed', async () => {
    await note('to be re-spelled');
    const head = (await chainHead(db)).seq;
    const saved = await su.selectFrom('ledger_entries').selectAll().where('seq', '=', String(head)).executeTakeFirstOrThrow();
    const spaced = saved.entry.replace('"op":', '"op": ');
    const hash = createHash('sha256').update(saved.prev_hash).update(spaced, 'utf8').digest();
    await asSuperuser(async (tx) => {
      await tx.updateTable('ledger_entries').set({ entry: spaced, hash }).where('seq', '=', String(head)).execute();
      await tx.updateTable('ledger_head').set({ hash }).execute();
    });
    await expectTampered('not_canonical', head);
    await asSuperuser(async (tx) => {
      await tx.updateTable('ledger_entries').set({ entry: saved.entry, hash: saved.hash }).where('seq', '=', String(head)).execute();
      await tx.updateTable('ledger_head').set({ hash: saved.hash }).execute();
    });
    await expectIntact();
  });

  it('a migration that adds a column records the rows again, and the record verifies', async () => {
    await note('before the new column');
    await sql`ALTER TABLE audit_events ADD COLUMN reviewed_by TEXT DEFAULT 'nobody'`.execute(su);
    const before = await verifyLedger(db);
    expect(before.firstBad?.kind).toBe('row_changed');
    const rerecorded = await sql<{ n: string }>`SELECT aura_ledger_rerecord('audit_events') AS n`.execute(su);
    expect(Number(rerecorded.rows[0]!.n)).toBeGreaterThan(0);
    await expectIntact();
    const ops = await db
      .selectFrom('ledger_entries')
      .select('entry')
      .where('row_table', '=', 'audit_events')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(ops.entry).op).toBe('migrate');
  });
});

describe('concurrency and crashes', () => {
  it('8 concurrent writers make one unbroken chain, and verifying while they write finds nothing wrong', async () => {
    const before = (await chainHead(db)).seq;
    let writing = true;
    const verifying = (async () => {
      const reports = [];
      while (writing) reports.push(await verifyLedger(db));
      return reports;
    })();
    await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 50; i++) await note(`writer ${w} note ${i}`);
          await db
            .updateTable('employees')
            .set({ reputation: String(50 + w) })
            .where('id', '=', 'scripted-ada')
            .execute();
        })(),
      ),
    );
    writing = false;
    const reports = await verifying;
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.flatMap((r) => r.problems)).toEqual([]);
    await sealLedger(db);
    const head = await chainHead(db);
    expect(head.seq).toBe(before + 408);
    const seqs = await su.selectFrom('ledger_entries').select('seq').where('seq', '>', String(before)).orderBy('seq').execute();
    expect(seqs.map((s) => Number(s.seq))).toEqual(Array.from({ length: 408 }, (_, i) => before + 1 + i));
  });

  it('a writer killed before its commit leaves nothing; a sealer killed mid-seal leaves its entries pending for the next: no gap, no duplicate', async () => {
    const before = (await chainHead(db)).seq;
    const holder = new pg.Client({ connectionString: superUrl });
    const writer = new pg.Client({ connectionString: superUrl });
    const sealer = new pg.Client({ connectionString: superUrl });
    for (const c of [holder, writer, sealer]) {
      await c.connect();
      c.on('error', () => {});
    }
    const pending = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ledger_pending`.execute(su)).rows[0]!.n);
    const kill = async (c: pg.Client) => {
      const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      return async () => void (await sql`SELECT pg_terminate_backend(${pid})`.execute(su));
    };
    try {
      const killWriter = await kill(writer);
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO audit_events (id, description, actor, action) VALUES ('${randomUUID()}', 'doomed', 'test', 'test.crash')`,
      );
      await killWriter();
      expect(await pending()).toBe(0);

      // A writer that commits while the head is locked leaves its entry pending.
      await holder.query('BEGIN');
      await holder.query(`SELECT * FROM ledger_head WHERE chain = 'governance' FOR UPDATE`);
      await note('committed while the head was locked');
      expect(await pending()).toBe(1);
      await holder.query('ROLLBACK');
      // A sealer dies after chaining it, before its commit.
      const killSealer = await kill(sealer);
      await sealer.query('BEGIN');
      expect((await sealer.query('SELECT aura_ledger_seal(true) AS n')).rows[0].n).toBe('1');
      await killSealer();
    } finally {
      for (const c of [holder, writer, sealer]) await c.end().catch(() => {});
    }
    expect(await pending()).toBe(1);
    expect((await chainHead(db)).seq).toBe(before);
    expect(await sealLedger(db)).toBe(1);
    expect((await chainHead(db)).seq).toBe(before + 1);
    expect(await su.selectFrom('audit_events').select('id').where('description', '=', 'doomed').execute()).toEqual([]);
    await expectIntact();
  });
});

describe('verifying in parts', () => {
  /** The first entry of the second of the three ranges `SPLIT` cuts the chain into. */
  async function boundary(): Promise<number> {
    const head = (await chainHead(db)).seq;
    return 1 + Math.ceil(head / 3);
  }

  /** Tampers as a superuser with triggers off, verifies both ways, then puts the entries back. */
  async function atBoundary(tamper: (b: number) => string, kind: ProblemKind, at: (b: number) => number): Promise<void> {
    const b = await boundary();
    const saved = await su
      .selectFrom('ledger_entries')
      .selectAll()
      .where('seq', '>=', String(b - 1))
      .where('seq', '<=', String(b + 1))
      .orderBy('seq')
      .execute();
    await behindTheLedger(tamper(b));
    try {
      await expectTampered(kind, at(b));
    } finally {
      await behindTheLedger(`DELETE FROM ledger_entries WHERE seq BETWEEN ${b - 1} AND ${b + 1}`);
      await asSuperuser((tx) => tx.insertInto('ledger_entries').values(saved).execute());
    }
    await expectIntact();
  }

  it('finds an entry removed, edited, moved or re-labelled where one range ends and the next begins', async () => {
    for (let i = 0; i < 6; i++) await note(`boundary ${i}`);
    await expectIntact();
    // The first entry of a range, and the last entry of the range before it: a gap either way.
    await atBoundary(
      (b) => `DELETE FROM ledger_entries WHERE seq = ${b}`,
      'gap',
      (b) => b,
    );
    await atBoundary(
      (b) => `DELETE FROM ledger_entries WHERE seq = ${b - 1}`,
      'gap',
      (b) => b - 1,
    );
    await atBoundary(
      (b) => `UPDATE ledger_entries SET entry = replace(entry, '"op":"insert"', '"op":"update"') WHERE seq = ${b}`,
      'entry_edited',
      (b) => b,
    );
    await atBoundary(
      (b) => `UPDATE ledger_entries SET seq = -1 WHERE seq = ${b - 1};
              UPDATE ledger_entries SET seq = ${b - 1} WHERE seq = ${b};
              UPDATE ledger_entries SET seq = ${b} WHERE seq = -1;`,
      'chain_broken',
      (b) => b - 1,
    );
    // The columns the row check reads, changed without the hashed bytes: found on the bytes.
    await atBoundary(
      (b) => `UPDATE ledger_entries SET row_key = row_key || 'x' WHERE seq = ${b}`,
      'entry_columns_changed',
      (b) => b,
    );
    await atBoundary(
      (b) => `UPDATE ledger_entries SET row_hash = decode(repeat('ab', 32), 'hex') WHERE seq = ${b}`,
      'entry_columns_changed',
      (b) => b,
    );
  });

  it('an entry re-spelled with a JSON escape and its hash recomputed is not canonical; text that needs escapes is', async () => {
    // A key whose entry needs escapes (a quote, a backslash, a newline, a control character) verifies.
    await db
      .insertInto('employee_capabilities')
      .values({ employee_id: 'scripted-ada', capability: 'say "hi" \\ then\nstop\u0001', reputation: 50 })
      .execute();
    await expectIntact();
    await note('to be re-spelled with an escape');
    const head = (await chainHead(db)).seq;
    const saved = await su.selectFrom('ledger_entries').selectAll().where('seq', '=', String(head)).executeTakeFirstOrThrow();
    // "\u0069nsert" reads as "insert" but RFC 8785 writes the letter itself.
    const escaped = saved.entry.replace('"op":"insert"', '"op":"\\u0069nsert"');
    expect(JSON.parse(escaped)).toEqual(JSON.parse(saved.entry));
    const hash = createHash('sha256').update(saved.prev_hash).update(escaped, 'utf8').digest();
    await asSuperuser(async (tx) => {
      await tx.updateTable('ledger_entries').set({ entry: escaped, hash }).where('seq', '=', String(head)).execute();
      await tx.updateTable('ledger_head').set({ hash }).execute();
    });
    await expectTampered('not_canonical', head);
    await asSuperuser(async (tx) => {
      await tx.updateTable('ledger_entries').set({ entry: saved.entry, hash: saved.hash }).where('seq', '=', String(head)).execute();
      await tx.updateTable('ledger_head').set({ hash: saved.hash }).execute();
    });
    await expectIntact();
  });

  it('rows changed, deleted and written behind the ledger are found with the tables compared in parts', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await eventId(await note(`row ${i}`)));
    const seqs = await Promise.all(ids.map((id) => entryOf('audit_events', id)));
    const forged = randomUUID();
    await behindTheLedger(
      `CREATE TABLE tamper_parts AS SELECT * FROM audit_events WHERE id = '${ids[1]}';
       UPDATE audit_events SET description = 'rewritten' WHERE id = '${ids[0]}';
       DELETE FROM audit_events WHERE id = '${ids[1]}';
       INSERT INTO audit_events (id, description, actor, action) VALUES ('${forged}', 'forged', 'test', 'test.forged');`,
    );
    try {
      const report = await verifyBoth();
      expect(report.problems).toEqual([
        expect.objectContaining({ kind: 'row_changed', seq: seqs[0] }),
        expect.objectContaining({ kind: 'row_deleted', seq: seqs[1] }),
        expect.objectContaining({ kind: 'row_unrecorded', seq: null, detail: expect.stringContaining(forged) }),
      ]);
    } finally {
      await behindTheLedger(
        `UPDATE audit_events SET description = 'row 0' WHERE id = '${ids[0]}';
         INSERT INTO audit_events SELECT * FROM tamper_parts; DROP TABLE tamper_parts;
         DELETE FROM audit_events WHERE id = '${forged}';`,
      );
    }
    await expectIntact();
  });

  it('a checkpoint over several ranges: its Merkle root is recomputed from the ranges, and a rewrite inside it is caught', async () => {
    for (let i = 0; i < 4; i++) await note(`merkle ${i}`);
    const cp = (await createCheckpoint(db, key))!;
    expect(await verifyBoth({ merkle: true })).toMatchObject({ intact: true });
    const b = await boundary();
    expect(b).toBeGreaterThan(cp.fromSeq);
    expect(b).toBeLessThanOrEqual(cp.toSeq);
    // Rewrite from the boundary on with every hash recomputed: only the signatures can tell.
    const saved = await su.selectFrom('ledger_entries').selectAll().where('seq', '>=', String(b)).orderBy('seq').execute();
    const headBefore = await su.selectFrom('ledger_head').selectAll().executeTakeFirstOrThrow();
    let prev = saved[0]!.prev_hash;
    const rewritten = saved.map((e, i) => {
      const entry = i === 0 ? e.entry.replace('"op":"insert"', '"op":"update"') : e.entry;
      const hash = createHash('sha256').update(prev).update(entry, 'utf8').digest();
      const row = { ...e, entry, prev_hash: prev, hash };
      prev = hash;
      return row;
    });
    await behindTheLedger(`DELETE FROM ledger_entries WHERE seq >= ${b}`);
    await asSuperuser(async (tx) => {
      await tx.insertInto('ledger_entries').values(rewritten).execute();
      await tx.updateTable('ledger_head').set({ hash: prev }).execute();
    });
    try {
      const report = await verifyBoth({ merkle: true });
      expect(report.problems.some((p) => p.detail.includes('no longer give the Merkle root checkpoint'))).toBe(true);
      expect(report.problems.some((p) => p.kind === 'checkpoint_invalid' && p.seq === cp.toSeq)).toBe(true);
    } finally {
      await behindTheLedger(`DELETE FROM ledger_entries WHERE seq >= ${b}`);
      await asSuperuser(async (tx) => {
        await tx.insertInto('ledger_entries').values(saved).execute();
        await tx.updateTable('ledger_head').set({ hash: headBefore.hash }).execute();
      });
    }
    await expectIntact();
  });
});

describe('appending', () => {
  it('the same event again writes nothing; another event under its key is refused and the conflict recorded', async () => {
    const k = `once-${randomUUID()}`;
    const event = { idempotencyKey: k, actor: 'test', action: 'test.once', description: 'written once' };
    await appendEvent(db, event);
    const head = (await chainHead(db)).seq;
    await appendEvent(db, event);
    expect((await chainHead(db)).seq).toBe(head);
    expect(await db.selectFrom('audit_events').select('id').where('idempotency_key', '=', k).execute()).toHaveLength(1);
    await expect(appendEvent(db, { ...event, description: 'something else' })).rejects.toBeInstanceOf(IdempotencyConflictError);
    const conflicts = await db
      .selectFrom('audit_events')
      .select(['action', 'severity'])
      .where('idempotency_key', 'like', `${k}:conflict:%`)
      .execute();
    expect(conflicts).toEqual([{ action: 'idempotency.conflict', severity: 'critical' }]);
    await expectIntact();
  });

  it("an entry's time is written in UTC and the row's digest taken in UTC, whatever the writer's session timezone", async () => {
    const zoned = createDb(database.url, 1);
    try {
      const id = randomUUID();
      await zoned.connection().execute(async (conn) => {
        await sql`SET timezone = 'Asia/Kolkata'`.execute(conn);
        await sql`INSERT INTO audit_events (id, description, actor, action) VALUES (${id}, 'from +05:30', 'test', 'test.zone')`.execute(
          conn,
        );
      });
      const seq = await entryOf('audit_events', id);
      const e = await su
        .selectFrom('ledger_entries')
        .select(['entry', 'at', sql<string>`to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('utc')])
        .where('seq', '=', String(seq))
        .executeTakeFirstOrThrow();
      const body = JSON.parse(e.entry) as { at: string };
      expect(body.at).toBe(e.utc);
      expect(body.at.slice(0, 23)).toBe(e.at.toISOString().slice(0, 23));
      await expectIntact();
    } finally {
      await zoned.destroy();
    }
  });
});

describe('signing', () => {
  it('refuses to sign a range whose chain does not hold (an entry edited, an entry removed), and signs it once it is put back', async () => {
    for (let i = 0; i < 3; i++) await note(`to sign ${i}`);
    const head = (await chainHead(db)).seq;
    const saved = await su
      .selectFrom('ledger_entries')
      .selectAll()
      .where('seq', '=', String(head - 1))
      .executeTakeFirstOrThrow();
    const restore = async () => {
      await behindTheLedger(`DELETE FROM ledger_entries WHERE seq = ${head - 1}`);
      await asSuperuser((tx) => tx.insertInto('ledger_entries').values(saved).execute());
    };
    const unlogged = { signedLog: null };
    await behindTheLedger(`UPDATE ledger_entries SET entry = replace(entry, '"op":"insert"', '"op":"update"') WHERE seq = ${head - 1}`);
    await expect(createCheckpoint(db, key, unlogged)).rejects.toThrow(`refusing to sign: the chain does not hold at entry ${head - 1}`);
    await restore();
    await behindTheLedger(`DELETE FROM ledger_entries WHERE seq = ${head - 1}`);
    await expect(createCheckpoint(db, key, unlogged)).rejects.toThrow(`refusing to sign: the chain does not hold at entry ${head - 1}`);
    await restore();
    expect(await createCheckpoint(db, key, unlogged)).toMatchObject({ toSeq: head });
    expect(await verifyBoth({ merkle: true })).toMatchObject({ intact: true });
  });
});
