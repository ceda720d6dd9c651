/** A narrower timeline: one task's lines, or one source's (`aura history --task T2 --record-only`). */
import type { Timeline } from './entry.js';

export interface TimelineFilter {
  /** A task key as the timeline prints it (`T2`, `g2:T1`); `run` for the run's own lines. */
  task?: string;
  source?: 'record' | 'temporal';
}

/** The timeline with only the lines asked for, and a note saying what was left out; a task it does not hold is an error naming those it does. */
export function filterTimeline(t: Timeline, f: TimelineFilter): Timeline {
  if (!f.task && !f.source) return t;
  if (f.task && f.task !== 'run' && !t.entries.some((e) => e.task === f.task)) {
    const tasks = [...new Set(t.entries.map((e) => e.task).filter((k): k is string => k !== null))].sort();
    throw new Error(`the run has no task ${f.task} in its timeline (tasks: ${tasks.join(', ') || 'none'}; 'run' for the run's own lines)`);
  }
  const entries = t.entries.filter(
    (e) => (!f.task || e.task === (f.task === 'run' ? null : f.task)) && (!f.source || e.source === f.source),
  );
  const what = [
    f.task ? (f.task === 'run' ? "the run's own lines" : `task ${f.task}`) : null,
    f.source ? `${f.source === 'record' ? 'the governance record' : "Temporal's history"} only` : null,
  ]
    .filter(Boolean)
    .join(', ');
  return { ...t, notes: [...t.notes, `showing ${what}: ${entries.length} of ${t.entries.length} events`], entries };
}
