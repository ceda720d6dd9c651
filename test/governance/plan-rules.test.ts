import { describe, expect, it } from 'vitest';
import { describeBrokenRules, validatePlan, type BrokenRule, type PlanLimits } from '../../governance/plan-rules.js';

type RawTask = Record<string, unknown>;

function task(overrides: RawTask = {}): RawTask {
  return {
    id: 'T1',
    title: 'Write the parser',
    instructions: 'Implement parse() in src/parser.ts.',
    scope: ['src/**/*.ts'],
    acceptance: { command: 'npm test' },
    ...overrides,
  };
}

function plan(tasks: unknown[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { summary: 'A small plan', tasks, verification: { command: 'npm test' }, ...overrides };
}

const limits: PlanLimits = { maxTasks: 3, modelNames: ['scripted-ada', 'GPT-4o', 'ollama'] };

function brokenOf(raw: unknown, l: PlanLimits = limits): BrokenRule[] {
  const result = validatePlan(raw, l);
  if (result.ok) throw new Error('expected the plan to be rejected');
  return result.broken;
}

describe('validatePlan: a valid plan', () => {
  it('passes and returns the parsed plan with defaults filled in', () => {
    const result = validatePlan(
      plan([task(), task({ id: 'T2', title: 'Write the CLI', dependsOn: ['T1'], scope: ['bin/*', 'README.md'] })]),
      limits,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.plan.tasks.map((t) => t.id)).toEqual(['T1', 'T2']);
    expect(result.plan.tasks[0]).toMatchObject({ capability: 'coder', dependsOn: [], allowedDependencies: [], timeLimitMs: 120_000 });
    expect(result.plan.tasks[0]!.acceptance).toEqual({ command: 'npm test', timeoutMs: 60_000 });
    expect(result.plan.tasks[1]!.dependsOn).toEqual(['T1']);
  });

  it('accepts exactly maxTasks tasks', () => {
    const result = validatePlan(plan([task({ id: 'A' }), task({ id: 'B' }), task({ id: 'C' })]), limits);
    expect(result.ok).toBe(true);
  });

  it('accepts a diamond-shaped dependency graph (shared dependency is not a cycle)', () => {
    const result = validatePlan(
      plan([task({ id: 'A' }), task({ id: 'B', dependsOn: ['A'] }), task({ id: 'C', dependsOn: ['A', 'B'] })]),
      limits,
    );
    expect(result.ok).toBe(true);
  });

  it('ignores model names shorter than 3 characters (they would match too much)', () => {
    const result = validatePlan(plan([task({ title: 'Maintain the AI helper' })]), { maxTasks: 3, modelNames: ['ai', 'x'] });
    expect(result.ok).toBe(true);
  });
});

describe('validatePlan: schema errors', () => {
  it('reports a task without acceptance as a schema error naming the path', () => {
    const { acceptance: _omit, ...noAcceptance } = task();
    const broken = brokenOf(plan([noAcceptance]));
    expect(broken.map((b) => b.rule)).toEqual(['schema']);
    expect(broken[0]!.message).toMatch(/^tasks\.0\.acceptance: /);
  });

  it('reports an empty scope as a schema error with the schema message', () => {
    const broken = brokenOf(plan([task({ scope: [] })]));
    expect(broken).toEqual([{ rule: 'schema', message: 'tasks.0.scope: a task needs at least one scope glob' }]);
  });

  it('reports a blank acceptance command', () => {
    const broken = brokenOf(plan([task({ acceptance: { command: '   ' } })]));
    expect(broken).toEqual([{ rule: 'schema', message: 'tasks.0.acceptance.command: an acceptance command is required' }]);
  });

  it('reports an invalid task id', () => {
    const broken = brokenOf(plan([task({ id: '../evil' })]));
    expect(broken.map((b) => b.rule)).toEqual(['schema']);
    expect(broken[0]!.message).toMatch(/^tasks\.0\.id: /);
  });

  it('labels a whole-plan schema error "(plan)" when the input is not an object', () => {
    const broken = brokenOf(null);
    expect(broken).toHaveLength(1);
    expect(broken[0]!.rule).toBe('schema');
    expect(broken[0]!.message.startsWith('(plan): ')).toBe(true);
  });

  it('stops at the schema: no later rule is evaluated on an unparsable plan', () => {
    // Two tasks with the same id and an empty summary: only the schema error is reported.
    const broken = brokenOf(plan([task(), task()], { summary: '' }));
    expect(broken.map((b) => b.rule)).toEqual(['schema']);
    expect(broken[0]!.message).toMatch(/^summary: /);
  });
});

describe('validatePlan: bounded', () => {
  it('rejects a plan with no tasks', () => {
    expect(brokenOf(plan([]))).toEqual([{ rule: 'bounded', message: 'the plan has no tasks' }]);
  });

  it('rejects a plan with more than maxTasks tasks', () => {
    const broken = brokenOf(plan([task({ id: 'A' }), task({ id: 'B' }), task({ id: 'C' }), task({ id: 'D' })]));
    expect(broken).toEqual([{ rule: 'bounded', message: 'the plan has 4 tasks; at most 3 are allowed' }]);
  });
});

describe('validatePlan: unique-ids', () => {
  it('reports a duplicated id once, on the second occurrence', () => {
    const broken = brokenOf(plan([task({ id: 'T1' }), task({ id: 'T1', title: 'Another' })]));
    expect(broken).toEqual([{ rule: 'unique-ids', taskId: 'T1', message: 'task id T1 is used twice' }]);
  });
});

describe('validatePlan: known-dependencies', () => {
  it('reports a dependency on a task that is not in the plan', () => {
    const broken = brokenOf(plan([task({ id: 'T1', dependsOn: ['T9'] })]));
    expect(broken).toEqual([{ rule: 'known-dependencies', taskId: 'T1', message: 'depends on unknown task T9' }]);
  });
});

describe('validatePlan: acyclic', () => {
  it('reports a self-dependency as "depends on itself" only (no unknown dependency, no separate cycle)', () => {
    const broken = brokenOf(plan([task({ id: 'T1', dependsOn: ['T1'] })]));
    expect(broken).toEqual([{ rule: 'acyclic', taskId: 'T1', message: 'depends on itself' }]);
  });

  it('reports a 3-cycle with the cycle path', () => {
    const broken = brokenOf(
      plan([task({ id: 'A', dependsOn: ['C'] }), task({ id: 'B', dependsOn: ['A'] }), task({ id: 'C', dependsOn: ['B'] })]),
    );
    expect(broken).toEqual([{ rule: 'acyclic', message: 'dependency cycle: A -> C -> B -> A' }]);
  });

  it('reports a 2-cycle', () => {
    const broken = brokenOf(plan([task({ id: 'A', dependsOn: ['B'] }), task({ id: 'B', dependsOn: ['A'] })]));
    expect(broken.map((b) => b.rule)).toEqual(['acyclic']);
    expect(broken[0]!.message).toBe('dependency cycle: A -> B -> A');
  });
});

describe('validatePlan: scoped', () => {
  it.each([
    ['../outside/*', '".."'],
    ['src/../../etc/*', '".."'],
    ['**/../x', '".."'],
    ['/etc/**', 'absolute path'],
    ['C:\\work\\*', 'absolute path'],
    ['src\\*.ts', 'backslash'],
    ['.git/**', '.git'],
    ['src//*.ts', 'empty or "." segments'],
    ['./src/*', 'empty or "." segments'],
  ])('rejects the scope glob %s', (glob, reason) => {
    const broken = brokenOf(plan([task({ scope: ['src/ok.ts', glob] })]));
    expect(broken).toHaveLength(1);
    expect(broken[0]!.rule).toBe('scoped');
    expect(broken[0]!.taskId).toBe('T1');
    expect(broken[0]!.message).toContain(`scope "${glob}"`);
    expect(broken[0]!.message).toContain(reason);
  });

  it.each(['**', '**/*', 'src/**/*.ts', 'lib/?.js', 'package.json', '.github/workflows/*.yml'])('accepts the scope glob %s', (glob) => {
    expect(validatePlan(plan([task({ scope: [glob] })]), limits).ok).toBe(true);
  });
});

describe('validatePlan: no-model-named', () => {
  it.each(['assignee', 'assignedTo', 'employee', 'model', 'provider', 'agent'])('rejects a task with a "%s" key', (key) => {
    const broken = brokenOf(plan([task({ [key]: 'someone' })]));
    expect(broken).toEqual([{ rule: 'no-model-named', taskId: 'T1', message: `task sets "${key}": tasks never choose who does them` }]);
  });

  it('reports the routing key even when the schema also fails, using #n for a task without id', () => {
    const broken = brokenOf(plan([task({ id: 'T1' }), { title: 'x', model: 'gpt' }]));
    const routing = broken.filter((b) => b.rule === 'no-model-named');
    expect(routing).toEqual([{ rule: 'no-model-named', taskId: '#2', message: 'task sets "model": tasks never choose who does them' }]);
    expect(broken.some((b) => b.rule === 'schema')).toBe(true);
  });

  it('rejects a task whose title names a model, case-insensitively', () => {
    const broken = brokenOf(plan([task({ title: 'Have gpt-4o write the parser' })]));
    expect(broken).toEqual([
      { rule: 'no-model-named', taskId: 'T1', message: 'task text names "gpt-4o": tasks never choose who does them' },
    ]);
  });

  it('rejects a task whose instructions name an employee, case-insensitively', () => {
    const broken = brokenOf(plan([task({ instructions: 'This one is for SCRIPTED-ADA.' })]));
    expect(broken.map((b) => [b.rule, b.taskId])).toEqual([['no-model-named', 'T1']]);
    expect(broken[0]!.message).toContain('"scripted-ada"');
  });

  it('reports one text finding per task, for each offending task', () => {
    const broken = brokenOf(
      plan([task({ id: 'A', title: 'Use Ollama and GPT-4o' }), task({ id: 'B' }), task({ id: 'C', instructions: 'ask ollama' })]),
    );
    expect(broken.map((b) => [b.rule, b.taskId])).toEqual([
      ['no-model-named', 'A'],
      ['no-model-named', 'C'],
    ]);
  });
});

describe('validatePlan: several rules at once', () => {
  it('reports every broken rule, not just the first', () => {
    const broken = brokenOf(
      plan([task({ id: 'A', scope: ['/abs/*'] }), task({ id: 'A', dependsOn: ['Z'] }), task({ id: 'B', title: 'ollama task' })]),
    );
    expect(broken.map((b) => b.rule).sort()).toEqual(['known-dependencies', 'no-model-named', 'scoped', 'unique-ids']);
  });
});

describe('describeBrokenRules', () => {
  it('formats each rule as "[rule] taskId: message", omitting a missing taskId', () => {
    expect(
      describeBrokenRules([
        { rule: 'scoped', taskId: 'T1', message: 'scope "/x": absolute path' },
        { rule: 'bounded', message: 'the plan has no tasks' },
      ]),
    ).toEqual(['[scoped] T1: scope "/x": absolute path', '[bounded] the plan has no tasks']);
  });

  it('returns an empty list for no broken rules', () => {
    expect(describeBrokenRules([])).toEqual([]);
  });

  it('describes what validatePlan returns', () => {
    const lines = describeBrokenRules(brokenOf(plan([task({ id: 'T1', dependsOn: ['T1'] })])));
    expect(lines).toEqual(['[acyclic] T1: depends on itself']);
  });
});

describe('validatePlan: no-model-named matches whole names only', () => {
  it('does not flag a name inside another word', () => {
    const result = validatePlan(plan([task({ instructions: 'Draw graphics for the philosophy page.' })]), {
      maxTasks: 3,
      modelNames: ['phi'],
    });
    expect(result.ok).toBe(true);
  });

  it('still flags the name standing alone', () => {
    const broken = brokenOf(plan([task({ instructions: 'Let phi write it.' })]), { maxTasks: 3, modelNames: ['phi'] });
    expect(broken.map((b) => b.rule)).toEqual(['no-model-named']);
  });
});

describe('plan rules: checks that check, scopes that scope, times that end', () => {
  it.each(['exit 0', 'true', ':', '/bin/true', 'echo tests pass', 'node --test || true', 'node --test; exit 0', '  true ; '])(
    'refuses the acceptance command %j',
    (command) => {
      expect(brokenOf(plan([task({ acceptance: { command } })]))).toContainEqual(
        expect.objectContaining({ rule: 'testable', taskId: 'T1' }),
      );
    },
  );

  it('refuses a trivial verification command, and accepts real ones', () => {
    expect(brokenOf(plan([task()], { verification: { command: 'exit 0' } }))).toContainEqual(expect.objectContaining({ rule: 'testable' }));
    for (const command of ['node --test', 'npm test', "grep -q '^## Usage' README.md", 'node --test && echo done']) {
      expect(validatePlan(plan([task({ acceptance: { command } })], { verification: { command } }), limits).ok).toBe(true);
    }
  });

  it('refuses a whole-workspace scope in a plan of several tasks, not in a plan of one', () => {
    const two = plan([task({ scope: ['**'] }), task({ id: 'T2', scope: ['src/b.js'] })]);
    expect(brokenOf(two)).toContainEqual(
      expect.objectContaining({ rule: 'scoped', taskId: 'T1', message: expect.stringContaining('whole workspace') }),
    );
    expect(validatePlan(plan([task({ scope: ['**'] })]), limits).ok).toBe(true);
  });

  it('refuses checks over 5 minutes and tasks over 30', () => {
    expect(brokenOf(plan([task({ acceptance: { command: 'npm test', timeoutMs: 600_000 } })]))).toContainEqual(
      expect.objectContaining({ rule: 'bounded-time', taskId: 'T1' }),
    );
    expect(brokenOf(plan([task({ timeLimitMs: 3_600_000 })]))).toContainEqual(
      expect.objectContaining({ rule: 'bounded-time', taskId: 'T1' }),
    );
    expect(brokenOf(plan([task()], { verification: { command: 'npm test', timeoutMs: 600_000 } }))).toContainEqual(
      expect.objectContaining({ rule: 'bounded-time' }),
    );
  });
});
