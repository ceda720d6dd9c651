/**
 * `aura completion bash|zsh` prints the completion script; the script calls the hidden
 * `aura __complete -- <words…>` at each Tab (client/completion.ts).
 */
import { connect } from 'node:net';
import { Argument, type Command } from 'commander';
import type { AuraConfig } from '../../config/config.js';
import { bashScript, completeWords, zshScript } from '../completion.js';
import { io, print } from '../io.js';

export function registerCompletionCommands(program: Command, ctx: { config: () => AuraConfig }): void {
  program
    .command('completion')
    .description('print the shell completion script (commands, options, run ids from the record): source <(aura completion bash)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      io().write(shell === 'bash' ? bashScript() : zshScript());
    });

  program
    .command('__complete', { hidden: true })
    .description('the candidates for the last word (what the completion scripts call)')
    .argument('[words...]', 'the words after "aura", the last one being completed')
    .action(async (words: string[]) => {
      for (const candidate of await completeWords(program, words.length > 0 ? words : [''], async () => {
        // A configuration that does not load (a bad variable) completes no run ids, and says nothing at a Tab.
        try {
          return await runIds(ctx.config());
        } catch {
          return [];
        }
      }))
        print(candidate);
    });
}

/**
 * The newest run ids in the record, or none: a Tab never starts a database or waits long for
 * one (the embedded server must already be up; two seconds at most).
 */
async function runIds(cfg: AuraConfig): Promise<string[]> {
  if (!cfg.database.url && !(await answers(cfg.database.embeddedPort))) return [];
  const lookup = (async () => {
    const [{ withDb }, { listRuns }] = await Promise.all([import('../../director/with-db.js'), import('../../db/repositories/history.js')]);
    const rows = await withDb({ config: () => cfg }, (db) =>
      listRuns(db, { limit: 100, needsDirector: false, waitingStatuses: [], finalStatuses: [] }),
    );
    return rows.map((r) => r.id);
  })();
  const timeout = new Promise<string[]>((resolve) => setTimeout(() => resolve([]), 2_000).unref());
  return Promise.race([lookup.catch(() => []), timeout]);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (yes: boolean) => {
      socket.destroy();
      resolve(yes);
    };
    socket.setTimeout(300, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
