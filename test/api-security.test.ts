/**
 * The Manager API's locked doors, on the app built in-process (app.inject) over a database of
 * its own that holds one run, and a Temporal client that must never be asked anything:
 *
 * - "public" comes from the matched route, never from the raw URL: encoded, double-encoded,
 *   doubled-slash, trailing-slash and upper-case spellings of every read route, and HEAD and
 *   OPTIONS, answer 401 without a key and never carry run data;
 * - the dashboard's files, the health check and the OpenAPI document stay public;
 * - a route registered without an auth policy fails to register;
 * - an unknown Host header is refused (DNS rebinding), configurable by MANAGER_API_ALLOWED_HOSTS;
 * - failed keys are rate-limited per client address (429 with Retry-After); successes are not.
 */
import { createHash, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { PROJECT_ROOT, loadConfig, type AuraConfig } from '../config/config.js';
import { buildApi, startApi } from '../api/server.js';
import { useThrowawayDatabase } from './helpers/database.js';

const DANA_KEY = 'dana-director-key-0001';
const RILEY_KEY = 'riley-read-only-key-0003';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const SECRET_PROJECT = `secret-project-${randomUUID().slice(0, 8)}`;
const SECRET_PRD = `# Secret PRD ${randomUUID()}`;
const RUN_ID = randomUUID();
const WORKFLOW_ID = `prd-run-${RUN_ID}`;
/** The host the in-process app answers for (config.manager.port is 8000 by default). */
const HOST = '127.0.0.1:8000';

const database = useThrowawayDatabase();
/** Every property of the Temporal client anyone asked for: a locked door asks for none. */
const temporalAsked: string[] = [];
const client = new Proxy(
  {},
  {
    get(_t, p) {
      temporalAsked.push(String(p));
      throw new Error(`the Temporal client was asked for ${String(p)}`);
    },
  },
) as Client;

function configOf(extra: Record<string, string> = {}): AuraConfig {
  return loadConfig(
    {
      AURA_HOME: '/tmp',
      MANAGER_API_KEY: DANA_KEY,
      MANAGER_API_KEY_NAME: 'dana',
      MANAGER_API_KEYS: `riley:read:${sha(RILEY_KEY)}`,
      ...extra,
    },
    PROJECT_ROOT,
  );
}
const build = (extra: Record<string, string> = {}) => buildApi({ client, db: database.db, config: configOf(extra) });

let app: FastifyInstance;
beforeAll(async () => {
  const projectId = randomUUID();
  await sql`INSERT INTO projects (id, name) VALUES (${projectId}, ${SECRET_PROJECT})`.execute(database.db);
  await sql`INSERT INTO orchestra_runs (id, project_id, manager_id, status, workflow_id, prd)
            VALUES (${RUN_ID}, ${projectId}, 'manager', 'awaiting_approval', ${WORKFLOW_ID}, ${SECRET_PRD})`.execute(database.db);
  app = await build();
});
afterAll(async () => {
  await app?.close();
});

type Method = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'DELETE';
async function call(
  method: Method,
  url: string,
  opts: { key?: string; host?: string; address?: string; on?: FastifyInstance; body?: unknown } = {},
) {
  const res = await (opts.on ?? app).inject({
    method,
    url,
    remoteAddress: opts.address ?? '127.0.0.1',
    headers: {
      host: opts.host ?? HOST,
      ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
  });
  return { status: res.statusCode, text: res.body, headers: res.headers };
}

/** Every read route, with the seeded run where a route names one. */
const READ_ROUTES = [
  '/api/runs',
  `/api/runs/${RUN_ID}`,
  `/api/runs/${RUN_ID}/report`,
  `/api/runs/${RUN_ID}/history`,
  `/api/runs/${RUN_ID}/tasks/T1/code`,
  `/api/runs/${RUN_ID}/tasks/T1/eligible`,
  `/api/runs/${RUN_ID}/workspace`,
  `/api/runs/${RUN_ID}/workspace.tar.gz`,
  '/api/whoami',
  '/api/overview',
  '/api/intervention',
  '/api/employees',
  '/api/scorecards',
  '/api/incidents',
  '/api/ledger/verify',
];

/** The spellings of a path a router might take for it (or not), none of which is "public". */
function spellings(path: string): string[] {
  const rest = path.slice('/api/'.length);
  return [
    path,
    `/%61pi/${rest}`,
    `/ap%69/${rest}`,
    `/api/%${rest.charCodeAt(0).toString(16)}${rest.slice(1)}`,
    `/%2561pi/${rest}`,
    `/ap%2569/${rest}`,
    `/%252561pi/${rest}`,
    `//api/${rest}`,
    `/api//${rest}`,
    `${path}/`,
    `/API/${rest}`,
    `/Api/${rest}`,
    `${path}?x=/api/health`,
    `/api/health/../${rest}`,
    `/api/health/%2e%2e/${rest}`,
    `/dashboard/../api/${rest}`,
    `/%2fapi/${rest}`,
    `/api%2f${rest}`,
  ];
}

function expectLocked(r: { status: number; text: string }, what: string) {
  expect(r.status, `${what}: ${r.text}`).toBe(401);
  expect(r.text, what).not.toContain(SECRET_PROJECT);
  expect(r.text, what).not.toContain(SECRET_PRD);
  expect(r.text, what).not.toContain(RUN_ID);
  if (r.text) expect(JSON.parse(r.text).error.code, what).toBe('unauthorized');
}

describe('every read answers 401 without a key, however the path is spelled', () => {
  it('the seeded run is there for a key (the data these doors keep)', async () => {
    const r = await call('GET', '/api/runs', { key: RILEY_KEY });
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain(SECRET_PROJECT);
  });

  it('/%61pi/runs, /ap%69/runs, /api/%72uns: 401, no run data', async () => {
    for (const url of ['/%61pi/runs', '/ap%69/runs', '/api/%72uns', '/%61%70%69/%72%75%6e%73']) {
      expectLocked(await call('GET', url), `GET ${url}`);
    }
  });

  it('every read route, every spelling, GET, HEAD and OPTIONS: 401 and no run data', async () => {
    for (const route of READ_ROUTES) {
      for (const url of spellings(route)) {
        for (const method of ['GET', 'HEAD', 'OPTIONS'] as const) {
          expectLocked(await call(method, url), `${method} ${url}`);
        }
      }
    }
    expect(temporalAsked).toEqual([]);
  });

  it('with an unknown key too, and commands under any spelling answer 401', async () => {
    let n = 0;
    for (const route of READ_ROUTES) {
      for (const url of spellings(route).slice(0, 4)) {
        n += 1; // a client address each, clear of the limit on failed keys
        expectLocked(await call('GET', url, { key: 'not-a-key-at-all', address: `10.8.0.${n}` }), url);
      }
    }
    for (const url of ['/api/runs', '/%61pi/runs', `/%61pi/runs/${RUN_ID}/cancel`, '/%61pi/retention/purge']) {
      expectLocked(await call('POST', url, { body: { reason: 'x' } }), `POST ${url}`);
    }
    expect(temporalAsked).toEqual([]);
  });

  it('an unknown route says nothing without a key: 401, not 404 with the path', async () => {
    for (const url of ['/api/nothing-here', '/%61pi/nothing-here', '/nothing-here', `/api/runs/${RUN_ID}/nothing`]) {
      expectLocked(await call('GET', url), url);
      expectLocked(await call('DELETE', url), `DELETE ${url}`);
    }
    // With a key: the ordinary 404.
    const known = await call('GET', '/api/nothing-here', { key: RILEY_KEY });
    expect(known.status).toBe(404);
    expect(JSON.parse(known.text).error.code).toBe('not_found');
  });

  it('a path that is not valid URL encoding: 400 in the API error shape, the path not echoed', async () => {
    for (const url of ['/%', `/api/runs/${RUN_ID}%E0%A4%A`, '/%61pi/runs%']) {
      const r = await call('GET', url);
      expect(r.status, url).toBe(400);
      expect(JSON.parse(r.text).error.code).toBe('invalid_input');
      expect(r.text).not.toContain(RUN_ID);
      expect(r.text).not.toContain('%');
      expect(r.text).not.toContain(SECRET_PROJECT);
    }
  });

  it('the list of read routes above is every GET route the OpenAPI document lists', async () => {
    const doc = JSON.parse((await call('GET', '/api/openapi.json')).text) as { paths: Record<string, Record<string, unknown>> };
    const gets = Object.entries(doc.paths)
      .filter(([, ops]) => 'get' in ops)
      .map(([p]) => p.replace('{run}', RUN_ID).replace('{task}', 'T1'));
    expect(gets.sort()).toEqual([...READ_ROUTES].sort());
  });
});

describe('what stays public', () => {
  it('the dashboard, its files, the health check and the OpenAPI document, without a key', async () => {
    const page = await call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    for (const f of ['app.js', 'style.css', 'index.html']) expect((await call('GET', `/dashboard/${f}`)).status, f).toBe(200);
    expect((await call('HEAD', '/')).status).toBe(200);
    expect(JSON.parse((await call('GET', '/api/health')).text)).toEqual({ ok: true });
    const doc = await call('GET', '/api/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.text).not.toContain(SECRET_PROJECT);
    // An API answer is never cached; the dashboard's files are revalidated.
    expect((await call('GET', '/api/runs', { key: RILEY_KEY })).headers['cache-control']).toBe('no-store');
    expect((await call('GET', '/%61pi/runs')).headers['cache-control']).toBe('no-store');
    expect(page.headers['cache-control']).toBe('no-cache');
  });

  it('roles still hold: a read key reads, a command needs a director key', async () => {
    expect((await call('GET', '/api/whoami', { key: RILEY_KEY })).status).toBe(200);
    const refused = await call('POST', `/api/runs/${RUN_ID}/cancel`, { key: RILEY_KEY, body: { reason: 'no' } });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text).error.code).toBe('forbidden');
  });
});

describe('every route declares its policy', () => {
  it('a route registered without an auth policy fails to register', async () => {
    const fresh = await build();
    try {
      expect(() => fresh.get('/api/sneaky', async () => ({ secret: true }))).toThrow(/auth/);
      expect(() => fresh.get('/sneaky', { config: {} }, async () => ({ secret: true }))).toThrow(/auth/);
      expect(() => fresh.get('/sneaky2', { config: { auth: 'everyone' } } as never, async () => ({}))).toThrow(/auth/);
      // A command is a director's.
      expect(() => fresh.post('/api/sneaky', { config: { auth: 'read' } } as never, async () => ({}))).toThrow(/director/);
      expect(() => fresh.get('/api/declared', { config: { auth: 'read' } } as never, async () => ({ ok: 1 }))).not.toThrow();
      expect((await call('GET', '/api/declared', { on: fresh })).status).toBe(401);
      expect((await call('GET', '/api/declared', { on: fresh, key: RILEY_KEY })).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });
});

describe('the Host header', () => {
  it('an unknown Host is refused (421), public routes too; the local names on the port are not', async () => {
    for (const host of ['evil.example', 'evil.example:8000', '127.0.0.1.evil.example:8000', 'localhost:9999', '']) {
      for (const url of ['/api/health', '/', '/api/runs']) {
        const r = await call('GET', url, { host, key: DANA_KEY });
        expect(r.status, `${host} ${url}: ${r.text}`).toBe(421);
        expect(r.text).not.toContain(SECRET_PROJECT);
        expect(JSON.parse(r.text).error.code).toBe('misdirected');
      }
    }
    for (const host of ['127.0.0.1:8000', 'localhost:8000', 'LOCALHOST:8000', '[::1]:8000', 'localhost']) {
      expect((await call('GET', '/api/runs', { host, key: DANA_KEY })).status, host).toBe(200);
    }
  });

  it('MANAGER_API_ALLOWED_HOSTS adds names; MANAGER_HOST is allowed as it is', async () => {
    const proxied = await build({ MANAGER_API_ALLOWED_HOSTS: 'aura.example.com, other.example:8443', MANAGER_HOST: '10.1.2.3' });
    try {
      for (const host of ['aura.example.com', 'aura.example.com:8000', 'other.example:8443', '10.1.2.3:8000', 'localhost:8000']) {
        expect((await call('GET', '/api/health', { on: proxied, host })).status, host).toBe(200);
      }
      for (const host of ['other.example', 'other.example:8000', 'aura.example.com:1234', 'evil.example:8000']) {
        expect((await call('GET', '/api/health', { on: proxied, host })).status, host).toBe(421);
      }
    } finally {
      await proxied.close();
    }
    expect(() => configOf({ MANAGER_API_ALLOWED_HOSTS: 'http://aura.example.com/' })).toThrow(/MANAGER_API_ALLOWED_HOSTS/);
  });

  it('listening on a port of its own, the Host must name that port', async () => {
    const listening = await startApi({ client, db: database.db, config: configOf() }, { host: '127.0.0.1', port: 0 });
    try {
      const port = Number(new URL(listening.url).port);
      const get = (host: string) =>
        new Promise<number>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/api/health', headers: { host } }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', reject);
          req.end();
        });
      expect(await get(`127.0.0.1:${port}`)).toBe(200);
      expect(await get(`localhost:${port}`)).toBe(200);
      expect(await get(`evil.example:${port}`)).toBe(421);
      expect(await get(`localhost:${port === 8000 ? 8001 : 8000}`)).toBe(421);
    } finally {
      await listening.close();
    }
  });
});

describe('failed keys are rate-limited per client address', () => {
  it('10 wrong keys answer 401, the 11th 429 with Retry-After; that address is held, others are not', async () => {
    const address = '10.0.0.7';
    for (let i = 1; i <= 10; i++) {
      const r = await call('GET', '/api/runs', { key: `wrong-key-number-${i}`, address });
      expect(r.status, `attempt ${i}`).toBe(401);
    }
    const held = await call('GET', '/api/runs', { key: 'wrong-key-number-11', address });
    expect(held.status).toBe(429);
    expect(JSON.parse(held.text).error.code).toBe('too_many_requests');
    expect(Number(held.headers['retry-after'])).toBeGreaterThan(0);
    expect(held.text).not.toContain(SECRET_PROJECT);
    // Held: even a good key from that address waits (no answer tells a good key from a bad one).
    expect((await call('GET', '/api/runs', { key: DANA_KEY, address })).status).toBe(429);
    // Another address is not held; the public routes stay open to the held one.
    expect((await call('GET', '/api/runs', { key: DANA_KEY, address: '10.0.0.8' })).status).toBe(200);
    expect((await call('GET', '/api/health', { address })).status).toBe(200);
  });

  it('an IPv6 client is counted by its /64: a new address in it is held too', async () => {
    for (let i = 1; i <= 10; i++) {
      expect((await call('GET', '/api/runs', { key: `wrong-key-${i}`, address: `2001:db8:1:2::${i.toString(16)}` })).status).toBe(401);
    }
    expect((await call('GET', '/api/runs', { key: DANA_KEY, address: '2001:db8:1:2:aaaa:bbbb:cccc:dddd' })).status).toBe(429);
    expect((await call('GET', '/api/runs', { key: DANA_KEY, address: '2001:db8:1:3::1' })).status).toBe(200);
  });

  it('successful requests never count', async () => {
    const address = '10.0.0.9';
    for (let i = 0; i < 30; i++) expect((await call('GET', '/api/whoami', { key: RILEY_KEY, address })).status).toBe(200);
    for (let i = 0; i < 9; i++) expect((await call('GET', '/api/whoami', { key: 'wrong-key-here', address })).status).toBe(401);
    for (let i = 0; i < 30; i++) expect((await call('GET', '/api/whoami', { key: DANA_KEY, address })).status).toBe(200);
    expect((await call('GET', '/api/whoami', { key: 'wrong-key-here', address })).status).toBe(401);
    expect((await call('GET', '/api/whoami', { key: 'wrong-key-here', address })).status).toBe(429);
  });

  it('the hold ends after a while; failures older than the window are forgotten', async () => {
    const { FailedKeyLimiter } = await import('../api/guard.js');
    let now = 1_000_000;
    const limiter = new FailedKeyLimiter({ max: 10, windowMs: 60_000, holdMs: 300_000, now: () => now });
    for (let i = 0; i < 9; i++) limiter.fail('a');
    now += 61_000;
    limiter.fail('a');
    expect(limiter.retryAfterSeconds('a')).toBe(0);
    for (let i = 0; i < 9; i++) limiter.fail('a');
    expect(limiter.retryAfterSeconds('a')).toBe(300);
    expect(limiter.retryAfterSeconds('b')).toBe(0);
    now += 299_500;
    expect(limiter.retryAfterSeconds('a')).toBe(1);
    now += 600;
    expect(limiter.retryAfterSeconds('a')).toBe(0);
    limiter.fail('a');
    expect(limiter.retryAfterSeconds('a')).toBe(0);
  });
});
