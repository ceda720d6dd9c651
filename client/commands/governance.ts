/**
 * The Director's governance commands: scorecards, incidents with their evidence, reinstating
 * an employee, and checking one output by hand with the Auditor.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AuraConfig } from '../../config/config.js';
import { userError } from '../lazy.js';
import { print } from '../io.js';

type Ctx = { config: () => AuraConfig; log: (line: string) => void };

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw userError(
      `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw userError(`${what} ${file} is not JSON: ${(err as Error).message}`);
  }
}

export function registerGovernanceCommands(program: Command, ctx: Ctx): void {
  program
    .command('scores')
    .description("the Accountant's scorecards: reputation and tier per employee per capability")
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }) => {
      const [{ withDb }, { scorecards }] = await Promise.all([
        import('../../director/with-db.js'),
        import('../../db/repositories/scores.js'),
      ]);
      const out = await withDb(ctx, scorecards);
      if (opts.json) return print(JSON.stringify(out, null, 2));
      print(
        `${'capability'.padEnd(11)} ${'employee'.padEnd(24)} ${'reputation'.padStart(10)}  ${'tier'.padEnd(10)} ${'accepted'.padStart(8)} ${'repairs'.padStart(7)}  status`,
      );
      for (const r of out) {
        print(
          `${r.capability.padEnd(11)} ${r.employee.padEnd(24)} ${r.reputation.toFixed(2).padStart(10)}  ${r.tier.padEnd(10)} ${`${r.accepted}/${r.attempts}`.padStart(8)} ${String(r.repair_rounds).padStart(7)}  ${r.status}${r.suspended_until ? ` until ${r.suspended_until}` : ''}`,
        );
      }
    });

  program
    .command('incidents')
    .description("incidents, with HR's action and the evidence they rest on")
    .option('--employee <id>', 'only this employee')
    .option('--run <runId>', 'only this run')
    .option('--json', 'print JSON', false)
    .action(async (opts: { employee?: string; run?: string; json: boolean }) => {
      const [{ withDb }, { listIncidents }] = await Promise.all([
        import('../../director/with-db.js'),
        import('../../db/repositories/incidents.js'),
      ]);
      const rows = await withDb(ctx, (db) => listIncidents(db, { employee: opts.employee, runId: opts.run }));
      if (opts.json) return print(JSON.stringify(rows, null, 2));
      if (rows.length === 0) return print('no incidents');
      for (const r of rows) {
        print(
          `${new Date(r.reported_at).toISOString()}  ${r.employee ?? '(infrastructure, no employee)'}  ${r.violation} (severity ${r.severity}) → ${r.action ?? '-'}${r.expires_at ? ` until ${new Date(r.expires_at).toISOString()}` : ''} [${r.policy_version ?? '-'}${r.enforced === false ? ', not enforced' : ''}]`,
        );
        print(`    ${r.message}${r.rounds && r.rounds > 1 ? ` (after ${r.rounds} rounds)` : ''}`);
        for (const e of r.evidence as { excerpt: string; sha256: string }[])
          print(`    evidence ${e.sha256.slice(0, 12)}: ${e.excerpt.split('\n')[0]!.slice(0, 120)}`);
      }
    });

  program
    .command('reinstate')
    .description('lift the suspension or termination of an employee (a recorded Director action)')
    .argument('<employeeId>')
    .requiredOption('--reason <text>', 'why (required, recorded)')
    .action(async (employeeId: string, opts: { reason: string }) => {
      const cfg = ctx.config();
      const [{ withDb }, { reinstateEmployee }] = await Promise.all([
        import('../../director/with-db.js'),
        import('../../db/repositories/director.js'),
      ]);
      // A refusal (DirectorActionRefused) is a UserError: printed alone, exit 2.
      const { statusBefore } = await withDb(ctx, (db) =>
        reinstateEmployee(db, { employeeId, director: cfg.director, reason: opts.reason }),
      );
      print(`${employeeId} reinstated by ${cfg.director} (was ${statusBefore})`);
    });

  const auditor = program.command('auditor').description("the Auditor's tools");
  auditor
    .command('check')
    .description('judge one output for one task, with the same detectors and sandbox as a run (no run needed)')
    .requiredOption('--task <task.json>', 'the task: id, title, instructions, scope, allowedDependencies, acceptance')
    .requiredOption('--output <output.json>', "the employee's output: summary, files")
    .option('--workspace <dir>', 'the workspace the task builds on')
    .option('--json', 'print the verdict as JSON', false)
    .action(async (opts: { task: string; output: string; workspace?: string; json: boolean }) => {
      const { checkOutput, parseTask } = await import('../../activities/auditor/check.js');
      // Unreadable input (UnusableInput) is a UserError: printed alone, exit 2.
      const task = parseTask(readJsonFile(opts.task, 'task'));
      let outputText: string;
      try {
        outputText = readFileSync(opts.output, 'utf8'); // judged as the employee wrote it, JSON or not
      } catch (err) {
        throw userError(
          `cannot read output ${opts.output}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        );
      }
      const verdict = await checkOutput({ task, outputText, workspaceDir: opts.workspace ?? null });
      if (opts.json) return print(JSON.stringify(verdict, null, 2));
      print(`task ${verdict.task.id}: ${verdict.clean ? 'clean' : `${verdict.violations.length} violation(s)`}`);
      for (const v of verdict.violations)
        print(
          `  ${v.type}: ${v.message}\n    evidence ${v.evidence.sha256.slice(0, 12)}: ${v.evidence.excerpt.split('\n')[0]!.slice(0, 160)}`,
        );
      if (verdict.verification?.ran)
        print(
          `  sandbox: exit ${verdict.verification.exitCode}${verdict.verification.timedOut ? ' (timed out)' : ''} in ${verdict.verification.durationMs} ms; ${(verdict.verification.isolation ?? []).join('; ')}`,
        );
    });
}
