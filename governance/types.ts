/**
 * Plain-JSON types shared by workflows, activities and the client. No Map, no Date:
 * everything here crosses Temporal payloads and must replay years later.
 */
import type { Plan, TaskSpec } from './schemas.js';

export type EmployeeStatus = 'active' | 'suspended' | 'terminated';

/** An employee as routing sees it: a snapshot read by an activity, decided on by pure code. */
export interface EmployeeSnapshot {
  id: string;
  provider: string;
  model: string;
  capabilities: string[];
  status: EmployeeStatus;
  /** Overall reputation (the mean over capabilities). */
  reputation: number;
  /** Reputation per capability; routing ranks by the task's capability. */
  reputations?: Record<string, number>;
  /** ISO time a suspension ends, if suspended with an expiry. */
  suspendedUntil?: string | null;
}

export const VIOLATION_TYPES = [
  'malformed_output',
  'scope_drift',
  'hallucination',
  'failed_verification',
  'timeout',
  'self_assignment',
  /** A tester's acceptance tests passed before any code was written: they test nothing. */
  'vacuous_tests',
] as const;
export type ViolationType = (typeof VIOLATION_TYPES)[number];

export interface Violation {
  type: ViolationType;
  message: string;
  /** Short excerpt of what shows the violation, and the sha256 of the full evidence. */
  evidence: { excerpt: string; sha256: string };
  /**
   * A matter of conduct (scope, assignment, an unknown package or path): judged at once, never
   * offered a repair round. Scope drift and self-assignment always are.
   */
  conduct?: boolean;
}

export type DisciplinaryAction = 'WARNING' | 'STRIKE' | 'SUSPEND' | 'TERMINATE';

export interface RunOptions {
  /** Skip the Director's plan gate. */
  autoApprove?: boolean;
  /** How many tasks may run at once. */
  maxParallel?: number;
  /** How many times an invalid plan is sent back to the planner. */
  maxReplans?: number;
  /** Upper bound on the number of tasks in a plan. */
  maxTasks?: number;
  /** Who started the run (recorded on every Director action). */
  director?: string;
  /** Token and cost limit of the run; absent: the configured default. */
  budget?: RunBudget;
  /** Repair rounds an employee gets within one attempt when its answer fails (default 2). */
  maxRepairRounds?: number;
  /** Repair tasks the Manager opens when the final verification fails (default 1). */
  maxVerificationRepairs?: number;
  /** How long a planner may take for one plan, in ms (default 5 minutes); then another plans. */
  planTimeLimitMs?: number;
  /**
   * Acceptance tests by someone else (default: on, unless the deployment turned it off): every
   * coding task's tests are written by a tester before the code, frozen, red before green, and a
   * reviewer's rejection sends the work back. Off: the plan's own commands decide (self-tested,
   * and the report says so).
   */
  independentTests?: boolean;
}

/** Who decided, and why: every Director decision carries both. */
export interface Attribution {
  by: string;
  reason: string;
}

/** A run's spending limit. Model calls stop (and the run pauses) once either is reached. */
export interface RunBudget {
  maxTokens: number;
  maxCostUsd: number;
}

export interface UsageLine {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface RunUsage extends UsageLine {
  byEmployee: (UsageLine & { employeeId: string })[];
}

/** The one argument of `prdRun`: plain JSON, so it can be typed into the Web UI's start form. */
export interface PrdRunInput {
  prd: string;
  project: string;
  options?: RunOptions;
  /** Set by the CLI; when absent the workflow makes one (deterministically). */
  runId?: string;
}

export type RunStatus =
  | 'planning'
  | 'awaiting_approval'
  | 'plan_escalated'
  | 'running'
  | 'budget_paused'
  | 'paused'
  | 'verifying'
  | 'verification_escalated'
  | 'completed'
  | 'failed'
  | 'rejected'
  | 'cancelled';

export type TaskStatus = 'pending' | 'running' | 'paused' | 'accepted' | 'escalated' | 'cancelled' | 'failed';

export interface AttemptSummary {
  attempt: number;
  employeeId: string;
  modelRunId: string | null;
  clean: boolean;
  violations: { type: ViolationType; message: string }[];
  hrActions: DisciplinaryAction[];
  score: number | null;
  /** Rounds the attempt took (1 = no repair; absent in runs recorded before repair rounds). */
  rounds?: number;
  /** The tail of the failing acceptance output, shown to the next employee (never who failed). */
  excerpt?: string;
  /** Why HR and the Accountant left this failure alone: its cause lies upstream (governance/blame.ts). */
  notCharged?: string;
}

/** A dependency accepted by the Director's override, as the task that builds on it is told (governance/blame.ts). */
export interface OverriddenDependency {
  taskKey: string;
  /** The scope globs of its files in the workspace. */
  scope: string[];
  /** Who accepted it (the Director's recorded name). */
  by: string;
}

export interface TaskRunInput {
  runId: string;
  taskId: string;
  task: TaskSpec;
  /** Workspace files accepted so far come from these tasks (in this order). */
  baseTaskIds: string[];
  budget?: RunBudget | null;
  /** The tasks this one depends on directly (older runs: absent, all of baseTaskIds count). */
  directTaskIds?: string[];
  /** Repair rounds per attempt (older runs: absent, none). */
  maxRepairRounds?: number;
  /** The Manager's repair task after a failed final verification: may change any accepted file. */
  repairsWorkspace?: boolean;
  /** Acceptance tests by a tester, red before green, a reviewer who can say no (older runs: absent, off). */
  independentTests?: boolean;
  /** Dependencies (direct or not) the Director accepted by override: failures through their code are not charged. */
  overriddenDependencies?: OverriddenDependency[];
}

export interface TaskRunResult {
  taskKey: string;
  status: 'accepted' | 'cancelled' | 'failed';
  acceptedBy: string | null;
  acceptedModelRunId: string | null;
  overriddenBy: string | null;
  attempts: AttemptSummary[];
  /** Attempts begun, when more than `attempts` holds (one was under way when the run was cancelled). */
  attemptsStarted?: number;
  /** Who checked: the frozen acceptance tests (tester, version, files, red run) and the review (older runs: absent). */
  checks?: TaskChecks;
}

/** Who wrote the tests, who wrote the code, who reviewed, and what red and green said. */
export interface TaskChecks {
  tests: {
    testerId: string;
    version: number;
    files: { path: string; sha256: string }[];
    /** The frozen tests before any code: they must fail. */
    red: { passed: boolean; exitCode: number | null };
  } | null;
  /** The tester's attempts (a tester whose tests were not frozen is in here too). */
  testAttempts: AttemptSummary[];
  /** The last green run of the accepted code against the frozen tests. */
  green: { passed: boolean; exitCode: number | null } | null;
  review: { reviewerId: string; verdict: ReviewOpinion['verdict']; comments: string } | null;
  disputes: { test: string; reason: string; decision: 'uphold' | 'reject' | 'unresolved'; answer: string }[];
}

export interface TaskProgress {
  key: string;
  title: string;
  status: TaskStatus;
  assignedTo: string | null;
  attempts: number;
  reassignments: number;
  /** Repair rounds used so far, over all attempts. */
  repairRounds?: number;
  /** The task's workflow (a re-planned run's tasks carry a generation in theirs). */
  workflowId?: string;
  /** Director decisions sent by signal while the task was not waiting for one. */
  ignoredSignals?: string[];
  /** Who wrote the task's frozen acceptance tests, once frozen. */
  testedBy?: string | null;
  /** What the task is doing: its tests (a tester) or its code. */
  phase?: 'tests' | 'code';
}

export interface RunReport {
  runId: string;
  project: string;
  status: RunStatus;
  reason: string | null;
  tasks: TaskRunResult[];
  reassignments: number;
  incidents: number;
  verification: { command: string; passed: boolean; exitCode: number | null; excerpt: string } | null;
  workspaceDir: string | null;
  /** Tokens and cost, per employee and in total (runs recorded before this field: absent). */
  usage?: RunUsage | null;
  budget?: RunBudget | null;
  /** Repair rounds over all tasks, and repair tasks opened after a failed final verification. */
  repairRounds?: number;
  verificationRepairs?: number;
  /** The Director accepted a workspace that failed its final verification: recorded, never silent. */
  verificationOverride?: Attribution | null;
  /** Acceptance tests by testers (true) or the plan's own commands (false: self-tested). */
  independentTests?: boolean;
  /** The planning rounds and the plan the run worked to (runs reported before these fields: absent). */
  planAttempts?: number;
  planErrors?: string[];
  plan?: Plan | null;
}

/** What the `status` query returns: everything the Director needs, small enough to print. */
export interface RunProgress {
  runId: string;
  project: string;
  status: RunStatus;
  planAttempts: number;
  planErrors: string[];
  plan: Plan | null;
  tasks: TaskProgress[];
  escalations: string[];
  ignoredSignals: string[];
  reason: string | null;
  report: RunReport | null;
  budget?: RunBudget | null;
}

/** The Director's answer when the final verification still fails after its repair tasks. */
export type VerificationDecision = Attribution & { kind: 'accept' | 'replan' | 'stop' };

/** The Director's answer to a paused budget: a new limit, or stop the run. */
export type BudgetDecision =
  { kind: 'raise'; budget: RunBudget; by: string; reason: string } | { kind: 'stop'; by: string; reason: string };

/** The Director's answer to an escalated task. */
export type EscalationDecision =
  | { kind: 'reassign'; employeeId: string; by: string; reason: string }
  | { kind: 'accept'; by: string; reason: string }
  | { kind: 'cancel'; by: string; reason: string };

/** An independent reviewer's opinion of an output: evidence for the Auditor, never a verdict. */
export interface ReviewOpinion {
  reviewerId: string;
  modelRunId: string;
  verdict: 'approve' | 'reject' | 'unsure';
  comments: string;
}
