/**
 * Merkle Tree Hash over SHA-256 as in RFC 6962 (Certificate Transparency) §2.1: the root of a list
 * of leaves, an incremental builder that keeps O(log n) hashes, and inclusion proofs (RFC 6962
 * §2.1.1, checked as in RFC 9162 §2.1.3.2). A leaf given as a string is hashed as its UTF-8 bytes.
 * Leaf hashes are SHA-256(0x00 || leaf), interior nodes SHA-256(0x01 || left || right), and the
 * root of no leaves is SHA-256 of the empty string.
 */
import * as crypto from 'node:crypto';

export type MerkleLeaf = Uint8Array | string;

const HASH_SIZE = 32;
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
/** Inputs longer than this are streamed into the hash instead of copied into the scratch buffer. */
const SCRATCH_LIMIT = 64 * 1024;

// One-shot crypto.hash (Node ≥ 20.12) is markedly faster than createHash for millions of small inputs.
const sha256: (data: Uint8Array) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();

let scratch = Buffer.alloc(1024);

/** The shared scratch buffer, at least `length` bytes long; valid until the next call (all of this is synchronous). */
function scratchOf(length: number): Buffer {
  if (scratch.length < length) scratch = Buffer.alloc(Math.max(length, scratch.length * 2));
  return scratch;
}

/** SHA-256(prefix || parts…) fed piece by piece, for inputs too large to copy. */
function streamedHash(prefix: number, parts: readonly (Uint8Array | string)[]): Buffer {
  return parts.reduce((hash, part) => hash.update(part), crypto.createHash('sha256').update(Buffer.of(prefix))).digest();
}

/** SHA-256(0x00 || data): the hash of one leaf. */
export function leafHash(data: MerkleLeaf): Buffer {
  const length = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
  if (length >= SCRATCH_LIMIT) return streamedHash(LEAF_PREFIX, [data]);
  const input = scratchOf(length + 1);
  input[0] = LEAF_PREFIX;
  if (typeof data === 'string') input.write(data, 1, 'utf8');
  else input.set(data, 1);
  return sha256(input.subarray(0, length + 1));
}

/** SHA-256(0x01 || left || right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  const length = 1 + left.length + right.length;
  if (length > SCRATCH_LIMIT) return streamedHash(NODE_PREFIX, [left, right]);
  const input = scratchOf(length);
  input[0] = NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input.subarray(0, length));
}

/** The root of the empty tree: SHA-256 of no bytes. */
function emptyRoot(): Buffer {
  return sha256(Buffer.alloc(0));
}

/** The RFC 6962 Merkle Tree Hash of `leaves`, in O(n) time with one 32·n-byte buffer. */
export function merkleRoot(leaves: readonly MerkleLeaf[]): Buffer {
  if (leaves.length === 0) return emptyRoot();
  return foldLevels(packedLeafHashes(leaves), leaves.length);
}

/** The leaves' hashes, one after another in a single buffer. */
function packedLeafHashes(leaves: readonly MerkleLeaf[]): Buffer {
  const packed = Buffer.allocUnsafe(leaves.length * HASH_SIZE);
  for (let i = 0; i < leaves.length; i++) packed.set(leafHash(leaves[i]!), i * HASH_SIZE);
  return packed;
}

/**
 * Folds `count` packed hashes into their root, in place: each level hashes neighbours pairwise and
 * moves an odd last hash up unchanged. Node i of level h then covers leaves [i·2^h, (i+1)·2^h) cut
 * at n, and every subtree of RFC 6962's split (k = the largest power of two below n, left complete)
 * is one of those nodes, so this is exactly the RFC's recursive definition, without the recursion.
 */
function foldLevels(level: Buffer, count: number): Buffer {
  for (let n = count; n > 1; n = Math.ceil(n / 2)) {
    const pairs = Math.floor(n / 2);
    for (let i = 0; i < pairs; i++) level.set(pairHash(level, 2 * i * HASH_SIZE), i * HASH_SIZE);
    if (n % 2 === 1) level.copy(level, pairs * HASH_SIZE, (n - 1) * HASH_SIZE, n * HASH_SIZE);
  }
  return Buffer.from(level.subarray(0, HASH_SIZE));
}

/** The node hash of the two adjacent hashes at `offset` in `level`. */
function pairHash(level: Buffer, offset: number): Buffer {
  return nodeHash(level.subarray(offset, offset + HASH_SIZE), level.subarray(offset + HASH_SIZE, offset + 2 * HASH_SIZE));
}

/** The root of leaves [start, end) given their packed hashes. */
function subtreeRoot(hashes: Buffer, start: number, end: number): Buffer {
  return foldLevels(Buffer.from(hashes.subarray(start * HASH_SIZE, end * HASH_SIZE)), end - start);
}

/** The largest power of two strictly below n (n ≥ 2): RFC 6962's split point. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Builds a root leaf by leaf with O(log n) memory: the roots of the complete subtrees so far, one
 * per set bit of `size`, largest first. `root()` equals `merkleRoot` of the leaves added.
 */
export class MerkleBuilder {
  readonly #stack: Buffer[] = [];
  #size = 0;

  /** How many leaves were added. */
  get size(): number {
    return this.#size;
  }

  add(leaf: MerkleLeaf): this {
    return this.#push(leafHash(leaf));
  }

  /** Adds a leaf by its hash, SHA-256(0x00 || leaf), computed elsewhere (a worker, a stream). */
  addLeafHash(leaf: Uint8Array): this {
    if (leaf.length !== HASH_SIZE) throw new RangeError(`addLeafHash: a leaf hash is ${HASH_SIZE} bytes, not ${leaf.length}`);
    return this.#push(Buffer.from(leaf));
  }

  #push(leaf: Buffer): this {
    let hash = leaf;
    // Each trailing 1 bit of the old size is a complete subtree as large as the one just made.
    for (let s = this.#size; s % 2 === 1; s = Math.floor(s / 2)) hash = nodeHash(this.#stack.pop()!, hash);
    this.#stack.push(hash);
    this.#size++;
    return this;
  }

  /** The RFC 6962 root of the leaves added so far (the empty-tree root when none were). */
  root(): Buffer {
    const stack = this.#stack;
    if (stack.length === 0) return emptyRoot();
    let root = stack[stack.length - 1]!;
    for (let i = stack.length - 2; i >= 0; i--) root = nodeHash(stack[i]!, root);
    return Buffer.from(root);
  }
}

/**
 * The RFC 6962 §2.1.1 audit path of leaf `index` (0-based) in the tree of `leaves`: the sibling
 * hashes from the leaf's level up to the root's children. Throws a RangeError for a bad index.
 */
export function inclusionProof(leaves: readonly MerkleLeaf[], index: number): Buffer[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`inclusionProof: index ${index} is outside a tree of ${leaves.length} leaves`);
  }
  const hashes = packedLeafHashes(leaves);
  const path: Buffer[] = [];
  let start = 0;
  let end = leaves.length;
  while (end - start > 1) {
    const middle = start + splitPoint(end - start);
    if (index < middle) {
      path.push(subtreeRoot(hashes, middle, end));
      end = middle;
    } else {
      path.push(subtreeRoot(hashes, start, middle));
      start = middle;
    }
  }
  return path.reverse();
}

/**
 * Whether `proof` shows that the leaf with hash `leafHash` is leaf `index` of the tree of `size`
 * leaves whose root is `root` (RFC 9162 §2.1.3.2). False, never an exception, for malformed input.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  try {
    if (!isHash(leafHash) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false;
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
    const computed = rootFromPath(leafHash, index, size, proof);
    return computed !== null && crypto.timingSafeEqual(computed, root);
  } catch {
    return false;
  }
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

/** RFC 9162 §2.1.3.2 steps 2–5: the root the path leads to, or null when its length does not fit. */
function rootFromPath(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Buffer | null {
  // Plain arithmetic instead of bit operators, which would cut indices to 32 bits.
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      r = nodeHash(r, p);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return sn === 0 ? r : null;
}
