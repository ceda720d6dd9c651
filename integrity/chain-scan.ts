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
 * Pure and synchronous (node:crypto and node:buffer only, no database): integrity/chain-range.ts
 * feeds it a range read from PostgreSQL; it could as well run in a worker thread.
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
  /**
   * The database's encoding is UTF8, so every text it sends is valid UTF-8 (PostgreSQL checks
   * text on the way in) and is taken as it comes; otherwise each is checked, and bytes that are
   * not UTF-8 are read as text first, as a string would be.
   */
  utf8: boolean;
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
  /** The last entry's stored hash: lastBuf[lastStart, lastEnd). */
  #lastBuf: Buffer;
  #lastStart = 0;
  #lastEnd: number;
  readonly #utf8: boolean;
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
    this.#lastBuf = Buffer.from(start.lastHash);
    this.#lastEnd = this.#lastBuf.length;
    this.#utf8 = start.utf8;
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
      lastHash: new Uint8Array(this.#lastBuf.subarray(this.#lastStart, this.#lastEnd)),
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
    const [hs, he, ps, pe, rs, re, ts, te, ks, ke] = [f[2]!, f[3]!, f[4]!, f[5]!, f[6]!, f[7]!, f[8]!, f[9]!, f[10]!, f[11]!];
    let [es, ee] = [f[12]!, f[13]!];
    let text = buf;
    // The entry's text as UTF-8 is what the chain hashes (see RangeStart.utf8).
    const valid = this.#utf8 || (isUtf8(buf.subarray(es, ee)) && isUtf8(buf.subarray(ts, te)) && isUtf8(buf.subarray(ks, ke)));
    if (!valid) {
      text = Buffer.from(buf.toString('utf8', es, ee), 'utf8');
      [es, ee] = [0, text.length];
    }
    this.#count++;
    if (seq !== this.#lastSeq + 1) {
      const missing = seq - this.#lastSeq - 1;
      this.#problems.push({
        kind: 'gap',
        seq: this.#lastSeq + 1,
        detail: `entries ${this.#lastSeq + 1}–${seq - 1} are missing (${missing})`,
      });
    }
    if (!this.#hashFollows(buf, hs, he, text, es, ee)) {
      if (buf.compare(this.#lastBuf, this.#lastStart, this.#lastEnd, ps, pe) !== 0) {
        this.#problems.push({
          kind: 'chain_broken',
          seq,
          detail: `entry ${seq} does not follow entry ${this.#lastSeq}: its prev_hash is not that entry's hash (inserted, reordered or rewritten)`,
        });
      } else {
        this.#problems.push({ kind: 'entry_edited', seq, detail: `entry ${seq}'s bytes no longer give its hash: the entry was edited` });
      }
    }
    if (this.#leaves) this.#addLeaf(seq, text.subarray(es, ee));
    if (this.#ends.size > 0 && this.#ends.has(seq)) this.#endHashes.push([seq, buf.toString('hex', hs, he)]);
    this.#lastSeq = seq;
    this.#lastBuf = buf;
    this.#lastStart = hs;
    this.#lastEnd = he;
    const body = valid
      ? checkBody(buf, es, ee, ts, te, ks, ke, rs, re)
      : slowCheck(text.subarray(es, ee), buf.subarray(ts, te), buf.subarray(ks, ke), buf.subarray(rs, re));
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

  /** sha256(previous stored hash ‖ entry bytes) is the entry's stored hash, buf[hs, he). */
  #hashFollows(buf: Buffer, hs: number, he: number, text: Buffer, es: number, ee: number): boolean {
    const prev = this.#lastEnd - this.#lastStart;
    const length = prev + ee - es;
    if (this.#scratch.length < length) this.#scratch = Buffer.alloc(Math.max(length, this.#scratch.length * 2));
    this.#lastBuf.copy(this.#scratch, 0, this.#lastStart, this.#lastEnd);
    text.copy(this.#scratch, prev, es, ee);
    return sha256(this.#scratch.subarray(0, length)).compare(buf, hs, he) === 0;
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
 * Whether an entry's text, buf[es, ee), is canonical and its columns (buf[ts, te) the table,
 * buf[ks, ke) the key, buf[rs, re) the row hash) say what it says. The trigger's shape
 * (`{"at":…,"op":…,"row":…,"rowHash":…,"run":…,"table":…}`, each value a string or null) with
 * no backslash and no control character in any string is canonical as it stands (RFC 8785
 * writes such strings as they are, and PostgreSQL's text holds no lone surrogate): those are
 * checked here on the bytes. Anything else is read as JSON and judged as before (`entryBody`).
 */
export function checkBody(
  buf: Buffer,
  es: number,
  ee: number,
  ts: number,
  te: number,
  ks: number,
  ke: number,
  rs: number,
  re: number,
): 'ok' | 'not_canonical' | 'columns_changed' {
  const slow = () => slowCheck(buf.subarray(es, ee), buf.subarray(ts, te), buf.subarray(ks, ke), buf.subarray(rs, re));
  // Where each value's string starts and ends ([start, end), quotes left out); -1 for null.
  const starts = [0, 0, 0, 0, 0, 0];
  const ends = [0, 0, 0, 0, 0, 0];
  let at = es;
  for (let k = 0; k < KEY_BYTES.length; k++) {
    const key = KEY_BYTES[k]!;
    if (!startsWith(buf, at, ee, key)) return slow();
    at += key.length;
    if (at < ee && buf[at] === QUOTE) {
      const start = at + 1;
      const end = buf.indexOf(QUOTE, start);
      if (end < 0 || end >= ee) return slow();
      for (let i = start; i < end; i++) {
        const c = buf[i]!;
        if (c === BACKSLASH || c < 0x20) return slow();
      }
      starts[k] = start;
      ends[k] = end;
      at = end + 1;
    } else if (startsWith(buf, at, ee, NULL)) {
      starts[k] = -1;
      at += NULL.length;
    } else {
      return slow();
    }
  }
  if (at !== ee - 1 || buf[at] !== CLOSE) return slow();
  const [row, hash, table] = [2, 3, 5];
  const same =
    starts[table]! >= 0 &&
    starts[row]! >= 0 &&
    starts[hash]! >= 0 &&
    buf.compare(buf, ts, te, starts[table], ends[table]) === 0 &&
    buf.compare(buf, ks, ke, starts[row], ends[row]) === 0 &&
    isHexOf(buf, starts[hash]!, ends[hash]!, buf, rs, re);
  return same ? 'ok' : 'columns_changed';
}

function startsWith(buf: Buffer, at: number, end: number, prefix: Buffer): boolean {
  if (at + prefix.length > end) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

/** buf[start, end) is the lower-case hex of bytes[bs, be) (what encode(row_hash, 'hex') gives). */
function isHexOf(buf: Buffer, start: number, end: number, bytes: Buffer, bs: number, be: number): boolean {
  if (end - start !== (be - bs) * 2) return false;
  for (let i = 0; i < be - bs; i++) {
    const b = bytes[bs + i]!;
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
