/** `aura history`: one timeline of a run for incident review (director/history.ts builds it). */
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
    .action(async (run: string, opts: { json: boolean }) => {
      if (!run.trim()) throw userError('history needs a run id or workflow id');
      const { buildTimeline, formatTimeline } = await import('../../director/timeline/index.js');
      const timeline = await buildTimeline(ctx, run.trim());
      if (opts.json) return print(JSON.stringify(timeline.entries, null, 2));
      print(formatTimeline(timeline));
    });
}
