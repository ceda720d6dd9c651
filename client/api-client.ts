/**
 * The Manager API (api/) from the command line: what `aura` uses for the run commands when
 * AURA_API_URL is set (with AURA_API_KEY). The API's refusals and bad-input answers become
 * UserErrors (the CLI prints them alone and exits 2); its own faults stay errors.
 */
import type { RunProgress } from '../governance/types.js';
import type { CommandAnswer } from '../workflows/definitions.js';
import type { ResolveAsk, SubmitAsk } from '../director/runs.js';
import { UserError } from '../errors/index.js';

/** The one shape of the API's errors (api/errors.ts). */
interface ErrorBody {
  error: { code: string; message: string; fields?: { field: string; in: string; message: string }[] };
}

export interface Answer extends CommandAnswer {
  /** Who the API recorded: the owner of the key. */
  by: string;
}

/** A submission as the API takes it (director/runs.ts). */
export type SubmitOptions = SubmitAsk;

export class ManagerApiClient {
  readonly baseUrl: string;
  constructor(
    baseUrl: string,
    private readonly key: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      const why = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new UserError(
        `cannot reach the Manager API at ${this.baseUrl} (${why}). Is it running ("aura up", or api/main.ts)? Unset AURA_API_URL to use Temporal directly.`,
      );
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: said below
    }
    if (res.ok) return json as T;
    const error = (json as ErrorBody | null)?.error;
    const message = error?.message ?? `HTTP ${res.status} ${res.statusText}`;
    if (res.status >= 400 && res.status < 500) throw new UserError(message);
    throw new Error(`the Manager API answered ${res.status}: ${message}`);
  }

  whoami(): Promise<{ name: string; role: string }> {
    return this.request('GET', '/api/whoami');
  }

  submit(opts: SubmitOptions): Promise<{ runId: string; workflowId: string; by: string }> {
    return this.request('POST', '/api/runs', opts);
  }

  async status(run: string): Promise<RunProgress> {
    return (await this.request<{ progress: RunProgress }>('GET', `/api/runs/${encodeURIComponent(run)}`)).progress;
  }

  command(run: string, name: string, body: Record<string, unknown>): Promise<Answer> {
    return this.request('POST', `/api/runs/${encodeURIComponent(run)}/${name}`, body);
  }

  resolve(run: string, task: string, body: ResolveAsk): Promise<Answer> {
    return this.request('POST', `/api/runs/${encodeURIComponent(run)}/tasks/${encodeURIComponent(task)}/resolve`, body);
  }

  reinstate(employeeId: string, reason: string): Promise<{ employeeId: string; statusBefore: string; by: string }> {
    return this.request('POST', `/api/employees/${encodeURIComponent(employeeId)}/reinstate`, { reason });
  }
}
