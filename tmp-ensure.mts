import { ensureTemporalCli } from './client/temporal-cli.ts';
const t = Date.now();
const p = await ensureTemporalCli(null, (l) => { if (!l.startsWith('  go: downloading')) console.log(l); });
console.log('path', p, 'seconds', Math.round((Date.now() - t) / 1000));
