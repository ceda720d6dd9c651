/**
 * The governance record's rows of one run as timeline entries, one loop per table. An audit
 * event that only announces a row shown beside it (a verdict's `audit.clean`, a score's
 * `score.recorded`, …, written by the same activity), and an employee's log line of a model
 * call, are folded into that row's line.
 */
import type { RunRecord } from '../../db/repositories/history.js';
import type { Labels, TimelineEntry } from './entry.js';

const FOLDED: Record<string, 'modelRuns' | 'verdicts' | 'actions' | 'scores' | 'director' | 'freezes'> = {
  'plan.proposed': 'modelRuns',
  'task.answered': 'modelRuns',
  'audit.violations': 'verdicts',
  'audit.clean': 'verdicts',
  'hr.actions': 'actions',
  'score.recorded': 'scores',
  'score.warn': 'actions',
  'score.terminate': 'actions',
  'tests.frozen': 'freezes',
};

/** What a check was: the red run (frozen tests, no code yet), a green run (code against them), or the plan's own command. */
function checkName(kind: string, phase: string | null | undefined): string {
  if (kind === 'workspace') return 'final verification';
  if (phase === 'red') return 'red run (the frozen tests before any code: must fail)';
  if (phase === 'green') return 'green run (the code against the frozen tests)';
  return 'acceptance check';
}

/** The record's rows of one run as timeline entries (exported for tests). */
export function recordEntries(r: RunRecord, labels: Labels): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const modelRun = new Map(r.modelRuns.map((m) => [m.id, m]));
  const verdict = new Map(r.verdicts.map((v) => [v.id, v]));
  const incident = new Map(r.incidents.map((i) => [i.id, i]));
  const attemptOf = (modelRunId: string | null | undefined) => (modelRunId ? (modelRun.get(modelRunId)?.task_attempt ?? null) : null);
  // A review's call: the attempt of the output it reviewed (named in the verdict).
  const reviewed = new Map<string, string | null>();
  for (const v of r.verdicts) {
    const reviewRun = (v.review as { modelRunId?: unknown } | null)?.modelRunId;
    if (typeof reviewRun === 'string') reviewed.set(reviewRun, v.model_run_id);
  }
  const verdictAttempt = (verdictId: string | null | undefined) => attemptOf(verdictId ? verdict.get(verdictId)?.model_run_id : null);
  const row = (
    table: string,
    at: string,
    e: Omit<TimelineEntry, 'at' | 'source' | 'details'> & { details?: Record<string, unknown> },
  ): TimelineEntry => ({
    at,
    source: 'record',
    who: e.who,
    what: e.what,
    task: e.task,
    attempt: e.attempt,
    ref: e.ref,
    details: { table, ...e.details },
  });

  // The plan round of each planner call, from the event that announced it.
  const planRound = new Map<string, number>();
  for (const e of r.events) {
    const id = (e.details as { modelRunId?: unknown }).modelRunId;
    const round = /\(round (\d+)\)/.exec(e.description ?? '')?.[1];
    if (e.action === 'plan.proposed' && typeof id === 'string' && round) planRound.set(id, Number(round));
  }

  for (const m of r.modelRuns) {
    const spend = `${m.input_tokens ?? 0}+${m.output_tokens ?? 0} tokens${m.cost_usd !== null && Number(m.cost_usd) > 0 ? `, $${Number(m.cost_usd)}` : ''}, ${m.latency_ms ?? '?'} ms${m.finish_reason ? `, ${m.finish_reason}` : ''}`;
    const outcome = m.error ? `call failed: ${m.error}` : 'answered';
    const what =
      m.kind === 'plan'
        ? `planner ${outcome}${planRound.has(m.id) ? ` (plan round ${planRound.get(m.id)})` : ''} (${spend})`
        : m.kind === 'review'
          ? `reviewer ${outcome} (${spend})`
          : m.kind === 'tests'
            ? `tester ${outcome}: acceptance tests${m.round && m.round > 1 ? ` (round ${m.round})` : ''} (${spend})`
            : m.kind === 'dispute'
              ? `tester ${outcome} a dispute of its tests (${spend})`
              : `${outcome}${m.round ? ` (round ${m.round})` : ''} (${spend})`;
    out.push(
      row('model_runs', m.at, {
        who: `employee:${m.employee_id}`,
        what: `${what}${m.output_altered ? '; output stored altered (NUL or lone surrogate)' : ''}`,
        task: labels.ofTask(m.task_id),
        attempt: m.task_attempt ?? (reviewed.has(m.id) ? attemptOf(reviewed.get(m.id)) : null),
        ref: m.id,
        details: {
          kind: m.kind,
          employeeId: m.employee_id,
          round: m.round,
          callAttempt: m.attempt,
          promptVersion: m.prompt_version,
          inputTokens: m.input_tokens,
          outputTokens: m.output_tokens,
          costUsd: m.cost_usd === null ? null : Number(m.cost_usd),
          latencyMs: m.latency_ms,
          finishReason: m.finish_reason,
          error: m.error,
        },
      }),
    );
  }

  for (const v of r.verifications) {
    const outcome = !v.ran
      ? `not run: ${v.skipped_reason ?? 'no reason recorded'}`
      : v.passed
        ? 'passed'
        : `failed (exit ${v.exit_code ?? '-'}${v.timed_out ? ', timed out' : ''})`;
    out.push(
      row('verifications', v.at, {
        who: 'sandbox',
        what: `${checkName(v.kind, v.phase)} \`${v.command}\` ${outcome} in ${v.duration_ms} ms${v.phase === 'red' && v.ran ? (v.passed ? ': PASSED with nothing implemented, the tests check nothing' : ', as it must') : ''}`,
        task: labels.ofTask(v.task_id),
        attempt: attemptOf(v.model_run_id),
        ref: v.id,
        details: {
          kind: v.kind,
          phase: v.phase ?? null,
          command: v.command,
          ran: v.ran,
          passed: v.passed,
          exitCode: v.exit_code,
          timedOut: v.timed_out,
          modelRunId: v.model_run_id,
          round: v.model_run_id ? (modelRun.get(v.model_run_id)?.round ?? null) : null,
          ...(v.output_sha256 ? { outputSha256: v.output_sha256 } : {}),
        },
      }),
    );
  }

  for (const f of r.freezes) {
    const files = (f.files as { path: string; sha256: string }[] | null) ?? [];
    out.push(
      row('acceptance_tests', f.at, {
        who: 'manager',
        what:
          `acceptance tests frozen: version ${f.version} by tester ${f.tester_id} (${f.reason}; decided by ${f.decided_by}): ` +
          (files.map((x) => `${x.path} sha256 ${x.sha256.slice(0, 12)}`).join(', ') || 'no files'),
        task: labels.ofTask(f.task_id) ?? f.task_key,
        attempt: null,
        ref: f.id,
        details: {
          taskKey: f.task_key,
          version: f.version,
          testerId: f.tester_id,
          modelRunId: f.model_run_id,
          files,
          reason: f.reason,
          decidedBy: f.decided_by,
          ...(f.dispute ? { dispute: f.dispute } : {}),
        },
      }),
    );
  }

  for (const v of r.verdicts) {
    const violations = (v.violations as { type: string; message: string; evidence?: { sha256: string } }[]) ?? [];
    const review = v.review as { reviewerId?: string; verdict?: string } | null;
    out.push(
      row('audit_verdicts', v.at, {
        who: 'auditor',
        what:
          `verdict on ${v.employee_id}: ${v.clean ? 'clean' : violations.map((x) => x.type).join(', ')}` +
          `${v.rounds && v.rounds > 1 ? ` (after ${v.rounds} rounds)` : ''}${review?.reviewerId ? `; reviewer ${review.reviewerId}: ${review.verdict ?? '-'} (evidence only)` : ''}`,
        task: labels.ofTask(v.task_id),
        attempt: attemptOf(v.model_run_id),
        ref: v.id,
        details: {
          employeeId: v.employee_id,
          clean: v.clean,
          modelRunId: v.model_run_id,
          rounds: v.rounds,
          violations: violations.map((x) => ({ type: x.type, message: x.message, sha256: x.evidence?.sha256 ?? null })),
          review,
        },
      }),
    );
  }

  for (const i of r.incidents) {
    const evidence = (i.evidence as { excerpt?: string; sha256?: string }[]) ?? [];
    out.push(
      row('incidents', i.at, {
        who: i.model_id ? 'HR' : 'manager',
        what: `incident: ${i.model_id ?? 'infrastructure (no employee)'} ${i.violation} (severity ${i.severity ?? '-'}): ${i.message}${evidence[0]?.sha256 ? `; evidence sha256 ${evidence[0].sha256.slice(0, 12)}` : ''}`,
        task: labels.ofTask(i.task_id),
        attempt: verdictAttempt(i.verdict_id),
        ref: i.id,
        details: {
          employeeId: i.model_id,
          violation: i.violation,
          severity: i.severity,
          status: i.status,
          verdictId: i.verdict_id,
          evidence,
        },
      }),
    );
  }

  // A threshold action (the scorecard's) has no incident: its task is its score's.
  const scoreByBase = new Map(r.scores.map((s) => [s.idempotency_key, s]));
  for (const a of r.actions) {
    const inc = a.incident_id ? incident.get(a.incident_id) : undefined;
    const score = inc ? undefined : scoreByBase.get(a.idempotency_key?.replace(/\/threshold$/, '') ?? '');
    const scoreRun = (score?.details as { modelRunId?: string } | undefined)?.modelRunId;
    out.push(
      row('disciplinary_actions', a.at, {
        who: 'HR',
        what: `${a.action} for ${a.model_id}: ${a.reason}${a.expires_at ? ` until ${new Date(a.expires_at).toISOString()}` : ''} [${a.policy_version}${a.enforced ? '' : ', not enforced'}]`,
        task: labels.ofTask(inc?.task_id ?? score?.task_id),
        attempt: inc ? verdictAttempt(inc.verdict_id) : attemptOf(scoreRun),
        ref: a.id,
        details: {
          employeeId: a.model_id,
          action: a.action,
          severity: a.severity,
          policyVersion: a.policy_version,
          enforced: a.enforced,
          incidentId: a.incident_id,
          expiresAt: a.expires_at ? new Date(a.expires_at).toISOString() : null,
        },
      }),
    );
  }

  for (const s of r.scores) {
    const d = s.details as { modelRunId?: string; verdictId?: string; accepted?: boolean; rounds?: number };
    out.push(
      row('scores', s.at, {
        who: 'accountant',
        what: `scored ${s.employee_id} ${Number(s.score)} (${s.capability}${d.accepted === false ? ', not accepted' : ''}): reputation ${Number(s.reputation_before)} → ${Number(s.reputation_after)}${s.tier ? `, ${s.tier}` : ''}`,
        task: labels.ofTask(s.task_id),
        attempt: attemptOf(d.modelRunId),
        ref: s.id,
        details: {
          employeeId: s.employee_id,
          capability: s.capability,
          score: Number(s.score),
          reputationBefore: Number(s.reputation_before),
          reputationAfter: Number(s.reputation_after),
          tier: s.tier,
          verdictId: d.verdictId ?? null,
          modelRunId: d.modelRunId ?? null,
        },
      }),
    );
  }

  for (const a of r.director) {
    out.push(
      row('director_actions', a.at, {
        who: `director:${a.director_id ?? '(unknown)'}`,
        what: `${a.action}${a.reason ? `: ${a.reason}` : ''}`,
        task: labels.ofTask(a.target_id),
        attempt: null,
        ref: a.id,
        details: {
          director: a.director_id,
          action: a.action,
          targetId: a.target_id,
          reason: a.reason,
          ...(Object.keys(a.details ?? {}).length ? { details: a.details } : {}),
        },
      }),
    );
  }

  // Audit events, but not those that only announce a row shown above (same activity, same fact).
  const keysOf = {
    modelRuns: r.modelRuns.map((x) => x.idempotency_key),
    verdicts: r.verdicts.map((x) => x.idempotency_key),
    actions: r.actions.map((x) => x.idempotency_key ?? ''),
    scores: r.scores.map((x) => x.idempotency_key),
    director: r.director.map((x) => x.idempotency_key ?? ''),
    freezes: r.freezes.map((x) => x.idempotency_key),
  };
  const folded = (action: string, key: string | null) => {
    const table = action.startsWith('director.') ? 'director' : FOLDED[action];
    const base = key?.match(/^(.*)\/(?:event|threshold-event)$/)?.[1];
    return !!table && !!base && keysOf[table].some((k) => k === base || k.startsWith(`${base}/`));
  };
  for (const e of r.events) {
    if (folded(e.action, e.idempotency_key)) continue;
    const d = e.details as { attempt?: unknown; modelRunId?: unknown };
    const attempt =
      (typeof d.attempt === 'number' ? d.attempt : null) ??
      (typeof d.modelRunId === 'string' ? attemptOf(d.modelRunId) : null) ??
      (Number(/\battempt (\d+)/.exec(e.description ?? '')?.[1]) || null);
    out.push(
      row('audit_events', e.at, {
        who: whoOfEvent(e.source, e.actor),
        what: `${e.action}${e.severity && e.severity !== 'info' ? ` [${e.severity}]` : ''}: ${e.description ?? ''}`,
        task: labels.ofTask(e.task_id) ?? labels.ofWorkflow(e.workflow_id),
        attempt,
        ref: e.id,
        details: {
          seq: Number(e.seq),
          action: e.action,
          severity: e.severity,
          actor: e.actor,
          workflowId: e.workflow_id,
          activityId: e.activity_id,
          ...(Object.keys(e.details ?? {}).length ? { details: e.details } : {}),
        },
      }),
    );
  }

  // An employee's log line of a model call says what the call's row says.
  const callKeys = new Set(keysOf.modelRuns);
  for (const l of r.logs) {
    if (l.idempotency_key && callKeys.has(l.idempotency_key)) continue;
    out.push(
      row('agent_activity_logs', l.at, {
        who: `employee:${l.agent_id}`,
        what: `${l.severity ? `[${l.severity}] ` : ''}${l.message ?? ''}`,
        task: labels.ofTask(l.task_id),
        attempt: null,
        ref: l.id,
      }),
    );
  }
  return out;
}

function whoOfEvent(source: string | null, actor: string): string {
  switch (source) {
    case 'employee':
      return `employee:${actor}`;
    case 'director':
      return `director:${actor}`;
    case 'hr':
      return 'HR';
    case 'auditor':
    case 'accountant':
    case 'sandbox':
    case 'manager':
      return source;
    default:
      return actor;
  }
}
