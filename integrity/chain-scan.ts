/**
 * The chain check over one range of entries, from the bytes of PostgreSQL's binary COPY format
 * (db/repositories/chain.ts `copyEntries`): no row objects and no hex, the entry's own bytes
 * hashed. For each entry, in seq order:
 * - its seq follows the one before (else a gap);
 * - its hash is sha256(the previous entry's stored hash ‖ its bytes); when not, its stored
 *   prev_hash tells which: another predecessor (chain_broken) or other bytes (entry_edited);
 * - its text is RFC 8785 canonical JSON, and its table, row and row hash columns say what its
 *   hashed bytes say.
 * Each entry is checked against the stored hash of the one before it, not against a hash
 * recomputed here, so ranges are independent: a range starts from the last entry before it, and
 * several ranges can be checked side by side (integrity/verify.ts) with the same findings, in
 * the same words, as one walk from the first entry to the last.
 *
 * Pure and synchronous (node:crypto and node:buffer only), so that it runs the same in the
 * verifier's thread and in a worker thread (integrity/chain-worker.ts).
 */
import * as crypto from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { isCanonical } from './canonical.js';

export type ChainProblemKind = 'gap' | 'chain_broken' | 'entry_edited' | 'not_canonical' | 'entry_columns_changed';

export interface ChainProblem {
  kind: ChainProblemKind;
  seq: number;
  detail: string;
}

export interface RangeStart {
  /** The last entry before the range (the purge horizon, or 0, when there is none). */
  lastSeq: number;
  /** Its stored hash (the horizon's hash, or 32 zero bytes). */
  lastHash: Uint8Array;
  /** Entries whose hash to keep (the checkpoints' ends). */
  ends: readonly number[];
  /** Keep every entry's RFC 6962 leaf hash, in order, with its seq (for the Merkle roots). */
  leaves: boolean;
}

export interface RangeResult {
  count: number;
  lastSeq: number;
  lastHash: Uint8Array;
  problems: ChainProblem[];
  /** The stored hash (hex) of each entry named in `ends` that was seen. */
  endHashes: [number, string][];
  /** With `leaves`: the leaf hashes, 32 bytes each, in entry order, and their entries' seqs. */
  leafHashes: Uint8Array | null;
  leafSeqs: Float64Array | null;
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FIELDS = 7;
const HASH_SIZE = 32;

// One-shot crypto.hash (Node ≥ 20.12) is markedly faster than createHash for millions of small inputs.
const sha256: (data: Uint8Array) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();

/** Checks the entries of one range as their bytes arrive: `push` each chunk, then `finish`. */
export class ChainScanner {
  #lastSeq: number;
  #lastHash: Uint8Array;
  readonly #ends: Set<number>;
  readonly #endHashes: [number, string][] = [];
  readonly #problems: ChainProblem[] = [];
  #count = 0;
  #pending: Buffer | null = null;
  #headerSeen = false;
  #trailerSeen = false;
  #scratch = Buffer.alloc(4096);
  #leaves: Buffer | null;
  #leafSeqs: Float64Array | null;

  constructor(start: RangeStart) {
    this.#lastSeq = start.lastSeq;
    this.#lastHash = start.lastHash;
    this.#ends = new Set(start.ends);
    this.#leaves = start.leaves ? Buffer.allocUnsafe(1024 * HASH_SIZE) : null;
    this.#leafSeqs = start.leaves ? new Float64Array(1024) : null;
  }

  push(chunk: Uint8Array): void {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const buf = this.#pending ? Buffer.concat([this.#pending, bytes]) : bytes;
    const used = this.#parse(buf);
    this.#pending = used < buf.length ? Buffer.from(buf.subarray(used)) : null;
  }

  finish(): RangeResult {
    if (this.#pending || (this.#headerSeen && !this.#trailerSeen)) throw new Error('chain scan: the COPY data ended inside an entry');
    const n = this.#count;
    return {
      count: n,
      lastSeq: this.#lastSeq,
      lastHash: this.#lastHash,
      problems: this.#problems,
      endHashes: this.#endHashes,
      leafHashes: this.#leaves ? new Uint8Array(this.#leaves.subarray(0, n * HASH_SIZE)) : null,
      leafSeqs: this.#leafSeqs ? this.#leafSeqs.slice(0, n) : null,
    };
  }

  /** Reads every whole entry in `buf`; returns how many bytes it used. */
  #parse(buf: Buffer): number {
    let at = 0;
    if (!this.#headerSeen) {
      if (buf.length < SIGNATURE.length + 8) return 0;
      if (!buf.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('chain scan: not PostgreSQL binary COPY data');
      const extension = buf.readUInt32BE(SIGNATURE.length + 4);
      if (buf.length < SIGNATURE.length + 8 + extension) return 0;
      at = SIGNATURE.length + 8 + extension;
      this.#headerSeen = true;
    }
    const end = buf.length;
    const fields: number[] = new Array<number>(FIELDS * 2);
    while (at + 2 <= end) {
      const count = buf.readInt16BE(at);
      if (count === -1) {
        this.#trailerSeen = true;
        return end;
      }
      if (count !== FIELDS) throw new Error(`chain scan: an entry of ${count} fields, not ${FIELDS}`);
      // Field i's bytes are buf[fields[2i], fields[2i + 1]); NULL reads as no bytes.
      let p = at + 2;
      let whole = true;
      for (let i = 0; i < FIELDS; i++) {
        if (p + 4 > end) {
          whole = false;
          break;
        }
        const length = buf.readInt32BE(p);
        p += 4;
        const size = length < 0 ? 0 : length;
        if (p + size > end) {
          whole = false;
          break;
        }
        fields[2 * i] = p;
        fields[2 * i + 1] = p + size;
        p += size;
      }
      if (!whole) break;
      this.#entry(buf, fields);
      at = p;
    }
    return at;
  }

  #entry(buf: Buffer, f: number[]): void {
    const seq = f[1]! - f[0]! === 8 ? buf.readInt32BE(f[0]!) * 2 ** 32 + buf.readUInt32BE(f[0]! + 4) : Number.NaN;
    const hash = buf.subarray(f[2], f[3]);
    const prevHash = buf.subarray(f[4], f[5]);
    const rowHash = buf.subarray(f[6], f[7]);
    const rowTable = buf.subarray(f[8], f[9]);
    const rowKey = buf.subarray(f[10], f[11]);
    const raw = buf.subarray(f[12], f[13]);
    // The entry's text as UTF-8 is what the chain hashes; PostgreSQL sends text in UTF-8 (the
    // client encoding) and keeps only valid UTF-8, so these are that text's bytes. Were they not
    // (a database in SQL_ASCII), they are read as text first, as a string would be.
    const valid = isUtf8(raw) && isUtf8(rowTable) && isUtf8(rowKey);
    const entry = valid ? raw : Buffer.from(raw.toString('utf8'), 'utf8');
    this.#count++;
    if (seq !== this.#lastSeq + 1) {
      const missing = seq - this.#lastSeq - 1;
      this.#problems.push({
        kind: 'gap',
        seq: this.#lastSeq + 1,
        detail: `entries ${this.#lastSeq + 1}–${seq - 1} are missing (${missing})`,
      });
    }
    if (!this.#hashFollows(hash, entry)) {
      if (!prevHash.equals(this.#lastHash)) {
        this.#problems.push({
          kind: 'chain_broken',
          seq,
          detail: `entry ${seq} does not follow entry ${this.#lastSeq}: its prev_hash is not that entry's hash (inserted, reordered or rewritten)`,
        });
      } else {
        this.#problems.push({ kind: 'entry_edited', seq, detail: `entry ${seq}'s bytes no longer give its hash: the entry was edited` });
      }
    }
    if (this.#leaves) this.#addLeaf(seq, entry);
    if (this.#ends.has(seq)) this.#endHashes.push([seq, hash.toString('hex')]);
    this.#lastSeq = seq;
    this.#lastHash = hash;
    const body = valid ? checkBody(entry, rowTable, rowKey, rowHash) : slowCheck(entry, rowTable, rowKey, rowHash);
    if (body !== 'ok') {
      this.#problems.push(
        body === 'not_canonical'
          ? { kind: 'not_canonical', seq, detail: `entry ${seq} is not canonical JSON (RFC 8785)` }
          : {
              kind: 'entry_columns_changed',
              seq,
              detail: `entry ${seq}'s columns (table, row, row hash) no longer match its hashed bytes`,
            },
      );
    }
  }

  /** sha256(previous stored hash ‖ entry bytes) is the entry's stored hash. */
  #hashFollows(hash: Buffer, entry: Buffer): boolean {
    const length = this.#lastHash.length + entry.length;
    if (this.#scratch.length < length) this.#scratch = Buffer.alloc(Math.max(length, this.#scratch.length * 2));
    this.#scratch.set(this.#lastHash, 0);
    this.#scratch.set(entry, this.#lastHash.length);
    return sha256(this.#scratch.subarray(0, length)).equals(hash);
  }

  #addLeaf(seq: number, entry: Buffer): void {
    const i = this.#count - 1;
    if (this.#leafSeqs!.length <= i) {
      const seqs = new Float64Array(this.#leafSeqs!.length * 2);
      seqs.set(this.#leafSeqs!);
      this.#leafSeqs = seqs;
      const leaves = Buffer.allocUnsafe(seqs.length * HASH_SIZE);
      this.#leaves!.copy(leaves);
      this.#leaves = leaves;
    }
    this.#leafSeqs![i] = seq;
    const input = Buffer.allocUnsafe(entry.length + 1);
    input[0] = 0x00; // RFC 6962 leaf prefix
    input.set(entry, 1);
    this.#leaves!.set(sha256(input), i * HASH_SIZE);
  }
}

/** The keys of an entry as the trigger writes them, in RFC 8785 order. */
const ENTRY_KEYS = ['at', 'op', 'row', 'rowHash', 'run', 'table'];
const KEY_BYTES = ENTRY_KEYS.map((k, i) => Buffer.from(`${i === 0 ? '{' : ','}"${k}":`, 'utf8'));
const NULL = Buffer.from('null', 'latin1');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE = 0x7d;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * Whether an entry's text is canonical and its columns say what it says. The trigger's shape
 * (`{"at":…,"op":…,"row":…,"rowHash":…,"run":…,"table":…}`, each value a string or null) with
 * no backslash and no control character in any string is canonical as it stands (RFC 8785
 * writes such strings as they are, and PostgreSQL's text holds no lone surrogate): those are
 * checked here on the bytes. Anything else is read as JSON and judged as before (`entryBody`).
 */
export function checkBody(entry: Buffer, rowTable: Buffer, rowKey: Buffer, rowHash: Buffer): 'ok' | 'not_canonical' | 'columns_changed' {
  const values: (readonly [number, number] | null)[] = [];
  let at = 0;
  for (let k = 0; k < KEY_BYTES.length; k++) {
    const key = KEY_BYTES[k]!;
    if (!startsWith(entry, at, key)) return slowCheck(entry, rowTable, rowKey, rowHash);
    at += key.length;
    if (entry[at] === QUOTE) {
      const start = at + 1;
      let i = start;
      for (; i < entry.length; i++) {
        const c = entry[i]!;
        if (c === QUOTE) break;
        if (c === BACKSLASH || c < 0x20) return slowCheck(entry, rowTable, rowKey, rowHash);
      }
      if (i >= entry.length) return slowCheck(entry, rowTable, rowKey, rowHash);
      values.push([start, i]);
      at = i + 1;
    } else if (startsWith(entry, at, NULL)) {
      values.push(null);
      at += NULL.length;
    } else {
      return slowCheck(entry, rowTable, rowKey, rowHash);
    }
  }
  if (at !== entry.length - 1 || entry[at] !== CLOSE) return slowCheck(entry, rowTable, rowKey, rowHash);
  const [, , row, hash, , table] = values;
  const same =
    table != null &&
    row != null &&
    hash != null &&
    entry.subarray(table[0], table[1]).equals(rowTable) &&
    entry.subarray(row[0], row[1]).equals(rowKey) &&
    isHexOf(entry, hash[0], hash[1], rowHash);
  return same ? 'ok' : 'columns_changed';
}

function startsWith(buf: Buffer, at: number, prefix: Buffer): boolean {
  if (at + prefix.length > buf.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

/** buf[start, end) is the lower-case hex of `bytes` (what encode(row_hash, 'hex') gives). */
function isHexOf(buf: Buffer, start: number, end: number, bytes: Buffer): boolean {
  if (end - start !== bytes.length * 2) return false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (buf[start + 2 * i] !== HEX[b >> 4] || buf[start + 2 * i + 1] !== HEX[b & 15]) return false;
  }
  return true;
}

function slowCheck(entry: Buffer, rowTable: Buffer, rowKey: Buffer, rowHash: Buffer): 'ok' | 'not_canonical' | 'columns_changed' {
  const body = entryBody(entry.toString('utf8'));
  if (!body) return 'not_canonical';
  const same = body.table === rowTable.toString('utf8') && body.row === rowKey.toString('utf8') && body.rowHash === rowHash.toString('hex');
  return same ? 'ok' : 'columns_changed';
}

/**
 * The entry's body when its text is canonical, else null. An entry of the trigger's shape (six
 * keys, strings or null) is canonical iff re-serialising it gives the same text (RFC 8785 writes
 * strings exactly as JSON.stringify does); anything else goes through the full canonicaliser.
 */
export function entryBody(text: string): Record<string, unknown> | null {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const keys = Object.keys(body);
  const simple =
    keys.length === ENTRY_KEYS.length &&
    keys.every((k, i) => k === ENTRY_KEYS[i]) &&
    keys.every((k) => body[k] === null || typeof body[k] === 'string');
  if (!simple) return isCanonical(text) ? body : null;
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i ? ',' : ''}"${keys[i]}":${JSON.stringify(body[keys[i]!])}`;
  return `${out}}` === text ? body : null;
}
