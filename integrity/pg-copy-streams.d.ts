/**
 * The part of `pg-copy-streams` (CommonJS, no typings of its own) the ledger uses: a COPY … TO
 * STDOUT query that pg runs like any other (it has `submit`) and that reads as a stream of the
 * COPY data, several rows per chunk, cut anywhere.
 */
declare module 'pg-copy-streams' {
  import type { Readable } from 'node:stream';

  export interface CopyToStreamQuery extends Readable {
    submit(connection: unknown): void;
    rowCount: number;
  }

  export function to(text: string): CopyToStreamQuery;
}
