/**
 * One error type for every real model provider, so the employee activity (and Temporal's retry
 * policy) can tell "try again later" from "this will never work" without knowing which client
 * library failed. Messages end up in `model_runs.error` and in Temporal history, which people
 * read: they are scrubbed of API keys and bearer tokens before the Error is even constructed.
 */

export type ProviderErrorKind = 'rate_limited' | 'server' | 'connection' | 'timeout' | 'rejected' | 'cancelled';

/** Kinds where the same request may succeed later; Temporal retries these, nothing else. */
const RETRYABLE: ReadonlySet<ProviderErrorKind> = new Set(['rate_limited', 'server', 'connection', 'timeout']);

/** Error bodies can be whole HTML pages; history needs the gist, not the page. */
const MAX_MESSAGE_CHARS = 1_000;

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  /** HTTP status when the server answered, else null (connection, timeout, cancel, bad body). */
  readonly status: number | null;
  /** How long the server asked us to wait (Retry-After), when it said. */
  readonly retryAfterMs: number | null;
  readonly retryable: boolean;

  /**
   * `message` must already be scrubbed: use `providerError()` below, which does it. The original
   * error is deliberately not kept as `cause`: its message may echo the key.
   */
  constructor(args: { kind: ProviderErrorKind; message: string; status?: number | null; retryAfterMs?: number | null }) {
    super(args.message);
    this.kind = args.kind;
    this.status = args.status ?? null;
    this.retryAfterMs = args.retryAfterMs ?? null;
    this.retryable = RETRYABLE.has(args.kind);
  }
}

/** Builds a ProviderError whose message is `<provider>: <kind>[ (HTTP n)]: <detail>`, scrubbed and capped. */
export function providerError(
  provider: string,
  args: { kind: ProviderErrorKind; detail: string; status?: number | null; retryAfterMs?: number | null },
  secrets: readonly string[],
): ProviderError {
  const status = args.status ?? null;
  let message = `${provider}: ${args.kind}${status !== null ? ` (HTTP ${status})` : ''}: ${args.detail}`;
  message = scrubSecrets(message, secrets);
  if (message.length > MAX_MESSAGE_CHARS) message = `${message.slice(0, MAX_MESSAGE_CHARS)}… (truncated)`;
  return new ProviderError({ kind: args.kind, message, status, retryAfterMs: args.retryAfterMs ?? null });
}

/**
 * The kind for an HTTP error status. 408 (request timeout) is the one 4xx that is worth
 * retrying, so it is a timeout; every other 4xx means the request itself is wrong.
 */
export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server';
  return 'rejected';
}

/**
 * Removes every known secret, plus anything shaped like a bearer token or a well-known key
 * format (OpenAI `sk-…`, Google `AIza…`), in case a key we were not told about is echoed back.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret containing another is removed whole.
  for (const secret of [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join('[REDACTED]');
  }
  return out
    .replace(/(Bearer\s+)(?!\[REDACTED\])[^\s"',;]+/gi, '$1[REDACTED]')
    .replace(/\bsk-[A-Za-z0-9_-]{16,}/g, '[REDACTED]')
    .replace(/\bAIza[0-9A-Za-z_-]{30,}/g, '[REDACTED]');
}

/**
 * A Retry-After header value in ms: delta-seconds ("2", "1.5") or an HTTP date. Null when
 * absent or unreadable; never negative (a date in the past means "now").
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The wait a response asks for. OpenAI also sends the non-standard `retry-after-ms`, which is
 * more precise, so it wins when present.
 */
export function retryAfterFromHeaders(headers: { get(name: string): string | null } | null | undefined): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms.trim()));
  return parseRetryAfter(headers.get('retry-after'));
}

/**
 * Cancellation and our own time limit both surface as an abort inside the client; this tells
 * them apart by which signal fired. The caller's signal wins: if the activity was cancelled
 * (or its own time limit fired), retrying is not ours to decide.
 */
export function abortKind(callerSignal: AbortSignal | undefined, timeoutSignal: AbortSignal): ProviderErrorKind | null {
  if (callerSignal?.aborted) return 'cancelled';
  if (timeoutSignal.aborted) return 'timeout';
  return null;
}

export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'name' in err && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** The errno-style code (ECONNREFUSED, ENOTFOUND, …) buried in a fetch failure's cause chain. */
export function networkCode(err: unknown): string | null {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if ('code' in current && typeof current.code === 'string' && /^E[A-Z_]+$/.test(current.code)) return current.code;
    current = 'cause' in current ? current.cause : undefined;
  }
  return null;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
