/**
 * The real-model providers against a fake model server: the actual `openai` and `ollama`
 * clients speak HTTP to it, so request shapes, error mapping, aborts and key scrubbing are
 * tested as they would happen against OpenAI, Gemini or Ollama.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOllamaProvider } from '../activities/employees/ollama.js';
import { createOpenAiCompatibleProvider } from '../activities/employees/openai.js';
import { planJsonSchema, taskOutputJsonSchema } from '../activities/employees/json-schema.js';
import { parseRetryAfter, ProviderError, scrubSecrets } from '../activities/employees/provider-errors.js';
import type { CompletionRequest, EmployeeProvider } from '../activities/employees/provider.js';
import { planSchema, taskOutputSchema } from '../governance/schemas.js';
import { FakeModelServer } from './fixtures/fake-model-server.js';

const OPENAI_KEY = 'sk-test-0123456789abcdefghijklmnop';
const GEMINI_KEY = 'gemini-test-key-XYZ-987654321';

function request(model: string, extra: Partial<CompletionRequest> = {}): CompletionRequest {
  return {
    employee: { id: 'e1', provider: 'x', model, capabilities: ['coder'], status: 'active', reputation: 50 },
    kind: 'task',
    prompt: 'Do task T1: write hello.txt',
    taskKey: 'T1',
    round: 1,
    ...extra,
  };
}

/** The ProviderError a call fails with (fails the test if it succeeds or throws something else). */
async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected the call to fail');
}

/** A port nothing listens on: bind one, then let it go. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const fake = new FakeModelServer();
let url = '';
let close: () => Promise<void> = async () => {};

beforeAll(async () => {
  ({ url, close } = await fake.start());
});
afterAll(async () => {
  await close();
});
beforeEach(() => {
  fake.requests.length = 0;
});

const answer = { summary: 'wrote hello', files: [{ path: 'hello.txt', content: 'hi\n' }] };

// The two protocols share every error behaviour, so the same cases run against both.
const providers: { label: string; make: (timeoutMs?: number) => EmployeeProvider; model: string }[] = [
  {
    label: 'openai',
    make: (timeoutMs) => createOpenAiCompatibleProvider({ name: 'openai', apiKey: OPENAI_KEY, baseUrl: `${url}/v1`, timeoutMs }),
    model: 'gpt-4.1-mini',
  },
  { label: 'ollama', make: (timeoutMs) => createOllamaProvider({ host: url, timeoutMs }), model: 'qwen2.5-coder:7b' },
];

describe('OpenAI-compatible provider', () => {
  it('sends the model, the prompt and a json_schema response_format; returns text, tokens and finish reason', async () => {
    fake.enqueue({ reply: answer, usage: { input: 123, output: 45 } });
    const provider = createOpenAiCompatibleProvider({ name: 'openai', apiKey: OPENAI_KEY, baseUrl: `${url}/v1` });
    const completion = await provider.complete(request('gpt-4.1-mini', { jsonSchema: taskOutputJsonSchema() }));

    expect(provider.name).toBe('openai');
    expect(JSON.parse(completion.text)).toEqual(answer);
    expect(completion).toMatchObject({ inputTokens: 123, outputTokens: 45, finishReason: 'stop', costUsd: null });

    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(sent.body.model).toBe('gpt-4.1-mini');
    expect(sent.body.messages).toEqual([{ role: 'user', content: 'Do task T1: write hello.txt' }]);
    expect(sent.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'task_output', schema: taskOutputJsonSchema().schema, strict: false },
    });
  });

  it('sends no response_format when the request has no schema', async () => {
    fake.enqueue({ reply: 'plain text' });
    const provider = createOpenAiCompatibleProvider({ name: 'openai', apiKey: OPENAI_KEY, baseUrl: `${url}/v1` });
    expect((await provider.complete(request('gpt-4.1-mini'))).text).toBe('plain text');
    expect(fake.requests[0]!.body).not.toHaveProperty('response_format');
  });

  it('as Gemini, calls /v1beta/openai/chat/completions with the Gemini key as bearer token', async () => {
    fake.enqueue({ reply: answer });
    const provider = createOpenAiCompatibleProvider({ name: 'gemini', apiKey: GEMINI_KEY, baseUrl: `${url}/v1beta/openai/` });
    const completion = await provider.complete(request('gemini-2.5-flash', { jsonSchema: planJsonSchema() }));

    expect(provider.name).toBe('gemini');
    expect(JSON.parse(completion.text)).toEqual(answer);
    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/v1beta/openai/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${GEMINI_KEY}`);
    expect(sent.body.model).toBe('gemini-2.5-flash');
    expect(sent.body.response_format.json_schema.name).toBe('plan');
  });

  it('refuses an empty API key when created', () => {
    expect(() => createOpenAiCompatibleProvider({ name: 'openai', apiKey: ' ', baseUrl: `${url}/v1` })).toThrow(/API key is empty/);
  });

  it('429 with a Retry-After header is rate_limited, retryable, and asks for 2000 ms; the client does not retry on its own', async () => {
    fake.enqueue({ status: 429, retryAfterSeconds: 2 });
    const err = await failure(providers[0]!.make().complete(request('gpt-4.1-mini')));
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryable: true, retryAfterMs: 2000 });
    expect(fake.requests).toHaveLength(1); // maxRetries 0: Temporal does the retrying
  });

  it('never puts the API key in an error message, even when the server echoes it', async () => {
    // Like OpenAI's "Incorrect API key provided: sk-..." but echoing the whole header.
    fake.enqueue((req) => ({
      status: 401,
      body: {
        error: { message: `Incorrect API key provided: ${req.headers.authorization} (key ${OPENAI_KEY})`, type: 'invalid_request_error' },
      },
    }));
    const err = await failure(providers[0]!.make().complete(request('gpt-4.1-mini')));
    expect(err.kind).toBe('rejected');
    expect(err.message).toContain('Incorrect API key provided'); // the useful part survives
    expect(err.message).not.toContain(OPENAI_KEY);
    expect(err.message).not.toContain('0123456789abcdef');
    expect(String(err.stack)).not.toContain(OPENAI_KEY);
    expect(JSON.stringify(err)).not.toContain(OPENAI_KEY);
  });
});

describe('Ollama provider', () => {
  it('sends the model, the prompt and the schema as `format`, stream false; returns text, tokens and done_reason', async () => {
    fake.enqueue({ reply: answer, usage: { input: 77, output: 22 }, finishReason: 'length' });
    const provider = createOllamaProvider({ host: url });
    const completion = await provider.complete(request('qwen2.5-coder:7b', { jsonSchema: taskOutputJsonSchema() }));

    expect(provider.name).toBe('ollama');
    expect(JSON.parse(completion.text)).toEqual(answer);
    expect(completion).toMatchObject({ inputTokens: 77, outputTokens: 22, finishReason: 'length', costUsd: null });

    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/api/chat');
    expect(sent.body.model).toBe('qwen2.5-coder:7b');
    expect(sent.body.stream).toBe(false);
    expect(sent.body.messages).toEqual([{ role: 'user', content: 'Do task T1: write hello.txt' }]);
    expect(sent.body.format).toEqual(taskOutputJsonSchema().schema);
    expect(sent.headers.authorization).toBeUndefined();
  });

  it('sends no format without a schema, and its optional key as bearer token', async () => {
    fake.enqueue({ reply: 'plain' });
    const provider = createOllamaProvider({ host: url, apiKey: 'ollama-secret-key' });
    expect((await provider.complete(request('llama3.2'))).text).toBe('plain');
    expect(fake.requests[0]!.body).not.toHaveProperty('format');
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer ollama-secret-key');
  });

  it('never puts its key in an error message when the server echoes it', async () => {
    fake.enqueue((req) => ({ status: 403, body: { error: `forbidden for ${req.headers.authorization}` } }));
    const err = await failure(createOllamaProvider({ host: url, apiKey: 'ollama-secret-key' }).complete(request('llama3.2')));
    expect(err).toMatchObject({ kind: 'rejected', status: 403, retryable: false });
    expect(err.message).toContain('forbidden for');
    expect(err.message).not.toContain('ollama-secret-key');
  });
});

describe.each(providers)('$label provider errors', ({ make, model }) => {
  it('500 is a retryable server error', async () => {
    fake.enqueue({ status: 500 });
    expect(await failure(make().complete(request(model)))).toMatchObject({ kind: 'server', status: 500, retryable: true });
  });

  it('429 is rate_limited with the Retry-After in ms', async () => {
    fake.enqueue({ status: 429, retryAfterSeconds: 2 });
    const err = await failure(make().complete(request(model)));
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryable: true, retryAfterMs: 2000 });
    expect(fake.requests).toHaveLength(1); // no retry inside the client
  });

  it.each([400, 401, 404])('%i is rejected and not retryable', async (status) => {
    fake.enqueue({ status });
    const err = await failure(make().complete(request(model)));
    expect(err).toMatchObject({ kind: 'rejected', status, retryable: false });
    expect(err.message).toContain(`HTTP ${status}`);
  });

  it('a 200 whose body is not JSON is a retryable server error', async () => {
    fake.enqueue({ malformedJson: true });
    const err = await failure(make().complete(request(model)));
    expect(err).toMatchObject({ kind: 'server', retryable: true, status: null });
    expect(err.message).toMatch(/malformed response/);
  });

  it('a closed port is a retryable connection error', async () => {
    const port = await closedPort();
    const provider =
      make().name === 'ollama'
        ? createOllamaProvider({ host: `http://127.0.0.1:${port}` })
        : createOpenAiCompatibleProvider({ name: 'openai', apiKey: OPENAI_KEY, baseUrl: `http://127.0.0.1:${port}/v1` });
    const err = await failure(provider.complete(request(model)));
    expect(err).toMatchObject({ kind: 'connection', retryable: true, status: null });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('an abort before the headers is cancelled, at once, not after the delay', async () => {
    fake.enqueue({ reply: 'late', delayMs: 5_000 });
    const started = Date.now();
    const err = await failure(make().complete(request(model, { signal: AbortSignal.timeout(200) })));
    expect(err).toMatchObject({ kind: 'cancelled', retryable: false });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('an abort while the body trickles in is cancelled, at once', async () => {
    fake.enqueue({ slowStreamMs: 5_000, reply: answer });
    const controller = new AbortController();
    const started = Date.now();
    const call = make().complete(request(model, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 300);
    const err = await failure(call);
    expect(err).toMatchObject({ kind: 'cancelled', retryable: false });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('the provider time limit (covering a slow body too) is a retryable timeout', async () => {
    fake.enqueue({ slowStreamMs: 5_000, reply: answer });
    const started = Date.now();
    const err = await failure(make(300).complete(request(model)));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a slow but complete body is still an answer', async () => {
    fake.enqueue({ slowStreamMs: 300, reply: answer });
    expect(JSON.parse((await make().complete(request(model))).text)).toEqual(answer);
  });

  it('answers from a responder function based on the prompt', async () => {
    fake.setDefault((req) => ({ reply: req.body.messages[0].content.includes('T2') ? 'two' : 'other' }));
    try {
      expect((await make().complete(request(model, { prompt: 'Do task T2' }))).text).toBe('two');
      expect((await make().complete(request(model, { prompt: 'Do task T3' }))).text).toBe('other');
    } finally {
      fake.setDefault({ status: 500 });
    }
  });
});

describe('fake server: Ollama streaming', () => {
  it('streams NDJSON when asked, which the ollama client reassembles', async () => {
    fake.enqueue({ reply: 'a streamed answer that spans several lines', usage: { input: 5, output: 9 } });
    const { Ollama } = await import('ollama');
    const parts: string[] = [];
    let last: { done: boolean; eval_count?: number } | undefined;
    for await (const part of await new Ollama({ host: url }).chat({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    })) {
      parts.push(part.message.content);
      last = part;
    }
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.join('')).toBe('a streamed answer that spans several lines');
    expect(last).toMatchObject({ done: true, eval_count: 9 });
  });
});

describe('structured-output schemas', () => {
  it('are plain JSON, without $schema, and describe what the parser accepts (defaulted fields optional)', () => {
    const plan = planJsonSchema().schema;
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    expect(plan).not.toHaveProperty('$schema');
    expect(plan.required).toEqual(['summary', 'tasks', 'verification']);
    const task = (plan as any).properties.tasks.items;
    expect(task.required).toEqual(['id', 'title', 'instructions', 'scope', 'acceptance']);
    expect(task.properties.dependsOn.default).toEqual([]);

    const output = taskOutputJsonSchema();
    expect(output.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(output.schema.required).toEqual(['summary', 'files']);
    // Sanity: an answer without the defaulted fields is valid for the zod schemas too.
    expect(
      planSchema.safeParse({
        summary: 's',
        tasks: [{ id: 'T1', title: 't', instructions: 'i', scope: ['a'], acceptance: { command: 'true' } }],
        verification: { command: 'true' },
      }).success,
    ).toBe(true);
    expect(taskOutputSchema.safeParse(answer).success).toBe(true);
  });
});

describe('error helpers', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('scrubs given secrets, bearer tokens and key-shaped strings', () => {
    const text = `key=${GEMINI_KEY} auth="Bearer abc.def-123" other sk-proj-ABCDEFGHIJKLMNOPQRSTUV google AIzaSyA1234567890abcdefghijklmnopqrstuv`;
    const out = scrubSecrets(text, [GEMINI_KEY, '']);
    expect(out).not.toContain(GEMINI_KEY);
    expect(out).not.toContain('abc.def-123');
    expect(out).not.toContain('sk-proj-ABCDEFGHIJKLMNOPQRSTUV');
    expect(out).not.toContain('AIzaSyA1234567890');
    expect(out).toContain('key=[REDACTED]');
    expect(scrubSecrets('nothing secret', [''])).toBe('nothing secret');
  });
});
