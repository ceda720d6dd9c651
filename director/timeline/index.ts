/**
 * `aura history <run>`: one timeline of a run for incident review. Temporal's history of the
 * run's workflow and of its task workflows (what executed: workflows, activities with their
 * attempts, signals, updates, children) joined by time with the governance record in PostgreSQL
 * (what was decided: model calls, sandbox checks, verdicts, incidents, HR actions, scores, the
 * Director's actions, the audit events). Every line names who acted and the row or history
 * event it comes from.
 */
export type { Labels, Timeline, TimelineCtx, TimelineEntry } from './entry.js';
export { buildTimeline, sortTimeline } from './merge.js';
export { recordEntries } from './record-entries.js';
export { temporalEntries } from './temporal-entries.js';
export { formatTimeline } from './format.js';
export { filterTimeline, type TimelineFilter } from './filter.js';
