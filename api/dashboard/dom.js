// Building the page: elements from data, every text set as text (never parsed as HTML), and the
// small shapes the pages share (a card, a table, a status, a meter, a collapsible block).

/** An element with attributes and children (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === '') continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const byId = (id) => document.getElementById(id);
export const status = (s) => h('span', { class: `status ${s}` }, s);
export const time = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) : '-');
export const money = (n) => `$${Number(n ?? 0).toFixed(4)}`;
export const short = (id) => (id ? `${id.slice(0, 8)}…` : '-');
export const card = (title, ...body) => h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...body);
export const table = (heads, rows, label) =>
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
export const runLink = (runId) => h('a', { href: `#/runs/${runId}` }, short(runId));
export const temporalLink = (url) => (url ? h('a', { href: url, target: '_blank', rel: 'noopener' }, 'Temporal ↗') : '');

export function meter(value, max, label) {
  const m = h('meter', { min: 0, max: max || 1, value: Math.min(value, max || 1), high: (max || 1) * 0.8, optimum: 0, title: label });
  return h('span', {}, m, ' ', label);
}

/**
 * A block the Director opens when needed: long output, a PRD, a file. `key` names it so that it
 * stays open (or closed) as the Director left it when the page is drawn again.
 */
export const collapsible = (summary, body, { key = null, open = false } = {}) =>
  h('details', { open, 'data-key': key }, h('summary', {}, summary), body);

export function notice(text, error = false) {
  const n = byId('notice');
  n.textContent = text;
  n.classList.toggle('error', error);
  n.classList.toggle('hidden', !text);
}
