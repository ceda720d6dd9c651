// The Director's commands from the page: each opens one dialog that says what will happen and
// asks for a reason (recorded with the key owner's name), then shows the run's answer.
import { byId, h, notice, short } from './dom.js';

/** Run statuses in which work goes on and a pause takes hold (governance/director-commands.ts). */
export const PAUSABLE = ['planning', 'running', 'verifying'];
export const FINAL = ['completed', 'failed', 'rejected', 'cancelled'];

/** What the page says once a command was taken: a task decision is carried out after the answer, so no status is claimed for it. */
export function answerText(title, answer, { task = false } = {}) {
  const state = !task && answer.status ? ` The run is ${answer.status}.` : '';
  return `${title}: ${answer.message ?? 'done'}.${state} Recorded as ${answer.by}.`.replace(/\.\./g, '.');
}

/**
 * Opens the reason dialog for one command; `fields` adds inputs (an employee, a budget).
 * On confirm, `send(values)` returns the request; the answer (or refusal) is shown.
 */
export function act(ctx, { title, what, fields = [], send, danger = false, task = false }) {
  const dialog = byId('act');
  byId('act-title').textContent = title;
  byId('act-what').textContent = what;
  byId('act-error').textContent = '';
  byId('act-fields').replaceChildren(...fields.map((f) => h('label', {}, f.label, f.input)));
  const form = byId('act-form');
  const confirm = byId('act-confirm');
  confirm.className = danger ? 'danger' : 'primary';
  form.reason.value = '';
  form.onsubmit = async (e) => {
    e.preventDefault();
    const reason = form.reason.value.trim();
    if (!reason) {
      byId('act-error').textContent = 'Say why: the reason is recorded with your name.';
      return;
    }
    const values = Object.fromEntries(fields.map((f) => [f.name, f.input.value]));
    confirm.disabled = true;
    try {
      const { path, body } = send(values);
      const answer = await ctx.api.call('POST', path, { ...body, reason });
      dialog.close();
      notice(answerText(title, answer, { task }));
      ctx.refresh();
    } catch (err) {
      byId('act-error').textContent = err.message;
    } finally {
      confirm.disabled = false;
    }
  };
  byId('act-cancel').onclick = () => dialog.close();
  dialog.showModal();
  form.reason.focus();
}

const readOnly = () => h('p', { class: 'muted' }, 'Your key may read, not act.');
const runPath = (runId) => `/api/runs/${encodeURIComponent(runId)}`;

/** Pause, Resume and Cancel for a run that has not ended, as its status allows (`inList`: a row of the runs list, no note for a read key). */
export function runControls(ctx, run, { inList = false } = {}) {
  if (FINAL.includes(run.status)) return '';
  if (ctx.me?.role !== 'director') return inList ? '' : readOnly();
  const path = runPath(run.runId);
  const simple = (label, cmd, what, cls = '') =>
    h(
      'button',
      {
        type: 'button',
        class: cls,
        onclick: () =>
          act(ctx, {
            title: `${label}: run ${short(run.runId)}`,
            what,
            danger: cls === 'danger',
            send: () => ({ path: `${path}/${cmd}`, body: {} }),
          }),
      },
      label,
    );
  const out = [];
  if (PAUSABLE.includes(run.status)) out.push(simple('Pause run', 'pause', 'Running steps finish; nothing new starts until you resume.'));
  if (run.status === 'paused') out.push(simple('Resume run', 'resume', 'The run carries on where it stood.', 'primary'));
  out.push(simple('Cancel run', 'cancel', 'Model calls and sandboxes stop; the run ends cancelled.', 'danger'));
  return h('div', { class: 'actions', 'aria-label': 'Run controls' }, out);
}

/** A choice of the employees who could take a task, the ones who may not shown with why. */
export function employeeChoice(eligible) {
  const select = h(
    'select',
    { name: 'employeeId', required: true },
    (eligible?.employees ?? []).map((e) =>
      h(
        'option',
        { value: e.id, disabled: !e.eligible },
        `${e.id} — ${e.status}, ${e.provider} ${e.model}, reputation ${Number(e.reputation).toFixed(1)}${e.why ? ` (not eligible: ${e.why})` : ''}`,
      ),
    ),
  );
  return select;
}

/** The buttons that answer one pending decision (`p` from /api/intervention). */
export function decisionButtons(ctx, p) {
  if (ctx.me?.role !== 'director') return readOnly();
  const run = runPath(p.runId);
  const button = (label, opts, cls = '') =>
    h('button', { type: 'button', class: cls, onclick: () => act(ctx, { danger: cls.includes('danger'), ...opts }) }, label);
  const simple = (label, cmd, what, cls) =>
    button(label, { title: `${label}: run ${short(p.runId)}`, what, send: () => ({ path: `${run}/${cmd}`, body: {} }) }, cls);
  const out = [];
  for (const a of p.actions) {
    if (a === 'approve') out.push(simple('Approve plan', 'approve', 'The tasks start.', 'primary'));
    if (a === 'reject') out.push(simple('Reject plan', 'reject', 'The run ends, rejected.', 'danger'));
    if (a === 'replan') out.push(simple('More planning rounds', 'replan', 'The planner tries again.'));
    if (a === 'resume') out.push(simple('Resume run', 'resume', 'The run carries on where it stood.', 'primary'));
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
      for (const [kind, label, what, cls] of [
        ['replan', 'Re-plan', 'The planner gets the failure and plans a new generation.', 'primary'],
        ['stop', 'Stop', 'The run ends cancelled.', ''],
        [
          'accept',
          'Override: accept the failing workspace',
          'The run completes despite the failing check; the override is recorded with your name.',
          'danger override',
        ],
      ]) {
        out.push(
          button(
            label,
            {
              title: `${label}: the failed verification of run ${short(p.runId)}`,
              what,
              send: () => ({ path: `${run}/verification`, body: { decision: kind } }),
            },
            cls,
          ),
        );
      }
    }
    if (a === 'resolve') {
      const task = `${run}/tasks/${encodeURIComponent(p.taskKey)}/resolve`;
      const eligible = p.eligible?.employees?.filter((e) => e.eligible) ?? [];
      const reassign = button(
        `Reassign ${p.taskKey}`,
        {
          title: `Reassign task ${p.taskKey}`,
          what: 'The employee you choose takes the task, from its first round.',
          task: true,
          fields: [{ name: 'employeeId', label: 'Employee', input: employeeChoice(p.eligible) }],
          send: (v) => ({ path: task, body: { decision: 'reassign', employeeId: v.employeeId } }),
        },
        'primary',
      );
      if (!eligible.length) reassign.disabled = true;
      // Who may take it is in the page itself, so that a change of it redraws the button.
      reassign.setAttribute('data-eligible', eligible.map((e) => e.id).join(' '));
      out.push(reassign);
      out.push(
        button(
          `Cancel ${p.taskKey}`,
          {
            title: `Cancel task ${p.taskKey}`,
            what: 'The task ends cancelled; tasks that need it do not run.',
            task: true,
            send: () => ({ path: task, body: { decision: 'cancel' } }),
          },
          '',
        ),
      );
      out.push(
        button(
          `Override: accept ${p.taskKey}'s last output`,
          {
            title: `Accept task ${p.taskKey} anyway`,
            what: 'The last output is accepted despite its findings: an override recorded with your name.',
            task: true,
            send: () => ({ path: task, body: { decision: 'accept' } }),
          },
          'danger override',
        ),
      );
      if (!eligible.length && p.eligible)
        out.push(
          h(
            'p',
            { class: 'muted' },
            `No employee may take ${p.taskKey} now: ${(p.eligible.employees ?? []).map((e) => `${e.id} (${e.why})`).join('; ') || `none has the ${p.eligible.capability} capability`}.`,
          ),
        );
    }
  }
  return h('div', { class: 'actions' }, out);
}
