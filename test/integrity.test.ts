/**
 * The integrity building blocks: RFC 8785 canonical JSON, RFC 6962 Merkle trees and inclusion
 * proofs, and Ed25519 signing keys kept in files. Each is checked against published vectors or
 * an independent, straightforward reference, not only against itself.
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, isCanonical } from '../integrity/canonical.js';
import { ChainScanner, checkBody, entryBody, type RangeStart } from '../integrity/chain-scan.js';
import { inclusionProof, leafHash, MerkleBuilder, merkleRoot, nodeHash, verifyInclusion } from '../integrity/merkle.js';
import { keyIdOf, loadOrCreateSigningKey, verifySignature } from '../integrity/signing.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => Buffer.from(h, 'hex');
const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();

describe('canonicalJson (RFC 8785)', () => {
  // The JCS reference test data (cyberphone/json-canonicalization, also shipped with `canonicalize`).
  const VECTORS: [string, string, string][] = [
    ['arrays', '[56, {"d": true, "10": null, "1": [ ]}]', '[56,{"1":[],"10":null,"d":true}]'],
    [
      'french',
      '{"peach": "This sorting order", "péché": "is wrong according to French",\n' +
        ' "pêche": "but canonicalization MUST", "sin": "ignore locale"}',
      '{"peach":"This sorting order","péché":"is wrong according to French","pêche":"but canonicalization MUST","sin":"ignore locale"}',
    ],
    [
      'structures',
      '{"1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0},\n "10": { }, "": "empty", "a": { },\n' +
        ' "111": [ {"e": "yes","E": "no" } ], "A": {"b": "123"}}',
      '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{"E":"no","e":"yes"}],"A":{"b":"123"},"a":{}}',
    ],
    [
      'values',
      String.raw`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    ],
    [
      'weird',
      String.raw`{"€": "Euro Sign", "1": "One", "\u0080": "Control", "\ud83d\ude02": "Smiley",
        "ö": "Latin Small Letter O With Diaeresis", "\ufb33": "Hebrew Letter Dalet With Dagesh", "</script>": "Browser Challenge"}`,
      // U+FB33 written as an escape: an editor's Unicode normalization would turn the character into two.
      '{"1":"One","</script>":"Browser Challenge","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign",' +
        '"😂":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    ],
  ];

  it.each(VECTORS)('reproduces the JCS test vector "%s"', (_name, input, output) => {
    expect(canonicalJson(JSON.parse(input))).toBe(output);
    expect(isCanonical(output)).toBe(true);
    expect(isCanonical(input)).toBe(false);
  });

  it('writes numbers as RFC 8785 Appendix B does (IEEE 754 bits → text)', () => {
    const cases: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, text] of cases) expect(canonicalJson(unhex(bits).readDoubleBE(0)), bits).toBe(text);
  });

  it('uses toJSON as JSON.stringify does, and accepts shared (acyclic) references', () => {
    const shared = { z: 1, y: [true] };
    expect(canonicalJson({ at: new Date(Date.UTC(2024, 0, 2)), a: shared, b: shared })).toBe(
      '{"a":{"y":[true],"z":1},"at":"2024-01-02T00:00:00.000Z","b":{"y":[true],"z":1}}',
    );
    expect(canonicalJson(Object.assign(Object.create(null), { b: 2, a: 1 }))).toBe('{"a":1,"b":2}');
  });

  it('throws an Error naming the path of anything JSON cannot carry', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    class Thing {
      x = 1;
    }
    const cases: [unknown, RegExp][] = [
      [undefined, /undefined at \$ /],
      [{ a: { b: undefined } }, /undefined at \$\.a\.b /],
      [[1, undefined], /undefined at \$\[1\] /],
      // eslint-disable-next-line no-sparse-arrays
      [[1, , 3], /undefined at \$\[1\] /],
      [NaN, /NaN at \$ /],
      [{ n: [Infinity] }, /Infinity at \$\.n\[0\] /],
      [-Infinity, /-Infinity at \$ /],
      [{ big: 1n }, /a bigint at \$\.big /],
      [{ f: () => 1 }, /a function at \$\.f /],
      [[Symbol('s')], /a symbol at \$\[0\] /],
      [{ s: 'a\ud800b' }, /lone UTF-16 surrogate at \$\.s /],
      [{ ['\udc00']: 1 }, /lone UTF-16 surrogate at \$\["\\udc00"\] /],
      [new Map([['a', 1]]), /a Map object at \$ /],
      [{ t: new Thing() }, /a Thing object at \$\.t /],
      [cyclic, /circular reference at \$\.self /],
    ];
    for (const [value, message] of cases) expect(() => canonicalJson(value)).toThrow(message);
  });

  it('isCanonical is true only for exactly canonical text, false for anything unparseable', () => {
    for (const text of ['null', '0', '-1', '"\u20ac"', '{"a":[1,2],"b":{}}', '[]', '"\\u001f"', '1e+21']) {
      expect(isCanonical(text), text).toBe(true);
    }
    const not = ['', ' null', '{"b":1,"a":2}', '{"a":1,"a":1}', '1.0', '1E3', '-0', '"\\u20ac"', '"\\ud800"', '{"a":1', 'nul'];
    for (const text of [...not, '12345678901234567890', '[1, 2]', '{"a":1}\n']) expect(isCanonical(text), text).toBe(false);
    expect(isCanonical(42 as unknown as string)).toBe(false);
  });
});

/** RFC 6962 §2.1 written out recursively, with node:crypto directly: the reference the fast code must match. */
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha256(Buffer.alloc(0));
  if (leaves.length === 1) return sha256(Buffer.of(0), leaves[0]!);
  const k = split(leaves.length);
  return sha256(Buffer.of(1), referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

/** RFC 6962 §2.1.1 PATH(m, D[n]), recursively. */
function referencePath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  if (m < k) return [...referencePath(m, leaves.slice(0, k)), referenceRoot(leaves.slice(k))];
  return [...referencePath(m - k, leaves.slice(k)), referenceRoot(leaves.slice(0, k))];
}

function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Leaves of varied lengths (0 to 40 bytes). */
const someLeaves = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`leaf-${i}-`.repeat(i % 5)));

describe('Merkle tree (RFC 6962)', () => {
  // Certificate Transparency's merkle_tree_test.cc (also used by trillian and transparency-dev).
  const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
  const CT_ROOTS = [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  /** [leaf index (0-based), tree size, audit path] from the same test file. */
  const CT_PATHS: [number, number, string[]][] = [
    [0, 1, []],
    [
      0,
      8,
      [
        '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
      ],
    ],
    [
      5,
      8,
      [
        'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
        'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
        'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      ],
    ],
    [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
    [
      1,
      5,
      [
        '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      ],
    ],
  ];

  it('reproduces the Certificate Transparency roots, and the empty tree is SHA-256("")', () => {
    expect(hex(merkleRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(new MerkleBuilder().root())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    CT_ROOTS.forEach((root, i) => expect(hex(merkleRoot(CT_LEAVES.slice(0, i + 1))), `size ${i + 1}`).toBe(root));
  });

  it('reproduces the Certificate Transparency audit paths, and they verify', () => {
    for (const [index, size, path] of CT_PATHS) {
      const proof = inclusionProof(CT_LEAVES.slice(0, size), index);
      expect(proof.map(hex), `${index}/${size}`).toEqual(path);
      expect(verifyInclusion(leafHash(CT_LEAVES[index]!), index, size, proof, unhex(CT_ROOTS[size - 1]!))).toBe(true);
    }
  });

  it('hashes leaves and nodes with the 0x00 / 0x01 prefixes, strings as UTF-8', () => {
    expect(hex(leafHash(''))).toBe(CT_ROOTS[0]);
    expect(leafHash('grüße ✓')).toEqual(sha256(Buffer.of(0), Buffer.from('grüße ✓', 'utf8')));
    const big = Buffer.alloc(200_000, 7);
    expect(leafHash(big)).toEqual(sha256(Buffer.of(0), big));
    expect(leafHash(big.toString('latin1'))).toEqual(sha256(Buffer.of(0), Buffer.from(big.toString('latin1'), 'utf8')));
    const [l, r] = [leafHash('l'), leafHash('r')];
    expect(nodeHash(l, r)).toEqual(sha256(Buffer.of(1), l, r));
  });

  it('merkleRoot equals the recursive RFC definition for every size 0..70 and some large ones', () => {
    for (const n of [...Array.from({ length: 71 }, (_, i) => i), 127, 128, 129, 1000, 1023, 1024, 1025, 4097, 10_001]) {
      const leaves = someLeaves(n);
      expect(hex(merkleRoot(leaves)), `n=${n}`).toBe(hex(referenceRoot(leaves)));
    }
  });

  it('treats a string leaf as its UTF-8 bytes', () => {
    const texts = ['a', 'é', '', '☃☃', 'plain'];
    expect(merkleRoot(texts)).toEqual(merkleRoot(texts.map((t) => Buffer.from(t, 'utf8'))));
  });

  it('MerkleBuilder gives merkleRoot after every leaf, for sizes 0..70 and some beyond', () => {
    const leaves = someLeaves(300);
    const builder = new MerkleBuilder();
    expect(builder.size).toBe(0);
    for (let n = 1; n <= leaves.length; n++) {
      builder.add(leaves[n - 1]!);
      expect(builder.size).toBe(n);
      if (n > 70 && n % 37 !== 0 && n !== leaves.length) continue;
      expect(hex(builder.root()), `n=${n}`).toBe(hex(merkleRoot(leaves.slice(0, n))));
    }
  });

  it('inclusion proofs for every index of sizes 1..20 match RFC PATH and verify; any change fails', () => {
    for (let size = 1; size <= 20; size++) {
      const leaves = someLeaves(size);
      const root = merkleRoot(leaves);
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(leaves, index);
        const leaf = leafHash(leaves[index]!);
        expect(proof.map(hex), `${index}/${size}`).toEqual(referencePath(index, leaves).map(hex));
        expect(verifyInclusion(leaf, index, size, proof, root), `${index}/${size}`).toBe(true);
        for (const bad of tamperedProofs(leaf, index, size, proof, root)) expect(verifyInclusion(...bad), `${index}/${size}`).toBe(false);
      }
    }
  });

  it('inclusionProof refuses an index outside the tree', () => {
    for (const index of [-1, 3, 1.5, NaN]) expect(() => inclusionProof(someLeaves(3), index)).toThrow(RangeError);
    expect(() => inclusionProof([], 0)).toThrow(/outside a tree of 0 leaves/);
  });

  it('verifyInclusion returns false, never throws, for malformed input', () => {
    const leaves = someLeaves(5);
    const [leaf, root, proof] = [leafHash(leaves[2]!), merkleRoot(leaves), inclusionProof(leaves, 2)];
    const bad: [Uint8Array, number, number, Uint8Array[], Uint8Array][] = [
      [leaf, 2, 0, proof, root],
      [leaf, -1, 5, proof, root],
      [leaf, 2.5, 5, proof, root],
      [leaf, 5, 5, proof, root],
      [leaf, 2, Number.MAX_SAFE_INTEGER + 2, proof, root],
      [leaf.subarray(1), 2, 5, proof, root],
      [leaf, 2, 5, proof, root.subarray(0, 31)],
      [leaf, 2, 5, [...proof.slice(0, 1), Buffer.alloc(31)], root],
      [leaf, 2, 5, null as unknown as Uint8Array[], root],
      ['x' as unknown as Uint8Array, 2, 5, proof, root],
    ];
    for (const args of bad) expect(verifyInclusion(...args)).toBe(false);
  });

  it('verifyInclusion handles indices beyond 32 bits', () => {
    // In a tree of 2^40 + 1 leaves the last leaf's path is the root of the first 2^40 leaves.
    const [size, leaf, left] = [2 ** 40 + 1, leafHash('last'), sha256(Buffer.from('any 2^40-leaf subtree root'))];
    const root = nodeHash(left, leaf);
    expect(verifyInclusion(leaf, size - 1, size, [left], root)).toBe(true);
    expect(verifyInclusion(leaf, size - 2, size, [left], root)).toBe(false);
    expect(verifyInclusion(leaf, size - 1, size + 1, [left], root)).toBe(false);
  });
});

type InclusionArgs = [Uint8Array, number, number, Uint8Array[], Uint8Array];

/** Altered copies of a valid (leaf, index, size, proof, root): each must fail verification. */
function tamperedProofs(leaf: Buffer, index: number, size: number, proof: Buffer[], root: Buffer): InclusionArgs[] {
  const flip = (b: Buffer) => Buffer.from(b.map((x, i) => (i === 0 ? x ^ 8 : x)));
  const out: InclusionArgs[] = [
    [flip(leaf), index, size, proof, root],
    [leaf, index, size, proof, flip(root)],
    [leaf, index, size, [...proof, root], root],
    [leaf, index, size, [root, ...proof], root],
    [leaf, index, size * 2, proof, root],
    [leaf, index, Math.floor(size / 2), proof, root],
  ];
  if (index + 1 < size) out.push([leaf, index + 1, size, proof, root]);
  if (index > 0) out.push([leaf, index - 1, size, proof, root]);
  if (proof.length > 0) out.push([leaf, index, size, proof.slice(0, -1), root]);
  proof.forEach((_, i) => out.push([leaf, index, size, proof.map((p, j) => (i === j ? flip(p) : p)), root]));
  return out;
}

describe('Ed25519 signing keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aura-integrity-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const mode = (path: string) => statSync(path).mode & 0o777;

  it('creates a key file (mode 600, new folders 700) and loads the same key from it again', () => {
    const file = join(dir, 'created', 'deeper', 'signing.pem');
    const key = loadOrCreateSigningKey(file);
    expect(mode(file)).toBe(0o600);
    expect(mode(join(dir, 'created'))).toBe(0o700);
    expect(mode(join(dir, 'created', 'deeper'))).toBe(0o700);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(key.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const again = loadOrCreateSigningKey(file, { create: false });
    expect([again.keyId, again.publicKeyPem]).toEqual([key.keyId, key.publicKeyPem]);
    expect(loadOrCreateSigningKey(file).keyId).toBe(key.keyId);
    expect(readdirSync(join(dir, 'created', 'deeper'))).toEqual(['signing.pem']);
  });

  it('keyId is the first 16 hex characters of SHA-256 of the raw public key', () => {
    const key = loadOrCreateSigningKey(join(dir, 'id.pem'));
    const raw = Buffer.from(key.publicKeyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64').subarray(-32);
    expect(key.keyId).toBe(sha256(raw).toString('hex').slice(0, 16));
    expect(keyIdOf(key.publicKeyPem)).toBe(key.keyId);
    expect(JSON.stringify(key)).not.toMatch(/PRIVATE/);
  });

  it('refuses a missing file when create is false, naming it', () => {
    const file = join(dir, 'absent', 'key.pem');
    expect(() => loadOrCreateSigningKey(file, { create: false })).toThrow(`signing key file ${file} does not exist`);
    expect(() => statSync(join(dir, 'absent'))).toThrow();
  });

  it('racing creators in separate processes all end with one key', async () => {
    const signing = pathToFileURL(fileURLToPath(new URL('../integrity/signing.ts', import.meta.url))).href;
    const root = fileURLToPath(new URL('..', import.meta.url));
    for (const round of [1, 2]) {
      const file = join(dir, `race-${round}`, 'key.pem');
      const startAt = Date.now() + 1500;
      const ids = await Promise.all([1, 2, 3, 4].map(() => keyIdFromChild(root, signing, file, startAt)));
      expect(new Set(ids).size, ids.join(' ')).toBe(1);
      expect(ids[0]).toBe(loadOrCreateSigningKey(file).keyId);
      expect(readdirSync(join(dir, `race-${round}`))).toEqual(['key.pem']);
    }
  });

  it('signs bytes and strings; tampered bytes, another key or a changed signature fail', () => {
    const key = loadOrCreateSigningKey(join(dir, 'sign.pem'));
    const other = loadOrCreateSigningKey(join(dir, 'other.pem'));
    const signature = key.sign('héllo');
    expect(Buffer.from(signature, 'base64')).toHaveLength(64);
    expect(verifySignature(key.publicKeyPem, 'héllo', signature)).toBe(true);
    expect(verifySignature(key.publicKeyPem, Buffer.from('héllo', 'utf8'), signature)).toBe(true);
    expect(verifySignature(key.publicKeyPem, Buffer.from([1, 2]), key.sign(Buffer.from([1, 2])))).toBe(true);
    expect(verifySignature(key.publicKeyPem, 'hello', signature)).toBe(false);
    expect(verifySignature(key.publicKeyPem, 'héllo!', signature)).toBe(false);
    expect(verifySignature(other.publicKeyPem, 'héllo', signature)).toBe(false);
    const flipped = Buffer.from(signature, 'base64');
    flipped[10]! ^= 1;
    expect(verifySignature(key.publicKeyPem, 'héllo', flipped.toString('base64'))).toBe(false);
  });

  it('verifySignature returns false, never throws, for malformed keys and signatures', () => {
    const key = loadOrCreateSigningKey(join(dir, 'malformed.pem'));
    const signature = key.sign('data');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const cases: [string, string][] = [
      ['not a key', signature],
      ['', signature],
      [rsa, signature],
      [key.publicKeyPem.replace('MCow', 'MCox'), signature],
      [key.publicKeyPem, ''],
      [key.publicKeyPem, 'not base64 at all!'],
      [key.publicKeyPem, signature.slice(0, 40)],
      [key.publicKeyPem, `${signature}AAAA`],
      [key.publicKeyPem, ` ${signature}`],
      [key.publicKeyPem, signature.replace(/=+$/, '')],
      [undefined as unknown as string, signature],
      [key.publicKeyPem, null as unknown as string],
    ];
    for (const [pem, sig] of cases) expect(verifySignature(pem, 'data', sig)).toBe(false);
    expect(() => keyIdOf('not a key')).toThrow(/not a PEM public key/);
    expect(() => keyIdOf(rsa)).toThrow(/a rsa key, not Ed25519/);
  });

  it('refuses a key file that is not an Ed25519 private key, naming the file and quoting no key material', () => {
    const ed = generateKeyPairSync('ed25519');
    const files: [string, string, RegExp][] = [
      [
        'rsa.pem',
        generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        /holds a rsa key, not an Ed25519 private key/,
      ],
      [
        'ec.pem',
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
        /holds a ec key, not an Ed25519 private key/,
      ],
      [
        'x25519.pem',
        generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        /holds a x25519 key, not an Ed25519 private key/,
      ],
      ['public.pem', ed.publicKey.export({ type: 'spki', format: 'pem' }).toString(), /does not hold a readable PEM private key/],
      ['garbage.pem', 'hello\n', /does not hold a readable PEM private key/],
      ['empty.pem', '', /does not hold a readable PEM private key/],
    ];
    mkdirSync(join(dir, 'refused'));
    for (const [name, content, message] of files) {
      const file = join(dir, 'refused', name);
      writeFileSync(file, content, { mode: 0o600 });
      const error = captureError(() => loadOrCreateSigningKey(file));
      expect(error.message, name).toMatch(message);
      expect(error.message, name).toContain(file);
      for (const line of content.split('\n').filter((l) => l.length > 8)) expect(error.message, name).not.toContain(line);
      expect(readFileSync(file, 'utf8'), `${name} is left as it was`).toBe(content);
    }
  });
});

function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

/** Starts a process that waits until `startAt`, then loads or creates the key and prints its id. */
function keyIdFromChild(cwd: string, signingUrl: string, file: string, startAt: number): Promise<string> {
  const code = `const { loadOrCreateSigningKey } = await import(${JSON.stringify(signingUrl)});
    await new Promise((r) => setTimeout(r, ${startAt} - Date.now()));
    process.stdout.write(loadOrCreateSigningKey(${JSON.stringify(file)}).keyId);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let [out, err] = ['', ''];
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('the chain scan over binary COPY data', () => {
  const ZERO = Buffer.alloc(32);
  interface Row {
    seq: number;
    hash: Buffer;
    prev: Buffer;
    rowHash: Buffer;
    table: string;
    key: string;
    entry: string;
  }

  /** An entry as the trigger writes it. */
  const entryText = (key: string, rowHash: Buffer, table = 'audit_events', run: string | null = null) =>
    `{"at":"2026-12-08T01:02:03.456789Z","op":"insert","row":${JSON.stringify(key)},"rowHash":"${hex(rowHash)}","run":${
      run === null ? 'null' : JSON.stringify(run)
    },"table":${JSON.stringify(table)}}`;

  /** A valid chain of `keys.length` entries after `prev`. */
  function chainOf(keys: string[], prev = ZERO, first = 1): Row[] {
    return keys.map((key, i) => {
      const rowHash = sha256(Buffer.from(`row ${key}`));
      const entry = entryText(key, rowHash);
      const row = { seq: first + i, prev, hash: sha256(prev, Buffer.from(entry)), rowHash, table: 'audit_events', key, entry };
      prev = row.hash;
      return row;
    });
  }

  /** PostgreSQL's binary COPY of (seq, hash, prev_hash, row_hash, row_table, row_key, entry). */
  function copyBytes(rows: Row[]): Buffer {
    const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
    const field = (b: Buffer) => {
      const len = Buffer.alloc(4);
      len.writeInt32BE(b.length);
      parts.push(len, b);
    };
    for (const r of rows) {
      const count = Buffer.alloc(2);
      count.writeInt16BE(7);
      parts.push(count);
      const seq = Buffer.alloc(8);
      seq.writeBigInt64BE(BigInt(r.seq));
      for (const b of [seq, r.hash, r.prev, r.rowHash, Buffer.from(r.table), Buffer.from(r.key), Buffer.from(r.entry)]) field(b);
    }
    const trailer = Buffer.alloc(2);
    trailer.writeInt16BE(-1);
    parts.push(trailer);
    return Buffer.concat(parts);
  }

  function scan(bytes: Buffer, cuts: number[] = [], start: Partial<RangeStart> = {}) {
    const scanner = new ChainScanner({ lastSeq: 0, lastHash: ZERO, ends: [], leaves: false, utf8: true, ...start });
    let from = 0;
    for (const at of [...cuts, bytes.length]) {
      scanner.push(bytes.subarray(from, at));
      from = at;
    }
    return scanner.finish();
  }

  const keys = ['a', 'pack 📦 café', 'say "hi" \\ then\nstop', 'b/c', 'd'];

  it('a valid chain has no problem however the data is cut into chunks, and gives the last hash and the ends asked for', () => {
    const rows = chainOf(keys);
    const bytes = copyBytes(rows);
    const whole = scan(bytes, [], { ends: [2, 5] });
    expect(whole).toMatchObject({ count: 5, lastSeq: 5, problems: [] });
    expect(Buffer.from(whole.lastHash).equals(rows[4]!.hash)).toBe(true);
    expect(whole.endHashes).toEqual([
      [2, hex(rows[1]!.hash)],
      [5, hex(rows[4]!.hash)],
    ]);
    for (let cut = 1; cut < bytes.length; cut++) expect(scan(bytes, [cut], { ends: [2, 5] })).toEqual(whole);
    expect(
      scan(
        bytes,
        Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
        { ends: [2, 5] },
      ),
    ).toEqual(whole);
  });

  it('data that ends inside an entry, or is not binary COPY, is an error, not a verdict', () => {
    const bytes = copyBytes(chainOf(keys));
    expect(() => scan(bytes.subarray(0, bytes.length - 10))).toThrow(/ended inside an entry/);
    expect(() => scan(Buffer.from('seq\thash\trow_hash\n1\tabc\tdef\n'))).toThrow(/not PostgreSQL binary COPY/);
  });

  it('names a gap, a broken link, an edited entry, re-labelled columns and a re-spelled entry at their entries', () => {
    const rows = chainOf(['a', 'b', 'c', 'd', 'e', 'f']);
    const kinds = (rs: Row[], start: Partial<RangeStart> = {}) => scan(copyBytes(rs), [], start).problems.map((p) => [p.kind, p.seq]);
    expect(kinds([rows[0]!, rows[2]!, rows[3]!])).toEqual([
      ['gap', 2],
      ['chain_broken', 3],
    ]);
    const edited = rows.map((r, i) => (i === 1 ? { ...r, entry: r.entry.replace('"op":"insert"', '"op":"update"') } : r));
    expect(kinds(edited)).toEqual([['entry_edited', 2]]);
    const swapped = [rows[0]!, { ...rows[2]!, seq: 2 }, { ...rows[1]!, seq: 3 }, ...rows.slice(3)];
    expect(kinds(swapped)).toEqual([
      ['chain_broken', 2],
      ['chain_broken', 3],
      ['chain_broken', 4],
    ]);
    expect(kinds(rows.map((r, i) => (i === 2 ? { ...r, key: 'other' } : r)))).toEqual([['entry_columns_changed', 3]]);
    expect(kinds(rows.map((r, i) => (i === 2 ? { ...r, table: 'incidents' } : r)))).toEqual([['entry_columns_changed', 3]]);
    expect(kinds(rows.map((r, i) => (i === 2 ? { ...r, rowHash: ZERO } : r)))).toEqual([['entry_columns_changed', 3]]);
    // Re-spelled with its hash recomputed (and the next entry's link with it): canonical JSON or not.
    const respelled = chainOf(['a', 'b', 'c']);
    const spaced = respelled[1]!.entry.replace('"op":', '"op": ');
    const relinked = [respelled[0]!, { ...respelled[1]!, entry: spaced, hash: sha256(respelled[0]!.hash, Buffer.from(spaced)) }];
    expect(kinds(relinked)).toEqual([['not_canonical', 2]]);
    // A range that starts after the last entry before it: the link is checked against that entry.
    expect(kinds(rows.slice(3), { lastSeq: 3, lastHash: rows[2]!.hash })).toEqual([]);
    expect(kinds(rows.slice(3), { lastSeq: 3, lastHash: rows[1]!.hash })).toEqual([['chain_broken', 4]]);
    expect(kinds(rows.slice(3), { lastSeq: 2, lastHash: rows[2]!.hash })).toEqual([['gap', 3]]);
  });

  it('the byte check of an entry agrees with reading it as JSON, for the trigger shape and for every way to break it', () => {
    const rowHash = sha256(Buffer.from('r'));
    const base = entryText('k-1', rowHash);
    const variants = [
      base,
      entryText('say "hi" \\ \u0001 ☃ 📦', rowHash),
      entryText('k-1', rowHash, 'incidents', '0b7d4c4e-0d0c-4a0a-9a3e-2d6f0c1b2a3e'),
      base.replace('"op":"insert"', '"op":"\\u0069nsert"'),
      base.replace('"op":"insert"', '"op": "insert"'),
      base.replace('"op":"insert"', '"op":null'),
      base.replace('"op":"insert"', '"op":1'),
      base.replace('"row":"k-1"', '"row":null'),
      base.replace('"table":"audit_events"', '"table":"audit\\u005fevents"'),
      base.replace(hex(rowHash), hex(rowHash).toUpperCase()),
      base.replace(hex(rowHash), hex(rowHash).slice(2)),
      base.replace('{"at"', '{"op":"x","at"'),
      `${base.slice(0, -1)},"x":"y"}`,
      base.replace('"at":', '"at" :'),
      `${base} `,
      base.slice(0, -1),
      base.replace('"row":"k-1"', '"row":"k\n1"'),
      base.replace('"run":null', '"run":"\\/"'),
      '{}',
      '[]',
      'null',
    ];
    for (const text of variants) {
      const bytes = Buffer.from(text);
      const table = Buffer.from('audit_events');
      const key = Buffer.from('k-1');
      const joined = Buffer.concat([bytes, table, key, rowHash]);
      const [es, ts, ks, rs] = [0, bytes.length, bytes.length + table.length, bytes.length + table.length + key.length];
      const fast = checkBody(joined, es, ts, ts, ks, ks, rs, rs, joined.length);
      const body = entryBody(text);
      const expected = !body
        ? 'not_canonical'
        : body.table === 'audit_events' && body.row === 'k-1' && body.rowHash === hex(rowHash)
          ? 'ok'
          : 'columns_changed';
      expect([text, fast]).toEqual([text, expected]);
    }
    // The reading as JSON is the RFC 8785 one: a canonical entry is exactly canonicalJson of itself.
    for (const text of variants) if (entryBody(text)) expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  it('leaf hashes kept for the Merkle roots are RFC 6962 leaves of the entries, in order', () => {
    const rows = chainOf(keys);
    const result = scan(copyBytes(rows), [7, 100], { leaves: true });
    expect(Array.from(result.leafSeqs!)).toEqual([1, 2, 3, 4, 5]);
    const builder = new MerkleBuilder();
    for (let i = 0; i < rows.length; i++) builder.addLeafHash(result.leafHashes!.subarray(i * 32, (i + 1) * 32));
    expect(hex(builder.root())).toBe(hex(merkleRoot(rows.map((r) => r.entry))));
  });
});
