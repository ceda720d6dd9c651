/**
 * Ledger benchmark, on the embedded defaults (a scratch database `aura_bench_ledger`):
 * 1. appends per second with 8 concurrent writers, one governance fact per transaction and
 *    four per transaction (what an HR decision writes: incident, action, employee, event);
 * 2. `verifyLedger` over 1,000,000 entries (made in bulk: rows with the triggers off, their
 *    digests by PostgreSQL, the chain computed here exactly as the trigger does, then signed
 *    in one checkpoint), with and without recomputing the checkpoint's Merkle root, and how
 *    long its two halves took side by side (the chain read and hashed, the rows compared).
 * Part of `npm run bench` (bench/run.ts, which may make fewer entries and scale per million);
 * alone it prints each figure beside its goal and writes bench/results-ledger.json.
 * Usage: node --import tsx bench/ledger.ts [--entries N] [--seconds S]
 */
import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { loadConfig, loadDotEnv, PROJECT_ROOT } from '../config/config.js';
import { createDb, type Db } from '../db/connect.js';
import { openDatabase } from '../db/open.js';
import { appendEvent } from '../db/repositories/ledger.js';
import { chainHead } from '../db/repositories/chain.js';
import { verifyLedger } from '../integrity/verify.js';
import { createCheckpoint } from '../integrity/checkpoint.js';
import { loadOrCreateSigningKey } from '../integrity/signing.js';
import type { BenchResult, Figure } from './figures.js';

const WRITERS = 8;

async function appendsPerSecond(db: Db, perTransaction: number, seconds: number): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let facts = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      while (Date.now() < deadline) {
        const fact = (tx: Db, i: number) =>
          appendEvent(tx, {
            idempotencyKey: `bench/${randomUUID()}`,
            actor: `writer-${w}`,
            action: 'bench.append',
            description: 'a governance fact of ordinary size',
            details: { writer: w, i },
          });
        // One fact is one statement, as the activities write it; several share a transaction.
        if (perTransaction === 1) await fact(db, 0);
        else
          await db.transaction().execute(async (tx) => {
            for (let i = 0; i < perTransaction; i++) await fact(tx, i);
          });
        facts += perTransaction;
      }
    }),
  );
  return facts / seconds;
}

/** Bulk rows and their chain, as the trigger would have written them, in batches. */
async function bulkChain(owner: Db, n: number, log: (line: string) => void): Promise<void> {
  const head = await chainHead(owner);
  let prev = head.hash;
  let seq = head.seq;
  const batch = 20_000;
  for (let done = 0; done < n; done += batch) {
    const size = Math.min(batch, n - done);
    const rows = await owner.transaction().execute(async (tx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(tx);
      await sql`SET LOCAL timezone = 'UTC'`.execute(tx);
      const result = await sql<{ id: string; digest: Buffer; at: Date }>`
        INSERT INTO audit_events (id, source, severity, description, actor, action, details)
        SELECT gen_random_uuid(), 'bench', 'info', 'bulk fact ' || g, 'bench', 'bench.bulk', jsonb_build_object('n', g)
        FROM generate_series(1, ${size}) g
        RETURNING id, pg_catalog.sha256(convert_to(row_to_json(audit_events)::text, 'UTF8')) AS digest, clock_timestamp() AS at`.execute(
        tx,
      );
      const seqs: string[] = [],
        ats: Date[] = [],
        entries: string[] = [],
        prevs: Buffer[] = [],
        hashes: Buffer[] = [],
        keys: string[] = [],
        digests: Buffer[] = [];
      for (const r of result.rows) {
        const at = r.at.toISOString().replace('Z', '000Z');
        const entry = `{"at":"${at}","op":"insert","row":"${r.id}","rowHash":"${r.digest.toString('hex')}","run":null,"table":"audit_events"}`;
        const hash = createHash('sha256').update(prev).update(entry, 'utf8').digest();
        seq++;
        seqs.push(String(seq));
        ats.push(r.at);
        entries.push(entry);
        prevs.push(prev);
        hashes.push(hash);
        keys.push(r.id);
        digests.push(r.digest);
        prev = hash;
      }
      await sql`
        INSERT INTO ledger_entries (seq, at, entry, prev_hash, hash, row_table, row_key, row_hash)
        SELECT s, a, e, p, h, 'audit_events', k, d
        FROM unnest(${seqs}::bigint[], ${ats}::timestamptz[], ${entries}::text[], ${prevs}::bytea[], ${hashes}::bytea[], ${keys}::text[], ${digests}::bytea[])
          AS u(s, a, e, p, h, k, d)`.execute(tx);
      await sql`UPDATE ledger_head SET seq = ${seq}, hash = ${prev} WHERE chain = 'governance'`.execute(tx);
      return result.rows.length;
    });
    if ((done / batch) % 10 === 0) log(`  bulk chain: ${done + rows} / ${n}`);
  }
}

/**
 * The ledger's figures. With fewer than 1,000,000 entries the verify times are also given per
 * million (scaled linearly: verification reads and hashes each entry once).
 */
export async function ledgerBench(opts: { entries: number; seconds: number; log?: (line: string) => void }): Promise<BenchResult> {
  const log = opts.log ?? ((line: string) => console.log(`[bench] ${line}`));
  const { entries, seconds } = opts;
  const config = loadConfig();
  const database = await openDatabase(config, log, { databaseName: 'aura_bench_ledger', recreate: true });
  const results: Record<string, unknown> = { date: new Date().toISOString(), writers: WRITERS, seconds };
  const figures: Figure[] = [];
  try {
    const single = await appendsPerSecond(database.db, 1, seconds);
    log(`appends/s, 8 writers, 1 fact per statement: ${single.toFixed(0)} (goal ≥ 2000: ratio ${(single / 2000).toFixed(2)})`);
    const grouped = await appendsPerSecond(database.db, 4, seconds);
    log(`appends/s, 8 writers, 4 facts per transaction: ${grouped.toFixed(0)} (goal ≥ 2000: ratio ${(grouped / 2000).toFixed(2)})`);
    Object.assign(results, { appendsPerSecondSingle: Math.round(single), appendsPerSecondGrouped: Math.round(grouped) });
    figures.push(
      {
        bench: '5',
        key: 'ledgerAppendsPerSecondSingle',
        label: 'ledger appends/s, 8 writers, 1 fact per statement',
        value: single,
        unit: '/s',
        goal: { kind: 'min', value: 2000 },
        note: `${seconds} s`,
      },
      {
        bench: '5',
        key: 'ledgerAppendsPerSecondGrouped',
        label: 'ledger appends/s, 8 writers, 4 facts per transaction',
        value: grouped,
        unit: '/s',
        goal: { kind: 'min', value: 2000 },
        note: `${seconds} s`,
      },
    );
    const small = await verifyLedger(database.db);
    if (!small.intact) throw new Error(`the appended chain does not verify: ${small.firstBad?.detail}`);

    const owner = createDb(database.ownerUrl ?? database.url, 2);
    let signSeconds: number;
    try {
      const have = (await chainHead(owner)).seq;
      const t0 = Date.now();
      await bulkChain(owner, Math.max(0, entries - have), log);
      log(`made ${entries} entries in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const t1 = Date.now();
      const cp = await createCheckpoint(database.db, loadOrCreateSigningKey(config.ledger.keyFile));
      signSeconds = (Date.now() - t1) / 1000;
      log(`signed a checkpoint over entries ${cp?.fromSeq}–${cp?.toSeq} in ${signSeconds.toFixed(1)} s`);
    } finally {
      await owner.destroy();
    }
    const report = await verifyLedger(database.db);
    if (!report.intact) throw new Error(`the bulk chain does not verify: ${report.firstBad?.detail}`);
    const verifySeconds = report.ms / 1000;
    log(
      `verify ${report.entries} entries (chain, checkpoint signatures and end hashes, ${report.rows} tables of rows): ${verifySeconds.toFixed(1)} s (goal ≤ 10 s per million); ` +
        `side by side: the chain ${(report.phases.chainMs / 1000).toFixed(1)} s, the rows ${(report.phases.rowsMs / 1000).toFixed(1)} s`,
    );
    const deep = await verifyLedger(database.db, { merkle: true });
    const deepSeconds = deep.ms / 1000;
    log(`verify --merkle (every checkpoint's Merkle root recomputed too): ${deepSeconds.toFixed(1)} s`);
    Object.assign(results, {
      verifyEntries: report.entries,
      verifySeconds: Number(verifySeconds.toFixed(2)),
      verifyMerkleSeconds: Number(deepSeconds.toFixed(2)),
      verifyChainSeconds: Number((report.phases.chainMs / 1000).toFixed(2)),
      verifyRowsSeconds: Number((report.phases.rowsMs / 1000).toFixed(2)),
      verifyMerkleChainSeconds: Number((deep.phases.chainMs / 1000).toFixed(2)),
      signSeconds: Number(signSeconds.toFixed(2)),
    });
    const perMillion = 1_000_000 / report.entries;
    const scaled =
      report.entries < 1_000_000
        ? `measured over ${report.entries.toLocaleString('en-US')} entries and scaled ×${perMillion.toFixed(2)} to a million`
        : `measured over ${report.entries.toLocaleString('en-US')} entries`;
    figures.push(
      {
        bench: '5',
        key: 'ledgerVerifySecondsPerMillion',
        label: 'ledger verify, per 1,000,000 entries',
        value: verifySeconds * perMillion,
        unit: 's',
        goal: { kind: 'max', value: 10 },
        note: `${scaled}: ${verifySeconds.toFixed(1)} s (chain ${(report.phases.chainMs / 1000).toFixed(1)} s and rows ${(report.phases.rowsMs / 1000).toFixed(1)} s, side by side)`,
      },
      {
        bench: '5',
        key: 'ledgerVerifyMerkleSecondsPerMillion',
        label: 'ledger verify --merkle, per 1,000,000 entries',
        value: deepSeconds * perMillion,
        unit: 's',
        goal: { kind: 'max', value: 10 },
        note: `${scaled}: ${deepSeconds.toFixed(1)} s`,
      },
    );
  } finally {
    await database.close();
  }
  return { figures, details: results };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  loadDotEnv();
  const { details } = await ledgerBench({ entries: flag('--entries', 1_000_000), seconds: flag('--seconds', 10) });
  writeFileSync(join(PROJECT_ROOT, 'bench', 'results-ledger.json'), `${JSON.stringify(details, null, 2)}\n`);
}
