// The monitoring pages: the list of runs, and one run as it goes (its controls, tasks, rounds,
// incidents and the Director's actions) and once it ended (its report, final verification,
// workspace files and a download of them).
import { card, collapsible, h, meter, money, notice, runLink, status, table, temporalLink, time } from './dom.js';
import { checksOfTask, fileDiff, greenText, planTasks, redText, reportCard } from './evidence.js';
import { compareFiles } from './diff.js';
import { FINAL, runControls } from './actions.js';

export async function monitoringList(ctx) {
  const { runs } = await ctx.api.call('GET', '/api/runs?limit=30');
  const open = runs.filter((r) => !FINAL.includes(r.status));
  return [
    card(
      'Runs',
      h(
        'p',
        { class: 'muted' },
        open.length ? `${open.length} not ended. Pick a run to watch it.` : 'No run is under way. Pick a run to read it.',
        ' ',
        h('a', { href: '#/submit' }, 'Submit a PRD'),
      ),
      table(
        ['Run', 'Project', 'Status', 'Started (UTC)', 'Last change', ''],
        runs.map((r) =>
          h(
            'tr',
            { 'data-run': r.runId },
            h('td', {}, runLink(r.runId)),
            h('td', {}, r.project ?? '-'),
            h('td', {}, status(r.status)),
            h('td', {}, time(r.startedAt)),
            h('td', {}, time(r.updatedAt)),
            h('td', {}, runControls(ctx, r, { inList: true })),
          ),
        ),
        'Runs',
      ),
    ),
  ];
}

const WAITING = ['awaiting_approval', 'plan_escalated', 'budget_paused', 'verification_escalated', 'paused'];

/** A finished run's workspace: its files (with the task each came from) and a download. */
function workspaceCard(ctx, runId, ws) {
  const download = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      onclick: () =>
        ctx.api
          .download(`/api/runs/${encodeURIComponent(runId)}/workspace.tar.gz`, `aura-${runId.slice(0, 8)}.tar.gz`)
          .catch((err) => notice(`The download failed: ${err.message}`, true)),
    },
    'Download the workspace (.tar.gz)',
  );
  return card(
    'Workspace',
    h(
      'p',
      { class: 'muted' },
      `${ws.files.length} file(s), as the record holds them: every accepted output, layered in order`,
      ws.files.some((f) => f.before)
        ? `; ${ws.files.filter((f) => f.before).length} rewritten by a later task (its diff below the file).`
        : '.',
    ),
    h('div', { class: 'actions' }, download),
    ws.files.length
      ? h(
          'ul',
          { class: 'plain files', 'aria-label': 'Workspace files' },
          ws.files.map((f) =>
            h(
              'li',
              {},
              collapsible(`${f.path} — from ${f.fromTask}, ${f.bytes} bytes`, h('pre', {}, f.content), { key: `ws:${runId}:${f.path}` }),
              // A file a later task rewrote (a repair after a failed final verification): what it changed.
              f.before
                ? collapsible(
                    `${f.path}: what ${f.fromTask} changed in ${f.before.fromTask}'s version`,
                    fileDiff(compareFiles([{ path: f.path, content: f.before.content }], [f])[0]),
                    { key: `ws-diff:${runId}:${f.path}` },
                  )
                : '',
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No accepted file.'),
  );
}

export async function runPage(ctx, ref) {
  const r = await ctx.api.call('GET', `/api/runs/${encodeURIComponent(ref)}`);
  const p = r.progress;
  const ended = FINAL.includes(p.status);
  const ws = ended ? await ctx.api.call('GET', `/api/runs/${encodeURIComponent(r.runId)}/workspace`).catch(() => null) : null;
  const checks = new Map(p.tasks.map((t) => [t.key, checksOfTask(t, p.report, r.attempts)]));
  // true: testers; false: self-tested; null: not known yet (a live run whose tasks have not shown testers).
  const independent = p.report?.independentTests ?? ([...checks.values()].some((c) => c.independent) ? true : null);
  const acceptance =
    independent === true
      ? 'Acceptance: tests by testers (independent): written before the code, frozen, red before green.'
      : independent === false
        ? "Self-tested: the plan's own commands decided."
        : '';
  const waits = WAITING.includes(p.status) || p.tasks.some((t) => t.status === 'escalated');
  const cards = [
    card(
      `Run ${r.runId}`,
      h('p', {}, `Project ${p.project || '-'} · `, status(p.status), p.reason ? ` — ${p.reason}` : '', ' · ', temporalLink(r.temporalUrl)),
      waits && !ended ? h('p', {}, 'A decision waits on you: ', h('a', { href: '#/intervention' }, 'see it on the intervention page')) : '',
      h(
        'p',
        {},
        'Spend: ',
        meter(r.spend.tokens, r.budget.maxTokens, `${r.spend.tokens} of ${r.budget.maxTokens} tokens`),
        ' · ',
        meter(r.spend.costUsd, r.budget.maxCostUsd, `${money(r.spend.costUsd)} of ${money(r.budget.maxCostUsd)}`),
        ` · ${r.spend.calls} model calls`,
      ),
      acceptance ? h('p', { class: 'acceptance' }, acceptance) : '',
      p.escalations.length
        ? h(
            'ul',
            { class: 'plain' },
            p.escalations.map((e) => h('li', {}, `Escalated: ${e}`)),
          )
        : '',
      p.ignoredSignals.length
        ? h(
            'ul',
            { class: 'plain muted' },
            p.ignoredSignals.map((e) => h('li', {}, `Ignored: ${e}`)),
          )
        : '',
      runControls(ctx, { runId: r.runId, status: p.status }),
    ),
    p.report ? reportCard(p.report, ws?.verification ?? null) : '',
    ws ? workspaceCard(ctx, r.runId, ws) : '',
    p.plan
      ? card(
          'Plan',
          h('p', {}, p.plan.summary),
          collapsible(`The plan's ${p.plan.tasks.length} task(s)`, planTasks(p.plan), { key: `plan:${r.runId}` }),
        )
      : '',
    card(
      'Tasks',
      p.tasks.length
        ? table(
            [
              'Task',
              'Title',
              'Status',
              'Employee',
              'Attempts',
              'Repair rounds',
              'Reassigned',
              'Tests by',
              'Code by',
              'Red / green',
              'Review',
            ],
            p.tasks.map((t) => {
              const c = checks.get(t.key);
              return h(
                'tr',
                { 'data-task': t.key },
                h('td', {}, t.key),
                h('td', {}, t.title || '-'),
                h('td', {}, status(t.status)),
                h('td', {}, t.assignedTo ?? '-'),
                h('td', { class: 'num' }, t.attempts),
                h('td', { class: 'num' }, t.repairRounds ?? 0),
                h('td', { class: 'num' }, t.reassignments),
                h('td', {}, c.independent ? (c.testsBy ?? '-') : independent === false ? 'self-tested' : '-'),
                h('td', {}, c.codeBy ?? '-'),
                h('td', {}, c.independent ? `${redText(c.red)} · ${greenText(c.green)}` : '-'),
                h('td', { title: c.review?.comments ?? '' }, c.review ? `${c.review.reviewerId}: ${c.review.verdict}` : '-'),
              );
            }),
            'Tasks',
          )
        : h('p', { class: 'muted' }, p.status === 'planning' ? 'Planning…' : 'No tasks yet.'),
    ),
    card(
      'Attempts and repair rounds',
      r.attempts.length
        ? table(
            ['Time (UTC)', 'Task', 'Attempt', 'Round', 'Employee', 'Check', 'As', 'Review', 'Tokens', 'Error'],
            r.attempts.map((a) =>
              h(
                'tr',
                {},
                h('td', {}, time(a.at)),
                h('td', {}, a.generation > 1 ? `g${a.generation}:${a.taskKey}` : a.taskKey),
                h('td', { class: 'num' }, a.attempt ?? '-'),
                h('td', { class: 'num' }, a.round ?? 1),
                h('td', {}, a.employeeId),
                h('td', {}, a.passed === null ? '-' : [a.phase ? `${a.phase} ` : '', status(a.passed ? 'passed' : 'failing')]),
                h('td', {}, a.role ?? 'coder'),
                h('td', { title: a.review?.comments ?? '' }, a.review ? `${a.review.reviewerId}: ${a.review.verdict}` : '-'),
                h('td', { class: 'num' }, a.tokens),
                h('td', {}, a.error ?? ''),
              ),
            ),
            'Attempts',
          )
        : h('p', { class: 'muted' }, 'No task attempt yet.'),
    ),
    card(
      'Incidents',
      r.incidents.length
        ? r.incidents.map((i) =>
            h(
              'div',
              { class: 'evidence' },
              h(
                'p',
                {},
                h('b', {}, i.violation),
                ` by ${i.employee ?? '(infrastructure)'} at ${time(i.reported_at)}, severity ${i.severity} → HR: ${i.action ?? '-'}`,
              ),
              h('p', {}, i.message),
              (Array.isArray(i.evidence) ? i.evidence : []).map((e, n) =>
                collapsible(`Evidence ${n + 1}`, h('pre', {}, e?.excerpt ?? JSON.stringify(e)), {
                  key: `incident:${i.id ?? i.reported_at}:${n}`,
                }),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No incidents.'),
    ),
    card(
      "Director's actions",
      r.actions.length
        ? h(
            'ul',
            { class: 'plain' },
            r.actions.map((a) => h('li', {}, `${time(a.at)} ${a.by}: ${a.action} — ${a.reason ?? ''}`)),
          )
        : h('p', { class: 'muted' }, 'None yet.'),
    ),
  ];
  return cards.filter(Boolean);
}
