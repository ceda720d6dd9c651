/**
 * Retention: `aura retention purge` refuses anything inside AUDIT_LOG_RETENTION_DAYS or without a
 * reason (the CLI, and the database's own function behind it); past retention (a test clock:
 * the owner-only `clock_offset`), the Temporal workflow removes finished runs and the entries up
 * to a signed checkpoint, writes a receipt into the chain, and the record still verifies.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { PROJECT_ROOT } from '../config/config.js';
import { insertRun, updateRun, upsertProject } from '../db/repositories/runs.js';
import { appendEvent } from '../db/repositories/ledger.js';
import { chainHead, purgeThrough } from '../db/repositories/chain.js';
import { verifyLedger } from '../integrity/verify.js';
import { startTestEnv, type TestEnv } from './helpers/env.js';

const run = promisify(execFile);
let env: TestEnv;

beforeAll(async () => {
  env = await startTestEnv();
}, 180_000);

afterAll(async () => {
  await env?.teardown();
});

async function aura(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'client', 'cli.ts'), ...args], {
      env: env.childEnv,
      cwd: PROJECT_ROOT,
      timeout: 120_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function finishedRun(project: string, notes: number): Promise<string> {
  const id = randomUUID();
  await insertRun(env.db, {
    id,
    projectId: await upsertProject(env.db, project),
    workflowId: `prd-run-${id}`,
    prd: 'p',
    options: {},
    status: 'running',
    idempotencyKey: `ret/${id}`,
  });
  for (let i = 0; i < notes; i++) {
    await appendEvent(env.db, {
      idempotencyKey: `ret/${id}/${i}`,
      actor: 'manager',
      action: 'test.note',
      description: `note ${i}`,
      runId: id,
    });
  }
  await updateRun(env.db, id, { status: 'completed', finished: true });
  return id;
}

const iso = (d: Date) => d.toISOString().slice(0, 10);

describe('retention purge', () => {
  it('refuses a date inside retention and a purge without a reason, at the CLI and in the database', async () => {
    await finishedRun('retention', 2);
    const today = iso(new Date());
    const inside = await aura('retention', 'purge', '--before', today, '--reason', 'tidy up');
    expect(inside.code).toBe(2);
    expect(inside.out).toMatch(/inside the 365 days of retention/);
    const noReason = await aura('retention', 'purge', '--before', '2000-01-01', '--reason', ' ');
    expect(noReason.code).toBe(2);
    expect(noReason.out).toMatch(/--reason must say why/);
    const badDate = await aura('retention', 'purge', '--before', 'last year', '--reason', 'x');
    expect(badDate.code).toBe(2);
    // The second line: the database's own function, called by the application role directly.
    const head = (await chainHead(env.db)).seq;
    await expect(
      purgeThrough(env.db, { id: randomUUID(), before: new Date(), horizonSeq: head, reason: 'x', directorId: 'd', merkleRoot: '00' }),
    ).rejects.toThrow(/inside the 365 days of retention/);
    await expect(
      purgeThrough(env.db, {
        id: randomUUID(),
        before: new Date('2000-01-01'),
        horizonSeq: head,
        reason: ' ',
        directorId: 'd',
        merkleRoot: '00',
      }),
    ).rejects.toThrow(/needs a reason/);
    expect((await env.db.selectFrom('orchestra_runs').select('id').execute()).length).toBeGreaterThan(0);
  });

  it('past retention, purges the old finished runs through a signed checkpoint, keeps the rest, and still verifies', async () => {
    const old = await finishedRun('retention', 3);
    const unfinished = randomUUID();
    await insertRun(env.db, {
      id: unfinished,
      projectId: await upsertProject(env.db, 'retention'),
      workflowId: `prd-run-${unfinished}`,
      prd: 'p',
      options: {},
      status: 'running',
      idempotencyKey: `ret/${unfinished}`,
    });
    // The test clock: the ledger's "now" moves 400 days on (an owner-only setting, itself chained).
    await sql`UPDATE aura_settings SET value = '400 days' WHERE key = 'clock_offset'`.execute(env.ownerDb);
    const before = iso(new Date(Date.now() + 30 * 86_400_000));
    const purged = await aura('retention', 'purge', '--before', before, '--reason', 'yearly clean-up', '--json');
    expect(purged.out).not.toMatch(/Error/);
    expect(purged.code).toBe(0);
    const result = JSON.parse(purged.out.slice(purged.out.indexOf('{'))) as {
      horizonSeq: number;
      counts: Record<string, number>;
      merkleRoot: string;
    };
    expect(result.horizonSeq).toBeGreaterThan(0);
    expect(result.counts.orchestra_runs).toBeGreaterThanOrEqual(2);
    expect(result.counts.audit_events).toBeGreaterThanOrEqual(5);
    expect(result.merkleRoot).toMatch(/^[0-9a-f]{64}$/);

    const runs = (await env.db.selectFrom('orchestra_runs').select('id').execute()).map((r) => r.id);
    expect(runs).not.toContain(old);
    expect(runs).toContain(unfinished);
    expect(await env.db.selectFrom('audit_events').select('id').where('run_id', '=', old).execute()).toEqual([]);

    const receipt = await env.db.selectFrom('retention_purges').selectAll().executeTakeFirstOrThrow();
    expect(receipt).toMatchObject({ reason: 'yearly clean-up', horizon_seq: String(result.horizonSeq) });
    const receiptEntry = await env.db
      .selectFrom('ledger_entries')
      .select('seq')
      .where('row_table', '=', 'retention_purges')
      .where('row_key', '=', receipt.id)
      .execute();
    expect(receiptEntry).toHaveLength(1);
    expect(await env.db.selectFrom('ledger_entries').select('seq').where('seq', '<=', String(result.horizonSeq)).execute()).toEqual([]);

    const report = await verifyLedger(env.db);
    expect(report.problems).toEqual([]);
    expect(report.horizon).toBe(result.horizonSeq);
    const verify = await aura('ledger', 'verify');
    expect(verify.out).toMatch(/^INTACT/m);
    expect(verify.code).toBe(0);
  }, 180_000);
});

describe('aura ledger', () => {
  it('checkpoint --out exports an anchor that verify accepts (exit 0); a tampered record exits 1 naming the entry; an unusable anchor exits 2', async () => {
    const anchor = join(env.config.home, 'anchor.json');
    const signed = await aura('ledger', 'checkpoint', '--out', anchor);
    expect(signed.out).toMatch(/exported to/);
    expect(signed.code).toBe(0);
    const ok = await aura('ledger', 'verify', '--from-checkpoint', anchor);
    expect(ok.out).toMatch(/^INTACT/m);
    expect(ok.out).toMatch(/anchor: checkpoint to entry \d+/);
    expect(ok.code).toBe(0);

    // After the purge the employees were carried into fresh entries: reset one behind the ledger.
    const seq = (
      await env.db
        .selectFrom('ledger_entries')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('row_table', '=', 'employees')
        .where('row_key', '=', 'scripted-ada')
        .executeTakeFirstOrThrow()
    ).seq;
    await env.ownerDb.transaction().execute(async (tx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(tx);
      await sql`UPDATE employees SET reputation = 99 WHERE id = 'scripted-ada'`.execute(tx);
    });
    const bad = await aura('ledger', 'verify', '--json');
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.out.slice(bad.out.indexOf('{'))) as { intact: boolean; firstBad: { kind: string; seq: number } };
    expect(report).toMatchObject({ intact: false, firstBad: { kind: 'row_changed', seq: Number(seq) } });

    writeFileSync(join(env.config.home, 'forged.json'), JSON.stringify({ ...JSON.parse(readFileSync(anchor, 'utf8')), signature: 'AAAA' }));
    const unusable = await aura('ledger', 'verify', '--from-checkpoint', join(env.config.home, 'forged.json'));
    expect(unusable.out).toMatch(/signature does not verify/);
    expect(unusable.code).toBe(2);
  }, 120_000);
});
