/**
 * The Manager API's doors, kept in one place for every route:
 *
 * - **Policy per route.** Every route declares `config: { auth: 'public' | 'read' | 'director' }`;
 *   a route registered without one (or with another value, or a command that is not a
 *   director's) fails to register. The policy is read from the route the router matched, never
 *   from the raw URL: `/%61pi/runs` is `/api/runs` to the router, so it is to the door too.
 *   A request that matches no route (404, including OPTIONS and every odd spelling) needs a
 *   key like a read: without one it learns nothing, not even that nothing is there.
 * - **Host allow-list** (DNS rebinding): the local names (127.0.0.1, localhost, [::1]), the
 *   address it listens on and MANAGER_API_ALLOWED_HOSTS; anything else is answered 421.
 * - **Failed keys are limited per client address** (an IPv6 address's /64): after FAILED_KEY_LIMIT.max wrong keys within
 *   FAILED_KEY_LIMIT.windowMs, every request of that address that needs a key is answered 429
 *   (Retry-After) for FAILED_KEY_LIMIT.holdMs, a good key too, so that no answer tells a good
 *   key from a bad one. Successful requests and requests without a key never count.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Keyring } from './auth.js';
import { ApiError } from './errors.js';

/** Who may call a route: anyone, any key (`read` or `director`), or a `director` key. */
export type AuthPolicy = 'public' | 'read' | 'director';
export const AUTH_POLICIES: readonly AuthPolicy[] = ['public', 'read', 'director'];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route: every route says (see api/guard.ts). */
    auth?: AuthPolicy;
  }
}

/** The methods that only read; any other method is a command, a director's. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/** Throws when a route does not declare a policy it may have. */
export function checkRoutePolicy(route: Pick<RouteOptions, 'method' | 'url' | 'config'>): void {
  const auth = (route.config as { auth?: unknown } | undefined)?.auth;
  const methods = [route.method].flat().map(String);
  const name = `${methods.join(',')} ${route.url}`;
  if (!AUTH_POLICIES.includes(auth as AuthPolicy)) {
    throw new Error(
      `route ${name} declares no auth policy: register it with config: { auth: ${AUTH_POLICIES.map((p) => `'${p}'`).join(' | ')} }`,
    );
  }
  if (auth !== 'director' && methods.some((m) => !READ_METHODS.has(m.toUpperCase()))) {
    throw new Error(`route ${name} is a command: its auth policy must be 'director', not '${String(auth)}'`);
  }
}

export interface FailedKeyLimit {
  /** Failed keys an address may send within windowMs. */
  max: number;
  windowMs: number;
  /** How long an address that reached max is held. */
  holdMs: number;
}

/** 10 wrong keys in a minute: that address waits 5 minutes. */
export const FAILED_KEY_LIMIT: FailedKeyLimit = { max: 10, windowMs: 60_000, holdMs: 5 * 60_000 };

/** Addresses remembered at most; past it the oldest are forgotten first. */
const MAX_ADDRESSES = 10_000;

/**
 * Failed keys per client address, in memory (one process serves the API; a restart forgets,
 * which costs an attacker a restart per ten guesses).
 */
export class FailedKeyLimiter {
  private readonly seen = new Map<string, { failures: number[]; heldUntil: number }>();
  private readonly limit: FailedKeyLimit;
  private readonly now: () => number;

  constructor(opts: Partial<FailedKeyLimit> & { now?: () => number } = {}) {
    this.limit = { ...FAILED_KEY_LIMIT, ...opts };
    this.now = opts.now ?? Date.now;
  }

  /** Seconds the address must still wait (0: it is not held). */
  retryAfterSeconds(address: string): number {
    const entry = this.seen.get(address);
    if (!entry) return 0;
    const left = entry.heldUntil - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** One more failed key from the address. */
  fail(address: string): void {
    const now = this.now();
    const entry = this.seen.get(address) ?? { failures: [], heldUntil: 0 };
    entry.failures = entry.failures.filter((t) => now - t < this.limit.windowMs);
    entry.failures.push(now);
    if (entry.failures.length >= this.limit.max) {
      entry.heldUntil = now + this.limit.holdMs;
      entry.failures = [];
    }
    this.seen.delete(address); // re-inserted last: the Map's order is the order of last failure
    this.seen.set(address, entry);
    if (this.seen.size > MAX_ADDRESSES) this.forget(now);
  }

  /** Drops addresses with nothing left to remember, then the oldest ones past the cap. */
  private forget(now: number): void {
    for (const [address, e] of this.seen) {
      if (e.heldUntil <= now && e.failures.every((t) => now - t >= this.limit.windowMs)) this.seen.delete(address);
    }
    // Down to 90% of the cap, so that a flood of new addresses does not sweep at every failure.
    for (const address of this.seen.keys()) {
      if (this.seen.size <= MAX_ADDRESSES * 0.9) break;
      this.seen.delete(address);
    }
  }
}

/**
 * Whom failed keys are counted against: the client's IPv4 address, or the /64 of an IPv6 one
 * (one machine commonly has a whole /64 to pick addresses from).
 */
export function clientKey(ip: string): string {
  const addr = ip.split('%')[0]!.toLowerCase();
  if (!addr.includes(':')) return addr;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = addr.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** `name` or `name:port`, lower-cased; an IPv6 address in brackets. */
function splitHost(host: string): { name: string; port: string | null } | null {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host.trim().toLowerCase());
  return m ? { name: m[1]!, port: m[2] ?? null } : null;
}

/** The names the API answers for by default: the local ones and the address it listens on. */
export function defaultAllowedHosts(bindHost: string): string[] {
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  const bind = bindHost.trim().toLowerCase();
  if (bind && bind !== '0.0.0.0' && bind !== '::' && bind !== '[::]')
    names.push(bind.includes(':') && !bind.startsWith('[') ? `[${bind}]` : bind);
  return names;
}

/**
 * Whether a Host header names this API. An allowed entry without a port matches the name alone
 * (behind a proxy on the default port) or with the port the API listens on; an entry with a
 * port matches that port only.
 */
export function hostAllowed(host: string | undefined, allowed: readonly string[], listeningPort: number): boolean {
  if (!host) return false;
  const h = splitHost(host);
  if (!h) return false;
  return allowed.some((entry) => {
    const a = splitHost(entry);
    if (!a || a.name !== h.name) return false;
    if (a.port !== null) return h.port === a.port;
    return h.port === null || Number(h.port) === listeningPort;
  });
}

export interface GuardOptions {
  keyring: Keyring;
  /** Host names (with or without a port) the API answers for. */
  allowedHosts: readonly string[];
  /** The port the API listens on (asked at each request: it is known once listening). */
  port: () => number;
  limiter?: FailedKeyLimiter;
}

/**
 * Installs the doors on the app: call before any route is registered (routes registered before
 * are not checked). Every request passes the Host check, then its route's policy.
 */
export function installGuard(app: FastifyInstance, opts: GuardOptions): void {
  const limiter = opts.limiter ?? new FailedKeyLimiter();
  app.addHook('onRoute', (route) => checkRoutePolicy(route));
  app.addHook('onRequest', async (req) => {
    if (!hostAllowed(req.headers.host, opts.allowedHosts, opts.port())) {
      throw new ApiError(
        421,
        'misdirected',
        'this API does not answer for that Host: use the address it listens on, or add the name to MANAGER_API_ALLOWED_HOSTS',
      );
    }
    const policy = policyOf(req);
    if (policy === 'public') return;
    const client = clientKey(req.ip);
    const held = limiter.retryAfterSeconds(client);
    if (held > 0) {
      throw new ApiError(429, 'too_many_requests', `too many unknown API keys from this address: try again in ${held} s`, undefined, {
        'retry-after': String(held),
      });
    }
    const authorization = req.headers.authorization;
    const principal = opts.keyring.authenticate(authorization);
    if (!principal) {
      if (authorization) limiter.fail(client);
      throw new ApiError(401, 'unauthorized', authorization ? 'unknown API key' : 'no API key: send "Authorization: Bearer <key>"');
    }
    if (policy === 'director' && principal.role !== 'director') {
      throw new ApiError(403, 'forbidden', `${principal.name}'s key may read, not command (role ${principal.role})`);
    }
    req.principal = principal;
  });
}

/** The policy of the route the router matched; no route matched: a key is needed, as for a read. */
function policyOf(req: FastifyRequest): AuthPolicy {
  if (req.is404) return 'read';
  const auth = req.routeOptions.config.auth;
  // Every route declared one (checked at registration); anything else is refused as a command.
  return auth && AUTH_POLICIES.includes(auth) ? auth : 'director';
}
