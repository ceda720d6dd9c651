/**
 * Every Director command, whichever client sent it, is held to one identity rule before it takes
 * effect (a workflow interceptor, registered for every workflow of the bundle):
 *
 * - an Update the run refuses (its validator) is recorded by the worker through a sink, with the
 *   name it claimed and whether a proof vouched for it; the refusal reaches the sender as a plain
 *   message, never a stack trace with the worker's file paths;
 * - an accepted Update, and a command sent as a signal, first passes `identifyDirector`: the
 *   proof the CLI or the Manager API signed is checked outside the workflow (integrity/
 *   command-proof.ts). Without a valid one the command is recorded under the claimed name marked
 *   "(unauthenticated)", or, where the deployment requires proof, refused and recorded.
 *
 * Histories from before this rule (no `director-identity` marker) replay as they ran.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxySinks,
  workflowInfo,
  type Next,
  type SignalInput,
  type UpdateInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type Sinks,
} from '@temporalio/workflow';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import { ledger } from './activity-proxies.js';
import { DIRECTOR_COMMAND_MESSAGES, SEARCH_ATTRIBUTES } from './definitions.js';
import { COMMAND_PROOF_HEADER } from '../governance/director-commands.js';

/** What the worker records of a command the run refused before it reached history. */
export interface RefusedCommand {
  runId: string | null;
  update: string;
  updateId: string;
  args: unknown[];
  proof: unknown;
  refusal: string;
}
export interface DirectorSinks extends Sinks {
  director: { refused(r: RefusedCommand): void };
}

const sinks = proxySinks<DirectorSinks>();

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new DirectorIdentity()] });

/**
 * A command that no longer fits when it takes effect (its identity was checked meanwhile, and an
 * earlier command changed the run): refused as the validator would have refused it, and recorded.
 */
export function refusedWhenApplied(reason: string): ApplicationFailure {
  return plainFailure(reason, 'CommandRefused');
}

class DirectorIdentity implements WorkflowInboundCallsInterceptor {
  /**
   * Director commands are identified one after another and each takes effect before the next is
   * identified, so they act in the order they came (each handler re-checks that it still fits).
   */
  private queue: Promise<unknown> = Promise.resolve();

  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(fn);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  validateUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'validateUpdate'>): void {
    try {
      next(input);
    } catch (err) {
      const refusal = messageOf(err);
      if (isDirectorCommand(input.name, input.args)) recordRefused(input, refusal);
      throw plainFailure(refusal, 'CommandRefused');
    }
  }

  async handleUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>): Promise<unknown> {
    if (!isDirectorCommand(input.name, input.args) || !patched('director-identity')) return next(input);
    const by = await this.inTurn(() => identify(input.name, input.updateId, input.args, proofOf(input)));
    try {
      return await next({ ...input, args: withBy(input.args, by) });
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === 'CommandRefused') recordRefused(input, err.message);
      throw err;
    }
  }

  async handleSignal(input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>): Promise<void> {
    if (!isDirectorCommand(input.signalName, input.args) || !patched('director-identity')) return next(input);
    const by = await this.inTurn(async (): Promise<string | null> => {
      try {
        return await identify(input.signalName, null, input.args, proofOf(input));
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === 'UnauthenticatedCommand') return null; // refused and recorded
        // The check itself could not be made (the record unreachable past its retries): a failure
        // thrown from a signal handler would fail the run, so the signal goes on, its name unproven.
        return `${String((input.args[0] as { by?: unknown }).by ?? 'director')} (unauthenticated)`;
      }
    });
    if (by !== null) await next({ ...input, args: withBy(input.args, by) });
  }
}

/** A refused Update to the worker's sink, which records it (workers/director-refusals.ts). */
function recordRefused(input: UpdateInput, refusal: string): void {
  sinks.director.refused({
    runId: runIdOf(),
    update: input.name,
    updateId: input.updateId,
    args: input.args,
    proof: proofOf(input),
    refusal,
  });
}

function isDirectorCommand(name: string, args: unknown[]): boolean {
  const a = args?.[0];
  return DIRECTOR_COMMAND_MESSAGES.includes(name) && typeof a === 'object' && a !== null;
}

/** The name the command is recorded under, or a refusal (an ApplicationFailure without a stack). */
async function identify(message: string, updateId: string | null, args: unknown[], proof: unknown): Promise<string> {
  try {
    const { by } = await ledger(`Director identity: ${message}`).identifyDirector({
      runId: runIdOf(),
      message,
      updateId,
      args,
      proof,
    });
    return by;
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'UnauthenticatedCommand')
      throw plainFailure(err.cause.message, 'UnauthenticatedCommand');
    throw err;
  }
}

function withBy(args: unknown[], by: string): unknown[] {
  return [{ ...(args[0] as object), by }, ...args.slice(1)];
}

function proofOf(input: { headers: Headers }): unknown {
  const p = input.headers?.[COMMAND_PROOF_HEADER];
  if (!p) return null;
  try {
    return defaultPayloadConverter.fromPayload(p);
  } catch {
    return 'unreadable';
  }
}

function runIdOf(): string | null {
  try {
    return workflowInfo().typedSearchAttributes.get(SEARCH_ATTRIBUTES.runId) ?? null;
  } catch {
    return null;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A failure the sender sees as its message alone: no stack trace naming the worker's files. */
function plainFailure(message: string, type: string): ApplicationFailure {
  const failure = ApplicationFailure.create({ message, type, nonRetryable: true });
  failure.stack = '';
  return failure;
}
