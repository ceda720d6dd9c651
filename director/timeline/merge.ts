/** One timeline of a run: the run found, both records read, their entries merged by time. */
import type { Client } from '@temporalio/client';
import { findRun, runRecord } from '../../db/repositories/history.js';
import { withDb } from '../with-db.js';
import type { Db } from '../../db/connect.js';
import { UserError } from '../../errors/index.js';
import type { Timeline, TimelineCtx, TimelineEntry } from './entry.js';
import { decodePayload, fetchHistories, findInTemporal, UUID, type Payload } from './fetch.js';
import { taskLabels } from './labels.js';
import { recordEntries } from './record-entries.js';
import { temporalEntries } from './temporal-entries.js';

export async function buildTimeline(ctx: TimelineCtx, ref: string): Promise<Timeline> {
  const cfg = ctx.config();
  const using = <T>(fn: (db: Db) => Promise<T>) => (ctx.db ? fn(ctx.db) : withDb(ctx, fn));
  return using(async (db) => {
    const notes: string[] = [];
    let run = await findRun(db, ref);
    let client: Client | null = null;
    try {
      client = await ctx.client(cfg);
    } catch (err) {
      if (!run || !(err instanceof UserError)) throw err;
      notes.push(`Temporal is out of reach (${err.message.split('. ')[0]}): the governance record only`);
    }

    let workflowId = run?.workflowId ?? null;
    let runId = run?.id ?? null;
    if (!run && client) {
      const found = await findInTemporal(client, ref);
      if (!found)
        throw new UserError(
          `unknown run: ${ref} (no run with this id or workflow id in the governance record, and no such workflow or AuraRunId in Temporal)`,
        );
      workflowId = found.workflowId;
      runId = found.runId;
      if (runId) run = await findRun(db, runId);
      if (!run) notes.push(`the governance record has no run ${runId ?? ref}: Temporal's history only`);
    }
    if (!workflowId) throw new UserError(`unknown run: ${ref}`);

    // Run ids in the record are uuids: another AuraRunId value has no rows there.
    const record = runId && UUID.test(runId) ? await runRecord(db, runId) : null;
    const labels = taskLabels(record, workflowId);
    const entries: TimelineEntry[] = record ? recordEntries(record, labels) : [];
    if (client) {
      const histories = await fetchHistories(
        client,
        workflowId,
        record?.tasks.map((t) => t.workflow_id).filter((w): w is string => !!w) ?? [],
        notes,
      );
      const decode = (p: Payload | null | undefined) => decodePayload(client!, p);
      for (const h of histories) entries.push(...temporalEntries(h.workflowId, h.events, { taskOf: labels.ofWorkflow, decode }));
    }
    return { runId, workflowId, run, notes, entries: sortTimeline(entries) };
  });
}

/** By time; at the same microsecond, each source keeps its own order (history, then record). */
export function sortTimeline(entries: TimelineEntry[]): TimelineEntry[] {
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.at < b.e.at ? -1 : a.e.at > b.e.at ? 1 : a.i - b.i))
    .map(({ e }) => e);
}
