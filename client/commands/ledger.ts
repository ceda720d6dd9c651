/**
 * The Director's hold on the record: `aura ledger verify` (exit 0 intact, 1 tampered, 2 unusable
 * input), `aura ledger checkpoint` (sign now, export the anchor to keep elsewhere) and
 * `aura retention purge` (a recorded Temporal workflow, refused inside retention).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { AuraConfig } from '../../config/config.js';
import { latestCheckpoint, retentionClock } from '../../db/repositories/chain.js';
import { checkpointSummary, createCheckpoint, exportCheckpoint, readCheckpointFile } from '../../integrity/checkpoint.js';
import { loadOrCreateSigningKey } from '../../integrity/signing.js';
import { verifyLedger, type VerifyReport } from '../../integrity/verify.js';
import { runPurge } from '../../director/retention.js';
import { withDb } from '../../director/with-db.js';
import { UserError } from '../../errors/index.js';

type Ctx = { config: () => AuraConfig; log: (line: string) => void; client: (cfg: AuraConfig) => Promise<Client> };

export function registerLedgerCommands(program: Command, ctx: Ctx): void {
  const ledger = program.command('ledger').description('the hash-chained governance record: verify it, sign and export checkpoints');
  ledger
    .command('verify')
    .description('recompute the chain, the signed checkpoints and every row; exit 0 intact, 1 tampered, 2 unusable input')
    .option('--from-checkpoint <file>', 'also check an exported checkpoint kept outside the database')
    .option('--merkle', "also recompute every stored checkpoint's Merkle root (slower; the chain hash already binds them)", false)
    .option('--json', 'print JSON', false)
    .action(async (opts: { fromCheckpoint?: string; merkle: boolean; json: boolean }) => {
      const anchor = opts.fromCheckpoint ? readAnchor(opts.fromCheckpoint) : undefined;
      const report = await withDb(ctx, (db) => verifyLedger(db, { anchor, merkle: opts.merkle }));
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatVerify(report));
      if (!report.intact) process.exitCode = 1;
    });
  ledger
    .command('checkpoint')
    .description('sign the entries since the last checkpoint now, and print (or write) the latest checkpoint')
    .option('--out <file>', 'write the exported checkpoint to this file (keep it outside this machine)')
    .action(async (opts: { out?: string }) => {
      const cfg = ctx.config();
      const { made, latest } = await withDb(ctx, async (db) => {
        const made = await createCheckpoint(db, loadOrCreateSigningKey(cfg.ledger.keyFile));
        return { made, latest: made ?? (await latestCheckpoint(db)) };
      });
      if (!latest) throw new UserError('the ledger has no entries to sign yet');
      ctx.log(made ? `signed ${checkpointSummary(latest)}` : `nothing new since ${checkpointSummary(latest)}`);
      const json = `${JSON.stringify(exportCheckpoint(latest), null, 2)}\n`;
      if (opts.out) {
        writeFileSync(opts.out, json, { mode: 0o644 });
        ctx.log(`exported to ${opts.out}: keep it where the database's owner cannot reach it`);
      } else {
        process.stdout.write(json);
      }
    });
  registerRetentionCommands(program, ctx);
}

/** An unusable file throws UnusableCheckpoint, a UserError: printed alone, exit 2. */
function readAnchor(file: string) {
  return readCheckpointFile(file);
}

export function formatVerify(r: VerifyReport): string {
  const lines = [
    `${r.intact ? 'INTACT' : 'TAMPERED'}: ${r.entries} entries (${r.horizon > 0 ? `after the purge horizon ${r.horizon}` : 'from the first'}) ` +
      `to ${r.head.seq}, ${r.checkpoints} signed checkpoints, ${r.rows} tables of rows checked in ${r.ms} ms`,
  ];
  if (r.anchor) lines.push(`anchor: checkpoint to entry ${r.anchor.toSeq}, key ${r.anchor.keyId}: ${r.anchor.checked}`);
  if (r.firstBad) lines.push(`first bad entry: ${r.firstBad.seq ?? '(none: a row nobody recorded)'}: ${r.firstBad.detail}`);
  for (const p of r.problems.slice(0, 20)) lines.push(`  ${p.kind}${p.seq === null ? '' : ` @${p.seq}`}: ${p.detail}`);
  if (r.problems.length > 20) lines.push(`  … and ${r.problems.length - 20} more (--json lists them all)`);
  return lines.join('\n');
}

function registerRetentionCommands(program: Command, ctx: Ctx): void {
  const retention = program.command('retention').description('retention of the governance record (AUDIT_LOG_RETENTION_DAYS)');
  retention
    .command('purge')
    .description('remove finished runs and ledger entries older than DATE and past retention (recorded, Director only)')
    .requiredOption('--before <date>', 'remove only what was written before this date (ISO 8601, e.g. 2025-01-31)')
    .requiredOption('--reason <text>', 'why: recorded with the purge')
    .option('--json', 'print JSON', false)
    .action(async (opts: { before: string; reason: string; json: boolean }) => {
      const cfg = ctx.config();
      const before = parseDate(opts.before);
      if (!opts.reason.trim()) throw new UserError('--reason must say why: it is recorded with the purge');
      const { now, retentionDays } = await withDb(ctx, (db) => retentionClock(db));
      const floor = new Date(now.getTime() - retentionDays * 86_400_000);
      if (before > floor) {
        throw new UserError(
          `refused: ${before.toISOString()} is inside the ${retentionDays} days of retention; the latest date allowed is ${floor.toISOString()}`,
        );
      }
      const purgeId = randomUUID();
      const client = await ctx.client(cfg);
      ctx.log(`retention purge ${purgeId}: verifying the record, signing the horizon, purging before ${before.toISOString()}…`);
      const result = await runPurge(client, { purgeId, before: before.toISOString(), reason: opts.reason, director: cfg.director });
      if (opts.json) return console.log(JSON.stringify(result, null, 2));
      if (result.horizonSeq === null) return ctx.log('nothing is old enough to purge');
      ctx.log(`purged through entry ${result.horizonSeq} (Merkle root of what was removed ${result.merkleRoot}); receipt in the chain`);
      for (const [table, n] of Object.entries(result.counts)) console.log(`  ${table.padEnd(22)} ${n}`);
    });
}

function parseDate(text: string): Date {
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime()))
    throw new UserError(`--before must be an ISO 8601 date, e.g. 2025-01-31 (got "${text}")`);
  return d;
}
