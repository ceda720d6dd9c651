/**
 * The Auditor's fuzz suite: generated hostile outputs (malformed JSON, NUL bytes, huge, deeply
 * nested, invalid Unicode, path and symlink tricks, self-assignment) through the whole Auditor
 * path — stored as a model run, verified in the sandbox, judged and recorded — counted per
 * category. Every case must be recorded as violations, with no crash and no stall.
 *
 *   node --import tsx scripts/fuzz.ts [--count 1000] [--seed N] [--concurrency 2]
 *                                     [--case-timeout-ms 20000] [--no-share] [--only 12,40] [--verbose]
 *
 * PostgreSQL: DATABASE_URL when set (a throwaway database is made on that server and dropped
 * afterwards), else an embedded server of its own for the length of the run.
 * Each case runs in a worker process watched from here: one that blocks its event loop is a stall
 * too, and its process is replaced. The known gaps (generator.ts KNOWN_GAPS) are counted like
 * any other case. Exits 0 when 100 % of the cases are recorded as violations, with 0 crashes,
 * 0 stalls and nothing left on the host by the symlink tricks; else 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { formatReport, openFuzzDatabase, passed, runFuzz, startEmbeddedPostgres } from '../test/fixtures/fuzz/harness.js';

const int = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a whole number`);
  return n;
};

const program = new Command('fuzz')
  .description('hostile outputs through the Auditor path; prints counts per category')
  .option('--count <n>', 'cases', int('count'), 1000)
  .option('--seed <n>', 'seed of the generator', int('seed'), 1)
  .option('--concurrency <n>', 'cases at once', int('concurrency'), 2)
  .option('--case-timeout-ms <ms>', 'a case over this is a stall', int('case timeout'), 20_000)
  .option('--no-share', 'run the sandbox for every case, even for files already verified')
  .option('--only <indexes>', 'only these case indexes, comma-separated', (v) => v.split(',').map((x) => int('index')(x.trim())))
  .option('--verbose', 'a line per case')
  .parse();
const opts = program.opts<{
  count: number;
  seed: number;
  concurrency: number;
  caseTimeoutMs: number;
  share: boolean;
  only?: number[];
  verbose?: boolean;
}>();

const home = mkdtempSync(join(tmpdir(), 'aura-fuzz-home-'));
let pg: Awaited<ReturnType<typeof startEmbeddedPostgres>> | null = null;
let code = 1;
try {
  let serverUrl = process.env.DATABASE_URL ?? null;
  if (!serverUrl) {
    pg = await startEmbeddedPostgres();
    serverUrl = pg.url;
  }
  const database = await openFuzzDatabase(serverUrl, home);
  try {
    console.log(
      `fuzz: ${opts.only ? opts.only.length : opts.count} cases, seed ${opts.seed}, ${opts.concurrency} at a time, ${opts.caseTimeoutMs} ms each at most`,
    );
    let done = 0;
    const report = await runFuzz({
      databaseUrl: database.url,
      count: opts.count,
      seed: opts.seed,
      concurrency: opts.concurrency,
      caseTimeoutMs: opts.caseTimeoutMs,
      shareVerifications: opts.share,
      only: opts.only,
      onCase: (r) => {
        done++;
        const bad = r.crash ? `CRASH ${r.crash}` : r.stalled ? 'STALL' : !r.recorded ? 'NOT RECORDED' : r.violations === 0 ? 'CLEAN' : '';
        if (opts.verbose || bad)
          console.log(
            `  #${r.index} ${r.category} / ${r.variant}: ${r.ms} ms, ${r.rawChars} chars, sandbox ${r.sandbox}, ${r.types.join(', ') || '-'}${bad ? `  ${bad}` : ''}`,
          );
        else if (done % 100 === 0) console.log(`  ${done} cases done`);
      },
    });
    for (const line of formatReport(report)) console.log(line);
    if (report.workersReplaced > 0)
      console.log(`(${report.workersReplaced} worker process(es) killed at the time limit or lost, and replaced)`);
    code = passed(report) ? 0 : 1;
  } finally {
    await database.close();
  }
} catch (err) {
  console.error(`fuzz: ${(err as Error).stack ?? String(err)}`);
  code = 1;
} finally {
  await pg?.stop();
  rmSync(home, { recursive: true, force: true });
}
// A stalled case may still hold a sandbox or a connection: the verdict is in, leave.
process.exit(code);
