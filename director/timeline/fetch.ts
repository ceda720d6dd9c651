/** Reading Temporal: finding a run there, and the histories of its workflow and task workflows. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Payload as SdkPayload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions.js';
import { runWorkflowId } from '../runs.js';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
export type Payload = temporal.api.common.v1.IPayload;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A workflow id, a run id whose workflow is `prd-run-<id>`, or an AuraRunId value. */
export async function findInTemporal(client: Client, ref: string): Promise<{ workflowId: string; runId: string | null } | null> {
  const candidates = UUID.test(ref) ? [runWorkflowId(ref), ref] : [ref];
  for (const id of candidates) {
    try {
      const d = await client.workflow.getHandle(id).describe();
      return { workflowId: id, runId: d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.runId) ?? (UUID.test(ref) ? ref : null) };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  // The list query takes a quoted value: only plain ids are asked for.
  if (/^[\w.:-]+$/.test(ref)) {
    for await (const w of client.workflow.list({ query: `AuraRunId = "${ref}"`, pageSize: 1 })) {
      return { workflowId: w.workflowId, runId: ref };
    }
  }
  return null;
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof WorkflowNotFoundError ||
    (err as { code?: unknown }).code === 5 ||
    (err as { cause?: { code?: unknown } }).cause?.code === 5
  );
}

export async function fetchHistories(
  client: Client,
  workflowId: string,
  taskWorkflowIds: string[],
  notes: string[],
): Promise<{ workflowId: string; events: HistoryEvent[] }[]> {
  const fetch = async (id: string): Promise<HistoryEvent[] | null> => {
    try {
      return (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  };
  const parent = await fetch(workflowId);
  if (!parent) {
    notes.push(
      `Temporal has no history of ${workflowId} (purged from the dev server, or past the namespace's retention): the governance record only`,
    );
    return [];
  }
  const out = [{ workflowId, events: parent }];
  const children = parent.flatMap((e) =>
    e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId
      ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId]
      : [],
  );
  for (const id of new Set([...children, ...taskWorkflowIds])) {
    const events = await fetch(id);
    if (events) out.push({ workflowId: id, events });
    else notes.push(`Temporal has no history of task workflow ${id}`);
  }
  return out;
}

export function decodePayload(client: Client, p: Payload | null | undefined): unknown {
  if (!p) return undefined;
  try {
    return client.options.loadedDataConverter.payloadConverter.fromPayload(p as SdkPayload);
  } catch {
    return undefined; // an encoding this client does not know: the line says what it can without it
  }
}
