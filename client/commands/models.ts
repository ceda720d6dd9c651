/** `aura models`: every employee with its status, reputation, calls, tokens and cost. */
import type { Command } from 'commander';
import type { AuraConfig } from '../../config/config.js';
import { print } from '../io.js';

export function registerModelCommands(program: Command, ctx: { config: () => AuraConfig }): void {
  program
    .command('models')
    .description('every employee: provider, model, status, reputation, calls, tokens and cost')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }) => {
      const cfg = ctx.config();
      const [{ openDatabase }, { employeeOverview }] = await Promise.all([
        import('../../db/open.js'),
        import('../../db/repositories/employees.js'),
      ]);
      // No migration or registry sync here: the workers own those (see with-db.ts).
      const database = await openDatabase(cfg, () => {}, { migrate: false });
      try {
        const rows = await employeeOverview(database.db);
        if (opts.json) return print(JSON.stringify(rows, null, 2));
        print(`providers enabled in this shell's configuration: ${cfg.providers.enabled.join(', ')} (workers decide with their own)`);
        print(
          `${'employee'.padEnd(26)} ${'provider'.padEnd(9)} ${'model'.padEnd(22)} ${'status'.padEnd(11)} ${'rep'.padStart(6)} ${'calls'.padStart(6)} ${'tokens in'.padStart(10)} ${'tokens out'.padStart(10)} ${'cost $'.padStart(10)}`,
        );
        for (const r of rows) {
          const status = r.available ? r.status : `${r.status}*`;
          print(
            `${r.id.padEnd(26)} ${r.provider.padEnd(9)} ${r.model.padEnd(22)} ${status.padEnd(11)} ${r.reputation.toFixed(1).padStart(6)} ${String(r.calls).padStart(6)} ${String(r.inputTokens).padStart(10)} ${String(r.outputTokens).padStart(10)} ${r.costUsd.toFixed(4).padStart(10)}`,
          );
        }
        if (rows.some((r) => !r.available)) print('* not routed to: its provider is not configured, or it is not in the registry in use');
      } finally {
        await database.close();
      }
    });
}
