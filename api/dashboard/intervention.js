// The intervention page: every decision that waits on the Director, each with what it rests on
// (for an escalated task: both sides, the code and its diff, the failing output once, who could
// take it over) and the buttons that answer it.
import { card, h, runLink, status, temporalLink } from './dom.js';
import { checksOfTask, evidenceOf } from './evidence.js';
import { decisionButtons } from './actions.js';

/** An escalated task's run, code and eligible employees, each fetched once; a read that fails leaves its part out. */
async function escalatedDetails(ctx, pending) {
  const runs = new Map();
  const runOf = (runId) => {
    if (!runs.has(runId))
      runs.set(
        runId,
        ctx.api.call('GET', `/api/runs/${encodeURIComponent(runId)}`).catch(() => null),
      );
    return runs.get(runId);
  };
  await Promise.all(
    pending
      .filter((p) => p.kind === 'task')
      .map(async (p) => {
        const task = `/api/runs/${encodeURIComponent(p.runId)}/tasks/${encodeURIComponent(p.taskKey)}`;
        const [r, code, eligible] = await Promise.all([
          runOf(p.runId),
          ctx.api.call('GET', `${task}/code`).catch(() => null),
          ctx.api.call('GET', `${task}/eligible`).catch(() => null),
        ]);
        const t = r?.progress.tasks.find((x) => x.key === p.taskKey);
        if (t) p.sides = checksOfTask(t, r.progress.report, r.attempts);
        p.code = code;
        p.eligible = eligible;
      }),
  );
}

export async function interventionPage(ctx) {
  const { pending } = await ctx.api.call('GET', '/api/intervention');
  ctx.setPending(pending.length);
  if (pending.length === 0)
    return [
      card(
        'Nothing waits on you',
        h('p', { class: 'muted' }, 'Plans to approve, escalated tasks, budgets, failed verifications and paused runs show here.'),
      ),
    ];
  await escalatedDetails(ctx, pending);
  return pending.map((p) =>
    h(
      'section',
      {
        class: 'card pending',
        'data-kind': p.kind,
        'data-run': p.runId,
        'data-task': p.taskKey ?? '',
        'aria-label': `${p.kind} ${p.runId} ${p.taskKey ?? ''}`.trim(),
      },
      h('h2', {}, `${p.project ?? 'run'} · run `, runLink(p.runId), ' · ', status(p.runStatus), ' ', temporalLink(p.temporalUrl)),
      h('p', { class: 'question' }, p.question),
      evidenceOf(p),
      decisionButtons(ctx, p),
    ),
  );
}
