/** Task names: `T1`, or `g2:T1` for a re-planned generation, from the record or a workflow id. */
import type { RunRecord } from '../../db/repositories/history.js';
import type { Labels } from './entry.js';

export function taskLabels(record: RunRecord | null, runWorkflow: string): Labels {
  const label = (key: string, generation: number) => (generation > 1 ? `g${generation}:${key}` : key);
  const byId = new Map<string, string>();
  const byWorkflow = new Map<string, string>();
  for (const t of record?.tasks ?? []) {
    byId.set(t.id, label(t.task_key, t.generation));
    if (t.workflow_id) byWorkflow.set(t.workflow_id, label(t.task_key, t.generation));
  }
  return {
    ofTask: (id) => (id ? (byId.get(id) ?? null) : null),
    ofWorkflow: (id) => {
      if (!id || id === runWorkflow) return null;
      const known = byWorkflow.get(id);
      if (known) return known;
      const m = /\.(?:g(\d+)\.)?task-(.+)$/.exec(id);
      return m ? label(m[2]!, Number(m[1] ?? 1)) : null;
    },
  };
}
