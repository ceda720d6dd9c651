// The Director's dashboard: pages over the Manager API, refreshed every 2 s without a reload.
// Plain DOM in ES modules, no build step: dom (elements, always text), api (the key and the
// calls), actions (commands with a reason), evidence (what a decision rests on), diff, one
// module per page, and the router. This module signs in and draws the page the address names.
import { byId, card, h, notice } from './dom.js';
import { KEY, createApi } from './api.js';
import { parseRoute, sameRoute } from './router.js';
import { overviewPage } from './overview.js';
import { monitoringList, runPage } from './monitoring.js';
import { interventionPage } from './intervention.js';
import { submitPage } from './submit.js';

const POLL_MS = 2000;

/** Pages drawn on each refresh; the others (a form) are drawn once per visit. */
const LIVE = { overview: true, monitoring: true, intervention: true, submit: false };

function start() {
  const session = { me: null, busy: false, drawn: null, keepNotice: false };
  const setPending = (n) => (byId('pending-count').textContent = n ? String(n) : '');
  const api = createApi({ onUnauthorized: () => signOut('Your key was not accepted: sign in again.') });
  const ctx = {
    api,
    get me() {
      return session.me;
    },
    refresh: () => refresh(true),
    setPending,
    go(hash) {
      session.keepNotice = true;
      location.hash = hash;
    },
  };

  function signOut(message = '') {
    sessionStorage.removeItem(KEY);
    session.me = null;
    session.drawn = null;
    byId('who').textContent = '';
    byId('sign-out').classList.add('hidden');
    byId('sign-in-error').textContent = message;
    if (!byId('sign-in').open) byId('sign-in').showModal();
  }

  async function signIn(key) {
    const who = await api.call('GET', '/api/whoami', undefined, key);
    sessionStorage.setItem(KEY, key);
    session.me = who;
    byId('who').textContent = `${who.name} (${who.role === 'director' ? 'Director' : 'read only'})`;
    byId('sign-out').classList.remove('hidden');
    byId('submit-link').classList.toggle('hidden', who.role !== 'director');
    if (who.temporalUiUrl) {
      const link = byId('temporal-link');
      link.href = `${who.temporalUiUrl}/namespaces/${encodeURIComponent(who.namespace)}/workflows`;
      link.classList.remove('hidden');
    }
  }

  /**
   * Draws the page again, only where it changed: a page the same as the one shown is left as it
   * is (a button under the pointer is not swapped for its twin), and a block the Director opened
   * or closed stays as it was.
   */
  function show(content) {
    const main = byId('main');
    const next = document.createElement('main');
    next.append(...content);
    const open = new Map([...main.querySelectorAll('details[data-key]')].map((d) => [d.dataset.key, d.open]));
    for (const d of next.querySelectorAll('details[data-key]')) if (open.has(d.dataset.key)) d.open = open.get(d.dataset.key);
    if (next.innerHTML !== main.innerHTML) main.replaceChildren(...next.childNodes);
  }

  async function draw(route) {
    if (route.page === 'intervention') return interventionPage(ctx);
    if (route.page === 'monitoring') return route.arg ? runPage(ctx, route.arg) : monitoringList(ctx);
    if (route.page === 'submit') return submitPage(ctx);
    return overviewPage(ctx);
  }

  /** `force`: draw even a page drawn once (after a command, the page changes). */
  async function refresh(force = false) {
    if (!session.me || session.busy) return;
    const route = parseRoute(location.hash);
    if (!LIVE[route.page] && !force && session.drawn && sameRoute(session.drawn, route)) return;
    session.busy = true;
    for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('current', a.dataset.page === route.page);
    try {
      const content = await draw(route);
      // Another page asked for meanwhile: its own refresh draws it.
      if (sameRoute(parseRoute(location.hash), route)) {
        show(content);
        session.drawn = route;
        byId('updated').textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC, every ${POLL_MS / 1000} s`;
      }
      if (route.page !== 'intervention')
        api
          .call('GET', '/api/intervention')
          .then(({ pending }) => setPending(pending.length))
          .catch(() => {});
    } catch (err) {
      if (err.status !== 401) show([card('Could not load this page', h('p', { class: 'error' }, err.message))]);
    } finally {
      session.busy = false;
    }
  }

  byId('sign-in-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = new FormData(e.target).get('key').trim();
    try {
      await signIn(key);
      byId('sign-in').close();
      e.target.reset();
      refresh(true);
    } catch (err) {
      byId('sign-in-error').textContent = err.status === 401 ? 'That key is not known to this Manager API.' : err.message;
    }
  });
  byId('sign-in').addEventListener('cancel', (e) => e.preventDefault());
  byId('sign-out').addEventListener('click', () => signOut());
  window.addEventListener('hashchange', () => {
    if (!session.keepNotice) notice('');
    session.keepNotice = false;
    session.drawn = null;
    refresh(true);
  });

  (async () => {
    const key = sessionStorage.getItem(KEY);
    if (key) {
      try {
        await signIn(key);
      } catch {
        signOut('Sign in again.');
      }
    } else signOut();
    await refresh(true);
    // Not while a dialog is open: the page under it stays as the Director saw it.
    setInterval(() => {
      if (!byId('act').open && !byId('sign-in').open) refresh();
    }, POLL_MS);
  })();
}

start();
