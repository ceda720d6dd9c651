/**
 * A benchmark figure: what was measured, its goal, and how far it is from it. Every benchmark
 * returns these; bench/run.ts prints them in one table and writes them to bench/results.json.
 */

export interface Goal {
  /** `max`: the figure should be at most `value`; `min`: at least. */
  kind: 'max' | 'min';
  value: number;
}

export interface Figure {
  /** Which benchmark (1–6 of docs/benchmarks.md). */
  bench: string;
  /** Stable key in results.json. */
  key: string;
  label: string;
  value: number | null;
  unit: string;
  goal?: Goal;
  /** How it was measured, what it was scaled from. */
  note?: string;
}

/** What a benchmark hands back: its figures, the details for results.json, lines for under the table. */
export interface BenchResult {
  figures: Figure[];
  details: Record<string, unknown>;
  text?: string[];
}

/** value ÷ goal: ≤ 1 meets a `max` goal, ≥ 1 a `min` goal. */
export function ratioOf(f: Figure): number | null {
  if (!f.goal || f.value === null || f.goal.value === 0) return null;
  return f.value / f.goal.value;
}

export function verdictOf(f: Figure): 'pass' | 'miss' | '' {
  const r = ratioOf(f);
  if (r === null) return f.goal && f.value === null ? 'miss' : '';
  return (f.goal!.kind === 'max' ? r <= 1 : r >= 1) ? 'pass' : 'miss';
}

export function formatNumber(v: number | null, unit = ''): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  const digits = abs >= 100 || Number.isInteger(v) ? 0 : abs >= 10 ? 1 : 2;
  const s = v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${s} ${unit}` : s;
}

function goalText(f: Figure): string {
  if (!f.goal) return '';
  return `${f.goal.kind === 'max' ? '≤' : '≥'} ${formatNumber(f.goal.value, f.unit)}`;
}

/** The table: figure, value, goal, ratio, pass/miss; notes below it. */
export function formatTable(figures: Figure[]): string {
  const rows = figures.map((f) => {
    const r = ratioOf(f);
    return [`${f.bench}. ${f.label}`, formatNumber(f.value, f.unit), goalText(f), r === null ? '' : `${r.toFixed(2)}×`, verdictOf(f)];
  });
  const head = ['figure', 'measured', 'goal', 'ratio', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)];
  const notes = figures.filter((f) => f.note).map((f) => `  ${f.bench}. ${f.label}: ${f.note}`);
  if (notes.length > 0) out.push('', 'notes:', ...notes);
  return out.join('\n');
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
