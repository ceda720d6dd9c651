/**
 * What the dashboard's three pages read: who is signed in, the overview (runs by status, spend
 * against budget, employees by tier and status) and the intervention list (everything waiting
 * on the Director, each with the evidence the decision rests on and the commands that answer it).
 */
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { resolveRun, runStatus } from '../../director/runs.js';
import { WAITS_ON_DIRECTOR, toRunLine } from '../../director/run-list.js';
import { listRuns } from '../../db/repositories/history.js';
import { listEmployees } from '../../db/repositories/employees.js';
import {
  acceptedTasksOfRun,
  employeeCounts,
  lastCodeRounds,
  lastDirectorAction,
  lastWorkspaceVerification,
  runCountsByStatus,
  planRoundsSentBack,
  runPrd,
  runSpendVsBudget,
  taskEvidence,
  taskOfRun,
  workspaceLayers,
} from '../../db/repositories/dashboard.js';
import type { RunProgress } from '../../governance/types.js';
import { isUuid, runParams } from '../schemas.js';
import { ApiError } from '../errors.js';
import { principalOf, type ApiDeps, type TypedApi } from '../context.js';
import { workflowUrl } from './runs.js';

const FINAL = ['completed', 'failed', 'rejected', 'cancelled'];

/** One decision that waits on the Director. */
export interface Pending {
  kind: 'plan_approval' | 'plan_escalated' | 'budget' | 'verification' | 'paused' | 'task';
  runId: string;
  workflowId: string;
  project: string | null;
  runStatus: string;
  taskKey: string | null;
  /** What is asked, in words. */
  question: string;
  /** The commands that answer it (API paths under /api/runs/:run/). */
  actions: string[];
  /** What the decision rests on: the plan, the Auditor's findings, the failing check, the spend. */
  evidence: Record<string, unknown>;
  temporalUrl: string | null;
}

/** What a plan gate rests on besides the plan: the PRD, and the rounds the plan rules sent back. */
async function planningOf(db: ApiDeps['db'], runId: string) {
  if (!isUuid(runId)) return { prd: null, planRounds: [] };
  const [prd, planRounds] = await Promise.all([runPrd(db, runId), planRoundsSentBack(db, runId)]);
  return { prd, planRounds };
}

async function pendingOfRun(deps: ApiDeps, client: Client, line: ReturnType<typeof toRunLine>): Promise<Pending[]> {
  const { db } = deps;
  let live: RunProgress;
  try {
    live = await runStatus(client, line.workflowId);
  } catch {
    return []; // gone from Temporal (or not answering): nothing to act on now
  }
  const base = {
    runId: line.runId,
    workflowId: line.workflowId,
    project: line.project,
    runStatus: live.status,
    temporalUrl: workflowUrl(deps, line.workflowId),
  };
  const out: Pending[] = [];
  switch (live.status) {
    case 'awaiting_approval':
      out.push({
        ...base,
        kind: 'plan_approval',
        taskKey: null,
        question: 'approve or reject the plan',
        actions: ['approve', 'reject'],
        evidence: { plan: live.plan, planAttempts: live.planAttempts, planErrors: live.planErrors, ...(await planningOf(db, line.runId)) },
      });
      break;
    case 'plan_escalated':
      out.push({
        ...base,
        kind: 'plan_escalated',
        taskKey: null,
        question: 'the plan still breaks the plan rules: give the planner more rounds, or reject',
        actions: ['replan', 'reject'],
        evidence: { planAttempts: live.planAttempts, planErrors: live.planErrors, ...(await planningOf(db, line.runId)) },
      });
      break;
    case 'budget_paused': {
      const spend = (await runSpendVsBudget(db, isUuid(line.runId) ? [line.runId] : [])).get(line.runId);
      out.push({
        ...base,
        kind: 'budget',
        taskKey: null,
        question: 'the run reached its budget: raise it, or stop the run',
        actions: ['budget', 'stop'],
        evidence: {
          budget: live.budget ?? spend?.budget ?? null,
          spend: spend ? { calls: spend.calls, tokens: spend.tokens, costUsd: spend.costUsd } : null,
        },
      });
      break;
    }
    case 'verification_escalated':
      out.push({
        ...base,
        kind: 'verification',
        taskKey: null,
        question: 'the final verification still fails after repair: accept, re-plan or stop',
        actions: ['verification'],
        evidence: { verification: isUuid(line.runId) ? await lastWorkspaceVerification(db, line.runId) : null },
      });
      break;
    case 'paused':
      out.push({
        ...base,
        kind: 'paused',
        taskKey: null,
        question: 'paused by the Director: resume or cancel',
        actions: ['resume', 'cancel'],
        evidence: { pausedBy: isUuid(line.runId) ? await lastDirectorAction(db, line.runId, 'pause_run') : null },
      });
      break;
  }
  const escalated = FINAL.includes(live.status) ? [] : live.tasks.filter((t) => t.status === 'escalated');
  if (escalated.length > 0) {
    const evidence = isUuid(line.runId)
      ? await taskEvidence(
          db,
          line.runId,
          escalated.map((t) => t.key),
        )
      : [];
    for (const t of escalated) {
      const e = evidence.find((x) => x.taskKey === t.key);
      out.push({
        ...base,
        kind: 'task',
        taskKey: t.key,
        question: `task ${t.key}${e?.title ? ` (${e.title})` : ''} escalated: reassign it, accept its last output (a recorded override), or cancel it`,
        actions: ['resolve'],
        evidence: {
          escalation: live.escalations.filter((x) => x.startsWith(`${t.key}:`)),
          attempts: t.attempts,
          verdicts: e?.verdicts ?? [],
          incidents: e?.incidents ?? [],
          lastCheck: e?.lastCheck ?? null,
        },
      });
    }
  }
  return out;
}

export function registerDashboardRoutes(app: TypedApi, deps: ApiDeps): void {
  const { db, client, config } = deps;

  app.get(
    '/api/whoami',
    {
      config: { auth: 'read' },
      schema: { summary: 'The owner of the key and its role; where the Temporal Web UI is', tags: ['dashboard'] },
    },
    async (req) => {
      const p = principalOf(req);
      return { name: p.name, role: p.role, temporalUiUrl: config.manager.temporalUiUrl, namespace: config.temporal.namespace };
    },
  );

  app.get(
    '/api/overview',
    {
      config: { auth: 'read' },
      schema: { summary: 'Runs by status, recent runs with spend against budget, employees by tier and status', tags: ['dashboard'] },
    },
    async () => {
      const [byStatus, runs, employees] = await Promise.all([
        runCountsByStatus(db),
        listRuns(db, { waitingStatuses: Object.keys(WAITS_ON_DIRECTOR), finalStatuses: FINAL, limit: 20 }),
        employeeCounts(db),
      ]);
      const spend = await runSpendVsBudget(
        db,
        runs.map((r) => r.id),
      );
      const lines = runs.map((r) => {
        const s = spend.get(r.id);
        return {
          ...toRunLine(r),
          spend: { calls: s?.calls ?? 0, tokens: s?.tokens ?? 0, costUsd: s?.costUsd ?? 0 },
          budget: s?.budget ?? config.runBudget,
          temporalUrl: workflowUrl(deps, r.workflowId),
        };
      });
      const total = [...spend.values()].reduce((t, s) => ({ tokens: t.tokens + s.tokens, costUsd: t.costUsd + s.costUsd }), {
        tokens: 0,
        costUsd: 0,
      });
      return {
        runsByStatus: byStatus,
        needsDirector: lines.filter((l) => l.needsDirector).length,
        runs: lines,
        recentSpend: total,
        employees,
      };
    },
  );

  app.get(
    '/api/intervention',
    {
      config: { auth: 'read' },
      schema: {
        summary: 'Everything that waits on the Director, each with its evidence and the commands that answer it',
        tags: ['dashboard'],
      },
    },
    async () => {
      const rows = await listRuns(db, {
        needsDirector: true,
        waitingStatuses: Object.keys(WAITS_ON_DIRECTOR),
        finalStatuses: FINAL,
        limit: 50,
      });
      // The record says which runs wait (their status, or a task escalated); the run itself says what for.
      const lines = rows.map(toRunLine);
      const pending = (await Promise.all(lines.map((l) => pendingOfRun(deps, client, l)))).flat();
      return { pending };
    },
  );

  /** The run's id in the record: a uuid is taken as it is, any other name asked of Temporal. */
  async function recordedRun(ref: string): Promise<string> {
    const runId = isUuid(ref) ? ref : (await resolveRun(client, ref)).runId;
    if (!isUuid(runId) || (await runPrd(db, runId)) === null) throw new ApiError(404, 'not_found', `unknown run: ${ref}`);
    return runId;
  }
  async function recordedTask(ref: string, taskKey: string) {
    const runId = await recordedRun(ref);
    const task = await taskOfRun(db, runId, taskKey);
    if (!task) throw new ApiError(404, 'not_found', `run ${ref} has no task ${taskKey}`);
    return { runId, task };
  }
  const taskParams = runParams.extend({ task: z.string().trim().min(1).max(100).describe('the task key, e.g. T1') });

  app.get(
    '/api/runs/:run/tasks/:task/code',
    {
      config: { auth: 'read' },
      schema: {
        summary: "The code under judgement: the task's last coder round with its files, and the round before it (to compare)",
        tags: ['dashboard'],
        params: taskParams,
      },
    },
    async (req) => {
      const { task } = await recordedTask(req.params.run, req.params.task);
      const [current = null, previous = null] = await lastCodeRounds(db, task.id, 2);
      return { taskKey: req.params.task, generation: task.generation, current, previous };
    },
  );

  app.get(
    '/api/runs/:run/tasks/:task/eligible',
    {
      config: { auth: 'read' },
      schema: {
        summary:
          'Who could take the task on a reassignment: every employee with its capability, its status, and why it may not (suspended, its provider off, it wrote the tests)',
        tags: ['dashboard'],
        params: taskParams,
      },
    },
    async (req) => {
      const { task } = await recordedTask(req.params.run, req.params.task);
      const [all, routed] = await Promise.all([listEmployees(db, { includeUnavailable: true }), listEmployees(db)]);
      const available = new Set(routed.map((e) => e.id));
      const employees = all
        .filter((e) => task.capability !== null && e.capabilities.includes(task.capability))
        .map((e) => {
          // The same checks the task makes of a reassignment, and the one it cannot see: a
          // provider that is not configured here leaves its employees out of the roster.
          const why = !available.has(e.id)
            ? `its provider (${e.provider}) is not configured: not in the roster`
            : e.status !== 'active'
              ? `${e.status}${e.suspendedUntil ? ` until ${e.suspendedUntil}` : ''}`
              : e.id === task.testerId
                ? "wrote the task's acceptance tests: the maker is never its own checker"
                : null;
          return {
            id: e.id,
            provider: e.provider,
            model: e.model,
            status: e.status,
            available: available.has(e.id),
            reputation: e.reputations?.[task.capability!] ?? e.reputation,
            eligible: why === null,
            why,
          };
        })
        .sort((a, b) => Number(b.eligible) - Number(a.eligible) || b.reputation - a.reputation);
      return { taskKey: req.params.task, capability: task.capability, testerId: task.testerId, employees };
    },
  );

  app.get(
    '/api/runs/:run/workspace',
    {
      config: { auth: 'read' },
      schema: {
        summary:
          "A run's workspace as the record holds it: every accepted file, with the task it came from (layered in order) and the version it replaced, if any",
        tags: ['dashboard'],
        params: runParams,
      },
    },
    async (req) => {
      const runId = await recordedRun(req.params.run);
      const { files, tasks } = await workspaceOf(runId);
      return {
        runId,
        files: files.map((f) => ({
          path: f.path,
          fromTask: tasks.get(f.fromTask) ?? f.fromTask,
          bytes: Buffer.byteLength(f.content),
          content: f.content,
          before: f.before ? { fromTask: tasks.get(f.before.fromTask) ?? f.before.fromTask, content: f.before.content } : null,
        })),
        verification: await lastWorkspaceVerification(db, runId),
      };
    },
  );

  app.get(
    '/api/runs/:run/workspace.tar.gz',
    {
      config: { auth: 'read' },
      schema: { summary: "A run's workspace (its accepted files) as a gzipped tar", tags: ['dashboard'], params: runParams },
    },
    async (req, reply) => {
      const runId = await recordedRun(req.params.run);
      const { files } = await workspaceOf(runId);
      const folder = `aura-${runId.slice(0, 8)}`;
      const body = gzipSync(tarArchive(files.map((f) => ({ path: `${folder}/${f.path}`, content: f.content }))));
      return reply
        .header('content-type', 'application/gzip')
        .header('content-disposition', `attachment; filename="${folder}.tar.gz"`)
        .send(body);
    },
  );

  async function workspaceOf(runId: string) {
    const accepted = await acceptedTasksOfRun(db, runId);
    const files = await workspaceLayers(
      db,
      accepted.map((t) => t.id),
    );
    return { files: files.filter((f) => safePath(f.path)), tasks: new Map(accepted.map((t) => [t.id, t.taskKey])) };
  }
}

/** A relative path that stays inside the folder it is unpacked in (the sandbox refuses the others too). */
function safePath(path: string): boolean {
  return !path.startsWith('/') && !path.includes('\\') && !path.includes('\0') && path.split('/').every((p) => p !== '..' && p !== '');
}

/**
 * A POSIX (pax) tar of text files, written here because nothing in the tree writes tar and the
 * format is small: a 512-byte header per file, a pax record first when the path is longer than
 * the header holds, the content padded to 512 bytes, two empty blocks at the end. Node's zlib
 * gzips it. Files are 0644, owned by nobody in particular, dated 0.
 */
export function tarArchive(files: { path: string; content: string }[]): Buffer {
  const blocks: Buffer[] = [];
  const header = (name: string, size: number, type: string) => {
    const h = Buffer.alloc(512);
    const put = (text: string, at: number, len: number) => h.write(text, at, len, 'utf8');
    const octal = (n: number, at: number, len: number) => put(n.toString(8).padStart(len - 1, '0'), at, len - 1);
    put(name, 0, 100);
    octal(0o644, 100, 8);
    octal(0, 108, 8);
    octal(0, 116, 8);
    octal(size, 124, 12);
    octal(0, 136, 12);
    put('        ', 148, 8);
    put(type, 156, 1);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    let sum = 0;
    for (const b of h) sum += b;
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
    return h;
  };
  const padded = (body: Buffer) => [body, Buffer.alloc((512 - (body.length % 512)) % 512)];
  for (const f of files) {
    const body = Buffer.from(f.content, 'utf8');
    if (Buffer.byteLength(f.path) > 100) {
      // A pax record "LEN path=VALUE\n", LEN counting itself.
      const rest = ` path=${f.path}\n`;
      let len = Buffer.byteLength(rest) + 1;
      while (String(len).length + Buffer.byteLength(rest) !== len) len += 1;
      const pax = Buffer.from(`${len}${rest}`, 'utf8');
      blocks.push(header('pax-header', pax.length, 'x'), ...padded(pax));
    }
    blocks.push(header(Buffer.from(f.path).subarray(0, 100).toString('utf8'), body.length, '0'), ...padded(body));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
