/**
 * Canonical JSON text (RFC 8785, the JSON Canonicalization Scheme): one exact string for each JSON
 * value, whatever its key order, whitespace or number spelling, so that a hash or a signature over
 * JSON means the same thing everywhere. The serialization is the `canonicalize` package (written by
 * the RFC's authors); this module checks the value first, so that anything JSON cannot carry is an
 * error naming where it is, instead of being dropped or changed on the way.
 */
import { createRequire } from 'node:module';

// The package is CommonJS (`module.exports = serialize`) while its typings declare an ES default
// export, which NodeNext types as `{ default: serialize }`: load it with require and type it here.
const serialize = createRequire(import.meta.url)('canonicalize') as (input: unknown) => string | undefined;

/** With the `u` flag a well-formed surrogate pair is one code point, so this matches lone halves only. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * The RFC 8785 text of `value`. Objects' own enumerable string keys are sorted by UTF-16 code
 * units and numbers are written as ECMAScript writes them; a `toJSON()` method (a Date's, say) is
 * used as JSON.stringify would. Throws an Error naming the path (`$.a[2]`) of anything that is not
 * JSON: undefined (also as an object property or array hole, which JSON.stringify would drop or
 * turn into null), NaN and ±Infinity, bigint, functions, symbols, a lone UTF-16 surrogate (I-JSON
 * forbids it), objects other than plain objects and arrays (a Map, a class instance), and cycles.
 */
export function canonicalJson(value: unknown): string {
  checkValue(value, '$', new Set());
  const text = serialize(value);
  if (typeof text !== 'string') throw new Error('canonicalJson: the value has no JSON text');
  return text;
}

/** True iff `text` is exactly the RFC 8785 text of the JSON it holds; false for anything unparseable. */
export function isCanonical(text: string): boolean {
  if (typeof text !== 'string') return false;
  try {
    return canonicalJson(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

function notJson(path: string, what: string): never {
  throw new Error(`canonicalJson: ${what} at ${path} is not JSON (RFC 8785)`);
}

function checkValue(value: unknown, path: string, open: Set<object>): void {
  switch (typeof value) {
    case 'boolean':
      return;
    case 'string':
      return checkString(value, path);
    case 'number':
      return Number.isFinite(value) ? undefined : notJson(path, String(value));
    case 'object':
      return value === null ? undefined : checkObject(value, path, open);
    case 'undefined':
      return notJson(path, 'undefined');
    default:
      return notJson(path, `a ${typeof value}`);
  }
}

function checkString(text: string, path: string): void {
  if (LONE_SURROGATE.test(text)) notJson(path, 'a string with a lone UTF-16 surrogate');
}

function checkObject(value: object, path: string, open: Set<object>): void {
  if (open.has(value)) notJson(path, 'a circular reference');
  open.add(value);
  try {
    if (hasToJson(value)) checkValue(value.toJSON(), path, open);
    else if (Array.isArray(value)) checkArray(value, path, open);
    else checkPlainObject(value, path, open);
  } finally {
    open.delete(value);
  }
}

function hasToJson(value: object): value is { toJSON(): unknown } {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

function checkArray(items: readonly unknown[], path: string, open: Set<object>): void {
  for (let i = 0; i < items.length; i++) checkValue(items[i], `${path}[${i}]`, open);
}

function checkPlainObject(value: object, path: string, open: Set<object>): void {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) notJson(path, `a ${value.constructor?.name ?? 'non-plain'} object`);
  for (const [key, item] of Object.entries(value)) {
    const at = IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
    checkString(key, at);
    checkValue(item, at, open);
  }
}
