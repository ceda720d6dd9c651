/**
 * A run's workspace is not a folder that must be shared between hosts: it is the accepted
 * outputs of its tasks, layered in order. Any worker can rebuild it from the database.
 */
import type { Db } from '../connect.js';
import type { WorkspaceFile } from '../../governance/context.js';
import { acceptedModelRuns } from './runs.js';
import { getTaskOutputs } from './model-runs.js';

/** Every file of the workspace with the task it was accepted from; a later task's file wins. */
export async function workspaceFiles(db: Db, taskIds: string[]): Promise<WorkspaceFile[]> {
  const accepted = await acceptedModelRuns(db, taskIds);
  const outputs = await getTaskOutputs(
    db,
    accepted.map((a) => a.modelRunId),
  );
  const files = new Map<string, WorkspaceFile>();
  for (const { taskId, modelRunId } of accepted) {
    const parsed = outputs.get(modelRunId) ?? { ok: false };
    // An accepted output always parsed once; one accepted by a Director override may not.
    if (!parsed.ok) continue;
    for (const f of parsed.output.files) {
      files.delete(f.path); // keep the layering order: the newest version last
      files.set(f.path, { path: f.path, content: f.content, fromTask: taskId });
    }
  }
  return [...files.values()];
}

export async function acceptedFiles(db: Db, taskIds: string[]): Promise<Map<string, string>> {
  return new Map((await workspaceFiles(db, taskIds)).map((f) => [f.path, f.content]));
}
