/**
 * Employees served over the OpenAI chat-completions API: OpenAI itself, and Gemini through
 * Google's OpenAI-compatible endpoint (same wire protocol, different base URL and key).
 * One prompt in, one completion out; recording, limits and failure typing stay in index.ts.
 */
import OpenAI from 'openai';
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

export interface OpenAiCompatibleOptions {
  name: 'openai' | 'gemini';
  apiKey: string;
  /** e.g. https://api.openai.com/v1 or https://generativelanguage.googleapis.com/v1beta/openai/ */
  baseUrl: string;
  /** Wall-clock limit of one call, body included. Default 10 minutes (the client's own default). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 600_000;

export function createOpenAiCompatibleProvider(opts: OpenAiCompatibleOptions): EmployeeProvider {
  const { name, apiKey, baseUrl } = opts;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Fail at worker start, not on the first task: an empty key can only be a misconfiguration.
  if (apiKey.trim() === '') throw new Error(`${name} provider: the API key is empty`);
  // maxRetries 0: Temporal's activity retry policy is the one place retries happen (and are
  // recorded per attempt in model_runs); a client retrying inside an attempt would hide them.
  const client = new OpenAI({ apiKey, baseURL: baseUrl, maxRetries: 0, timeout: timeoutMs });
  const secrets = [apiKey];

  return {
    name,
    async complete(req: CompletionRequest): Promise<Completion> {
      // The client's `timeout` stops at the response headers; this signal also bounds the body.
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      let response: OpenAI.Chat.Completions.ChatCompletion;
      try {
        response = await client.chat.completions.create(
          {
            model: req.employee.model,
            messages: [{ role: 'user', content: req.prompt }],
            // strict:false: OpenAI's strict mode forbids optional fields and `default`s, which our
            // schemas have; the answer is validated by the governance layer anyway.
            ...(req.jsonSchema && {
              response_format: {
                type: 'json_schema' as const,
                json_schema: { name: req.jsonSchema.name, schema: req.jsonSchema.schema, strict: false },
              },
            }),
          },
          { signal },
        );
      } catch (err) {
        throw mapOpenAiError(name, err, req.signal, timeout, secrets);
      }
      // The client returns whatever JSON (or, without a JSON content type, text) it got: check
      // the shape instead of trusting the type.
      const choice = typeof response === 'object' && response !== null ? response.choices?.[0] : undefined;
      const message = choice?.message;
      if (!message) {
        throw providerError(name, { kind: 'server', detail: 'malformed response: no choices[0].message' }, secrets);
      }
      // A refusal is a real, paid-for answer: return it so it is recorded and audited as output.
      const refusal = typeof message.refusal === 'string' && message.refusal !== '' ? message.refusal : null;
      return {
        text: message.content ?? refusal ?? '',
        inputTokens: numberOrNull(response.usage?.prompt_tokens),
        outputTokens: numberOrNull(response.usage?.completion_tokens),
        costUsd: null, // priced by the caller from the employee's rates
        finishReason: refusal !== null && !message.content ? 'refusal' : (choice.finish_reason ?? null),
      };
    },
  };
}

/** Maps anything the openai client throws to a ProviderError (see provider-errors.ts for kinds). */
function mapOpenAiError(
  name: string,
  err: unknown,
  callerSignal: AbortSignal | undefined,
  timeout: AbortSignal,
  secrets: string[],
): ProviderError {
  // If one of our signals fired, that is why the call failed, whatever shape the client gave
  // the abort (APIUserAbortError before the headers, a DOM AbortError while reading the body).
  const aborted = abortKind(callerSignal, timeout);
  if (aborted !== null) {
    return providerError(
      name,
      { kind: aborted, detail: aborted === 'cancelled' ? 'the call was cancelled' : 'the call took too long' },
      secrets,
    );
  }
  if (err instanceof OpenAI.APIUserAbortError || isAbortError(err)) {
    return providerError(name, { kind: 'cancelled', detail: 'the call was aborted' }, secrets);
  }
  // Before APIConnectionError: the timeout error is a subclass of it.
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return providerError(name, { kind: 'timeout', detail: 'no response headers before the time limit' }, secrets);
  }
  if (err instanceof OpenAI.APIConnectionError) {
    const code = networkCode(err);
    return providerError(name, { kind: 'connection', detail: `${err.message}${code ? ` (${code})` : ''}` }, secrets);
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const kind = kindForStatus(err.status);
    return providerError(
      name,
      {
        kind,
        status: err.status,
        retryAfterMs: kind === 'rate_limited' || kind === 'server' ? retryAfterFromHeaders(err.headers) : null,
        // The client prefixes the status; it is already in our message.
        detail: err.message.replace(new RegExp(`^${err.status} `), ''),
      },
      secrets,
    );
  }
  // A 200 whose JSON body does not parse (truncated by a proxy, a gateway's HTML, …): the
  // server's fault, and a retry may well get a whole body; Temporal's retry policy bounds it.
  if (err instanceof SyntaxError) {
    return providerError(name, { kind: 'server', detail: `malformed response body: ${err.message}` }, secrets);
  }
  return providerError(name, { kind: 'server', detail: `unexpected error: ${errorText(err)}` }, secrets);
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
