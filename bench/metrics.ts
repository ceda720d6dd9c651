/**
 * The worker's Temporal metrics (Prometheus text from the endpoint bench/workers.ts opens):
 * histogram sums and counts, read before and after a benchmark and subtracted.
 */

export type Samples = Map<string, number>;

/** Every sample line, keyed by `name{labels}` as printed. */
export async function scrape(url: string): Promise<Samples> {
  const text = await (await fetch(url)).text();
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    samples.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return samples;
}

function labelsOf(key: string): Record<string, string> {
  const inner = /\{(.*)\}$/.exec(key)?.[1] ?? '';
  const out: Record<string, string> = {};
  for (const m of inner.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

export interface HistogramTotal {
  /** Label values the series were grouped by, joined with " / ". */
  group: string;
  count: number;
  /** Sum of the observations, in the metric's unit (milliseconds unless the name says seconds). */
  sum: number;
}

/**
 * A histogram's sum and count between two scrapes, grouped by some labels
 * (e.g. `temporal_activity_execution_latency` by `task_queue` and `activity_type`).
 */
export function histogramDelta(before: Samples, after: Samples, metric: string, by: string[]): HistogramTotal[] {
  const groups = new Map<string, HistogramTotal>();
  for (const [key, value] of after) {
    const name = key.split('{')[0]!;
    const isSum = name === `${metric}_sum`;
    const isCount = name === `${metric}_count`;
    if (!isSum && !isCount) continue;
    const labels = labelsOf(key);
    const group = by.map((l) => labels[l] ?? '').join(' / ');
    const g = groups.get(group) ?? { group, count: 0, sum: 0 };
    const delta = value - (before.get(key) ?? 0);
    if (isSum) g.sum += delta;
    else g.count += delta;
    groups.set(group, g);
  }
  return [...groups.values()].filter((g) => g.count > 0).sort((a, b) => b.sum - a.sum);
}

/** Names of the histograms the endpoint serves (to find the SDK's names for them). */
export function histogramNames(samples: Samples): string[] {
  return [
    ...new Set(
      [...samples.keys()]
        .map((k) => k.split('{')[0]!)
        .filter((n) => n.endsWith('_sum'))
        .map((n) => n.slice(0, -4)),
    ),
  ].sort();
}
