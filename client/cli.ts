/**
 * `aura` — the Director's command line. Every command checks its input before it touches
 * anything: a bad file, an unknown run or a missing reason is an error with a non-zero exit.
 *
 * Each command loads only what it uses, when it runs (`await import()` in its action; see
 * client/lazy.ts): `aura --help` reads no configuration and loads no client, a run command the
 * Temporal client, a record read the database, `up` and `demo` the workers and Fastify.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Argument, Command, Option } from 'commander';
import type { Client } from '@temporalio/client';
import type { AuraConfig } from '../config/config.js';
import type { RunProgress, RunReport } from '../governance/types.js';
import type { RefusalRecorder, ResolveAsk, SubmitAsk } from '../director/runs.js';
import type { CommandAnswer } from '../workflows/definitions.js';
import { DIRECTOR_COMMANDS, type DirectorCommandEntry } from '../governance/director-command-table.js';
import { formatProgress, formatReport } from './format.js';
import { registerGovernanceCommands } from './commands/governance.js';
import { registerModelCommands } from './commands/models.js';
import { formatVerify, registerLedgerCommands } from './commands/ledger.js';
import { registerHistoryCommands } from './commands/history.js';
import { registerRunsCommands } from './commands/runs.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerCompletionCommands } from './commands/completion.js';
import { common, loadCommon, userError } from './lazy.js';
import { fail, io, print, printErr, withIo, type CliIo } from './io.js';

const log = (line: string) => print(`[aura] ${line}`);
const FINAL = new Set(['completed', 'failed', 'rejected', 'cancelled']);
export const DEMO_DATABASE = 'aura_demo';
export const SAMPLE_PRD = fileURLToPath(new URL('../samples/wordfreq/PRD.md', import.meta.url));

function config(): AuraConfig {
  const { loadConfig, loadDotEnv } = common().config;
  loadDotEnv();
  return loadConfig(io().env);
}

/** A command the run refused goes into the governance record (the run's history never sees it). */
function recordRefusals(cfg: AuraConfig): RefusalRecorder {
  return async (r) => {
    try {
      const [{ openDatabase }, { recordRefusal }] = await Promise.all([import('../db/open.js'), import('../director/runs.js')]);
      const database = await openDatabase(cfg, () => {}, { migrate: false });
      try {
        await recordRefusal(database.db, r);
      } finally {
        await database.close();
      }
    } catch (err) {
      printErr(`[aura] warning: the refusal could not be recorded: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}

function printAnswer(runRef: string, a: CommandAnswer): void {
  print(`run ${runRef}: ${a.message} (now ${a.status})`);
}

async function client(cfg: AuraConfig): Promise<Client> {
  const { connectClient } = await import('../director/runs.js');
  const c = await connectClient(cfg.temporal.address ?? `127.0.0.1:${cfg.temporal.port}`, cfg.temporal.namespace, {
    keyFile: cfg.directorCommands.keyFile,
    channel: 'cli',
  });
  io().defer(() => c.connection.close());
  return c;
}

/**
 * The run commands, and who gives them: through the Manager API when AURA_API_URL is set (the
 * Director is the owner of AURA_API_KEY, and the API records any refusal), else to Temporal
 * directly (the Director is AURA_DIRECTOR; refusals are recorded from here).
 */
interface Steering {
  by: string;
  submit(s: SubmitAsk): Promise<{ runId: string; workflowId: string }>;
  status(run: string): Promise<RunProgress>;
  /** A run command of the table, with its body (as the API takes it). */
  command(entry: DirectorCommandEntry, run: string, body: Record<string, unknown>): Promise<CommandAnswer>;
  resolve(run: string, task: string, ask: ResolveAsk): Promise<CommandAnswer>;
}

async function steering(cfg: AuraConfig): Promise<Steering> {
  if (cfg.manager.apiUrl) {
    if (!cfg.manager.apiClientKey)
      throw userError(
        'AURA_API_URL is set but AURA_API_KEY is not: the Manager API needs your key (or unset AURA_API_URL to use Temporal directly)',
      );
    const { ManagerApiClient } = await import('./api-client.js');
    const api = new ManagerApiClient(cfg.manager.apiUrl, cfg.manager.apiClientKey);
    const me = await api.whoami();
    printErr(`[aura] via the Manager API at ${api.baseUrl} as ${me.name}`);
    return {
      by: me.name,
      submit: (s) => api.submit(s),
      status: (run) => api.status(run),
      command: (entry, run, body) => api.command(run, entry.verb, body),
      resolve: (run, task, ask) => api.resolve(run, task, ask),
    };
  }
  const [c, d] = await Promise.all([client(cfg), import('../director/runs.js')]);
  const { submitRun, runStatus, resolveEscalation, sendRunCommand, runOptions, escalationDecision } = d;
  // Said at a terminal only: scripts read stderr for errors.
  if (process.stderr.isTTY)
    printErr(`[aura] via Temporal at ${cfg.temporal.address ?? `127.0.0.1:${cfg.temporal.port}`} as ${cfg.director}`);
  const by = cfg.director;
  const record = recordRefusals(cfg);
  return {
    by,
    submit: (s) =>
      submitRun(c, {
        prd: s.prd,
        project: s.project,
        dashboardUrl: cfg.manager.apiUrl,
        options: runOptions(s, by, cfg.runBudget),
      }),
    status: (run) => runStatus(c, run),
    command: (entry, run, body) => sendRunCommand(c, entry, run, entry.toArg(body, by), record),
    resolve: (run, task, ask) => resolveEscalation(c, run, task, escalationDecision(ask, by), record),
  };
}

/** Reads a PRD file, refusing a missing, unreadable, non-file or empty one. */
export function readPrd(file: string): string {
  let isFile: boolean;
  let bytes: Buffer;
  try {
    isFile = statSync(file).isFile();
    bytes = isFile ? readFileSync(file) : Buffer.alloc(0);
  } catch (err) {
    throw userError(
      `cannot read PRD ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  if (!isFile) throw userError(`PRD ${file} is not a file`);
  // A PRD is text: a binary file (a NUL byte, or bytes that are not UTF-8) is refused whole.
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw userError(`PRD ${file} is not text: it has a NUL byte at offset ${nul} (is it a binary file?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw userError(`PRD ${file} is not UTF-8 text (save it as UTF-8)`);
  }
  if (!text.trim()) throw userError(`PRD ${file} is empty`);
  return text;
}

function nonNegative(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw userError(`${name} must be a number of 0 or more (got "${v}")`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 10) throw userError(`${name} must be a whole number from 0 to 10 (got "${v}")`);
    return n;
  };
}

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw userError(`${name} must be a positive whole number (got "${v}")`);
    return n;
  };
}

/** The parsers a command of the table names for its options. */
const PARSERS = { positiveInt, nonNegative } as const;

/** Prints progress as it changes until the run ends; returns the final report. */
async function follow(status: (run: string) => Promise<RunProgress>, runId: string, pollMs = 1_000): Promise<RunReport | null> {
  const { retryTransient } = await import('../director/runs.js');
  let last = '';
  for (;;) {
    // A Temporal restart or a lost connection is waited out with a note, up to two minutes.
    const p: RunProgress = await retryTransient(() => status(runId), {
      note: (l) => printErr(`[aura] ${l}`),
      giveUpAfterMs: 120_000,
      what: `following run ${runId}`,
    });
    const text = formatProgress(p);
    if (text !== last) {
      print(`\n[${new Date().toISOString().slice(11, 19)}] ${text}`);
      last = text;
    }
    if (FINAL.has(p.status)) return p.report;
    await sleep(pollMs);
  }
}

/** The whole stack in this process (`up`, `demo`): the workers, with the SDK's log level set before the first of them. */
async function localStack(): Promise<typeof import('../local/stack.js')> {
  const [stack, { installSdkLogger }] = await Promise.all([import('../local/stack.js'), import('../workers/logging.js')]);
  installSdkLogger('WARN');
  return stack;
}

/** Ctrl-C (or SIGTERM); `onSignal` runs at once, before anything else hears of it. */
function waitForCtrlC(onSignal: () => void = () => {}): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      onSignal();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** `aura <verb> <run> …` for one run command of the table, through whichever transport is configured. */
function registerRunCommand(program: Command, entry: DirectorCommandEntry): void {
  const { cli } = entry;
  const cmd = program.command(entry.verb).description(cli.description).argument(cli.run[0], cli.run[1]);
  if (cli.argument) cmd.addArgument(new Argument(cli.argument.name, cli.argument.description).choices(cli.argument.choices));
  const options = (cli.options ?? []).map((o) => {
    const option = new Option(o.flags, o.description).argParser(PARSERS[o.parse](o.flags.split(' ')[0]!)).makeOptionMandatory();
    cmd.addOption(option);
    return { key: o.key, attribute: option.attributeName() };
  });
  if (cli.reason === 'required') cmd.requiredOption('--reason <text>', 'why (required, recorded)');
  else cmd.option('--reason <text>', 'why (recorded)');
  cmd.action(async (runRef: string, ...rest: unknown[]) => {
    const opts = rest[cli.argument ? 1 : 0] as Record<string, unknown>;
    // The body the API takes: the argument, the options, the reason.
    const body: Record<string, unknown> = {};
    if (cli.argument) body[cli.argument.key] = rest[0];
    for (const o of options) body[o.key] = opts[o.attribute];
    body.reason = opts.reason;
    const director = await steering(config());
    const answer = await director.command(entry, runRef, body);
    if (cli.says) print(cli.says(runRef, answer, director.by, body));
    else printAnswer(runRef, answer);
  });
}

function registerResolve(program: Command): void {
  program
    .command('resolve')
    .description('answer an escalated task: reassign it, accept its last output, or cancel it')
    .argument('<runId>')
    .argument('<taskKey>')
    .option('--reassign <employeeId>', 'give the task to this employee')
    .option('--accept', 'accept the last output despite its violations (recorded as an override)')
    .option('--cancel', 'cancel the task')
    .requiredOption('--reason <text>', 'why (required, recorded)')
    .action(async (runId: string, taskKey: string, opts: { reassign?: string; accept?: boolean; cancel?: boolean; reason: string }) => {
      const chosen = [opts.reassign !== undefined, !!opts.accept, !!opts.cancel].filter(Boolean).length;
      if (chosen !== 1) throw userError('choose exactly one of --reassign <employee>, --accept, --cancel');
      const kind = opts.reassign ? ('reassign' as const) : opts.accept ? ('accept' as const) : ('cancel' as const);
      const answer = await (
        await steering(config())
      ).resolve(runId, taskKey, { decision: kind, employeeId: opts.reassign, reason: opts.reason });
      print(`task ${taskKey} of run ${runId}: ${answer.message} (now ${answer.status})`);
    });
}

export function buildProgram(): Command {
  // exitOverride before any subcommand exists: subcommands inherit it, so usage errors throw
  // (and exit 2 in main) instead of calling process.exit(1) themselves.
  const program = new Command('aura')
    .description('Aura Orchestra: governed multi-model runs from a PRD')
    .showHelpAfterError()
    .exitOverride()
    // Help and usage errors go where the rest goes (client/io.ts); subcommands inherit this.
    .configureOutput({ writeOut: (text) => io().write(text), writeErr: (text) => io().writeErr(text) })
    // Before a subcommand parses its options: the configuration and errors modules (client/lazy.ts).
    .hook('preSubcommand', async () => {
      await loadCommon();
    });

  program
    .command('up')
    .description('start embedded PostgreSQL, the Temporal dev server and every worker; Ctrl-C stops them')
    .action(async () => {
      const cfg = config();
      const stack = await (await localStack()).startStack(cfg, log, { api: true });
      log(`ready. Temporal at ${stack.temporalAddress}${stack.uiUrl ? `; Web UI: ${stack.uiUrl}` : ''}`);
      if (stack.api) log(`dashboard: ${stack.api.url}/ (${stack.api.signIn}); API under ${stack.api.url}/api/`);
      log(`workers: ${stack.roles.join(', ')}. Submit with: aura submit <prd.md>`);
      const { expectDatabaseShutdown } = await import('../db/connect.js');
      // The terminal's Ctrl-C stops the embedded PostgreSQL too: its goodbyes are expected.
      await Promise.race([waitForCtrlC(expectDatabaseShutdown), stack.running]);
      log('stopping…');
      await stack.stop();
    });

  program
    .command('submit')
    .description('start a run from a PRD file')
    .argument('<prd>', 'the PRD, a Markdown or text file')
    .option('--project <name>', 'project name (default: the file name)')
    .option('--auto-approve', 'skip the Director plan gate', false)
    .option('--follow', 'print progress until the run ends', false)
    .addOption(new Option('--max-parallel <n>', 'tasks run at once').argParser(positiveInt('--max-parallel')))
    .addOption(
      new Option('--max-tokens <n>', 'token budget of the run (default AURA_RUN_TOKEN_BUDGET)').argParser(positiveInt('--max-tokens')),
    )
    .addOption(
      new Option('--max-cost <usd>', 'cost budget of the run in USD (default AURA_RUN_COST_BUDGET_USD)').argParser(
        nonNegative('--max-cost'),
      ),
    )
    .addOption(
      new Option('--max-repair-rounds <n>', 'repair rounds an employee gets within one attempt (default 2; 0: none)').argParser(
        nonNegativeInt('--max-repair-rounds'),
      ),
    )
    .addOption(
      new Option('--max-verification-repairs <n>', 'repair tasks after a failed final verification (default 1)').argParser(
        nonNegativeInt('--max-verification-repairs'),
      ),
    )
    .option(
      '--self-tested',
      "no tester: the plan's own commands decide acceptance (no tests written before the code, no red run); recorded with the run, and its report says self-tested (default: AURA_INDEPENDENT_TESTS decides)",
    )
    .action(
      async (
        file: string,
        opts: {
          project?: string;
          selfTested?: boolean;
          autoApprove: boolean;
          follow: boolean;
          maxParallel?: number;
          maxTokens?: number;
          maxCost?: number;
          maxRepairRounds?: number;
          maxVerificationRepairs?: number;
        },
      ) => {
        const prd = readPrd(file);
        const cfg = config();
        const director = await steering(cfg);
        const project = opts.project ?? basename(file).replace(/\.[^.]+$/, '');
        const { runId, workflowId } = await director.submit({
          prd,
          project,
          autoApprove: opts.autoApprove,
          maxParallel: opts.maxParallel,
          maxTokens: opts.maxTokens,
          maxCostUsd: opts.maxCost,
          maxRepairRounds: opts.maxRepairRounds,
          maxVerificationRepairs: opts.maxVerificationRepairs,
          ...(opts.selfTested ? { independentTests: false } : {}),
        });
        print(`run ${runId} started (workflow ${workflowId})`);
        if (!opts.follow) print(nextAfterSubmit(runId, opts.autoApprove));
        if (opts.follow) {
          const report = await follow(director.status, runId);
          if (report) print(`\n${formatReport(report)}`);
          if (report?.status !== 'completed') fail();
        }
      },
    );

  for (const entry of DIRECTOR_COMMANDS) {
    // resolve (a command on a task) keeps its place after the plan gate's commands.
    if (entry.verb === 'verification') registerResolve(program);
    registerRunCommand(program, entry);
  }

  program
    .command('status')
    .description('show a run: live progress, or its report once it has ended')
    .argument('<runId>')
    .option('--json', 'print JSON', false)
    .action(async (runId: string, opts: { json: boolean }) => {
      const [director, { retryTransient }] = await Promise.all([steering(config()), import('../director/runs.js')]);
      const p = await retryTransient(() => director.status(runId), {
        note: (l) => printErr(`[aura] ${l}`),
        giveUpAfterMs: 15_000,
        what: `status of run ${runId}`,
      });
      if (opts.json) print(JSON.stringify(p, null, 2));
      else print(p.report ? `${formatProgress(p)}\n\n${formatReport(p.report)}` : formatProgress(p));
    });

  program
    .command('demo')
    .description(`run the sample PRD end to end on embedded defaults (its own database, "${DEMO_DATABASE}", recreated each time)`)
    .option('--keep', 'keep everything running afterwards (Ctrl-C stops)', false)
    .action(async (opts: { keep: boolean }) => {
      // The demo is the scripted demo, whatever providers are configured.
      const base = config();
      const cfg: AuraConfig = { ...base, providers: { ...base.providers, enabled: ['scripted'] } };
      const prd = readPrd(SAMPLE_PRD);
      log('DEMO: employees are the scripted provider (canned answers from samples/wordfreq/script.json), not models.');
      const { startStack } = await localStack();
      const [{ submitRun, runStatus }, { createCheckpoint }, { loadOrCreateSigningKey }, { verifyLedger }] = await Promise.all([
        import('../director/runs.js'),
        import('../integrity/checkpoint.js'),
        import('../integrity/signing.js'),
        import('../integrity/verify.js'),
      ]);
      const stack = await startStack(cfg, log, { databaseName: DEMO_DATABASE, recreateDatabase: true, api: opts.keep });
      try {
        if (stack.uiUrl) log(`Web UI: ${stack.uiUrl}`);
        if (stack.api) log(`dashboard: ${stack.api.url}/ (${stack.api.signIn})`);
        const { runId, workflowId } = await submitRun(stack.client, {
          prd,
          project: 'wordfreq-demo',
          options: { autoApprove: true, director: cfg.director },
        });
        log(`run ${runId} started (workflow ${workflowId}), plan auto-approved`);
        const report = await follow((run) => runStatus(stack.client, run), runId);
        if (report) print(`\n${formatReport(report)}`);
        if (report?.status !== 'completed') fail();
        const checkpoint = await createCheckpoint(stack.database.db, loadOrCreateSigningKey(cfg.ledger.keyFile));
        const record = await verifyLedger(stack.database.db);
        log(`the record: ${formatVerify(record).split('\n')[0]}${checkpoint ? `; signed checkpoint to entry ${checkpoint.toSeq}` : ''}`);
        if (!record.intact) fail();
        if (opts.keep) {
          log(`still running for inspection${stack.uiUrl ? ` at ${stack.uiUrl}` : ''}; Ctrl-C stops`);
          const { expectDatabaseShutdown } = await import('../db/connect.js');
          await waitForCtrlC(expectDatabaseShutdown);
        }
      } finally {
        log('stopping workers, Temporal and PostgreSQL…');
        await stack.stop();
        log('stopped');
      }
    });

  registerGovernanceCommands(program, { config, log });
  registerModelCommands(program, { config });
  registerLedgerCommands(program, { config, log, client });
  registerHistoryCommands(program, { config, client });
  registerRunsCommands(program, { config });
  registerDoctorCommand(program, { config });
  registerCompletionCommands(program, { config });

  const db = program.command('db').description('database maintenance');
  db.command('migrate')
    .description('apply pending migrations and sync the employee registry')
    .action(async () => {
      const { openDatabase } = await import('../db/open.js');
      const database = await openDatabase(config(), log);
      await database.close();
      log('database is up to date');
    });

  return program;
}

/** Runs the CLI on `argv` (as process.argv: node, script, arguments…), writing to `given` (else this process's console). */
export function main(argv: string[], given?: CliIo): Promise<number> {
  return withIo(given, () => run(argv));
}

async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return io().exitCode ?? 0;
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('commander.')) {
      const code = (err as { exitCode?: number }).exitCode ?? 2;
      return code === 0 ? 0 : 2; // help and version exit 0; usage errors 2
    }
    const { errors } = await loadCommon();
    if (err instanceof errors.UserError) {
      printErr(`aura: ${err.message}`);
      return 2;
    }
    const { isTransientTemporalError } = await import('../director/runs.js');
    if (isTransientTemporalError(err)) {
      printErr(
        `aura: Temporal did not answer (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); try again, or check the stack ("aura up")`,
      );
      return 1;
    }
    printErr(`aura: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

/** What the Director does next after a submission that is not followed. */
export function nextAfterSubmit(runId: string, autoApprove: boolean): string {
  return autoApprove
    ? `next: it plans and runs on its own; follow it with 'aura status ${runId}' or 'aura history ${runId}'`
    : `next: it plans, then waits at the plan gate; read the plan with 'aura status ${runId}', then 'aura approve ${runId} --reason "…"' (or 'aura reject')`;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exit(await main(process.argv));
}
