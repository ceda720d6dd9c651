/**
 * Who really gave a Director command. The CLI and the Manager API sign every Update they send
 * (an Ed25519 signature in a Temporal header, over the run, the Update's id and name, its
 * arguments and the channel); the worker checks it against the trusted public key before the
 * command takes effect. A command without a valid proof (typed into the Temporal Web UI, sent by
 * a bare client) is recorded under the name it claims, marked unauthenticated, or refused where
 * the deployment requires proof (AURA_DIRECTOR_COMMANDS=authenticated).
 *
 * The proof cannot be carried over to another command: it names the Update's id, and Temporal
 * runs an Update id once per run; a copy under a new id no longer matches its signature.
 */
import { canonicalJson } from './canonical.js';
import { readFileSync } from 'node:fs';
import { loadOrCreateSigningKey, parseTrustedKeys, verifySignature, type SigningKey } from './signing.js';

export { COMMAND_PROOF_HEADER } from '../governance/director-commands.js';

export type CommandChannel = 'cli' | 'api';

export interface CommandProof {
  v: 1;
  channel: CommandChannel;
  keyId: string;
  /** Ed25519 over commandBytes(), base64. */
  signature: string;
}

export interface SignedCommand {
  workflowId: string;
  updateId: string;
  update: string;
  args: unknown[];
}

/** The exact bytes a proof signs (RFC 8785 JSON; undefined members of the arguments dropped as JSON drops them). */
export function commandBytes(c: SignedCommand, channel: CommandChannel): string {
  return canonicalJson({
    v: 1,
    channel,
    workflowId: c.workflowId,
    updateId: c.updateId,
    update: c.update,
    args: JSON.parse(JSON.stringify(c.args ?? [])) as unknown,
  });
}

export function signCommand(key: SigningKey, c: SignedCommand, channel: CommandChannel): CommandProof {
  return { v: 1, channel, keyId: key.keyId, signature: key.sign(commandBytes(c, channel)) };
}

export type Identity = { authenticated: true; channel: CommandChannel } | { authenticated: false; why: string };

/** Whether `proof` (as it arrived: anything) is a valid proof of `c` under one of `trusted` (SPKI PEMs). */
export function checkCommandProof(proof: unknown, c: SignedCommand, trusted: string[]): Identity {
  if (proof === undefined || proof === null)
    return { authenticated: false, why: 'sent without a proof of identity (not through the CLI or the Manager API)' };
  const p = proof as Partial<CommandProof>;
  if (p.v !== 1 || (p.channel !== 'cli' && p.channel !== 'api') || typeof p.signature !== 'string')
    return { authenticated: false, why: 'its proof of identity is malformed' };
  let bytes: string;
  try {
    bytes = commandBytes(c, p.channel);
  } catch {
    return { authenticated: false, why: 'its arguments are not JSON' };
  }
  if (!trusted.some((k) => verifySignature(k, bytes, p.signature!)))
    return { authenticated: false, why: 'its proof of identity does not match this command or a trusted key' };
  return { authenticated: true, channel: p.channel };
}

/** The name a command is recorded under: the claimed name, marked when nothing vouches for it. */
export function recordedName(claimed: string, identity: Identity): string {
  const name = claimed?.trim() || 'director';
  return identity.authenticated ? name : `${name} (unauthenticated)`;
}

/** The Director's command key, made on first use (mode 600 in a folder of mode 700). */
export function directorCommandKey(file: string): SigningKey {
  return loadOrCreateSigningKey(file);
}

/**
 * The public keys a worker trusts for Director commands: those in `publicKeysFile`, else the
 * public half of the key file the CLI and the API sign with (made if missing: one machine).
 */
export function trustedCommandKeys(c: { keyFile: string; publicKeysFile: string | null }): string[] {
  if (c.publicKeysFile) return parseTrustedKeys(readFileSync(c.publicKeysFile, 'utf8'), c.publicKeysFile);
  return [directorCommandKey(c.keyFile).publicKeyPem];
}
