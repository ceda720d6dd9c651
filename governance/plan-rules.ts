/**
 * The symbolic layer's rules for a plan. A plan the planner proposes is data; these rules
 * decide whether the Manager may run it. Broken rules go back to the planner as feedback.
 */
import { planSchema, type Plan } from './schemas.js';
import { unsafePathReason } from './glob.js';
import { findCycle } from './dag.js';
import { TIME_LIMITS } from './time-limits.js';
import { criteriaProblem } from './acceptance-tests.js';

export interface BrokenRule {
  rule: string;
  taskId?: string;
  message: string;
}

export interface PlanLimits {
  maxTasks: number;
  /** Names that must not appear in a task: employee ids, providers, model names. */
  modelNames: string[];
  /** The run has acceptance tests by a tester: every coding task needs criteria and named test files. */
  independentTests?: boolean;
}

export type PlanValidation = { ok: true; plan: Plan } | { ok: false; broken: BrokenRule[] };

/**
 * An acceptance command that passes whatever the code does is no check: `exit 0`, `true`, `:`,
 * an `echo`, or a command whose failure is masked (`… || true`, `…; exit 0`).
 */
const TRIVIAL_COMMAND =
  /^\s*(?:exit\s+0|true|:|\/bin\/true|echo\b[^;&|]*|printf\b[^;&|]*)\s*;?\s*$|\|\|\s*(?:true|:|exit\s+0)\s*;?\s*$|;\s*(?:true|:|exit\s+0)\s*;?\s*$/;
/** Scopes that cover the whole workspace: only a single-task plan may claim everything. */
const WHOLE_WORKSPACE = /^(?:\*\*|\*\*\/\*|\*|\.\/?\*\*|\.)$/;
/** A check runs at most five minutes; an employee works on one task at most thirty. */
const MAX_CHECK_MS = TIME_LIMITS.maxCheckMs;
const MAX_TASK_MS = TIME_LIMITS.maxTaskMs;

/** Keys a planner might add to route work itself; routing belongs to the Manager alone. */
const ROUTING_KEYS = ['assignee', 'assignedTo', 'employee', 'model', 'provider', 'agent'];

export function validatePlan(raw: unknown, limits: PlanLimits): PlanValidation {
  const broken: BrokenRule[] = [];

  // A task that tries to pick its own model is refused before the schema strips the key.
  const rawTasks = (raw as { tasks?: unknown })?.tasks;
  if (Array.isArray(rawTasks)) {
    rawTasks.forEach((t, i) => {
      if (t && typeof t === 'object') {
        for (const key of ROUTING_KEYS) {
          if (key in t) {
            broken.push({
              rule: 'no-model-named',
              taskId: String((t as { id?: unknown }).id ?? `#${i + 1}`),
              message: `task sets "${key}": tasks never choose who does them`,
            });
          }
        }
      }
    });
  }

  const parsed = planSchema.safeParse(withCriteriaAlias(raw));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      broken.push({ rule: 'schema', message: `${issue.path.join('.') || '(plan)'}: ${issue.message}` });
    }
    return { ok: false, broken };
  }
  const plan = parsed.data;

  if (plan.tasks.length === 0) broken.push({ rule: 'bounded', message: 'the plan has no tasks' });
  if (plan.tasks.length > limits.maxTasks) {
    broken.push({ rule: 'bounded', message: `the plan has ${plan.tasks.length} tasks; at most ${limits.maxTasks} are allowed` });
  }

  const ids = new Set<string>();
  for (const task of plan.tasks) {
    if (ids.has(task.id)) broken.push({ rule: 'unique-ids', taskId: task.id, message: `task id ${task.id} is used twice` });
    ids.add(task.id);
  }

  // Whole words only, so a model called "phi" does not match "graphics".
  const names = [...new Set(limits.modelNames.map((n) => n.toLowerCase()).filter((n) => n.length >= 3))].map((n) => ({
    name: n,
    pattern: new RegExp(`(^|[^a-z0-9_.:-])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-z0-9_:-])`),
  }));
  for (const task of plan.tasks) {
    for (const dep of task.dependsOn) {
      if (!plan.tasks.some((t) => t.id === dep)) {
        broken.push({ rule: 'known-dependencies', taskId: task.id, message: `depends on unknown task ${dep}` });
      }
      if (dep === task.id) broken.push({ rule: 'acyclic', taskId: task.id, message: 'depends on itself' });
    }
    for (const glob of task.scope) {
      const why = unsafePathReason(glob.replace(/\*+/g, 'x').replace(/\?/g, 'x'));
      if (why) broken.push({ rule: 'scoped', taskId: task.id, message: `scope "${glob}": ${why}` });
      else if (WHOLE_WORKSPACE.test(glob.trim()) && plan.tasks.length > 1) {
        broken.push({
          rule: 'scoped',
          taskId: task.id,
          message: `scope "${glob}" is the whole workspace: in a plan of several tasks, each names the paths it writes`,
        });
      }
    }
    if (TRIVIAL_COMMAND.test(task.acceptance.command)) {
      broken.push({
        rule: 'testable',
        taskId: task.id,
        message: `acceptance command "${task.acceptance.command}" passes whatever the code does: run the task's tests`,
      });
    }
    if (task.acceptance.timeoutMs > MAX_CHECK_MS) {
      broken.push({
        rule: 'bounded-time',
        taskId: task.id,
        message: `acceptance timeout ${task.acceptance.timeoutMs} ms is over ${MAX_CHECK_MS} ms`,
      });
    }
    if (task.timeLimitMs > MAX_TASK_MS) {
      broken.push({ rule: 'bounded-time', taskId: task.id, message: `time limit ${task.timeLimitMs} ms is over ${MAX_TASK_MS} ms` });
    }
    const noCriteria = limits.independentTests ? criteriaProblem(task) : null;
    if (noCriteria) broken.push({ rule: 'criteria', taskId: task.id, message: noCriteria });
    const text = `${task.title}\n${task.instructions}`.toLowerCase();
    const named = names.find((n) => n.pattern.test(text));
    if (named) {
      broken.push({
        rule: 'no-model-named',
        taskId: task.id,
        message: `task text names "${named.name}": tasks never choose who does them`,
      });
    }
  }

  if (TRIVIAL_COMMAND.test(plan.verification.command)) {
    broken.push({
      rule: 'testable',
      message: `verification command "${plan.verification.command}" passes whatever the code does: run the workspace's tests`,
    });
  }
  if (plan.verification.timeoutMs > MAX_CHECK_MS) {
    broken.push({ rule: 'bounded-time', message: `verification timeout ${plan.verification.timeoutMs} ms is over ${MAX_CHECK_MS} ms` });
  }

  const cycle = findCycle(plan.tasks.map((t) => ({ id: t.id, dependsOn: t.dependsOn.filter((d) => d !== t.id) })));
  if (cycle) broken.push({ rule: 'acyclic', message: `dependency cycle: ${cycle.join(' -> ')}` });

  return broken.length > 0 ? { ok: false, broken } : { ok: true, plan };
}

/** A planner may write `acceptanceCriteria` for `criteria`: read as the same field. */
function withCriteriaAlias(raw: unknown): unknown {
  const tasks = (raw as { tasks?: unknown })?.tasks;
  if (!Array.isArray(tasks)) return raw;
  return {
    ...(raw as object),
    tasks: tasks.map((t: unknown) => {
      if (!t || typeof t !== 'object' || 'criteria' in t || !('acceptanceCriteria' in t)) return t;
      const { acceptanceCriteria, ...rest } = t as Record<string, unknown>;
      return { ...rest, criteria: acceptanceCriteria };
    }),
  };
}

export function describeBrokenRules(broken: BrokenRule[]): string[] {
  return broken.map((b) => `[${b.rule}]${b.taskId ? ` ${b.taskId}:` : ''} ${b.message}`);
}
