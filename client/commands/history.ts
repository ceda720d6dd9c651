/** `aura history`: one timeline of a run for incident review (director/timeline/ builds it). */
import type { Command } from 'commander';
import type { TimelineCtx } from '../../director/timeline/index.js';
import { userError } from '../lazy.js';
import { print } from '../io.js';

export function registerHistoryCommands(program: Command, ctx: TimelineCtx): void {
  program
    .command('history')
    .description(
      "one timeline of a run for incident review: Temporal's history of the run and its tasks, joined by time with the governance record",
    )
    .argument('<run>', 'run id, workflow id, or AuraRunId search attribute value')
    .option('--json', 'print a JSON array of {at, source, who, what, task, attempt, ref, details}', false)
    .option('--task <key>', "only this task's lines (T2, g2:T1; 'run' for the run's own)")
    .option('--record-only', 'only the governance record', false)
    .option('--temporal-only', "only Temporal's history", false)
    .action(async (run: string, opts: { json: boolean; task?: string; recordOnly: boolean; temporalOnly: boolean }) => {
      if (!run.trim()) throw userError('history needs a run id or workflow id');
      if (opts.recordOnly && opts.temporalOnly) throw userError('--record-only and --temporal-only leave nothing: give one');
      const { buildTimeline, filterTimeline, formatTimeline } = await import('../../director/timeline/index.js');
      const whole = await buildTimeline(ctx, run.trim());
      let timeline: typeof whole;
      try {
        timeline = filterTimeline(whole, {
          ...(opts.task ? { task: opts.task.trim() } : {}),
          ...(opts.recordOnly ? { source: 'record' as const } : opts.temporalOnly ? { source: 'temporal' as const } : {}),
        });
      } catch (err) {
        throw userError((err as Error).message);
      }
      if (opts.json) return print(JSON.stringify(timeline.entries, null, 2));
      print(formatTimeline(timeline));
    });
}
