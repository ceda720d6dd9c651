/**
 * The Manager API: the Director's commands and the governance reads over HTTP, and the
 * dashboard that uses them. Fastify with zod-typed routes (the project's zod 4 schemas, checked
 * by fastify-type-provider-zod) and an OpenAPI document generated from them
 * (GET /api/openapi.json).
 *
 * Built from its dependencies (a Temporal client, the database, the configuration), so the tests
 * build the same app the entry (api/main.ts) and `aura up` run.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { createKeyring, type Keyring } from './auth.js';
import { defaultAllowedHosts, installGuard } from './guard.js';
import type { ApiDeps } from './context.js';
import { ApiError, errorBody, installErrorHandling } from './errors.js';
import { UserError } from '../errors/index.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerGovernanceRoutes } from './routes/governance.js';
import { registerDashboardRoutes } from './routes/dashboard.js';
import { registerStatic } from './static.js';

/** A request body larger than this is refused whole (413). A PRD has its own, smaller limit. */
export const BODY_LIMIT_BYTES = 512 * 1024;

export type { Api, ApiDeps, TypedApi } from './context.js';

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: BODY_LIMIT_BYTES,
    // One JSON line per request; the key never reaches the log.
    logger: deps.logger ? { level: 'info', redact: ['req.headers.authorization'] } : false,
    // A path that is not valid percent-encoding never reaches a route (nor the hooks): answered
    // in the API's error shape, without echoing the path.
    frameworkErrors: (err, _req, reply) => {
      const message = err.code === 'FST_ERR_BAD_URL' ? 'the path is not valid URL encoding' : 'bad request';
      void (reply as FastifyReply).status(400).header('cache-control', 'no-store').send(errorBody('invalid_input', message));
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);

  const keyring: Keyring = createKeyring(deps.config.manager.keys);
  app.decorateRequest('principal', null);
  // Before any route: every route must declare its policy, and every request passes the doors.
  installGuard(app, {
    keyring,
    allowedHosts: [...defaultAllowedHosts(deps.config.manager.host), ...deps.config.manager.allowedHosts],
    port: () => {
      const address = app.server.listening ? app.server.address() : null;
      return typeof address === 'object' && address ? address.port : deps.config.manager.port;
    },
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Aura Orchestra Manager API',
        version: '1',
        description:
          "The Director's commands and the governance record. Every /api/ route but this document and /api/health needs `Authorization: Bearer <key>`: reads any key, commands a `director` key. 401: no key or an unknown one; 403: a `read` key that commands; 421: a Host this API does not answer for; 429 (Retry-After): too many unknown keys from one address.",
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get('/api/health', { schema: { hide: true }, config: { auth: 'public' } }, async () => ({ ok: true }));
  registerRunRoutes(typed, deps);
  registerGovernanceRoutes(typed, deps);
  registerDashboardRoutes(typed, deps);
  typed.get('/api/openapi.json', { schema: { hide: true }, config: { auth: 'public' } }, async () => app.swagger());
  registerStatic(app);
  return app;
}

export interface RunningApi {
  app: FastifyInstance;
  /** http://host:port (the dashboard is at its root). */
  url: string;
  close(): Promise<void>;
}

/** Builds the API and listens (MANAGER_HOST, default 127.0.0.1; MANAGER_PORT). Port 0: any free port. */
export async function startApi(deps: ApiDeps, opts: { host?: string; port?: number } = {}): Promise<RunningApi> {
  const app = await buildApi(deps);
  const host = opts.host ?? deps.config.manager.host;
  const port = opts.port ?? deps.config.manager.port;
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new UserError(`the Manager API cannot listen on ${host}:${port}: the port is in use (set MANAGER_PORT)`);
    }
    throw err;
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return { app, url: `http://${shownHost}:${bound}`, close: () => app.close() };
}
