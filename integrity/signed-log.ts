/**
 * The checkpointer's own record of what it signed, kept outside the database beside the signing
 * key (`<key file>.signed.log`): append-only, one JSON line per checkpoint (the database it is of,
 * its id, range, Merkle root, end hash and key). The database's owner can rewrite the database, not this file: the
 * checkpointer signs only a range that continues it, and `aura ledger verify --signed-log` finds a
 * checkpoint deleted from, replaced in or added to the database behind the signer's back.
 */
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { UnusableCheckpoint } from '../errors/index.js';

const lineSchema = z.object({
  /** The database the checkpoint is of (see chainIdentity): one key file may sign for several. */
  chain: z.object({ server: z.string(), database: z.string(), oid: z.number().int() }),
  id: z.string().min(1),
  from: z.number().int().min(1),
  to: z.number().int().min(1),
  root: z.string().regex(/^[0-9a-f]{64}$/),
  lastHash: z.string().regex(/^[0-9a-f]{64}$/),
  keyId: z.string().min(1),
  signedAt: z.string().min(1),
});
export type SignedLogLine = z.infer<typeof lineSchema>;

/** Where the checkpointer keeps the log of what `keyFile`'s key signed. */
export function signedLogPath(keyFile: string): string {
  return `${keyFile}.signed.log`;
}

/**
 * The lines of the log; [] when there is no such file. A line cut short by a crash while it was
 * written (not JSON at all) is left out: the checkpoint it names is in the database, signed by
 * this key, and is taken up again. A line of JSON that is not a signed checkpoint throws
 * UnusableCheckpoint naming the line.
 */
export function readSignedLog(file: string): SignedLogLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UnusableCheckpoint(`signed log ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const out: SignedLogLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return;
    }
    const parsed = lineSchema.safeParse(json);
    if (!parsed.success) throw new UnusableCheckpoint(`signed log ${file}: line ${i + 1} is not a signed checkpoint`);
    out.push(parsed.data);
  });
  return out;
}

/** Appends lines, flushed to disk (the file is created with mode 600 in a folder of mode 700). */
export function appendSignedLog(file: string, lines: SignedLogLine[]): void {
  if (lines.length === 0) return;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, 'a+', 0o600);
  try {
    // After a line cut short, start on a line of its own.
    const size = fstatSync(fd).size;
    const last = Buffer.alloc(1);
    const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
    writeSync(fd, (torn ? '\n' : '') + lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Whether a line is of this chain (the same database, not one dropped and created again under its name). */
export function sameChain(line: SignedLogLine, chain: { server: string; database: string; oid: number }): boolean {
  return line.chain.server === chain.server && line.chain.database === chain.database && line.chain.oid === chain.oid;
}

/** Whether a line is of an earlier database of the same name on the same server. */
export function earlierDatabase(line: SignedLogLine, chain: { server: string; database: string; oid: number }): boolean {
  return line.chain.server === chain.server && line.chain.database === chain.database && line.chain.oid !== chain.oid;
}
