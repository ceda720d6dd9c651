/**
 * The client side of the identity rule: every Update this client sends carries a proof, signed
 * with the Director's command key, of the run, the Update's id and name, its arguments and the
 * channel (integrity/command-proof.ts). The workers check it before the command takes effect.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { COMMAND_PROOF_HEADER, directorCommandKey, signCommand, type CommandChannel } from '../integrity/command-proof.js';

export interface CommandSigner {
  keyFile: string;
  channel: CommandChannel;
}

export function commandSigningInterceptor(signer: CommandSigner): WorkflowClientInterceptor {
  const key = directorCommandKey(signer.keyFile);
  return {
    async startUpdate(input, next) {
      const updateId = input.options.updateId ?? randomUUID();
      const proof = signCommand(
        key,
        { workflowId: input.workflowExecution.workflowId, updateId, update: input.updateName, args: input.args },
        signer.channel,
      );
      return next({
        ...input,
        options: { ...input.options, updateId },
        headers: { ...input.headers, [COMMAND_PROOF_HEADER]: defaultPayloadConverter.toPayload(proof) },
      });
    },
  };
}
