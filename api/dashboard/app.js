// The Director's dashboard: three pages over the Manager API, refreshed every 2 s without a
// reload. Plain DOM, no build step. Every text from the API (model output, evidence, names) is
// set as text, never as HTML.
const KEY = 'aura-manager-api-key';
const POLL_MS = 2000;
const FINAL = new Set(['completed', 'failed', 'rejected', 'cancelled']);

const $ = (id) => document.getElementById(id);
let me = null;
let timer = null;
let busy = false;

// ---- DOM ----

/** An element with attributes and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const status = (s) => h('span', { class: `status ${s}` }, s);
const time = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) : '-');
const money = (n) => `$${Number(n ?? 0).toFixed(4)}`;
const short = (id) => (id ? `${id.slice(0, 8)}…` : '-');
const card = (title, ...body) => h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...body);
const table = (heads, rows, label) =>
  h(
    'table',
    { 'aria-label': label },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        heads.map((x) => h('th', {}, x)),
      ),
    ),
    h('tbody', {}, rows),
  );
const runLink = (runId) => h('a', { href: `#/runs/${runId}` }, short(runId));
const temporalLink = (url) => (url ? h('a', { href: url, target: '_blank', rel: 'noopener' }, 'Temporal ↗') : '');

function meter(value, max, label) {
  const m = h('meter', { min: 0, max: max || 1, value: Math.min(value, max || 1), high: (max || 1) * 0.8, optimum: 0, title: label });
  return h('span', {}, m, ' ', label);
}

function notice(text, error = false) {
  const n = $('notice');
  n.textContent = text;
  n.classList.toggle('error', error);
  n.classList.toggle('hidden', !text);
}

// ---- The API ----

class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

async function api(method, path, body, key = sessionStorage.getItem(KEY)) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${key ?? ''}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => null);
  if (res.status === 401 && key === sessionStorage.getItem(KEY)) signOut('Your key was not accepted: sign in again.');
  if (!res.ok) throw new ApiFailure(res.status, json);
  return json;
}

// ---- Signing in ----

function signOut(message = '') {
  sessionStorage.removeItem(KEY);
  me = null;
  $('who').textContent = '';
  $('sign-out').classList.add('hidden');
  $('sign-in-error').textContent = message;
  if (!$('sign-in').open) $('sign-in').showModal();
}

async function signIn(key) {
  const who = await api('GET', '/api/whoami', undefined, key);
  sessionStorage.setItem(KEY, key);
  me = who;
  $('who').textContent = `${who.name} (${who.role === 'director' ? 'Director' : 'read only'})`;
  $('sign-out').classList.remove('hidden');
  if (who.temporalUiUrl) {
    const link = $('temporal-link');
    link.href = `${who.temporalUiUrl}/namespaces/${encodeURIComponent(who.namespace)}/workflows`;
    link.classList.remove('hidden');
  }
}

$('sign-in-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = new FormData(e.target).get('key').trim();
  try {
    await signIn(key);
    $('sign-in').close();
    e.target.reset();
    refresh();
  } catch (err) {
    $('sign-in-error').textContent = err.status === 401 ? 'That key is not known to this Manager API.' : err.message;
  }
});
$('sign-in').addEventListener('cancel', (e) => e.preventDefault());
$('sign-out').addEventListener('click', () => signOut());

// ---- Acting: every command asks for a reason ----

/**
 * Opens the reason dialog for one command; `fields` adds inputs (an employee, a budget).
 * On confirm, `send(values)` returns the request; the answer (or refusal) is shown.
 */
function act({ title, what, fields = [], send }) {
  const dialog = $('act');
  $('act-title').textContent = title;
  $('act-what').textContent = what;
  $('act-error').textContent = '';
  const holder = $('act-fields');
  holder.replaceChildren(...fields.map((f) => h('label', {}, f.label, f.input)));
  const form = $('act-form');
  form.reason.value = '';
  form.onsubmit = async (e) => {
    e.preventDefault();
    const reason = form.reason.value.trim();
    if (!reason) {
      $('act-error').textContent = 'Say why: the reason is recorded with your name.';
      return;
    }
    const values = Object.fromEntries(fields.map((f) => [f.name, f.input.value]));
    $('act-confirm').disabled = true;
    try {
      const { path, body } = send(values);
      const answer = await api('POST', path, { ...body, reason });
      dialog.close();
      notice(`${title}: ${answer.message ?? 'done'}${answer.status ? ` (now ${answer.status})` : ''} — recorded as ${answer.by}.`);
      refresh();
    } catch (err) {
      $('act-error').textContent = err.message;
    } finally {
      $('act-confirm').disabled = false;
    }
  };
  $('act-cancel').onclick = () => dialog.close();
  dialog.showModal();
  form.reason.focus();
}

function actionButtons(p) {
  if (me?.role !== 'director') return h('p', { class: 'muted' }, 'Your key may read, not act.');
  const run = `/api/runs/${encodeURIComponent(p.runId)}`;
  const button = (label, opts, cls = '') => h('button', { type: 'button', class: cls, onclick: () => act(opts) }, label);
  const simple = (label, cmd, what, cls) =>
    button(label, { title: `${label}: run ${short(p.runId)}`, what, send: () => ({ path: `${run}/${cmd}`, body: {} }) }, cls);
  const out = [];
  for (const a of p.actions) {
    if (a === 'approve') out.push(simple('Approve plan', 'approve', 'The tasks start.', 'primary'));
    if (a === 'reject') out.push(simple('Reject plan', 'reject', 'The run ends, rejected.', 'danger'));
    if (a === 'replan') out.push(simple('More planning rounds', 'replan', 'The planner tries again.'));
    if (a === 'resume') out.push(simple('Resume', 'resume', 'The run carries on where it stood.', 'primary'));
    if (a === 'cancel') out.push(simple('Cancel run', 'cancel', 'Model calls and sandboxes stop; the run ends cancelled.', 'danger'));
    if (a === 'stop') out.push(simple('Stop run', 'stop', 'Waiting tasks are cancelled; the run ends cancelled.', 'danger'));
    if (a === 'budget') {
      const b = p.evidence.budget ?? { maxTokens: 0, maxCostUsd: 0 };
      const tokens = h('input', { type: 'number', name: 'maxTokens', min: 1, value: Math.max(1, b.maxTokens * 2) });
      const cost = h('input', { type: 'number', name: 'maxCostUsd', min: 0, step: '0.01', value: b.maxCostUsd * 2 });
      out.push(
        button(
          'Raise budget',
          {
            title: `Raise the budget: run ${short(p.runId)}`,
            what: 'The paused calls are made and the run carries on.',
            fields: [
              { name: 'maxTokens', label: 'New token budget', input: tokens },
              { name: 'maxCostUsd', label: 'New cost budget (USD)', input: cost },
            ],
            send: (v) => ({ path: `${run}/budget`, body: { maxTokens: Number(v.maxTokens), maxCostUsd: Number(v.maxCostUsd) } }),
          },
          'primary',
        ),
      );
    }
    if (a === 'verification') {
      for (const [kind, label, what] of [
        ['accept', 'Accept anyway', 'The run completes; the override is recorded.'],
        ['replan', 'Re-plan', 'The planner gets the failure and plans a new generation.'],
        ['stop', 'Stop', 'The run ends cancelled.'],
      ]) {
        out.push(
          button(
            label,
            {
              title: `${label}: the failed verification of run ${short(p.runId)}`,
              what,
              send: () => ({ path: `${run}/verification`, body: { decision: kind } }),
            },
            kind === 'stop' ? 'danger' : '',
          ),
        );
      }
    }
    if (a === 'resolve') {
      const task = `${run}/tasks/${encodeURIComponent(p.taskKey)}/resolve`;
      out.push(
        button(
          `Accept ${p.taskKey}'s last output`,
          {
            title: `Accept task ${p.taskKey} anyway`,
            what: 'The last output is accepted despite its findings: a recorded override.',
            send: () => ({ path: task, body: { decision: 'accept' } }),
          },
          'primary',
        ),
      );
      const employee = h('input', { type: 'text', name: 'employeeId', placeholder: 'employee id', required: true });
      out.push(
        button(`Reassign ${p.taskKey}`, {
          title: `Reassign task ${p.taskKey}`,
          what: 'An active employee with the capability takes the task.',
          fields: [{ name: 'employeeId', label: 'Employee', input: employee }],
          send: (v) => ({ path: task, body: { decision: 'reassign', employeeId: v.employeeId.trim() } }),
        }),
      );
      out.push(
        button(
          `Cancel ${p.taskKey}`,
          {
            title: `Cancel task ${p.taskKey}`,
            what: 'The task ends cancelled; tasks that need it do not run.',
            send: () => ({ path: task, body: { decision: 'cancel' } }),
          },
          'danger',
        ),
      );
    }
  }
  return h('div', { class: 'actions' }, out);
}

// ---- Who checked whom ----

/** Which check a verification was: the red run (tests before any code), a green run, or the plan's own command. */
const checkName = (phase) => (phase === 'red' ? 'red run' : phase === 'green' ? 'green run' : 'acceptance check');
const redText = (red) =>
  red ? (red.passed ? 'red: PASSED before any code (the tests check nothing)' : 'red: failed, as it must') : 'red: -';
const greenText = (green) => (green ? `green: ${green.passed ? 'passed' : 'failing'}` : 'green: -');

/**
 * Who checked whom in one task: the report's checks once the run ended, else what the rounds so
 * far say (the testers' answers with their red run, the coders' rounds with green and the review).
 */
function checksOfTask(t, report, attempts) {
  const all = (attempts ?? []).filter((a) => a.taskKey === t.key);
  const generation = Math.max(1, ...all.map((a) => a.generation));
  const rows = all.filter((a) => a.generation === generation);
  const testers = rows.filter((a) => a.role === 'tester');
  const coders = rows.filter((a) => a.role === 'coder');
  const ended = report?.tasks?.find((x) => x.taskKey === t.key) ?? null;
  const done = ended?.checks ?? null;
  const lastRed = testers.filter((a) => a.phase === 'red' && a.passed !== null).at(-1);
  const lastGreen = coders.filter((a) => a.phase === 'green' && a.passed !== null).at(-1);
  const lastCoder = coders.at(-1);
  const independent = !!done || testers.length > 0 || !!t.testedBy || t.phase === 'tests';
  return {
    independent,
    testsBy: done?.tests
      ? `${done.tests.testerId} (v${done.tests.version})`
      : t.testedBy
        ? t.testedBy
        : t.phase === 'tests'
          ? `${t.assignedTo ?? '?'} (writing)`
          : (testers.at(-1)?.employeeId ?? null),
    codeBy: ended
      ? (ended.acceptedBy ?? ended.attempts.at(-1)?.employeeId ?? null)
      : (lastCoder?.employeeId ?? (t.phase === 'code' ? t.assignedTo : null)),
    summary: lastCoder?.summary ?? null,
    red: done?.tests ? done.tests.red : lastRed ? { passed: lastRed.passed, exitCode: lastRed.exitCode } : null,
    green: done ? done.green : lastGreen ? { passed: lastGreen.passed, exitCode: lastGreen.exitCode } : null,
    review: done?.review ?? lastCoder?.review ?? null,
    disputes: done?.disputes ?? [],
  };
}

/** Both sides of an escalated task with independent checks: the tests and the red run, the code and green, the review. */
function bothSides(c) {
  if (!c?.independent && !c?.review) return '';
  return h(
    'div',
    { class: 'sides', 'aria-label': 'Both sides' },
    h('p', {}, h('b', {}, 'Tests: '), c.testsBy ? `by ${c.testsBy}` : 'none frozen yet', ` · ${redText(c.red)}`),
    h('p', {}, h('b', {}, 'Code: '), c.codeBy ? `by ${c.codeBy}` : 'none yet', ` · ${greenText(c.green)}`),
    c.summary ? h('p', {}, h('b', {}, "The coder's summary: "), c.summary) : '',
    c.review
      ? h('p', {}, h('b', {}, `Review by ${c.review.reviewerId}: `), c.review.verdict, c.review.comments ? ` — ${c.review.comments}` : '')
      : h('p', { class: 'muted' }, 'No review.'),
    c.disputes.map((d) =>
      h('p', {}, h('b', {}, `Dispute of ${d.test}: `), `${d.reason} → ${d.decision}${d.answer ? `: ${d.answer}` : ''}`),
    ),
  );
}

// ---- Evidence ----

function excerpts(list) {
  return (Array.isArray(list) ? list : []).map((e) => h('pre', {}, e?.excerpt ?? JSON.stringify(e)));
}

function evidenceOf(p) {
  const e = p.evidence ?? {};
  const parts = [];
  if (e.plan) {
    parts.push(h('p', {}, h('b', {}, 'Plan: '), e.plan.summary, ` (round ${e.planAttempts})`));
    parts.push(
      table(
        ['Task', 'Title', 'Capability', 'Scope', 'After', 'Acceptance'],
        e.plan.tasks.map((t) =>
          h(
            'tr',
            {},
            h('td', {}, t.id),
            h('td', {}, t.title),
            h('td', {}, t.capability),
            h('td', {}, t.scope.join(', ')),
            h('td', {}, t.dependsOn.join(', ') || '-'),
            h('td', {}, h('code', {}, t.acceptance.command)),
          ),
        ),
        'Plan tasks',
      ),
    );
    if (e.plan.verification) parts.push(h('p', {}, 'Final verification: ', h('code', {}, e.plan.verification.command)));
  }
  if (e.planErrors?.length && !e.plan)
    parts.push(
      h('p', {}, h('b', {}, `Plan rules still broken after ${e.planAttempts} rounds:`)),
      h(
        'ul',
        { class: 'plain' },
        e.planErrors.map((x) => h('li', {}, x)),
      ),
    );
  if (p.kind === 'budget') {
    const b = e.budget ?? { maxTokens: 0, maxCostUsd: 0 };
    parts.push(
      h(
        'p',
        {},
        'Spent ',
        meter(e.spend?.tokens ?? 0, b.maxTokens, `${e.spend?.tokens ?? 0} of ${b.maxTokens} tokens`),
        ' · ',
        meter(e.spend?.costUsd ?? 0, b.maxCostUsd, `${money(e.spend?.costUsd)} of ${money(b.maxCostUsd)}`),
      ),
    );
  }
  if (e.verification)
    parts.push(
      h(
        'p',
        {},
        h('b', {}, 'Final verification: '),
        h('code', {}, e.verification.command),
        ` exited ${e.verification.exitCode}${e.verification.timedOut ? ' (timed out)' : ''}`,
      ),
      h('pre', {}, e.verification.excerpt),
    );
  if (e.pausedBy) parts.push(h('p', {}, `Paused by ${e.pausedBy.by} at ${time(e.pausedBy.at)}: ${e.pausedBy.reason}`));
  if (p.kind === 'task') {
    for (const x of e.escalation ?? []) parts.push(h('p', {}, h('b', {}, 'Escalated: '), x));
    parts.push(bothSides(p.sides));
    if (e.lastCheck)
      parts.push(
        h(
          'p',
          {},
          h('b', {}, `Auditor's evidence — last ${checkName(e.lastCheck.phase)}: `),
          h('code', {}, e.lastCheck.command),
          ` ${e.lastCheck.passed ? 'passed' : `failed (exit ${e.lastCheck.exitCode})`}`,
        ),
        h('pre', {}, e.lastCheck.excerpt),
      );
    for (const v of e.verdicts ?? []) {
      parts.push(
        h('p', {}, h('b', {}, `Verdict on ${v.employeeId}`), ` (${time(v.at)}${v.rounds > 1 ? `, after ${v.rounds} rounds` : ''}):`),
      );
      parts.push(
        h(
          'ul',
          { class: 'plain' },
          (v.violations ?? []).map((x) =>
            h('li', {}, `${x.type}: ${x.message}`, x.evidence?.excerpt ? h('pre', {}, x.evidence.excerpt) : ''),
          ),
        ),
      );
    }
    for (const i of e.incidents ?? [])
      parts.push(
        h(
          'p',
          {},
          h('b', {}, `Incident: ${i.violation}`),
          ` by ${i.employeeId ?? '(infrastructure)'}, severity ${i.severity}: ${i.message}`,
        ),
        excerpts(i.evidence),
      );
  }
  return h('div', { class: 'evidence', 'aria-label': 'Evidence' }, parts);
}

// ---- Pages ----

async function overviewPage() {
  const [o, emp] = await Promise.all([api('GET', '/api/overview'), api('GET', '/api/employees')]);
  const statuses = Object.entries(o.runsByStatus).sort(([a], [b]) => a.localeCompare(b));
  return [
    h(
      'div',
      { class: 'grid' },
      card(
        'Runs by status',
        h(
          'div',
          { class: 'stats' },
          statuses.length
            ? statuses.map(([s, n]) => h('div', { class: 'stat' }, h('b', {}, n), status(s)))
            : h('p', { class: 'muted' }, 'No runs yet.'),
        ),
      ),
      card(
        'Waiting on you',
        h(
          'div',
          { class: 'stats' },
          h('div', { class: 'stat' }, h('b', {}, o.needsDirector), h('a', { href: '#/intervention' }, 'decisions')),
        ),
      ),
      card(
        'Employees',
        h(
          'div',
          { class: 'stats' },
          Object.entries(emp.counts.byStatus).map(([s, n]) => h('div', { class: 'stat' }, h('b', {}, n), status(s))),
          Object.entries(emp.counts.byTier).map(([t, n]) => h('div', { class: 'stat' }, h('b', {}, n), `tier ${t}`)),
        ),
      ),
    ),
    card(
      'Recent runs: spend against budget',
      table(
        ['Run', 'Project', 'Status', 'Started (UTC)', 'Tokens', 'Cost', 'Waits on you for', ''],
        o.runs.map((r) =>
          h(
            'tr',
            { 'data-run': r.runId },
            h('td', {}, runLink(r.runId)),
            h('td', {}, r.project ?? '-'),
            h('td', {}, status(r.status)),
            h('td', {}, time(r.startedAt)),
            h('td', {}, meter(r.spend.tokens, r.budget.maxTokens, `${r.spend.tokens} / ${r.budget.maxTokens}`)),
            h('td', {}, meter(r.spend.costUsd, r.budget.maxCostUsd, `${money(r.spend.costUsd)} / ${money(r.budget.maxCostUsd)}`)),
            h('td', {}, r.waitingFor.join('; ') || '-'),
            h('td', {}, temporalLink(r.temporalUrl)),
          ),
        ),
        'Recent runs',
      ),
    ),
    card(
      'Employees by tier and status',
      table(
        ['Employee', 'Provider', 'Model', 'Capabilities', 'Status', 'Tier', 'Reputation', 'Calls', 'Cost'],
        emp.employees
          .filter((e) => e.available)
          .map((e) =>
            h(
              'tr',
              {},
              h('td', {}, e.id),
              h('td', {}, e.provider),
              h('td', {}, e.model),
              h('td', {}, e.capabilities.join(', ')),
              h('td', {}, status(e.status)),
              h('td', {}, e.tier ?? '-'),
              h('td', { class: 'num' }, e.reputation.toFixed(1)),
              h('td', { class: 'num' }, e.calls),
              h('td', { class: 'num' }, money(e.costUsd)),
            ),
          ),
        'Employees',
      ),
    ),
  ];
}

async function monitoringList() {
  const { runs } = await api('GET', '/api/runs?limit=30');
  const open = runs.filter((r) => !FINAL.has(r.status));
  return [
    card(
      'Runs',
      h(
        'p',
        { class: 'muted' },
        open.length ? `${open.length} not ended. Pick a run to watch it.` : 'No run is under way. Pick a run to read it.',
      ),
      table(
        ['Run', 'Project', 'Status', 'Started (UTC)', 'Last change'],
        runs.map((r) =>
          h(
            'tr',
            {},
            h('td', {}, runLink(r.runId)),
            h('td', {}, r.project ?? '-'),
            h('td', {}, status(r.status)),
            h('td', {}, time(r.startedAt)),
            h('td', {}, time(r.updatedAt)),
          ),
        ),
        'Runs',
      ),
    ),
  ];
}

async function runPage(ref) {
  const r = await api('GET', `/api/runs/${encodeURIComponent(ref)}`);
  const p = r.progress;
  const incidentsByTask = r.incidents;
  const checks = new Map(p.tasks.map((t) => [t.key, checksOfTask(t, p.report, r.attempts)]));
  // true: testers; false: self-tested; null: not known yet (a live run whose tasks have not shown testers).
  const independent = p.report?.independentTests ?? ([...checks.values()].some((c) => c.independent) ? true : null);
  const acceptance =
    independent === true
      ? 'Acceptance: tests by testers (independent): written before the code, frozen, red before green.'
      : independent === false
        ? "Self-tested: the plan's own commands decided."
        : '';
  return [
    card(
      `Run ${r.runId}`,
      h('p', {}, `Project ${p.project || '-'} · `, status(p.status), p.reason ? ` — ${p.reason}` : '', ' · ', temporalLink(r.temporalUrl)),
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
    ),
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
      incidentsByTask.length
        ? incidentsByTask.map((i) =>
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
              excerpts(i.evidence),
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
}

async function interventionPage() {
  const { pending } = await api('GET', '/api/intervention');
  $('pending-count').textContent = pending.length ? String(pending.length) : '';
  if (pending.length === 0)
    return [
      card(
        'Nothing waits on you',
        h('p', { class: 'muted' }, 'Plans to approve, escalated tasks, budgets, failed verifications and paused runs show here.'),
      ),
    ];
  // An escalated task: both sides from the run's rounds (tests and red, code and green, the review).
  const runs = new Map();
  for (const p of pending.filter((x) => x.kind === 'task')) {
    if (!runs.has(p.runId))
      runs.set(
        p.runId,
        api('GET', `/api/runs/${encodeURIComponent(p.runId)}`).catch(() => null),
      );
    const r = await runs.get(p.runId);
    const t = r?.progress.tasks.find((x) => x.key === p.taskKey);
    if (t) p.sides = checksOfTask(t, r.progress.report, r.attempts);
  }
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
      actionButtons(p),
    ),
  );
}

// ---- Routing and refresh ----

function route() {
  const [, page = 'overview', arg] = (location.hash || '#/overview').split('/');
  return { page: page === 'runs' ? 'monitoring' : page, arg: arg ? decodeURIComponent(arg) : null };
}

async function refresh() {
  if (!me || busy) return;
  busy = true;
  const { page, arg } = route();
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('current', a.dataset.page === page);
  try {
    const content =
      page === 'intervention'
        ? await interventionPage()
        : page === 'monitoring'
          ? arg
            ? await runPage(arg)
            : await monitoringList()
          : await overviewPage();
    // Another page asked for meanwhile: its own refresh draws it.
    const now = route();
    if (now.page === page && now.arg === arg) {
      $('main').replaceChildren(...content);
      $('updated').textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC, every ${POLL_MS / 1000} s`;
    }
    if (page !== 'intervention')
      api('GET', '/api/intervention')
        .then(({ pending }) => ($('pending-count').textContent = pending.length ? String(pending.length) : ''))
        .catch(() => {});
  } catch (err) {
    if (err.status !== 401) $('main').replaceChildren(card('Could not load this page', h('p', { class: 'error' }, err.message)));
  } finally {
    busy = false;
  }
}

window.addEventListener('hashchange', () => {
  notice('');
  refresh();
});

async function start() {
  const key = sessionStorage.getItem(KEY);
  if (key) {
    try {
      await signIn(key);
    } catch {
      signOut('Sign in again.');
    }
  } else signOut();
  await refresh();
  // Not while a dialog is open: the page under it stays as the Director saw it.
  timer ??= setInterval(() => {
    if (!$('act').open && !$('sign-in').open) refresh();
  }, POLL_MS);
}

start();
