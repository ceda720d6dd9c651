/**
 * `aura runs`: the runs in the governance record, newest first, with what each waits on the
 * Director for. Read from PostgreSQL only: it answers while Temporal is down.
 */
import type { Command } from 'commander';
import type { AuraConfig } from '../../config/config.js';
import { FINAL_STATUSES, RUN_STATUSES, WAITS_ON_DIRECTOR, toRunLine, type RunLine } from '../../director/run-list.js';
import { userError } from '../lazy.js';
import { print } from '../io.js';

type Ctx = { config: () => AuraConfig };

function parseStatuses(text: string): string[] {
  const statuses = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (statuses.length === 0) throw userError(`--status needs a run status (one of ${RUN_STATUSES.join(', ')})`);
  for (const s of statuses) {
    if (!(RUN_STATUSES as readonly string[]).includes(s))
      throw userError(`unknown run status "${s}" for --status: one of ${RUN_STATUSES.join(', ')}`);
  }
  return statuses;
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw userError(`--limit must be a whole number from 1 to 10000 (got "${text}")`);
  return n;
}

const shortTime = (iso: string | null) => (iso ? `${iso.slice(0, 19)}Z` : '-');

export function formatRuns(lines: RunLine[]): string {
  const w = {
    workflow: Math.max(11, ...lines.map((l) => l.workflowId.length)),
    project: Math.max(7, ...lines.map((l) => (l.project ?? '-').length)),
    status: Math.max(6, ...lines.map((l) => l.status.length)),
  };
  const out = [
    `${'RUN ID'.padEnd(36)}  ${'WORKFLOW ID'.padEnd(w.workflow)}  ${'PROJECT'.padEnd(w.project)}  ${'STATUS'.padEnd(w.status)}  ${'STARTED (UTC)'.padEnd(20)}  ${'LAST CHANGE'.padEnd(20)}  WAITS ON THE DIRECTOR`,
  ];
  for (const l of lines) {
    out.push(
      `${l.runId.padEnd(36)}  ${l.workflowId.padEnd(w.workflow)}  ${(l.project ?? '-').padEnd(w.project)}  ${l.status.padEnd(w.status)}  ${shortTime(l.startedAt).padEnd(20)}  ${shortTime(l.updatedAt).padEnd(20)}  ${l.waitingFor.join('; ') || '-'}`,
    );
  }
  return out.join('\n');
}

export function registerRunsCommands(program: Command, ctx: Ctx): void {
  program
    .command('runs')
    .description('runs in the governance record, newest first, and what each waits on the Director for')
    .option('--status <status>', `only runs in this status (comma-separated: ${RUN_STATUSES.join(', ')})`, parseStatuses)
    .option('--needs-director', 'only runs waiting on the Director (a gate, an escalation, a budget, a pause, or an escalated task)', false)
    .option('--limit <n>', 'at most this many runs (default 20)', parseLimit, 20)
    .option('--json', 'print JSON', false)
    .action(async (opts: { status?: string[]; needsDirector: boolean; limit: number; json: boolean }) => {
      const [{ listRuns }, { withDb }] = await Promise.all([
        import('../../db/repositories/history.js'),
        import('../../director/with-db.js'),
      ]);
      const rows = await withDb(ctx, (db) =>
        listRuns(db, {
          statuses: opts.status,
          needsDirector: opts.needsDirector,
          waitingStatuses: Object.keys(WAITS_ON_DIRECTOR),
          finalStatuses: FINAL_STATUSES,
          limit: opts.limit,
        }),
      );
      const lines = rows.map(toRunLine);
      if (opts.json) return print(JSON.stringify(lines, null, 2));
      if (lines.length === 0) return print(opts.needsDirector ? 'no run waits on the Director' : 'no runs');
      print(formatRuns(lines));
      if (lines.length === opts.limit) print(`(the newest ${opts.limit}; --limit shows more)`);
    });
}
