/**
 * Reads one range of entries (binary COPY) and checks it with a ChainScanner.
 */
import type { Db } from '../db/connect.js';
import { copyEntries } from '../db/repositories/chain.js';
import { ChainScanner, type RangeResult, type RangeStart } from './chain-scan.js';

export async function scanRange(db: Db, fromSeq: number, toSeq: number, start: RangeStart): Promise<RangeResult> {
  const scanner = new ChainScanner(start);
  await copyEntries(db, fromSeq, toSeq, (chunk) => scanner.push(chunk));
  return scanner.finish();
}
