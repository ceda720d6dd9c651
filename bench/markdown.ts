/**
 * Prints bench/results.json as the Markdown table of docs/benchmarks.md ("Latest figures"), so
 * the page's numbers are copied from a real run, not retyped.
 * Usage: node --import tsx bench/markdown.ts [results.json]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/config.js';
import { type Figure, formatNumber, ratioOf, verdictOf } from './figures.js';

const file = process.argv[2] ?? join(PROJECT_ROOT, 'bench', 'results.json');
const results = JSON.parse(readFileSync(file, 'utf8')) as {
  date: string;
  wallSeconds: number;
  machine: Record<string, unknown>;
  figures: Figure[];
};
const m = results.machine;
console.log(
  `${results.date.slice(0, 10)}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; load average ${String(m.loadAverageAtStart)} at the start, ${String(m.loadAverageAtEnd)} at the end; \`npm run bench\` took ${Math.floor(results.wallSeconds / 60)} min ${results.wallSeconds % 60} s.`,
);
console.log('');
console.log('| Figure | Measured | Goal | Ratio | |');
console.log('|---|---|---|---|---|');
for (const f of results.figures) {
  const r = ratioOf(f);
  const goal = f.goal ? `${f.goal.kind === 'max' ? '≤' : '≥'} ${formatNumber(f.goal.value, f.unit)}` : '';
  console.log(
    `| ${f.bench}. ${f.label} | ${formatNumber(f.value, f.unit)} | ${goal} | ${r === null ? '' : `${r.toFixed(2)}×`} | ${verdictOf(f)} |`,
  );
}
