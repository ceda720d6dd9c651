/**
 * The Director's commands on a run, one entry each: what the Director sends (the API body,
 * which the CLI's arguments and options build too), what the run receives (the Update, and the
 * signal older runs take instead), the state rule that decides it (director-commands.ts), who
 * may send it, and how the API and the CLI name and describe it. director/runs.ts sends them,
 * api/routes/runs.ts and client/cli.ts register their routes and verbs from this table.
 *
 * Pure data (and zod), like the rest of governance/: the workflows may import it.
 */
import { z } from 'zod';
import type { Attribution, BudgetDecision, RunStatus, VerificationDecision } from './types.js';
import type { RunCommand } from './director-commands.js';

/** Why (recorded): required, at most 4000 characters. */
export const reason = z
  .string()
  .trim()
  .min(1, 'a reason is required: it is recorded')
  .max(4000, 'at most 4000 characters')
  .describe('why (recorded)');
export const optionalReason = z.string().trim().max(4000, 'at most 4000 characters').optional().describe('why (recorded)');

/** A body with only a reason. */
export const reasonBody = z.strictObject({ reason });
/** A body whose reason is optional (approve, replan): the body may be left out. */
export const optionalReasonBody = z.strictObject({ reason: optionalReason }).optional();

/** An option of a CLI verb beyond `--reason`: its value goes into the body under `key`. */
export interface CliOption {
  flags: string;
  description: string;
  key: string;
  /** How the CLI reads the value (client/cli.ts has the parsers). */
  parse: 'positiveInt' | 'nonNegative';
}

/** A positional argument of a CLI verb after the run: its value goes into the body under `key`. */
export interface CliArgument {
  name: string;
  description: string;
  key: string;
  choices: readonly string[];
}

export interface DirectorCommandEntry<Body = unknown, Arg extends { by: string; reason?: string } = { by: string; reason?: string }> {
  /** The CLI verb and the API route: `aura <verb> <run>`, `POST /api/runs/:run/<verb>`. */
  verb: string;
  /** The Update on the run (and the signal of the same name), in workflows/definitions.ts. */
  message: 'approvePlan' | 'rejectPlan' | 'replan' | 'verificationDecision' | 'budgetDecision' | 'pause' | 'resume' | 'cancel';
  /** The state rule that decides it (refuseCommand in director-commands.ts). */
  rule: RunCommand['kind'];
  /** A run started before Updates existed takes it as the signal of the same name. */
  signal: boolean;
  /** Who may send it through the API. */
  auth: 'director';
  /** The API body; the CLI's arguments and options build the same object. */
  body: z.ZodType<Body | undefined>;
  /** The body, with who gives it, as the run receives it. */
  toArg(body: Body | undefined, by: string): Arg;
  /** Said in an error: "cannot <what>: …". */
  what(arg: Arg): string;
  /** A reason is needed: "<reasonFor> needs a reason". */
  reasonFor?: string;
  /** Checks of the argument before anything is sent: the error, or null. */
  check?(arg: Arg): string | null;
  /** For a run without the Update: the states in which the signal is sent. */
  legacyNeeds?: readonly RunStatus[];
  /** For a run without the Update, when it cannot take the command at all ({run}: the run named). */
  legacyRefusal?: string;
  /** The OpenAPI summary. */
  summary: string;
  cli: {
    description: string;
    /** The run argument: its name and, if any, its description. */
    run: readonly [string, string?];
    reason: 'required' | 'optional';
    argument?: CliArgument;
    options?: readonly CliOption[];
    /** What the CLI prints once the run accepted it (absent: "run <run>: <message> (now <status>)"). */
    says?(runRef: string, answer: { status: string; message: string }, by: string, body: Body): string;
  };
}

type ReasonBody = { reason?: string };
type Attributed = { by: string; reason?: string };

/** A command whose body is an optional reason (who and, perhaps, why). */
const attributed = { body: optionalReasonBody, toArg: (b: ReasonBody | undefined, by: string): Attributed => ({ by, reason: b?.reason }) };
/** A command whose body is a required reason (who and why). */
const accountable = { body: reasonBody, toArg: (b: ReasonBody | undefined, by: string): Attribution => ({ by, reason: b?.reason ?? '' }) };
const RUN_ARG = ['<run>', 'run id, workflow id or AuraRunId'] as const;

const define = <Body, Arg extends Attributed>(e: DirectorCommandEntry<Body, Arg>) => e as unknown as DirectorCommandEntry;

export const DIRECTOR_COMMANDS: readonly DirectorCommandEntry[] = [
  define<ReasonBody, Attributed>({
    verb: 'approve',
    message: 'approvePlan',
    rule: 'approvePlan',
    signal: true,
    auth: 'director',
    ...attributed,
    what: () => 'approve the plan',
    legacyNeeds: ['awaiting_approval'],
    summary: 'Approve the plan at the plan gate',
    cli: {
      description: 'approve the plan of a run waiting at the plan gate',
      run: ['<runId>'],
      reason: 'optional',
      says: (run, a, by) => `plan of run ${run} approved by ${by} (now ${a.status})`,
    },
  }),
  define<ReasonBody, Attribution>({
    verb: 'reject',
    message: 'rejectPlan',
    rule: 'rejectPlan',
    signal: true,
    auth: 'director',
    ...accountable,
    what: () => 'reject the plan',
    reasonFor: 'a rejection',
    legacyNeeds: ['awaiting_approval', 'plan_escalated'],
    summary: 'Reject the plan; the run ends',
    cli: {
      description: 'reject the plan of a run; the run ends with the reason recorded',
      run: ['<runId>'],
      reason: 'required',
      says: (run, _a, by, b) => `plan of run ${run} rejected by ${by}: ${b.reason}`,
    },
  }),
  define<ReasonBody, Attributed>({
    verb: 'replan',
    message: 'replan',
    rule: 'replan',
    signal: true,
    auth: 'director',
    ...attributed,
    what: () => 'grant another planning round',
    legacyNeeds: ['plan_escalated'],
    summary: 'Give the planner more rounds after an escalated plan',
    cli: {
      description: 'give the planner more rounds after its plan was escalated',
      run: ['<runId>'],
      reason: 'optional',
      says: (run) => `run ${run}: planner gets more rounds`,
    },
  }),
  define<{ decision: VerificationDecision['kind']; reason: string }, VerificationDecision>({
    verb: 'verification',
    message: 'verificationDecision',
    rule: 'verificationDecision',
    signal: true,
    auth: 'director',
    body: z.strictObject({ decision: z.enum(['accept', 'replan', 'stop']), reason }),
    toArg: (b, by) => ({ kind: b!.decision, by, reason: b!.reason }),
    what: (d) => `${d.kind} the failed verification`,
    check: (d) =>
      ['accept', 'replan', 'stop'].includes(d.kind) ? null : `the decision is accept, replan or stop (got "${String(d.kind)}")`,
    reasonFor: 'a decision',
    legacyNeeds: ['verification_escalated'],
    summary: 'Decide on a final verification that still fails: accept, replan or stop',
    cli: {
      description: 'decide on a run whose final verification still fails after repair: accept it, re-plan, or stop',
      run: ['<runId>'],
      reason: 'required',
      argument: { name: '<decision>', description: 'what to do', key: 'decision', choices: ['accept', 'replan', 'stop'] },
    },
  }),
  define<{ maxTokens: number; maxCostUsd: number; reason: string }, BudgetDecision>({
    verb: 'budget',
    message: 'budgetDecision',
    rule: 'budgetDecision',
    signal: true,
    auth: 'director',
    body: z.strictObject({ maxTokens: z.number().int().min(1), maxCostUsd: z.number().min(0), reason }),
    toArg: (b, by) => ({ kind: 'raise', budget: { maxTokens: b!.maxTokens, maxCostUsd: b!.maxCostUsd }, by, reason: b!.reason }),
    what: () => 'raise the budget',
    reasonFor: 'a budget change',
    check: (d) =>
      d.kind === 'raise' && !(d.budget.maxTokens > 0 && d.budget.maxCostUsd >= 0)
        ? 'the new budget needs --tokens > 0 and --cost >= 0'
        : null,
    // Checked before it is sent (director/runs.ts: the new budget must raise the current one).
    legacyNeeds: ['budget_paused'],
    summary: 'Raise the budget of a run paused on it',
    cli: {
      description: 'raise the budget of a run paused on it',
      run: ['<runId>'],
      reason: 'required',
      options: [
        { flags: '--tokens <n>', description: 'the new token budget', key: 'maxTokens', parse: 'positiveInt' },
        { flags: '--cost <usd>', description: 'the new cost budget in USD', key: 'maxCostUsd', parse: 'nonNegative' },
      ],
    },
  }),
  define<ReasonBody, BudgetDecision>({
    verb: 'stop',
    message: 'budgetDecision',
    rule: 'budgetDecision',
    signal: true,
    auth: 'director',
    body: reasonBody,
    toArg: (b, by) => ({ kind: 'stop', by, reason: b?.reason ?? '' }),
    what: () => 'stop the run',
    reasonFor: 'stopping a run',
    legacyNeeds: ['budget_paused'],
    summary: 'Stop a run paused on its budget',
    cli: { description: 'stop a run paused on its budget (its waiting tasks are cancelled)', run: ['<runId>'], reason: 'required' },
  }),
  define<ReasonBody, Attribution>({
    verb: 'pause',
    message: 'pause',
    rule: 'pause',
    signal: true,
    auth: 'director',
    ...accountable,
    what: () => 'pause the run',
    reasonFor: 'pausing a run',
    legacyRefusal: 'run {run} was started before pause existed: it cannot be paused (cancel it with "aura cancel")',
    summary: 'Pause a working run: running steps finish, nothing new starts',
    cli: {
      description: 'pause any working run: running steps finish, nothing new starts until it is resumed',
      run: RUN_ARG,
      reason: 'required',
    },
  }),
  define<ReasonBody, Attribution>({
    verb: 'resume',
    message: 'resume',
    rule: 'resume',
    signal: true,
    auth: 'director',
    ...accountable,
    what: () => 'resume the run',
    reasonFor: 'resuming a run',
    legacyRefusal: 'run {run} was started before pause existed: it cannot be paused or resumed',
    summary: 'Resume a paused run',
    cli: { description: 'resume a paused run', run: RUN_ARG, reason: 'required' },
  }),
  define<ReasonBody, Attribution>({
    verb: 'cancel',
    message: 'cancel',
    rule: 'cancel',
    // A run without the Update is cancelled through Temporal itself (director/runs.ts).
    signal: false,
    auth: 'director',
    ...accountable,
    what: () => 'cancel the run',
    reasonFor: 'cancelling a run',
    summary: 'Cancel a run that has not ended',
    cli: {
      description: 'cancel any run that has not ended: model calls and sandboxes stop, every task closes, the run ends cancelled',
      run: RUN_ARG,
      reason: 'required',
    },
  }),
];

/** The entry of a verb (a programming error if there is none). */
export function directorCommand(verb: string): DirectorCommandEntry {
  const e = DIRECTOR_COMMANDS.find((c) => c.verb === verb);
  if (!e) throw new Error(`no Director command ${verb}`);
  return e;
}
