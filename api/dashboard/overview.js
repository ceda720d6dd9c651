// The overview page: runs by status, what waits on the Director, recent runs with their spend
// against budget, employees by tier and status.
import { card, h, meter, money, runLink, status, table, temporalLink, time } from './dom.js';

export async function overviewPage(ctx) {
  const [o, emp] = await Promise.all([ctx.api.call('GET', '/api/overview'), ctx.api.call('GET', '/api/employees')]);
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
