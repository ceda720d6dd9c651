/**
 * Every time limit of the work, in one place: workflows, activities and the plan rules read
 * them from here. (Temporal's own timeouts in workflows/activity-proxies.ts are these plus a
 * margin: the safety net for a lost worker.)
 */
export const TIME_LIMITS = {
  /** A planner's call, unless the run says otherwise (`planTimeLimitMs`). */
  planMs: 300_000,
  /** A reviewer's call. */
  reviewMs: 120_000,
  /** An employee's time on a task, unless the plan says otherwise. */
  taskMs: 120_000,
  /** A task's acceptance command, unless the plan says otherwise. */
  acceptanceMs: 60_000,
  /** The longest acceptance or verification command a plan may ask for. */
  maxCheckMs: 300_000,
  /** The longest time on one task a plan may give an employee. */
  maxTaskMs: 1_800_000,
  /** The longest acceptance timeout the task-output schema accepts. */
  maxAcceptanceMs: 600_000,
  /** The longest task time limit the schema accepts. */
  maxTaskLimitMs: 3_600_000,
} as const;
