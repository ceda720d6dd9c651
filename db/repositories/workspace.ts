/**
 * A run's workspace is not a folder that must be shared between hosts: it is the accepted
 * outputs of its tasks, layered in order. Any worker can rebuild it from the database.
 */
import type { Db } from '../connect.js';
import { parseTaskOutput } from '../../governance/audit-rules.js';
import { acceptedModelRuns } from './runs.js';
import { getModelRunOutputs } from './model-runs.js';

export async function acceptedFiles(db: Db, taskIds: string[]): Promise<Map<string, string>> {
  const accepted = await acceptedModelRuns(db, taskIds);
  const outputs = await getModelRunOutputs(db, accepted.map((a) => a.modelRunId));
  const files = new Map<string, string>();
  for (const { modelRunId } of accepted) {
    const parsed = parseTaskOutput(outputs.get(modelRunId) ?? '');
    // An accepted output always parsed once; one accepted by a Director override may not.
    if (!parsed.ok) continue;
    for (const f of parsed.output.files) files.set(f.path, f.content);
  }
  return files;
}
