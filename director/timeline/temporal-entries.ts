/**
 * Temporal's history of one workflow as timeline entries: what executed (the workflow,
 * activities with their attempts, signals, updates, children), each line naming who acted and
 * the history event it comes from. One handler per event type, in a table keyed by the
 * attributes that event type carries (an event carries exactly one); event types with no
 * handler (workflow tasks, markers, timers, search attributes, outgoing signals) make no line.
 */
import type { Labels, TimelineEntry } from './entry.js';
import type { HistoryEvent, Payload } from './fetch.js';
import {
  ACTIVITY_ROLES,
  activityDetails,
  asObj,
  describeInput,
  failureText,
  num,
  resultText,
  RETRY_STATES,
  str,
  TIMEOUT_TYPES,
  tsIso,
  whoOfInput,
  type ActivityInfo,
  type Obj,
} from './temporal-text.js';

type Attributes = { [K in keyof HistoryEvent]-?: K extends `${string}EventAttributes` ? K : never }[keyof HistoryEvent];
type Attrs<K extends Attributes> = NonNullable<HistoryEvent[K]>;

/** What the workflow's history has said so far, which later events are read against. */
interface WorkflowState {
  workflowType: string;
  /** The task's attempt (one per employee it went to) the following activities belong to. */
  attempt: number | null;
  /** The repair round the following activities belong to. */
  round: number | null;
  /** Scheduled activities by the id of their scheduling event. */
  scheduled: Map<string, ActivityInfo>;
  /** Accepted updates by update id. */
  updates: Map<string, { name: string; who: string }>;
  /** Child workflow ids by the id of their initiating event. */
  children: Map<string, string>;
}

/** One event being read: its place, the workflow's state, and where its line goes. */
interface EventContext {
  s: WorkflowState;
  eventId: string;
  at: string;
  summary: string | undefined;
  decode: (p: Payload | null | undefined) => unknown;
  taskOf: Labels['ofWorkflow'];
  push: (who: string, what: string, details: Obj, extra?: Partial<TimelineEntry>) => void;
}

type Handler<K extends Attributes> = (a: Attrs<K>, x: EventContext) => void;

const unattributed = (identity: string | null | undefined) => (identity ? `unattributed (${identity})` : 'unattributed');

type ChildAttributes = Attrs<
  | 'childWorkflowExecutionStartedEventAttributes'
  | 'childWorkflowExecutionCompletedEventAttributes'
  | 'childWorkflowExecutionFailedEventAttributes'
  | 'childWorkflowExecutionCanceledEventAttributes'
  | 'childWorkflowExecutionTimedOutEventAttributes'
  | 'childWorkflowExecutionTerminatedEventAttributes'
>;

/** A child workflow's start or end, as its parent's history tells it. */
const child =
  (verb: string, event: string) =>
  (a: ChildAttributes, x: EventContext): void => {
    const childId =
      a.workflowExecution?.workflowId ?? x.s.children.get(String((a as { initiatedEventId?: unknown }).initiatedEventId ?? '')) ?? '?';
    const result = 'result' in a ? resultText(x.decode(a.result?.payloads?.[0])) : '';
    const failure = 'failure' in a && a.failure ? `: ${failureText(a.failure)}` : '';
    x.push(
      'manager',
      `child ${a.workflowType?.name ?? 'workflow'} ${childId} ${verb}${result}${failure}`,
      { event, childWorkflowId: childId },
      { task: x.taskOf(childId), attempt: null },
    );
  };

/** An activity's line after it was scheduled: who and which attempt of the task it belongs to. */
const activityLine = (x: EventContext, info: ActivityInfo | undefined) => ({
  who: info?.who ?? 'manager',
  type: info?.type ?? '?',
  extra: { attempt: info ? info.attempt : x.s.attempt },
});

const HANDLERS: { [K in Attributes]?: Handler<K> } = {
  workflowExecutionStartedEventAttributes(a, x) {
    x.s.workflowType = a.workflowType?.name ?? x.s.workflowType;
    const input = asObj(x.decode(a.input?.payloads?.[0]));
    const parent = a.parentWorkflowExecution?.workflowId;
    x.push(
      'manager',
      `workflow ${x.s.workflowType} started${x.summary ? ` ("${x.summary}")` : ''}${parent ? ` by ${parent}` : ''}${(a.attempt ?? 1) > 1 ? ` (attempt ${a.attempt})` : ''}`,
      {
        event: 'WorkflowExecutionStarted',
        workflowType: x.s.workflowType,
        taskQueue: a.taskQueue?.name,
        parentWorkflowId: parent ?? null,
        project: str(input.project) ?? null,
        identity: a.identity || null,
      },
    );
  },
  workflowExecutionCompletedEventAttributes(a, x) {
    const result = x.decode(a.result?.payloads?.[0]);
    x.push('manager', `workflow ${x.s.workflowType} completed${resultText(result)}`, {
      event: 'WorkflowExecutionCompleted',
      status: str(asObj(result).status) ?? null,
    });
  },
  workflowExecutionFailedEventAttributes(a, x) {
    x.push(
      'manager',
      `workflow ${x.s.workflowType} failed: ${failureText(a.failure)} (${RETRY_STATES[a.retryState ?? 0] ?? a.retryState})`,
      {
        event: 'WorkflowExecutionFailed',
        failure: failureText(a.failure),
      },
    );
  },
  workflowExecutionTimedOutEventAttributes(_a, x) {
    x.push('manager', `workflow ${x.s.workflowType} timed out`, { event: 'WorkflowExecutionTimedOut' });
  },
  workflowExecutionCancelRequestedEventAttributes(a, x) {
    x.push(unattributed(a.identity), `cancellation of ${x.s.workflowType} requested${a.cause ? `: ${a.cause}` : ''}`, {
      event: 'WorkflowExecutionCancelRequested',
      identity: a.identity || null,
    });
  },
  workflowExecutionCanceledEventAttributes(_a, x) {
    x.push('manager', `workflow ${x.s.workflowType} cancelled`, { event: 'WorkflowExecutionCanceled' });
  },
  workflowExecutionTerminatedEventAttributes(a, x) {
    x.push(unattributed(a.identity), `workflow ${x.s.workflowType} terminated${a.reason ? `: ${a.reason}` : ''}`, {
      event: 'WorkflowExecutionTerminated',
      identity: a.identity || null,
      reason: a.reason || null,
    });
  },
  workflowExecutionContinuedAsNewEventAttributes(a, x) {
    x.push('manager', `workflow ${x.s.workflowType} continued as new`, {
      event: 'WorkflowExecutionContinuedAsNew',
      newRunId: a.newExecutionRunId,
    });
  },
  workflowTaskFailedEventAttributes(a, x) {
    x.push('manager', `workflow task failed (cause ${a.cause ?? '?'}): ${failureText(a.failure)}`, {
      event: 'WorkflowTaskFailed',
      cause: a.cause,
      identity: a.identity || null,
    });
  },
  workflowTaskTimedOutEventAttributes(a, x) {
    x.push('manager', `workflow task timed out (${TIMEOUT_TYPES[a.timeoutType ?? 0] ?? '?'})`, { event: 'WorkflowTaskTimedOut' });
  },
  activityTaskScheduledEventAttributes(a, x) {
    const { s } = x;
    const type = a.activityType?.name ?? '?';
    const input = asObj(x.decode(a.input?.payloads?.[0]));
    const queue = a.taskQueue?.name ?? '';
    // Which attempt of the task (one per employee it went to) and which repair round the
    // following activities belong to.
    if (type === 'performTask') {
      s.attempt = num(input.attempt) ?? s.attempt;
      s.round = num(input.round) ?? 1;
    } else if (type === 'recordTaskStatus' && input.status === 'running') {
      s.attempt = Number(/^attempt (\d+)/.exec(str(input.description) ?? '')?.[1]) || s.attempt;
      s.round = null;
    } else if (type === 'inspectRound') {
      s.round = num(input.round) ?? s.round;
    }
    const employee = str(input.employeeId);
    const who = queue.startsWith('aura-employee-')
      ? `employee:${employee ?? queue.slice('aura-employee-'.length)}`
      : (ACTIVITY_ROLES[type] ?? (queue === 'aura-sandbox' ? 'sandbox' : 'manager'));
    // Routing comes before an attempt: it belongs to none.
    const info: ActivityInfo = {
      type,
      activityId: a.activityId ?? '?',
      summary: x.summary ?? null,
      who,
      attempt: type === 'employeeRoster' ? null : s.attempt,
      round: type === 'planWithEmployee' ? (num(input.round) ?? null) : type === 'employeeRoster' ? null : s.round,
    };
    s.scheduled.set(x.eventId, info);
    x.push(
      who,
      `activity ${type} scheduled${x.summary ? `: "${x.summary}"` : ''} (on ${queue})`,
      {
        event: 'ActivityTaskScheduled',
        activityType: type,
        activityId: info.activityId,
        summary: info.summary,
        taskQueue: queue,
        ...(employee ? { employeeId: employee } : {}),
        ...(info.round !== null ? { round: info.round } : {}),
      },
      { attempt: info.attempt },
    );
  },
  activityTaskStartedEventAttributes(a, x) {
    const info = x.s.scheduled.get(String(a.scheduledEventId ?? ''));
    const n = a.attempt ?? 1;
    if (info) Object.assign(info, { startedAttempt: n, startedAt: x.at });
    const retries = n > 1 ? ` (${n - 1} ${n - 1 === 1 ? 'retry' : 'retries'}; last failure: ${failureText(a.lastFailure)})` : '';
    const l = activityLine(x, info);
    x.push(
      l.who,
      `activity ${l.type} started, attempt ${n}${retries}`,
      activityDetails('ActivityTaskStarted', info, n, a.identity),
      l.extra,
    );
  },
  activityTaskCompletedEventAttributes(a, x) {
    const info = x.s.scheduled.get(String(a.scheduledEventId ?? ''));
    const n = info?.startedAttempt ?? 1;
    const result = x.decode(a.result?.payloads?.[0]);
    const l = activityLine(x, info);
    x.push(
      l.who,
      `activity ${l.type} completed${n > 1 ? ` on attempt ${n}` : ''}${resultText(result)}`,
      activityDetails('ActivityTaskCompleted', info, n, a.identity),
      l.extra,
    );
  },
  activityTaskFailedEventAttributes(a, x) {
    const info = x.s.scheduled.get(String(a.scheduledEventId ?? ''));
    const n = info?.startedAttempt ?? 1;
    const l = activityLine(x, info);
    x.push(
      l.who,
      `activity ${l.type} failed on attempt ${n}: ${failureText(a.failure)} (${RETRY_STATES[a.retryState ?? 0] ?? a.retryState})`,
      { ...activityDetails('ActivityTaskFailed', info, n, a.identity), failure: failureText(a.failure) },
      l.extra,
    );
  },
  activityTaskTimedOutEventAttributes(a, x) {
    const info = x.s.scheduled.get(String(a.scheduledEventId ?? ''));
    const n = info?.startedAttempt ?? 1;
    const timeout = TIMEOUT_TYPES[a.failure?.timeoutFailureInfo?.timeoutType ?? 0] ?? '?';
    const l = activityLine(x, info);
    x.push(
      l.who,
      `activity ${l.type} timed out (${timeout}) on attempt ${n}${a.failure?.cause ? `: ${failureText(a.failure.cause)}` : ''} (${RETRY_STATES[a.retryState ?? 0] ?? a.retryState})`,
      { ...activityDetails('ActivityTaskTimedOut', info, n), timeout },
      l.extra,
    );
  },
  activityTaskCancelRequestedEventAttributes(a, x) {
    const info = x.s.scheduled.get(String(a.scheduledEventId ?? ''));
    const l = activityLine(x, info);
    x.push(
      'manager',
      `cancellation of activity ${l.type} requested`,
      activityDetails('ActivityTaskCancelRequested', info, info?.startedAttempt ?? null),
      l.extra,
    );
  },
  activityTaskCanceledEventAttributes(a, x) {
    const info = x.s.scheduled.get(String(a.scheduledEventId ?? ''));
    const l = activityLine(x, info);
    x.push(l.who, `activity ${l.type} cancelled`, activityDetails('ActivityTaskCanceled', info, info?.startedAttempt ?? null), l.extra);
  },
  workflowExecutionSignaledEventAttributes(a, x) {
    const name = a.signalName ?? '?';
    const input = asObj(x.decode(a.input?.payloads?.[0]));
    x.push(
      whoOfInput(name, input, a.identity),
      `signal ${name} received${describeInput(name, input)}`,
      {
        event: 'WorkflowExecutionSignaled',
        signal: name,
        by: str(input.by) ?? null,
        reason: str(input.reason) ?? null,
        identity: a.identity || null,
      },
      name === 'taskProgress' && str(input.key) ? { task: str(input.key)! } : {},
    );
  },
  workflowExecutionUpdateAcceptedEventAttributes(a, x) {
    const name = a.acceptedRequest?.input?.name ?? '?';
    const input = asObj(x.decode(a.acceptedRequest?.input?.args?.payloads?.[0]));
    const who = whoOfInput(name, input, a.acceptedRequest?.meta?.identity);
    x.s.updates.set(a.acceptedRequest?.meta?.updateId || a.protocolInstanceId || '', { name, who });
    x.push(who, `update ${name} accepted${describeInput(name, input)}`, {
      event: 'WorkflowExecutionUpdateAccepted',
      update: name,
      updateId: a.acceptedRequest?.meta?.updateId ?? null,
      by: str(input.by) ?? null,
      reason: str(input.reason) ?? null,
    });
  },
  workflowExecutionUpdateCompletedEventAttributes(a, x) {
    const u = x.s.updates.get(a.meta?.updateId ?? '') ?? { name: '?', who: 'manager' };
    const answer = asObj(x.decode(a.outcome?.success?.payloads?.[0]));
    const outcome = a.outcome?.failure
      ? `refused: ${failureText(a.outcome.failure)}`
      : `${str(answer.message) ?? 'done'}${str(answer.status) ? ` (now ${answer.status})` : ''}`;
    x.push(u.who, `update ${u.name} completed: ${outcome}`, {
      event: 'WorkflowExecutionUpdateCompleted',
      update: u.name,
      updateId: a.meta?.updateId ?? null,
    });
  },
  startChildWorkflowExecutionInitiatedEventAttributes(a, x) {
    const id = a.workflowId ?? '?';
    x.s.children.set(x.eventId, id);
    x.push(
      'manager',
      `child ${a.workflowType?.name ?? 'workflow'} ${id} initiated`,
      { event: 'StartChildWorkflowExecutionInitiated', childWorkflowId: id },
      { task: x.taskOf(id), attempt: null },
    );
  },
  startChildWorkflowExecutionFailedEventAttributes(a, x) {
    x.push(
      'manager',
      `child ${a.workflowId} could not start (cause ${a.cause})`,
      { event: 'StartChildWorkflowExecutionFailed', childWorkflowId: a.workflowId },
      { task: x.taskOf(a.workflowId), attempt: null },
    );
  },
  childWorkflowExecutionStartedEventAttributes: child('started', 'ChildWorkflowExecutionStarted'),
  childWorkflowExecutionCompletedEventAttributes: child('completed', 'ChildWorkflowExecutionCompleted'),
  childWorkflowExecutionFailedEventAttributes: child('failed', 'ChildWorkflowExecutionFailed'),
  childWorkflowExecutionCanceledEventAttributes: child('cancelled', 'ChildWorkflowExecutionCanceled'),
  childWorkflowExecutionTimedOutEventAttributes: child('timed out', 'ChildWorkflowExecutionTimedOut'),
  childWorkflowExecutionTerminatedEventAttributes: child('terminated', 'ChildWorkflowExecutionTerminated'),
};
const HANDLED = Object.keys(HANDLERS) as Attributes[];

export function temporalEntries(
  workflowId: string,
  events: HistoryEvent[],
  ctx: { taskOf: Labels['ofWorkflow']; decode: (p: Payload | null | undefined) => unknown },
): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const task = ctx.taskOf(workflowId);
  const s: WorkflowState = {
    workflowType: 'workflow',
    attempt: null,
    round: null,
    scheduled: new Map(),
    updates: new Map(),
    children: new Map(),
  };
  for (const e of events) {
    const key = HANDLED.find((k) => e[k]);
    if (!key) continue;
    const eventId = String(e.eventId ?? '');
    const base = { at: tsIso(e.eventTime), source: 'temporal' as const, task, ref: `${workflowId}#${eventId}` };
    const x: EventContext = {
      s,
      eventId,
      at: base.at,
      summary: str(ctx.decode(e.userMetadata?.summary)),
      decode: ctx.decode,
      taskOf: ctx.taskOf,
      push: (who, what, details, extra = {}) =>
        out.push({ ...base, who, what, attempt: null, details: { workflowId, eventId: Number(eventId), ...details }, ...extra }),
    };
    (HANDLERS[key] as (a: unknown, x: EventContext) => void)(e[key], x);
  }
  return out;
}
