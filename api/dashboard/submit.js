// The submit page: a PRD (typed, pasted or read from a file) and the run's options, sent as
// POST /api/runs. Drawn once: the page is not redrawn while the Director types.
import { card, h, notice } from './dom.js';

/** The request body from the form's values: empty fields are left to the API's defaults. */
export function submission(v) {
  const body = { prd: v.prd, project: v.project.trim(), autoApprove: v.autoApprove === true };
  const int = (s) => (String(s ?? '').trim() === '' ? undefined : Number(s));
  if (v.independentTests === 'on') body.independentTests = true;
  if (v.independentTests === 'off') body.independentTests = false;
  for (const k of ['maxParallel', 'maxTokens', 'maxCostUsd', 'maxRepairRounds']) {
    const n = int(v[k]);
    if (n !== undefined) body[k] = n;
  }
  return body;
}

export function submitPage(ctx) {
  if (ctx.me?.role !== 'director')
    return [card('Submit a PRD', h('p', { class: 'muted' }, 'Your key may read, not act: submitting needs a director key.'))];
  const error = h('p', { class: 'error', role: 'alert' });
  const prd = h('textarea', { name: 'prd', rows: 14, required: true, placeholder: '# What to build\n\n…' });
  const file = h('input', { type: 'file', accept: '.md,.txt,text/markdown,text/plain' });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (f) prd.value = await f.text();
  });
  const field = (label, input, hint) => h('label', {}, label, input, hint ? h('small', { class: 'muted' }, hint) : '');
  const form = h(
    'form',
    { class: 'submit', 'aria-label': 'Submit a PRD', novalidate: true },
    field('Project', h('input', { name: 'project', required: true, maxlength: 100, autocomplete: 'off' })),
    field('PRD (Markdown or text)', prd),
    field('…or read it from a file', file),
    h(
      'div',
      { class: 'row' },
      field(
        'Plan gate',
        h(
          'select',
          { name: 'autoApprove' },
          h('option', { value: 'no' }, 'I approve the plan'),
          h('option', { value: 'yes' }, 'start without my approval'),
        ),
      ),
      field(
        'Acceptance tests',
        h(
          'select',
          { name: 'independentTests' },
          h('option', { value: 'default' }, 'as configured'),
          h('option', { value: 'on' }, 'by testers (independent)'),
          h('option', { value: 'off' }, "self-tested (the plan's commands)"),
        ),
      ),
      field('Tasks at once', h('input', { name: 'maxParallel', type: 'number', min: 1, max: 50 })),
      field('Token budget', h('input', { name: 'maxTokens', type: 'number', min: 1 }), 'empty: the default'),
      field('Cost budget (USD)', h('input', { name: 'maxCostUsd', type: 'number', min: 0, step: '0.01' }), 'empty: the default'),
      field('Repair rounds', h('input', { name: 'maxRepairRounds', type: 'number', min: 0, max: 10 })),
    ),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Start the run')),
  );
  form.addEventListener('input', () => (error.textContent = ''));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const values = Object.fromEntries([...data.entries()].filter(([, v]) => typeof v === 'string'));
    values.autoApprove = values.autoApprove === 'yes';
    if (!values.project?.trim()) return (error.textContent = 'Name the project.');
    if (!values.prd?.trim()) return (error.textContent = 'The PRD is empty.');
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const answer = await ctx.api.call('POST', '/api/runs', submission(values));
      notice(`Run ${answer.runId} started for ${values.project.trim()} — recorded as ${answer.by}.`);
      ctx.go(`#/runs/${answer.runId}`);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  return [card('Submit a PRD', h('p', { class: 'muted' }, 'The run starts at once; it is recorded under your name.'), form)];
}
