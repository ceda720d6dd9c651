/**
 * Employees served by an Ollama server (local models, or a remote/proxied Ollama).
 * One prompt in, one completion out; recording, limits and failure typing stay in index.ts.
 */
import { Ollama, type ChatResponse } from 'ollama';
import type { Completion, CompletionRequest, EmployeeProvider } from './provider.js';
import {
  abortKind,
  errorText,
  isAbortError,
  kindForStatus,
  networkCode,
  providerError,
  retryAfterFromHeaders,
  type ProviderError,
} from './provider-errors.js';

export interface OllamaOptions {
  /** e.g. http://127.0.0.1:11434 */
  host: string;
  /** Wall-clock limit of one call, body included. Default 10 minutes: local models can be slow. */
  timeoutMs?: number;
  /** Sent as a bearer token, for ollama.com or an authenticating proxy in front of Ollama. */
  apiKey?: string;
}

export const DEFAULT_OLLAMA_TIMEOUT_MS = 600_000;

export function createOllamaProvider(opts: OllamaOptions): EmployeeProvider {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_OLLAMA_TIMEOUT_MS;
  // A host URL may carry user:password; scrub it like a key.
  const secrets = [opts.apiKey ?? '', urlPassword(opts.host)].filter((s) => s !== '');
  const headers = opts.apiKey ? { Authorization: `Bearer ${opts.apiKey}` } : undefined;

  return {
    name: 'ollama',
    async complete(req: CompletionRequest): Promise<Completion> {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      // The client's abort() only reaches STREAMED requests: with stream:false it passes no
      // signal to fetch at all. So the signal goes in through our own fetch, which aborts the
      // request and the body read; abort() is still called for the client's own bookkeeping.
      // A fresh client per call, so abort() can only ever hit this call.
      // The fetch also keeps the response headers: the client's ResponseError drops them, and
      // a 429's Retry-After lives there.
      let responseHeaders: Headers | null = null;
      const client = new Ollama({
        host: opts.host,
        headers,
        fetch: async (input, init) => {
          const res = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
          responseHeaders = res.headers;
          return res;
        },
      });
      const onAbort = () => client.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      let response: ChatResponse;
      try {
        response = await client.chat({
          model: req.employee.model,
          messages: [{ role: 'user', content: req.prompt }],
          ...(req.jsonSchema && { format: req.jsonSchema.schema }),
          stream: false,
        });
      } catch (err) {
        throw mapOllamaError(err, req.signal, timeout, responseHeaders, secrets);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      // The client returns the parsed body untyped at runtime: check the shape.
      const content: unknown = typeof response === 'object' && response !== null ? response.message?.content : undefined;
      if (typeof content !== 'string') {
        throw providerError('ollama', { kind: 'server', detail: 'malformed response: no message.content' }, secrets);
      }
      return {
        text: content,
        inputTokens: numberOrNull(response.prompt_eval_count),
        outputTokens: numberOrNull(response.eval_count),
        costUsd: null, // priced by the caller
        finishReason: typeof response.done_reason === 'string' ? response.done_reason : null,
      };
    },
  };
}

/** Maps anything the ollama client (or fetch under it) throws to a ProviderError. */
function mapOllamaError(
  err: unknown,
  callerSignal: AbortSignal | undefined,
  timeout: AbortSignal,
  headers: Headers | null,
  secrets: string[],
): ProviderError {
  const aborted = abortKind(callerSignal, timeout);
  if (aborted !== null) {
    return providerError(
      'ollama',
      { kind: aborted, detail: aborted === 'cancelled' ? 'the call was cancelled' : 'the call took too long' },
      secrets,
    );
  }
  if (isAbortError(err)) return providerError('ollama', { kind: 'cancelled', detail: 'the call was aborted' }, secrets);
  // The client's ResponseError is not exported; recognise it by shape.
  if (err instanceof Error && err.name === 'ResponseError' && 'status_code' in err && typeof err.status_code === 'number') {
    const status = err.status_code;
    const kind = kindForStatus(status);
    const retryAfterMs = kind === 'rate_limited' || kind === 'server' ? retryAfterFromHeaders(headers) : null;
    return providerError('ollama', { kind, status, retryAfterMs, detail: err.message }, secrets);
  }
  // Body that is not JSON (a proxy's HTML page, a truncated body): the server's fault, retryable.
  if (err instanceof SyntaxError) {
    return providerError('ollama', { kind: 'server', detail: `malformed response body: ${err.message}` }, secrets);
  }
  // undici's "fetch failed" TypeError wraps the socket error (ECONNREFUSED, ENOTFOUND, ...).
  const code = networkCode(err);
  if (code !== null || (err instanceof TypeError && /fetch failed/i.test(err.message))) {
    return providerError('ollama', { kind: 'connection', detail: `${errorText(err)}${code ? ` (${code})` : ''}` }, secrets);
  }
  return providerError('ollama', { kind: 'server', detail: `unexpected error: ${errorText(err)}` }, secrets);
}

function urlPassword(host: string): string {
  try {
    return decodeURIComponent(new URL(host.includes('://') ? host : `http://${host}`).password);
  } catch {
    return '';
  }
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
