/**
 * The governance record over HTTP: employees, scorecards, incidents with their evidence, the
 * ledger's verification; and the Director's commands outside a run (reinstate an employee,
 * purge past retention).
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { runPurge } from '../../director/retention.js';
import { reinstateEmployee } from '../../db/repositories/director.js';
import { employeeOverview } from '../../db/repositories/employees.js';
import { employeeCounts, employeeTiers } from '../../db/repositories/dashboard.js';
import { listIncidents } from '../../db/repositories/incidents.js';
import { scorecards } from '../../db/repositories/scores.js';
import { retentionClock } from '../../db/repositories/chain.js';
import { verifyLedger } from '../../integrity/verify.js';
import { ApiError, CommandRefused } from '../errors.js';
import { UserError } from '../../errors/index.js';
import { isUuid, reason } from '../schemas.js';
import { principalOf, type ApiDeps, type TypedApi } from '../context.js';

export function registerGovernanceRoutes(app: TypedApi, deps: ApiDeps): void {
  const { db } = deps;

  app.get(
    '/api/employees',
    {
      config: { auth: 'read' },
      schema: {
        summary: 'Every employee: status, tier, reputation, calls, tokens and cost; counts by status and tier',
        tags: ['governance'],
      },
    },
    async () => {
      const [employees, tiers, counts] = await Promise.all([employeeOverview(db), employeeTiers(db), employeeCounts(db)]);
      return { employees: employees.map((e) => ({ ...e, tier: tiers.get(e.id) ?? null })), counts };
    },
  );

  app.get(
    '/api/scorecards',
    {
      config: { auth: 'read' },
      schema: { summary: "The Accountant's scorecards: reputation and tier per employee per capability", tags: ['governance'] },
    },
    async () => ({ scorecards: await scorecards(db) }),
  );

  app.get(
    '/api/incidents',
    {
      config: { auth: 'read' },
      schema: {
        summary: "Incidents, with HR's action and the evidence they rest on",
        tags: ['governance'],
        querystring: z.strictObject({
          employee: z.string().trim().min(1).max(200).optional(),
          run: z.string().trim().refine(isUuid, 'must be a run id (a uuid)').optional(),
        }),
      },
    },
    async (req) => ({ incidents: await listIncidents(db, { employee: req.query.employee, runId: req.query.run }) }),
  );

  app.get(
    '/api/ledger/verify',
    {
      config: { auth: 'read' },
      schema: {
        summary: 'Recompute the hash chain, the signed checkpoints and every row (seals pending entries first)',
        tags: ['governance'],
        querystring: z.strictObject({ merkle: z.enum(['true', 'false']).default('false') }),
      },
    },
    async (req) => verifyLedger(db, { merkle: req.query.merkle === 'true' }),
  );

  app.post(
    '/api/employees/:id/reinstate',
    {
      config: { auth: 'director' },
      schema: {
        summary: 'Lift the suspension or termination of an employee (a recorded Director action)',
        tags: ['commands'],
        params: z.strictObject({ id: z.string().trim().min(1).max(200) }),
        body: z.strictObject({ reason }),
      },
    },
    async (req) => {
      const by = principalOf(req).name;
      const { statusBefore } = await reinstateEmployee(db, { employeeId: req.params.id, director: by, reason: req.body.reason });
      return { employeeId: req.params.id, statusBefore, status: 'active', by };
    },
  );

  app.post(
    '/api/retention/purge',
    {
      config: { auth: 'director' },
      schema: {
        summary: 'Remove finished runs and ledger entries written before a date past retention (a recorded workflow)',
        tags: ['commands'],
        body: z.strictObject({
          before: z
            .string()
            .regex(/^\d{4}-\d{2}-\d{2}/, 'must be an ISO 8601 date, e.g. 2025-01-31')
            .refine((s) => !Number.isNaN(new Date(s).getTime()), 'is not a date'),
          reason,
        }),
      },
    },
    async (req) => {
      const by = principalOf(req).name;
      const before = new Date(req.body.before);
      const { now, retentionDays } = await retentionClock(db);
      const floor = new Date(now.getTime() - retentionDays * 86_400_000);
      if (before > floor) {
        throw new ApiError(
          409,
          'refused',
          `refused: ${before.toISOString()} is inside the ${retentionDays} days of retention; the latest date allowed is ${floor.toISOString()}`,
        );
      }
      const purgeId = randomUUID();
      try {
        return { ...(await runPurge(deps.client, { purgeId, before: before.toISOString(), reason: req.body.reason, director: by })), by };
      } catch (err) {
        // The workflow's own refusal (RetentionRefused), e.g. the record does not verify.
        if (err instanceof UserError) throw new CommandRefused(err.message);
        throw err;
      }
    },
  );
}
