/**
 * What every route has: the app's dependencies, the typed app, and the Director behind the
 * request (`principalOf`). The server (server.ts) builds the app; routes take these from here.
 */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Client } from '@temporalio/client';
import type { AuraConfig } from '../config/config.js';
import type { Db } from '../db/connect.js';
import type { Principal } from './auth.js';
import { ApiError } from './errors.js';

export interface ApiDeps {
  client: Client;
  db: Db;
  config: AuraConfig;
  /** Log requests (pino, JSON lines); off in tests. Keys are never logged. */
  logger?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export type Api = FastifyInstance;
/** The app as routes see it: request and reply types come from the routes' zod schemas. */
export type TypedApi = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** Who sent the request (set by the onRequest hook on every non-public route). */
export function principalOf(req: { principal: Principal | null }): Principal {
  if (!req.principal) throw new ApiError(401, 'unauthorized', 'no API key');
  return req.principal;
}
