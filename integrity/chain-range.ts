/**
 * One range of entries read as binary COPY and checked as it arrives (chain-scan.ts): what the
 * verifier runs for each of its ranges side by side, and the signer for the range it signs.
 */
import type { Db } from '../db/connect.js';
import { copyEntries } from '../db/repositories/chain.js';
import { ChainScanner, type RangeResult, type RangeStart } from './chain-scan.js';

export async function scanRange(db: Db, fromSeq: number, toSeq: number, start: RangeStart): Promise<RangeResult> {
  const scanner = new ChainScanner(start);
  await copyEntries(db, fromSeq, toSeq, (chunk) => scanner.push(chunk));
  return scanner.finish();
}
