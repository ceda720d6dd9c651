/**
 * The worker's side of the Director's refused commands: an Update a run's validator refuses never
 * reaches the run's history, so the workflow hands it to this sink (workflows/director-identity.ts)
 * and it is recorded here as `<command>_refused`, under the name it claimed — marked
 * "(unauthenticated)" unless a trusted proof vouches for it — whichever client sent it. Once per
 * Update id (a retried workflow task records nothing twice).
 */
import type { InjectedSinks } from '@temporalio/worker';
import type { Db } from '../db/connect.js';
import { recordRefusedCommand } from '../db/repositories/director.js';
import { checkCommandProof, recordedName, trustedCommandKeys } from '../integrity/command-proof.js';
import type { DirectorCommandPolicy } from '../activities/ledger/index.js';
import type { DirectorSinks } from '../workflows/director-identity.js';
import { resolveEscalationUpdate } from '../workflows/definitions.js';

export function directorSinks(db: Db, policy: DirectorCommandPolicy, log: (line: string) => void): InjectedSinks<DirectorSinks> {
  let trusted: string[] | null = null;
  return {
    director: {
      refused: {
        callDuringReplay: false,
        async fn(info, r) {
          const arg = (r.args?.[0] ?? {}) as { by?: unknown; reason?: unknown; kind?: unknown };
          // A task's escalation decisions are named by their kind (`reassign_refused`), as always.
          const decision = r.update === resolveEscalationUpdate.name;
          const taskKey = decision ? /\.task-(.+)$/.exec(info.workflowId)?.[1] : undefined;
          try {
            const identity = checkCommandProof(
              r.proof,
              { workflowId: info.workflowId, updateId: r.updateId, update: r.update, args: r.args },
              (trusted ??= trustedCommandKeys(policy)),
            );
            await recordRefusedCommand(db, {
              key: `director/refused/${info.workflowId}/${r.updateId}`,
              runId: r.runId,
              workflowId: info.workflowId,
              command: decision ? String(arg.kind) : r.update,
              director: recordedName(String(arg.by ?? ''), identity),
              reason: String(arg.reason ?? ''),
              refusal: r.refusal,
              details: {
                arg: r.args?.[0] ?? null,
                updateId: r.updateId,
                authenticated: identity.authenticated,
                ...(taskKey ? { taskKey } : {}),
              },
            });
          } catch (err) {
            log(`a refused ${r.update} on ${info.workflowId} could not be recorded: ${err instanceof Error ? err.message : String(err)}`);
          }
        },
      },
    },
  };
}
