/**
 * The Temporal Web UI's Current Details for a run and a task: whatever comes from a PRD, a model
 * or a person is text (no HTML, no markdown of its own), and every command shown is an `aura`
 * command line the CLI itself accepts (run here in-process against a Temporal dev server that has
 * no such run: the CLI parses the line, then says the run is unknown).
 */
import { describe, expect, inject, it } from 'vitest';
import { startDevServer } from '../local/temporal-server.js';
import { code, resolveCommands, runDetails, taskDetails, text } from '../workflows/details.js';
import type { RunProgress, TaskProgress } from '../governance/types.js';
import { aura } from './helpers/cli.js';

const RUN = '0b640a96-d33f-4b7a-8899-4100dd4786d4';
const HOSTILE = '<img src=x onerror=alert(1)> **bold** [link](http://evil.example) | cell # head';

const task = (key: string, status: TaskProgress['status'], title = `Part ${key}`): TaskProgress => ({
  key,
  title,
  status,
  assignedTo: 'scripted-ada',
  attempts: 1,
  reassignments: 0,
  repairRounds: 0,
});

function run(status: RunProgress['status'], tasks: TaskProgress[] = []): RunProgress {
  return {
    runId: RUN,
    project: 'details',
    status,
    planAttempts: 1,
    planErrors: [],
    plan: null,
    tasks,
    escalations: [],
    ignoredSignals: [],
    reason: null,
    report: null,
  };
}

/** The `aura …` command lines in a details text (each in its own code span). */
function commands(details: string): string[] {
  return [...details.matchAll(/`(aura [^`]+)`/g)].map((m) => m[1]!);
}

/** A shell's split of a command line as the details write it (double and single quotes). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

describe('Current Details', () => {
  it('shows a hostile title, reason, task title and escalation as text', () => {
    const details = runDetails(
      {
        ...run('running', [task('T1', 'escalated', HOSTILE)]),
        plan: {
          summary: HOSTILE,
          tasks: [],
          verification: { command: `node --test ${HOSTILE}`, timeoutMs: 60_000 },
        } as unknown as RunProgress['plan'],
        reason: HOSTILE,
        escalations: [`T1: ${HOSTILE}`],
        ignoredSignals: [HOSTILE],
      },
      `# ${HOSTILE}\n\nbody`,
    );
    // Outside code spans (which show a command, or `<employee>`, as typed) there is no markup at all.
    const prose = details.replace(/(`+)[^`]*?\1/g, '');
    expect(prose).not.toMatch(/</);
    expect(prose).toContain('&lt;img src=x onerror=alert\\(1\\)&gt;');
    expect(prose).not.toMatch(/(?<!\\)\*\*bold/);
    expect(prose).not.toMatch(/(?<!\\)\[link/);
    expect(details).toContain('`node --test <img src=x onerror=alert(1)> **bold** [link](http://evil.example) | cell # head`');
    expect(text('a `tick`')).toBe('a \\`tick\\`');
    const rows = details.split('\n').filter((l) => l.startsWith('| T1'));
    expect(rows).toHaveLength(1);
    // Five columns: every | from the title is escaped.
    expect(rows[0]!.split(/(?<!\\)\|/).length - 2).toBe(5);
    const t = taskDetails({ ...task('T1', 'escalated', HOSTILE), escalation: HOSTILE }, 'node --test `x`', RUN);
    expect(t).not.toMatch(/<img/);
    expect(t).toContain('`` node --test `x` ``');
  });

  it('keeps code spans whole whatever backticks they hold, and text free of markup', () => {
    expect(code('a')).toBe('`a`');
    expect(code('a `b` c')).toBe('``a `b` c``');
    expect(code('`a`')).toBe('`` `a` ``');
    expect(text('*a* _b_ <c> & d')).toBe('\\*a\\* \\_b\\_ &lt;c&gt; &amp; d');
  });

  it('gives commands the CLI accepts, for every state that waits on the Director', async () => {
    const shown = [
      ...(['awaiting_approval', 'plan_escalated', 'budget_paused', 'verification_escalated', 'paused'] as const).flatMap((s) =>
        commands(runDetails(run(s), '# A PRD')),
      ),
      ...commands(runDetails(run('running', [task('T2', 'escalated')]), '# A PRD')),
      ...commands(taskDetails({ ...task('T2', 'escalated'), escalation: 'no eligible coder left' }, 'node --test', RUN)),
    ];
    expect(shown.length).toBeGreaterThanOrEqual(17);
    expect(resolveCommands(RUN, 'T2')).toEqual(expect.arrayContaining([`aura resolve ${RUN} T2 --accept --reason "…"`]));
    // A line the CLI parses ends at "unknown run" (this server has none); a bad one at a usage error.
    const server = await startDevServer({ cliPath: inject('temporalCli'), dbFile: null, namespace: 'default', log: () => {} });
    try {
      const env = { ...process.env, TEMPORAL_ADDRESS: server.address, AURA_API_URL: '' };
      for (const line of shown) {
        const argv = words(line.replace('<employee>', 'scripted-ada')).slice(1);
        const r = await aura(argv, env);
        expect(r.stderr, line).toMatch(new RegExp(`unknown run: ${RUN}`));
        expect(r.code, line).toBe(2);
      }
    } finally {
      await server.stop();
    }
  });
});
