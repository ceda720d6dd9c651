/**
 * Ed25519 signing keys kept in a file, and signature checks, with node:crypto only. A key file is
 * a PKCS#8 PEM private key, created on first use (mode 600, in a folder created with mode 700)
 * without ever replacing a file that is already there, so that processes starting together end up
 * sharing one key. Errors name the file and never quote key material.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface SigningKey {
  /** keyIdOf(publicKeyPem): the first 16 hex characters (64 bits) of SHA-256 of the raw 32-byte public key. */
  readonly keyId: string;
  /** The public key as an SPKI PEM. */
  readonly publicKeyPem: string;
  /** The Ed25519 signature of `bytes` (a string as UTF-8), in base64. */
  sign(bytes: Buffer | string): string;
  /** The key file it was loaded from (its signed log lives beside it), when loaded from one. */
  readonly file?: string;
}

const KEY_ID_HEX_CHARS = 16;
const SIGNATURE_BYTES = 64;

/**
 * The Ed25519 key in `file`. When the file is missing and `create` is not false, makes a new key
 * there first; when two processes do so at once, both end with the key of whichever linked first.
 * Throws an Error naming the file when it cannot be read or is not an Ed25519 private key.
 */
export function loadOrCreateSigningKey(file: string, opts: { create?: boolean } = {}): SigningKey {
  const path = resolve(file);
  let pem = readKeyFile(path);
  if (pem === null) {
    if (opts.create === false) throw new Error(`signing key file ${path} does not exist`);
    createKeyFile(path);
    pem = readKeyFile(path);
    if (pem === null) throw new Error(`signing key file ${path} vanished right after it was created`);
  }
  return signingKeyFrom(privateKeyFrom(pem, path), path);
}

/**
 * The public key (SPKI PEM) of the key in `file` without ever creating it: the public half of a
 * signing key file; null when there is no such file.
 */
export function publicKeyOfKeyFile(file: string): string | null {
  const path = resolve(file);
  const pem = readKeyFile(path);
  return pem === null ? null : createPublicKey(privateKeyFrom(pem, path)).export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Trusted Ed25519 public keys (SPKI PEMs) from `spec`: a file or the text itself, holding PEM
 * public keys, a PEM private key (its public half), or base64 lines (the raw 32-byte key or its
 * SPKI DER); `#` starts a comment line. Throws an Error naming what is not a key.
 */
export function parseTrustedKeys(text: string, where: string): string[] {
  const keys: string[] = [];
  const pems = text.match(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
  for (const pem of pems) {
    let key: KeyObject;
    try {
      key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
    } catch {
      throw new Error(`${where}: a PEM block is not a readable key`);
    }
    keys.push(ed25519Pem(key, where));
  }
  const rest = text.replace(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g, '');
  for (const raw of rest.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const bytes = Buffer.from(line, 'base64');
    let key: KeyObject;
    try {
      if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(line)) throw new Error('not base64');
      key =
        bytes.length === 32
          ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: bytes.toString('base64url') }, format: 'jwk' })
          : createPublicKey({ key: bytes, format: 'der', type: 'spki' });
    } catch {
      throw new Error(`${where}: "${line.slice(0, 12)}…" is not a public key (PEM, or base64 of the 32-byte key or its SPKI DER)`);
    }
    keys.push(ed25519Pem(key, where));
  }
  if (keys.length === 0) throw new Error(`${where} holds no public key`);
  return keys;
}

function ed25519Pem(key: KeyObject, where: string): string {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${where}: a ${key.asymmetricKeyType} key, not Ed25519`);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** The Ed25519 signature check; false, never an exception, for a malformed key or signature. */
export function verifySignature(publicKeyPem: string, bytes: Buffer | string, signatureB64: string): boolean {
  try {
    const signature = strictBase64(signatureB64);
    if (signature === null || signature.length !== SIGNATURE_BYTES) return false;
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return cryptoVerify(null, toBytes(bytes), key, signature);
  } catch {
    return false;
  }
}

/** The key id of an Ed25519 SPKI PEM (see SigningKey.keyId); throws for anything else. */
export function keyIdOf(publicKeyPem: string): string {
  let key: KeyObject;
  try {
    key = createPublicKey(publicKeyPem);
  } catch {
    throw new Error('keyIdOf: not a PEM public key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`keyIdOf: a ${key.asymmetricKeyType} key, not Ed25519`);
  return keyIdOfKey(key);
}

function keyIdOfKey(publicKey: KeyObject): string {
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  if (raw.length !== 32) throw new Error('keyIdOf: the Ed25519 public key is not 32 bytes');
  return createHash('sha256').update(raw).digest('hex').slice(0, KEY_ID_HEX_CHARS);
}

function signingKeyFrom(privateKey: KeyObject, file: string): SigningKey {
  const publicKey = createPublicKey(privateKey);
  return Object.freeze({
    file,
    keyId: keyIdOfKey(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (bytes: Buffer | string) => cryptoSign(null, toBytes(bytes), privateKey).toString('base64'),
  });
}

function toBytes(bytes: Buffer | string): Buffer {
  return typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
}

/** The bytes of canonical base64 text (padded, nothing but the alphabet), else null. */
function strictBase64(text: string): Buffer | null {
  if (typeof text !== 'string') return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/** The file's text, or null when there is no such file. */
function readKeyFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read signing key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function privateKeyFrom(pem: string, path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new Error(`signing key file ${path} does not hold a readable PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`signing key file ${path} holds a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, not an Ed25519 private key`);
  }
  return key;
}

/**
 * Writes a new key to a temporary file beside `path` and hard-links it into place: link() never
 * replaces an existing file, and the key file appears whole or not at all. Losing a race is fine.
 */
function createKeyFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writePrivateFile(temp, pem);
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new Error(`cannot create signing key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Creates `file` (never an existing one) with mode 600 and `text`, flushed to disk. */
function writePrivateFile(file: string, text: string): void {
  const fd = openSync(file, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
