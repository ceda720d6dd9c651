/** What Temporal's events say, in words: who acted, failures, inputs, results, event times. */
import type { temporal } from '@temporalio/proto';
import type { HistoryEvent } from './fetch.js';

type Failure = temporal.api.failure.v1.IFailure;

export const ACTIVITY_ROLES: Record<string, string> = {
  inspectRound: 'auditor',
  auditAttempt: 'auditor',
  applyPolicy: 'HR',
  scoreAttempt: 'accountant',
  employeeRoster: 'accountant',
  verifyTaskOutput: 'sandbox',
  verifyWorkspace: 'sandbox',
  exportWorkspace: 'sandbox',
};
/** Signals one workflow of the run sends another: the Manager's own plumbing. */
const INTERNAL_SIGNALS = new Set(['taskProgress', 'budgetExhausted', 'budgetUpdate', 'runControl']);
export const RETRY_STATES = [
  'unspecified',
  'in progress',
  'non-retryable failure',
  'timeout',
  'maximum attempts reached',
  'no retry policy',
  'internal server error',
  'cancel requested',
];
export const TIMEOUT_TYPES = ['unspecified', 'start-to-close', 'schedule-to-start', 'schedule-to-close', 'heartbeat'];

export interface ActivityInfo {
  type: string;
  activityId: string;
  summary: string | null;
  who: string;
  attempt: number | null;
  round: number | null;
  startedAttempt?: number;
  startedAt?: string;
}

export type Obj = Record<string, unknown>;
export const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
export const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export function tsIso(ts: HistoryEvent['eventTime']): string {
  const seconds = Number(ts?.seconds?.toString() ?? 0);
  const nanos = ts?.nanos ?? 0;
  const iso = new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString(); // …SS.mmmZ
  return `${iso.slice(0, -1)}${String(Math.floor(nanos / 1000) % 1000).padStart(3, '0')}Z`;
}

export function failureText(f: Failure | null | undefined): string {
  if (!f) return 'no failure recorded';
  const parts = [f.message || '(no message)'];
  for (let c = f.cause, depth = 0; c && depth < 3; c = c.cause, depth++) if (c.message) parts.push(c.message);
  const type = f.applicationFailureInfo?.type;
  return `${type ? `${type}: ` : ''}${parts.join(': ')}`;
}

/** What a Director's (or anyone's) signal or update says, in a few words. */
export function describeInput(name: string, input: Obj): string {
  if (name === 'taskProgress')
    return ` ${str(input.key) ?? '?'} ${str(input.status) ?? ''}${str(input.assignedTo) ? ` (${input.assignedTo}, attempt ${num(input.attempts) ?? '?'})` : ''}${str(input.escalation) ? `: ${input.escalation}` : ''}`;
  if (name === 'budgetExhausted') return ` from ${str(input.taskKey) ?? '?'}: ${str(input.message) ?? ''}`;
  const by = str(input.by) ?? str(asObj(input.stop).by);
  const kind = str(input.kind);
  const budget = asObj(input.budget);
  return (
    `${by ? ` from ${by}` : ''}${kind ? ` (${kind}${str(input.employeeId) ? ` → ${input.employeeId}` : ''})` : ''}` +
    `${num(budget.maxTokens) !== undefined ? ` budget ${budget.maxTokens} tokens / $${budget.maxCostUsd}` : ''}${'paused' in input ? ` paused=${String(input.paused)}` : ''}` +
    `${(str(input.reason) ?? str(asObj(input.stop).reason)) ? `: ${str(input.reason) ?? str(asObj(input.stop).reason)}` : ''}`
  );
}

export function whoOfInput(name: string, input: Obj, identity: string | null | undefined): string {
  const by = str(input.by) ?? str(asObj(input.stop).by);
  if (INTERNAL_SIGNALS.has(name)) return 'manager';
  if (by) return `director:${by}`;
  return identity ? `unattributed (${identity})` : 'unattributed';
}

/** A few words on what an activity returned, for the lines a review looks for. */
export function resultText(result: unknown): string {
  const r = asObj(result);
  const bits: string[] = [];
  if (typeof r.clean === 'boolean') {
    const types = Array.isArray(r.violations) ? r.violations.map((v) => str(asObj(v).type)).filter(Boolean) : [];
    bits.push(r.clean ? 'clean' : `violations: ${types.join(', ')}`);
  }
  if (typeof r.passed === 'boolean') bits.push(r.passed ? 'passed' : `failed (exit ${r.exitCode ?? '-'})`);
  if (Array.isArray(r.actions) && r.actions.length) bits.push(`actions: ${r.actions.join(', ')}`);
  if (num(r.score) !== undefined) bits.push(`score ${r.score}`);
  if (typeof r.repairable === 'boolean') bits.push(r.repairable ? 'repairable' : 'not repairable');
  if (str(r.status)) bits.push(`status ${r.status}`);
  if (str(r.acceptedBy)) bits.push(`accepted from ${r.acceptedBy}`);
  if (str(r.modelRunId)) bits.push(`model run ${r.modelRunId}`);
  if (str(r.verdictId)) bits.push(`verdict ${r.verdictId}`);
  return bits.length ? `: ${bits.join('; ')}` : '';
}

/** The details every line of one activity carries. */
export function activityDetails(
  event: string,
  info: ActivityInfo | undefined,
  activityAttempt: number | null,
  identity?: string | null,
): Obj {
  return {
    event,
    activityType: info?.type ?? null,
    activityId: info?.activityId ?? null,
    summary: info?.summary ?? null,
    activityAttempt,
    ...(info?.round != null ? { round: info.round } : {}),
    ...(identity ? { worker: identity } : {}),
  };
}
