/**
 * The dashboard's files (api/dashboard/): plain HTML, CSS and JavaScript modules, served as
 * they are (no build step). Only the files in that folder at start are served, by name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

export const DASHBOARD_DIR = join(new URL('.', import.meta.url).pathname, 'dashboard');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The page may load only its own files and talk only to this API; no framing. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function registerStatic(app: FastifyInstance): void {
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(DASHBOARD_DIR)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { type, body: readFileSync(join(DASHBOARD_DIR, name)) });
  }
  const send = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const f = files.get(name)!;
    return reply.headers({ ...SECURITY_HEADERS, 'content-type': f.type, 'cache-control': 'no-cache' }).send(f.body);
  };
  app.get('/', { config: { auth: 'public' }, schema: { hide: true } }, send('index.html'));
  for (const name of files.keys()) app.get(`/dashboard/${name}`, { config: { auth: 'public' }, schema: { hide: true } }, send(name));
  // Everything but the dashboard's files (which say how they are cached) is never cached: the
  // answers of the API, its errors and 404s, however the path was spelled.
  app.addHook('onSend', async (_req, reply) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
}
