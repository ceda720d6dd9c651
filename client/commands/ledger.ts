/**
 * The Director's hold on the record: `aura ledger verify` (exit 0 intact, 1 tampered, 2 unusable
 * input), `aura ledger checkpoint` (sign now, export the anchor to keep elsewhere) and
 * `aura retention purge` (a recorded Temporal workflow, refused inside retention).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { AuraConfig } from '../../config/config.js';
import type { VerifyReport } from '../../integrity/verify.js';
import { userError } from '../lazy.js';
import { fail, io, print } from '../io.js';

/** What the ledger commands use, loaded when one of them runs. */
async function load() {
  const [chain, checkpoint, signedLog, signing, verify, retention, withDb] = await Promise.all([
    import('../../db/repositories/chain.js'),
    import('../../integrity/checkpoint.js'),
    import('../../integrity/signed-log.js'),
    import('../../integrity/signing.js'),
    import('../../integrity/verify.js'),
    import('../../director/retention.js'),
    import('../../director/with-db.js'),
  ]);
  return { ...chain, ...checkpoint, ...signedLog, ...signing, ...verify, ...retention, ...withDb };
}

type Ctx = { config: () => AuraConfig; log: (line: string) => void; client: (cfg: AuraConfig) => Promise<Client> };

export function registerLedgerCommands(program: Command, ctx: Ctx): void {
  const ledger = program.command('ledger').description('the hash-chained governance record: verify it, sign and export checkpoints');
  ledger
    .command('verify')
    .description('recompute the chain, the signed checkpoints and every row; exit 0 intact, 1 tampered, 2 unusable input')
    .option('--from-checkpoint <file>', 'also check an exported checkpoint kept outside the database')
    .option('--merkle', "also recompute every stored checkpoint's Merkle root (slower; the chain hash already binds them)", false)
    .option(
      '--key <file|base64>',
      'a public key trusted to sign checkpoints (PEM file, or base64); repeat for several. Default: the public half of AURA_LEDGER_KEY_FILE',
      collect,
      [] as string[],
    )
    .option('--trusted-keys <file>', 'a file of public keys trusted to sign checkpoints (PEM blocks or base64 lines)')
    .option('--signed-log <file>', "the checkpointer's log of what it signed (default: <key file>.signed.log when it exists)")
    .option(
      '--lock-timeout <ms>',
      'give up when the chain head stays locked this long (exit 2; default: as long as the checkpointer waits)',
    )
    .option('--json', 'print JSON', false)
    .action(
      async (opts: {
        fromCheckpoint?: string;
        merkle: boolean;
        key: string[];
        trustedKeys?: string;
        signedLog?: string;
        lockTimeout?: string;
        json: boolean;
      }) => {
        const cfg = ctx.config();
        const { signedLogPath, withDb, verifyLedger } = await load();
        const anchor = opts.fromCheckpoint ? await readAnchor(opts.fromCheckpoint) : undefined;
        const trustedKeys = await pinnedKeys(opts, cfg.ledger.keyFile);
        const signedLog = opts.signedLog ?? (existsSync(signedLogPath(cfg.ledger.keyFile)) ? signedLogPath(cfg.ledger.keyFile) : undefined);
        const lockTimeoutMs = opts.lockTimeout === undefined ? undefined : Number(opts.lockTimeout);
        if (lockTimeoutMs !== undefined && (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 1))
          throw userError(`--lock-timeout must be a number of milliseconds (got "${opts.lockTimeout}")`);
        const report = await withDb(ctx, (db) => verifyLedger(db, { anchor, merkle: opts.merkle, trustedKeys, signedLog, lockTimeoutMs }));
        print(opts.json ? JSON.stringify(report, null, 2) : formatVerify(report));
        if (!report.intact) fail();
      },
    );
  ledger
    .command('checkpoint')
    .description('sign the entries since the last checkpoint now, and print (or write) the latest checkpoint')
    .option('--out <file>', 'write the exported checkpoint to this file (keep it outside this machine)')
    .action(async (opts: { out?: string }) => {
      const cfg = ctx.config();
      const {
        loadOrCreateSigningKey,
        withDb,
        createCheckpoint,
        SigningRefused,
        latestCheckpoint,
        checkpointProblems,
        checkpointSummary,
        exportCheckpoint,
      } = await load();
      const key = loadOrCreateSigningKey(cfg.ledger.keyFile);
      const { made, latest } = await withDb(ctx, async (db) => {
        const made = await createCheckpoint(db, key).catch((err: unknown) => {
          // The database does not continue what this key signed: say so, and export nothing.
          if (err instanceof SigningRefused) throw userError(err.message);
          throw err;
        });
        return { made, latest: made ?? (await latestCheckpoint(db)) };
      });
      if (!latest) throw userError('the ledger has no entries to sign yet');
      const problems = checkpointProblems(latest, [key.publicKeyPem]);
      if (problems.length > 0) {
        throw userError(
          `not exported: the latest checkpoint in the database is not one this key (${key.keyId}) signed: ${problems[0]!.detail}; run \`aura ledger verify\``,
        );
      }
      ctx.log(made ? `signed ${checkpointSummary(latest)}` : `nothing new since ${checkpointSummary(latest)}`);
      const json = `${JSON.stringify(exportCheckpoint(latest), null, 2)}\n`;
      if (opts.out) {
        writeFileSync(opts.out, json, { mode: 0o644 });
        ctx.log(`exported to ${opts.out}: keep it where the database's owner cannot reach it`);
      } else {
        io().write(json);
      }
    });
  registerRetentionCommands(program, ctx);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The keys verify trusts: --key and --trusted-keys when given, else the public half of the
 * signing key file; never the key stored in a checkpoint row. None at all is unusable input (exit 2).
 */
async function pinnedKeys(opts: { key: string[]; trustedKeys?: string }, keyFile: string): Promise<string[]> {
  const { parseTrustedKeys, publicKeyOfKeyFile } = await load();
  const keys: string[] = [];
  try {
    for (const spec of opts.key)
      keys.push(...parseTrustedKeys(existsSync(spec) ? readFileSync(spec, 'utf8') : spec, `--key ${shorten(spec)}`));
    if (opts.trustedKeys) keys.push(...parseTrustedKeys(readFileSync(opts.trustedKeys, 'utf8'), `trusted keys ${opts.trustedKeys}`));
    if (keys.length === 0) {
      const own = publicKeyOfKeyFile(keyFile);
      if (own) keys.push(own);
    }
  } catch (err) {
    throw userError((err as Error).message);
  }
  if (keys.length === 0) {
    throw userError(
      `no trusted key to check the checkpoints' signatures with: give --key <file|base64> or --trusted-keys <file> ` +
        `(the signing key file ${keyFile} is not here)`,
    );
  }
  return keys;
}

function shorten(spec: string): string {
  return spec.length > 24 ? `${spec.slice(0, 20)}…` : spec;
}

/** An unusable file throws UnusableCheckpoint, a UserError: printed alone, exit 2. */
async function readAnchor(file: string) {
  return (await load()).readCheckpointFile(file);
}

export function formatVerify(r: VerifyReport): string {
  const lines = [
    `${r.intact ? 'INTACT' : 'TAMPERED'}: ${r.entries} entries (${r.horizon > 0 ? `after the purge horizon ${r.horizon}` : 'from the first'}) ` +
      `to ${r.head.seq}, ${r.checkpoints} signed checkpoints, ${r.rows} tables of rows checked in ${r.ms} ms`,
  ];
  lines.push(
    r.trustedKeys
      ? `signatures checked with the trusted key${r.trustedKeys.length > 1 ? 's' : ''} ${r.trustedKeys.join(', ')}`
      : "signatures checked with each checkpoint's own stored key (unpinned: this proves nothing against the database's owner)",
  );
  if (r.signedLog) lines.push(`signed log: ${r.signedLog.file} (${r.signedLog.lines} checkpoints)`);
  if (r.unsigned) lines.push(`not signed yet: entries ${r.unsigned.fromSeq}–${r.unsigned.toSeq}`);
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
      const { withDb, retentionClock, runPurge } = await load();
      const before = parseDate(opts.before);
      if (!opts.reason.trim()) throw userError('--reason must say why: it is recorded with the purge');
      const { now, retentionDays } = await withDb(ctx, (db) => retentionClock(db));
      const floor = new Date(now.getTime() - retentionDays * 86_400_000);
      if (before > floor) {
        throw userError(
          `refused: ${before.toISOString()} is inside the ${retentionDays} days of retention; the latest date allowed is ${floor.toISOString()}`,
        );
      }
      const purgeId = randomUUID();
      const client = await ctx.client(cfg);
      ctx.log(`retention purge ${purgeId}: verifying the record, signing the horizon, purging before ${before.toISOString()}…`);
      const result = await runPurge(client, { purgeId, before: before.toISOString(), reason: opts.reason, director: cfg.director });
      if (opts.json) return print(JSON.stringify(result, null, 2));
      if (result.horizonSeq === null) return ctx.log('nothing is old enough to purge');
      ctx.log(`purged through entry ${result.horizonSeq} (Merkle root of what was removed ${result.merkleRoot}); receipt in the chain`);
      for (const [table, n] of Object.entries(result.counts)) print(`  ${table.padEnd(22)} ${n}`);
    });
}

function parseDate(text: string): Date {
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime()))
    throw userError(`--before must be an ISO 8601 date, e.g. 2025-01-31 (got "${text}")`);
  return d;
}
