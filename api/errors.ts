/**
 * Every error the Manager API answers has one shape:
 *
 *   { "error": { "code": "invalid_input", "message": "…", "fields": [{ "field": "reason", "in": "body", "message": "…" }] } }
 *
 * `code` is stable (clients branch on it), `message` is for a person, `fields` names what was
 * wrong in the request (only for `invalid_input`). A UserError is the caller's to fix (4xx);
 * anything else is ours (500, logged, its message not sent).
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isTransientTemporalError } from '../director/runs.js';
import { DirectorActionRefused, UserError } from '../errors/index.js';

export type ErrorCode =
  | 'invalid_input'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'misdirected'
  | 'too_many_requests'
  | 'not_found'
  | 'refused'
  | 'not_ready'
  | 'too_large'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'internal';

export interface FieldProblem {
  field: string;
  in: 'body' | 'querystring' | 'params' | 'headers';
  message: string;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; fields?: FieldProblem[] };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly fields?: FieldProblem[],
    /** Headers the answer carries (e.g. Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** A command the run (or the record) refused, recorded as such. */
export class CommandRefused extends UserError {
  override name = 'CommandRefused';
}

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  misdirected: 421,
  too_many_requests: 429,
  not_found: 404,
  refused: 409,
  not_ready: 409,
  too_large: 413,
  unsupported_media_type: 415,
  unavailable: 503,
  internal: 500,
};

export function errorBody(code: ErrorCode, message: string, fields?: FieldProblem[]): ErrorBody {
  return { error: { code, message, ...(fields ? { fields } : {}) } };
}

/** The answer for a UserError: what it names decides the status. */
export function fromUserError(err: UserError): ApiError {
  if (/^unknown (run|employee)\b/.test(err.message) || /^run .* has no task /.test(err.message))
    return new ApiError(404, 'not_found', err.message);
  if (err instanceof CommandRefused || err instanceof DirectorActionRefused) return new ApiError(409, 'refused', err.message);
  return new ApiError(400, 'invalid_input', err.message);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError, req, reply) => {
    let err: ApiError;
    if (raw instanceof ApiError) err = raw;
    else if (hasZodFastifySchemaValidationErrors(raw)) {
      const where = (raw.validationContext ?? 'body') as FieldProblem['in'];
      const fields = raw.validation.flatMap((v): FieldProblem[] => {
        const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
        const keys = (v.params as { keys?: string[] }).keys;
        if (v.keyword === 'unrecognized_keys' && keys) {
          return keys.map((k) => ({
            field: path ? `${path}.${k}` : k,
            in: where,
            message:
              k === 'by' || k === 'director'
                ? 'not accepted: the Director is the owner of the API key, never a name in the request'
                : 'not a field of this request',
          }));
        }
        return [{ field: path || '(whole)', in: where, message: v.message ?? 'invalid' }];
      });
      err = new ApiError(400, 'invalid_input', `invalid ${where}: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, fields);
    } else if (raw.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      err = new ApiError(413, 'too_large', `the request body is over the limit of ${app.initialConfig.bodyLimit} bytes`);
    else if (raw.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      err = new ApiError(415, 'unsupported_media_type', 'send JSON (Content-Type: application/json)');
    else if (raw.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') err = new ApiError(400, 'invalid_json', 'the body is empty: send a JSON object');
    else if (raw.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || raw instanceof SyntaxError)
      err = new ApiError(400, 'invalid_json', `the body is not JSON: ${raw.message}`);
    else if (raw instanceof UserError) err = fromUserError(raw);
    else if (isTransientTemporalError(raw))
      err = new ApiError(503, 'unavailable', `Temporal did not answer (${raw.message.split('\n')[0]}); try again`);
    else if (typeof raw.statusCode === 'number' && raw.statusCode >= 400 && raw.statusCode < 500)
      err = new ApiError(raw.statusCode, raw.statusCode === 404 ? 'not_found' : 'invalid_input', raw.message);
    else {
      req.log.error({ err: raw }, 'request failed');
      err = new ApiError(500, 'internal', 'internal error: see the Manager API log');
    }
    if (err.headers) void reply.headers(err.headers);
    void reply.status(err.status || STATUS[err.code]).send(errorBody(err.code, err.message, err.fields));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(errorBody('not_found', `no such route: ${req.method} ${req.url.split('?')[0]}`));
  });
}
