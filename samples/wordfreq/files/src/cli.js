// Command-line front end. All I/O is passed in to run() so tests can drive it
// with fake streams and a fake file reader instead of spawning a process.

import { readFile as fsReadFile } from 'node:fs/promises';
import { countWords, topWords } from './wordfreq.js';

export const USAGE = 'Usage: wordfreq [--top N] [--min-length N] [--json] [file ...]';

/** Thrown for bad command-line arguments; run() turns it into exit code 2. */
export class UsageError extends Error {
  name = 'UsageError';
}

function parsePositiveInt(option, value) {
  if (value === undefined) {
    throw new UsageError(`option ${option} requires a value`);
  }
  // A strict pattern rather than Number()/parseInt(), which would accept
  // "", " 5", "1e3", "0x10" or "5abc".
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`option ${option} must be a positive integer, got '${value}'`);
  }
  return n;
}

/**
 * Parse command-line arguments (without the node and script paths).
 * Accepts "--top 5" and "--top=5"; "--" ends option parsing; "-" means stdin.
 * @param {string[]} argv
 * @returns {{ top: number, minLength: number, json: boolean, files: string[] }}
 * @throws {UsageError} on an unknown option or an invalid value
 */
export function parseArgs(argv) {
  const options = { top: 10, minLength: 1, json: false, files: [] };
  let optionsEnded = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (optionsEnded || arg === '-' || !arg.startsWith('-')) {
      options.files.push(arg);
      continue;
    }
    if (arg === '--') {
      optionsEnded = true;
      continue;
    }

    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const inlineValue = eq === -1 ? undefined : arg.slice(eq + 1);

    switch (name) {
      case '--top':
        options.top = parsePositiveInt(name, inlineValue ?? argv[++i]);
        break;
      case '--min-length':
        options.minLength = parsePositiveInt(name, inlineValue ?? argv[++i]);
        break;
      case '--json':
        if (inlineValue !== undefined) {
          throw new UsageError('option --json does not take a value');
        }
        options.json = true;
        break;
      default:
        throw new UsageError(`unknown option '${arg}'`);
    }
  }
  return options;
}

/** Read a whole stream (or any async iterable of strings/bytes) as UTF-8. */
async function readStream(stream) {
  const chunks = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  // Decode once at the end so a multi-byte character split across two
  // chunks is not mangled.
  return Buffer.concat(chunks).toString('utf8');
}

function describeReadError(source, err) {
  const name = source === '-' ? 'stdin' : source;
  switch (err?.code) {
    case 'ENOENT':
      return `${name}: no such file or directory`;
    case 'EISDIR':
      return `${name}: is a directory`;
    case 'EACCES':
      return `${name}: permission denied`;
    default:
      return `${name}: ${err?.message ?? err}`;
  }
}

/** Right-align counts so the words line up in a column. */
function formatText(rows) {
  if (rows.length === 0) return '';
  // Rows are sorted by count descending, so the first count is the widest.
  const width = String(rows[0].count).length;
  return rows.map(({ word, count }) => `${String(count).padStart(width)} ${word}\n`).join('');
}

/**
 * Run the program.
 * @param {string[]} argv arguments without the node and script paths
 * @param {object} io
 * @param {AsyncIterable<string|Uint8Array>} [io.stdin] read when no files are given or for "-"
 * @param {{ write(s: string): unknown }} io.stdout
 * @param {{ write(s: string): unknown }} io.stderr
 * @param {(path: string) => Promise<string>} [io.readFile] defaults to fs.readFile as UTF-8
 * @returns {Promise<number>} exit code: 0 on success, 2 on a usage or file error
 */
export async function run(argv, { stdin, stdout, stderr, readFile = (path) => fsReadFile(path, 'utf8') }) {
  let options;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    stderr.write(`wordfreq: ${err.message}\n${USAGE}\n`);
    return 2;
  }

  const sources = options.files.length > 0 ? options.files : ['-'];
  const totals = new Map();

  // Every input is read before anything is printed, so a missing file
  // produces only an error, never partial results.
  for (const source of sources) {
    let text;
    try {
      text = source === '-' ? await readStream(stdin) : await readFile(source);
    } catch (err) {
      stderr.write(`wordfreq: ${describeReadError(source, err)}\n`);
      return 2;
    }
    for (const [word, count] of countWords(text, { minLength: options.minLength })) {
      totals.set(word, (totals.get(word) ?? 0) + count);
    }
  }

  const rows = topWords(totals, options.top);
  stdout.write(options.json ? `${JSON.stringify(rows)}\n` : formatText(rows));
  return 0;
}
