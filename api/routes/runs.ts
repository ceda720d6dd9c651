/**
 * Runs: submit a PRD, list, status (with what the record says of it), report, history; and
 * every Director command on a run. The Director is always the key's owner.
 */
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import {
  escalationDecision,
  recordRefusal,
  resolveEscalation,
  runOptions,
  resolveRun,
  runStatus,
  sendRunCommand,
  submitRun,
  type RefusalRecorder,
} from '../../director/runs.js';
import { buildTimeline } from '../../director/timeline/index.js';
import { RUN_STATUSES, WAITS_ON_DIRECTOR, toRunLine } from '../../director/run-list.js';
import { listRuns } from '../../db/repositories/history.js';
import { listIncidents } from '../../db/repositories/incidents.js';
import { runAttemptRounds, runDirectorActions, runSpendVsBudget, taskTitles } from '../../db/repositories/dashboard.js';
import type { CommandAnswer } from '../../workflows/definitions.js';
import { UserError } from '../../errors/index.js';
import { ApiError, CommandRefused } from '../errors.js';
import { commandAnswer, isUuid, reason, runParams, submitBody } from '../schemas.js';
import { DIRECTOR_COMMANDS } from '../../governance/director-command-table.js';
import { principalOf, type ApiDeps, type TypedApi } from '../context.js';

const FINAL = ['completed', 'failed', 'rejected', 'cancelled'];

/** The Temporal Web UI's page of a workflow, when a UI is known. */
export function workflowUrl(deps: ApiDeps, workflowId: string): string | null {
  const ui = deps.config.manager.temporalUiUrl;
  return ui
    ? `${ui.replace(/\/$/, '')}/namespaces/${encodeURIComponent(deps.config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`
    : null;
}

/**
 * Runs one Director command as the key's owner. A refusal by the run is recorded (in the
 * record's `director_actions`, under the owner's name) and answered 409.
 */
async function asDirector(deps: ApiDeps, req: FastifyRequest, send: (by: string, record: RefusalRecorder) => Promise<CommandAnswer>) {
  const by = principalOf(req).name;
  let refused = false;
  const record: RefusalRecorder = async (r) => {
    refused = true;
    try {
      await recordRefusal(deps.db, r);
    } catch (err) {
      req.log.warn({ err }, 'the refusal could not be recorded');
    }
  };
  try {
    const answer = await send(by, record);
    return { command: answer.command, status: answer.status, message: answer.message, by };
  } catch (err) {
    if (refused && err instanceof UserError) throw new CommandRefused(err.message);
    throw err;
  }
}

/** What a submission may ask for: `independentTests: false` is a self-tested run (the plan's own commands decide). */
export const submitRunBody = submitBody.extend({
  independentTests: z
    .boolean()
    .optional()
    .describe(
      "acceptance tests written by a tester before the code, frozen, red before green (default AURA_INDEPENDENT_TESTS); false: self-tested, the plan's own commands decide",
    ),
});

const listQuery = z.strictObject({
  status: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v) return undefined;
      const statuses = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = statuses.filter((s) => !(RUN_STATUSES as readonly string[]).includes(s));
      if (bad.length)
        ctx.addIssue({
          code: 'custom',
          message: `unknown run status ${bad.map((b) => `"${b}"`).join(', ')}: one of ${RUN_STATUSES.join(', ')}`,
        });
      return statuses;
    })
    .describe('comma-separated run statuses'),
  needsDirector: z.enum(['true', 'false']).optional().describe('only runs waiting on the Director'),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

export function registerRunRoutes(app: TypedApi, deps: ApiDeps): void {
  const { client, db } = deps;

  app.post(
    '/api/runs',
    {
      config: { auth: 'director' },
      schema: {
        summary: 'Submit a PRD: start a run',
        tags: ['runs'],
        body: submitRunBody,
        response: { 201: z.object({ runId: z.string(), workflowId: z.string(), by: z.string() }) },
      },
    },
    async (req, reply) => {
      const by = principalOf(req).name;
      const b = req.body;
      const { runId, workflowId } = await submitRun(client, {
        prd: b.prd,
        project: b.project,
        // The address this request reached the dashboard by (hosts the API answers for only).
        dashboardUrl: `${req.protocol}://${req.host}`,
        options: {
          autoApprove: b.autoApprove,
          director: by,
          ...(b.maxParallel ? { maxParallel: b.maxParallel } : {}),
          ...(b.maxRepairRounds !== undefined ? { maxRepairRounds: b.maxRepairRounds } : {}),
          ...(b.maxVerificationRepairs !== undefined ? { maxVerificationRepairs: b.maxVerificationRepairs } : {}),
          ...(b.independentTests !== undefined ? { independentTests: b.independentTests } : {}),
          budget: {
            maxTokens: b.maxTokens ?? deps.config.runBudget.maxTokens,
            maxCostUsd: b.maxCostUsd ?? deps.config.runBudget.maxCostUsd,
          },
        },
      });
      return reply.status(201).send({ runId, workflowId, by });
    },
  );

  app.get(
    '/api/runs',
    {
      config: { auth: 'read' },
      schema: {
        summary: 'Runs in the record, newest first, with what each waits on the Director for and its spend',
        tags: ['runs'],
        querystring: listQuery,
      },
    },
    async (req) => {
      const rows = await listRuns(db, {
        statuses: req.query.status,
        needsDirector: req.query.needsDirector === 'true',
        waitingStatuses: Object.keys(WAITS_ON_DIRECTOR),
        finalStatuses: FINAL,
        limit: req.query.limit,
      });
      const spend = await runSpendVsBudget(
        db,
        rows.map((r) => r.id),
      );
      return {
        runs: rows.map((r) => {
          const s = spend.get(r.id);
          return {
            ...toRunLine(r),
            spend: s ? { calls: s.calls, tokens: s.tokens, costUsd: s.costUsd } : null,
            budget: s?.budget ?? deps.config.runBudget,
            temporalUrl: workflowUrl(deps, r.workflowId),
          };
        }),
      };
    },
  );

  app.get(
    '/api/runs/:run',
    {
      config: { auth: 'read' },
      schema: {
        summary:
          "A run: its live progress (or its report once ended), spend against budget, attempts, incidents and the Director's actions",
        tags: ['runs'],
        params: runParams,
      },
    },
    async (req) => {
      const target = await resolveRun(client, req.params.run);
      const progress = await runStatus(client, target.workflowId);
      const runId = isUuid(progress.runId) ? progress.runId : isUuid(target.runId) ? target.runId : null;
      const [spend, attempts, incidents, actions, titles] = runId
        ? await Promise.all([
            runSpendVsBudget(db, [runId]),
            runAttemptRounds(db, runId),
            listIncidents(db, { runId }),
            runDirectorActions(db, runId),
            taskTitles(db, runId),
          ])
        : [new Map(), [], [], [], new Map<string, string>()];
      const s = runId ? spend.get(runId) : undefined;
      // An ended run's progress comes from its report, which names tasks by key only.
      for (const t of progress.tasks) if (!t.title) t.title = titles.get(t.key) ?? '';
      return {
        runId: runId ?? progress.runId,
        workflowId: target.workflowId,
        temporalUrl: workflowUrl(deps, target.workflowId),
        progress,
        spend: s ? { calls: s.calls, tokens: s.tokens, costUsd: s.costUsd } : { calls: 0, tokens: 0, costUsd: 0 },
        budget: progress.budget ?? s?.budget ?? deps.config.runBudget,
        attempts,
        incidents,
        actions,
      };
    },
  );

  app.get(
    '/api/runs/:run/report',
    {
      config: { auth: 'read' },
      schema: { summary: "A run's final report (409 not_ready while it runs)", tags: ['runs'], params: runParams },
    },
    async (req) => {
      const progress = await runStatus(client, req.params.run);
      if (!progress.report)
        throw new ApiError(409, 'not_ready', `run ${req.params.run} is ${progress.status}: its report comes when it ends`);
      return progress.report;
    },
  );

  app.get(
    '/api/runs/:run/history',
    {
      config: { auth: 'read' },
      schema: { summary: "One timeline of a run: Temporal's events and the governance record, by time", tags: ['runs'], params: runParams },
    },
    async (req) => {
      const t = await buildTimeline({ config: () => deps.config, client: async () => client, db }, req.params.run);
      return { runId: t.runId, workflowId: t.workflowId, notes: t.notes, entries: t.entries };
    },
  );

  const command = { tags: ['commands'], params: runParams, response: { 200: commandAnswer } };

  // Every run command of the table: POST /api/runs/:run/<verb>, its body, its summary.
  for (const entry of DIRECTOR_COMMANDS) {
    app.post(
      `/api/runs/:run/${entry.verb}`,
      { config: { auth: entry.auth }, schema: { ...command, summary: entry.summary, body: entry.body } },
      async (req) =>
        asDirector(deps, req, (by, record) => sendRunCommand(client, entry, req.params.run, entry.toArg(req.body, by), record)),
    );
  }

  const resolveBody = z
    .strictObject({
      decision: z
        .enum(['reassign', 'accept', 'cancel'])
        .describe('reassign to an employee, accept the last output (a recorded override), or cancel the task'),
      employeeId: z.string().trim().min(1).max(200).optional().describe('for reassign: the employee'),
      reason,
    })
    .superRefine((b, ctx) => {
      if (b.decision === 'reassign' && !b.employeeId)
        ctx.addIssue({ code: 'custom', path: ['employeeId'], message: 'reassign needs the employee to give the task to' });
      if (b.decision !== 'reassign' && b.employeeId)
        ctx.addIssue({
          code: 'custom',
          path: ['employeeId'],
          message: `only a reassignment names an employee (decision is ${b.decision})`,
        });
    });
  app.post(
    '/api/runs/:run/tasks/:task/resolve',
    {
      config: { auth: 'director' },
      schema: {
        ...command,
        summary: 'Answer an escalated task',
        params: runParams.extend({ task: z.string().trim().min(1).max(100) }),
        body: resolveBody,
      },
    },
    async (req) =>
      asDirector(deps, req, (by, record) =>
        resolveEscalation(client, req.params.run, req.params.task, escalationDecision(req.body, by), record),
      ),
  );
}
