/** `aura doctor`: what a run needs on this machine, one line each (client/doctor.ts); exit 0 ready, 1 not. */
import { Option, type Command } from 'commander';
import type { AuraConfig } from '../../config/config.js';
import { fail, io, print } from '../io.js';

export function registerDoctorCommand(program: Command, ctx: { config: () => AuraConfig }): void {
  program
    .command('doctor')
    .description(
      'check what a run needs (Node, bubblewrap, Temporal, PostgreSQL, ports, AURA_HOME, model keys, Chromium) and say what to do; exit 0 ready, 1 not',
    )
    .addOption(
      new Option('--for <command>', 'check for this command only (demo: no Manager API port)').choices(['up', 'demo']).default('up'),
    )
    .option('--json', 'print JSON', false)
    .action(async (opts: { for: 'up' | 'demo'; json: boolean }) => {
      const { runChecks, formatCheck } = await import('../doctor.js');
      const checks = await runChecks(ctx.config, io().env, { api: opts.for === 'up' });
      const problems = checks.filter((c) => c.status === 'fail');
      if (opts.json) print(JSON.stringify({ ready: problems.length === 0, checks }, null, 2));
      else {
        for (const c of checks) print(formatCheck(c));
        print(problems.length === 0 ? 'ready' : `not ready: ${problems.map((c) => c.name).join(', ')}`);
      }
      if (problems.length > 0) fail();
    });
}
