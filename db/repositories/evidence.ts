/**
 * Evidence kept whole, content-addressed (`evidence_blobs`, append-only): a check's full output
 * (as much as the sandbox captured), named by the sha256 of its text. The row that cites it
 * (`verifications.output_sha256`) keeps the excerpt; the blob is what the excerpt came from.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../connect.js';
import { storableText } from '../storable.js';

/** The sha256 (hex) of text as it is stored: UTF-8 of its storable form. */
export function evidenceSha256(content: string): string {
  return createHash('sha256').update(storableText(content), 'utf8').digest('hex');
}

/**
 * Stores `content` once; returns its sha256. The hash is of the text as stored (a NUL shown as
 * ␀, a lone surrogate as �, see storable.ts), so anyone can check a blob against its name. The
 * same content again (a retry, another check with the same output) finds the row it has.
 */
export async function storeEvidence(db: Db, content: string): Promise<string> {
  const stored = storableText(content);
  const sha256 = createHash('sha256').update(stored, 'utf8').digest('hex');
  await db
    .insertInto('evidence_blobs')
    .values({ sha256, content: stored, bytes: Buffer.byteLength(stored, 'utf8') })
    .onConflict((oc) => oc.column('sha256').doNothing())
    .execute();
  return sha256;
}

/** The blob named `sha256`, if stored. */
export async function evidenceBlob(db: Db, sha256: string) {
  return db.selectFrom('evidence_blobs').selectAll().where('sha256', '=', sha256).executeTakeFirst();
}
