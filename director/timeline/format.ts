/** The timeline as text: a header, notes, and one aligned line per entry. */
import type { Timeline, TimelineEntry } from './entry.js';

function oneLine(text: string, max = 400): string {
  const flat = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** The reference as printed: a row's table and id, or the history event in its workflow. */
function refText(e: TimelineEntry, runWorkflow: string): string {
  if (!e.ref) return '';
  if (e.source === 'record') return `${String(e.details.table)} ${e.ref}`;
  const [wf, id] = [String(e.details.workflowId), String(e.details.eventId)];
  const short = wf === runWorkflow ? 'run' : wf.startsWith(`${runWorkflow}.`) ? wf.slice(runWorkflow.length + 1) : wf;
  return `${short} event ${id}`;
}

export function formatTimeline(t: Timeline): string {
  const lines: string[] = [];
  const r = t.run;
  lines.push(
    `run ${t.runId ?? '(not in the record)'}  workflow ${t.workflowId}${r ? `  project ${r.project ?? '-'}  status ${r.status}${r.reason ? ` (${oneLine(r.reason, 200)})` : ''}` : ''}`,
  );
  for (const n of t.notes) lines.push(`note: ${n}`);
  if (t.entries.length === 0) {
    lines.push('nothing recorded for this run');
    return lines.join('\n');
  }
  const counts = {
    temporal: t.entries.filter((e) => e.source === 'temporal').length,
    record: t.entries.filter((e) => e.source === 'record').length,
  };
  lines.push(
    `${t.entries.length} events: ${counts.temporal} from Temporal's history, ${counts.record} from the governance record; times UTC`,
  );
  const attemptText = (e: TimelineEntry) =>
    e.attempt === null ? '-' : `${e.attempt}${typeof e.details.round === 'number' && e.details.round > 1 ? ` r${e.details.round}` : ''}`;
  const w = {
    who: Math.min(34, Math.max(3, ...t.entries.map((e) => e.who.length))),
    task: Math.max(4, ...t.entries.map((e) => (e.task ?? '-').length)),
    attempt: Math.max(7, ...t.entries.map((e) => attemptText(e).length)),
  };
  lines.push(
    `${'AT (UTC)'.padEnd(27)}  ${'SOURCE'.padEnd(8)}  ${'WHO'.padEnd(w.who)}  ${'TASK'.padEnd(w.task)}  ${'ATTEMPT'.padEnd(w.attempt)}  WHAT  [REF]`,
  );
  for (const e of t.entries) {
    lines.push(
      `${e.at.padEnd(27)}  ${e.source.padEnd(8)}  ${e.who.padEnd(w.who)}  ${(e.task ?? '-').padEnd(w.task)}  ${attemptText(e).padEnd(w.attempt)}  ${oneLine(e.what)}  [${refText(e, t.workflowId)}]`,
    );
  }
  return lines.join('\n');
}
