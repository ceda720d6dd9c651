// Which page the address asks for: #/overview, #/monitoring, #/runs/<run>, #/intervention, #/submit.

export const PAGES = ['overview', 'monitoring', 'intervention', 'submit'];

export function parseRoute(hash) {
  const [, page = 'overview', arg] = (hash || '#/overview').split('/');
  const name = page === 'runs' ? 'monitoring' : PAGES.includes(page) ? page : 'overview';
  return { page: name, arg: arg ? decodeURIComponent(arg) : null };
}

export const sameRoute = (a, b) => a.page === b.page && a.arg === b.arg;
