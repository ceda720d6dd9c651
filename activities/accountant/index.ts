/**
 * The Accountant (queue `aura-governance`): a scorecard for every attempt, a reputation per
 * employee per capability (governance/scoring.ts), tiers, and the thresholds: promote at 80,
 * a WARNING below 50, termination below 30. Routing reads the roster it keeps.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/connect.js';
import { listEmployees } from '../../db/repositories/employees.js';
import { appendEvent } from '../../db/repositories/ledger.js';
import {
  INITIAL_REPUTATION,
  THRESHOLDS,
  nextReputation,
  scoreComponents,
  scorecardScore,
  thresholdCrossing,
  tierFor,
  type ScorecardComponents,
  type Tier,
} from '../../governance/scoring.js';
import type { EmployeeSnapshot, ViolationType } from '../../governance/types.js';
import { effectiveStatus } from '../../governance/hr-policy.js';
import { activityRef, conflictsAsFailures, idempotencyKey } from '../context.js';
import { findByKey, inTransaction } from '../../db/repositories/idempotent.js';
import { attemptFacts, capabilityReputation, recentScoreDetails, recordScore, terminateEmployee } from '../../db/repositories/scores.js';
import { insertDisciplinaryAction, lockEmployeeStatus } from '../../db/repositories/hr.js';
import { storableJson } from '../../db/storable.js';
import { TIME_LIMITS } from '../../governance/time-limits.js';

export const SCORECARD_POLICY_VERSION = 'scorecard/1';
const RECENT_ATTEMPTS = 5;
const SUCCESS_WORDS = /\b(?:done|complete[d]?|implemented|all\s+tests?\s+pass\w*|tests?\s+pass\w*|works?)\b/i;
const TEST_FILE = /(^|\/)(test|tests|__tests__|spec)\/|\.(test|spec)\.[cm]?[jt]sx?$/;

export interface ScoreRequest {
  runId: string;
  taskId: string;
  taskKey: string;
  employeeId: string;
  capability: string;
  accepted: boolean;
  violations: ViolationType[];
  /** The verdict and the model call scored (older workflow versions did not send them). */
  verdictId?: string | null;
  modelRunId?: string | null;
  timeLimitMs?: number;
  /** Rounds the attempt took (older workflow versions: absent, one). */
  rounds?: number;
}

export interface ScoreResult {
  score: number;
  reputationBefore: number;
  reputationAfter: number;
  tier?: Tier;
  crossing?: 'promote' | 'warn' | 'terminate' | null;
}

export function createAccountantActivities(deps: { db: Db; strict?: boolean; now?: () => Date }) {
  const { db } = deps;
  const strict = deps.strict ?? true;
  const now = deps.now ?? (() => new Date());
  return conflictsAsFailures({
    /**
     * Every employee with status and reputations: what routing decides on. A read: HR ends
     * expired suspensions (`endExpiredSuspensions`); one whose expiry has passed is routed to
     * even before HR has recorded its end.
     */
    async employeeRoster(): Promise<EmployeeSnapshot[]> {
      const at = now();
      return (await listEmployees(db)).map((e) => ({ ...e, status: effectiveStatus(e, at) }));
    },

    async scoreAttempt(req: ScoreRequest): Promise<ScoreResult> {
      const ref = activityRef();
      const key = idempotencyKey(ref);
      return inTransaction(db, async (tx) => {
        const done = await findByKey(tx, 'scores', key);
        if (done) {
          return {
            score: Number(done.score),
            reputationBefore: Number(done.reputation_before),
            reputationAfter: Number(done.reputation_after),
            tier: (done.tier ?? undefined) as Tier | undefined,
          };
        }
        // Lock the employee: parallel tasks must not read the same "before".
        await lockEmployeeStatus(tx, req.employeeId);
        const before = (await capabilityReputation(tx, req.employeeId, req.capability)) ?? INITIAL_REPUTATION;

        // The facts of this attempt, from the record.
        const facts = await attemptFacts(tx, req);
        const parsed = facts.parsed;
        const recent = (await recentScoreDetails(tx, req.employeeId, req.capability, RECENT_ATTEMPTS - 1)) as {
          accepted?: boolean;
          violations?: unknown[];
        }[];
        const cleanBefore = recent.filter((d) => d.accepted && (d.violations ?? []).length === 0).length;
        const clean = req.accepted && req.violations.length === 0;
        const verification = facts.verification;
        const components: ScorecardComponents = scoreComponents({
          accepted: req.accepted,
          violations: req.violations,
          verificationPassed: verification?.ran ? verification.passed === true : req.accepted,
          claimedSuccess: parsed.ok && SUCCESS_WORDS.test(parsed.output.summary),
          wellFormed: parsed.ok || (!req.modelRunId && req.accepted),
          wroteTests: parsed.ok && parsed.output.files.some((f) => TEST_FILE.test(f.path)),
          latencyMs: facts.latencyMs,
          timeLimitMs: req.timeLimitMs ?? TIME_LIMITS.taskMs,
          recentCleanRate: (cleanBefore + (clean ? 1 : 0)) / (recent.length + 1),
          rounds: req.rounds,
        });
        const score = scorecardScore(components, req.violations);
        const after = nextReputation(before, score);
        const tier = tierFor(after);
        const crossing = thresholdCrossing(before, after);

        await recordScore(
          tx,
          {
            id: randomUUID(),
            idempotency_key: key,
            employee_id: req.employeeId,
            run_id: req.runId,
            task_id: req.taskId,
            capability: req.capability,
            score,
            reputation_before: before,
            reputation_after: after,
            details: storableJson({
              accepted: req.accepted,
              violations: req.violations,
              verdictId: req.verdictId ?? null,
              modelRunId: req.modelRunId ?? null,
              rounds: req.rounds ?? 1,
            }),
            components: storableJson(components),
            tier,
          },
          { accepted: req.accepted, at: now() },
          tierFor,
        );

        await appendEvent(tx, {
          idempotencyKey: `${key}/event`,
          actor: 'accountant',
          action: 'score.recorded',
          source: 'accountant',
          description: `${req.employeeId} scored ${score} on task ${req.taskKey} (${req.capability}); reputation ${before} -> ${after} (${tier})`,
          runId: req.runId,
          taskId: req.taskId,
          workflowId: ref.workflowId,
          activityId: ref.activityId,
          details: { score, components, reputationBefore: before, reputationAfter: after, tier, crossing },
        });

        if (crossing === 'warn' || crossing === 'terminate') {
          const action = crossing === 'terminate' ? 'TERMINATE' : 'WARNING';
          const threshold = crossing === 'terminate' ? THRESHOLDS.terminate : THRESHOLDS.warn;
          await insertDisciplinaryAction(tx, {
            id: randomUUID(),
            idempotency_key: `${key}/threshold`,
            model_id: req.employeeId,
            action,
            reason: `${req.capability} reputation ${after} fell below ${threshold}`,
            severity: crossing === 'terminate' ? 5 : 2,
            policy_version: SCORECARD_POLICY_VERSION,
            enforced: strict,
            run_id: req.runId,
            evidence: storableJson({ capability: req.capability, reputationBefore: before, reputationAfter: after, score, components }),
          });
          if (crossing === 'terminate' && strict) {
            await terminateEmployee(tx, req.employeeId);
          }
          await appendEvent(tx, {
            idempotencyKey: `${key}/threshold-event`,
            actor: 'accountant',
            source: 'accountant',
            action: `score.${crossing}`,
            severity: crossing === 'terminate' ? 'critical' : 'warning',
            description: `${req.employeeId}: ${req.capability} reputation ${after} below ${threshold}: ${action}${strict ? '' : ' [not enforced]'}`,
            runId: req.runId,
            taskId: req.taskId,
          });
        } else if (crossing === 'promote') {
          await appendEvent(tx, {
            idempotencyKey: `${key}/threshold-event`,
            actor: 'accountant',
            source: 'accountant',
            action: 'score.promote',
            description: `${req.employeeId}: ${req.capability} reputation ${after} reached ${THRESHOLDS.promote}: promoted to senior`,
            runId: req.runId,
            taskId: req.taskId,
          });
        }
        return { score, reputationBefore: before, reputationAfter: after, tier, crossing };
      });
    },
  });
}

export type AccountantActivities = ReturnType<typeof createAccountantActivities>;
