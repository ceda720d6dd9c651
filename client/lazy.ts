/**
 * What every command needs but `aura --help` does not: the configuration module (zod) and the
 * errors module (@temporalio/common). cli.ts loads both, once, when commander is about to hand
 * the arguments to a subcommand (its `preSubcommand` hook, before that subcommand parses its
 * options); from then on the option parsers and actions use them synchronously. Everything else
 * a command needs (the Temporal client, the database, Fastify…) it imports itself, in its action.
 */
import type * as ConfigModule from '../config/config.js';
import type * as ErrorsModule from '../errors/index.js';

interface Common {
  config: typeof ConfigModule;
  errors: typeof ErrorsModule;
}

let loaded: Common | null = null;

export async function loadCommon(): Promise<Common> {
  if (!loaded) {
    const [config, errors] = await Promise.all([import('../config/config.js'), import('../errors/index.js')]);
    loaded = { config, errors };
  }
  return loaded;
}

/** The configuration and errors modules; loaded by cli.ts before any subcommand runs. */
export function common(): Common {
  if (!loaded) throw new Error('client/lazy.ts: loadCommon() was not awaited before a command ran');
  return loaded;
}

/**
 * A UserError (printed alone, exit 2), for the option parsers, which cannot await. Outside a
 * command (a script calling readPrd), before anything loaded the errors module: a plain Error
 * with the same message.
 */
export function userError(message: string): Error {
  return loaded ? new loaded.errors.UserError(message) : new Error(message);
}
