/** What a timeline is made of: its lines, the whole, and how task keys are named. */
import type { Client } from '@temporalio/client';
import type { AuraConfig } from '../../config/config.js';
import type { RunHeader } from '../../db/repositories/history.js';
import type { Db } from '../../db/connect.js';

/** `db`: a connection already open (the Manager API's); else one is opened for the command. */
export type TimelineCtx = { config: () => AuraConfig; client: (cfg: AuraConfig) => Promise<Client>; db?: Db };

/** One line of the timeline (`--json` prints an array of these). */
export interface TimelineEntry {
  /** ISO 8601, UTC, microseconds. */
  at: string;
  source: 'temporal' | 'record';
  /** `manager`, `auditor`, `HR`, `accountant`, `sandbox`, `employee:<id>`, `director:<name>`. */
  who: string;
  what: string;
  /** Task key (`T1`; a re-planned generation: `g2:T1`), or null for the run itself. */
  task: string | null;
  /** The task's attempt (one per employee it was given to), when known. */
  attempt: number | null;
  /** Record: the row id (its table in `details.table`). Temporal: `<workflow id>#<event id>`. */
  ref: string | null;
  details: Record<string, unknown>;
}

export interface Timeline {
  runId: string | null;
  workflowId: string;
  run: RunHeader | null;
  notes: string[];
  entries: TimelineEntry[];
}

/** A task's key as the timeline prints it, from its row id or its workflow id. */
export interface Labels {
  ofTask(taskId: string | null | undefined): string | null;
  ofWorkflow(workflowId: string | null | undefined): string | null;
}
