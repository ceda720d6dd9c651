// Comparing two rounds of code line by line, as a reviewer reads a diff: the lines removed and
// added, with a few unchanged lines around each change. Pure functions (no DOM).

/** Past this many line pairs the middle of two texts is not compared (shown as replaced whole). */
const MAX_CELLS = 2_000_000;

/** The edit from `a` to `b`: [{ op: ' ' | '-' | '+', text }] in order. */
export function lineDiff(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  let start = 0;
  while (start < x.length && start < y.length && x[start] === y[start]) start++;
  let end = 0;
  while (end < x.length - start && end < y.length - start && x[x.length - 1 - end] === y[y.length - 1 - end]) end++;
  const xs = x.slice(start, x.length - end);
  const ys = y.slice(start, y.length - end);
  const same = (lines) => lines.map((text) => ({ op: ' ', text }));
  let middle;
  if (xs.length * ys.length > MAX_CELLS) {
    middle = [...xs.map((text) => ({ op: '-', text })), ...ys.map((text) => ({ op: '+', text }))];
  } else {
    // Longest common subsequence, from the end, so the walk below goes forward.
    const w = ys.length + 1;
    const lcs = new Uint32Array((xs.length + 1) * w);
    for (let i = xs.length - 1; i >= 0; i--)
      for (let j = ys.length - 1; j >= 0; j--)
        lcs[i * w + j] = xs[i] === ys[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    middle = [];
    let i = 0;
    let j = 0;
    while (i < xs.length || j < ys.length) {
      if (i < xs.length && j < ys.length && xs[i] === ys[j]) {
        middle.push({ op: ' ', text: xs[i++] });
        j++;
      } else if (i < xs.length && (j === ys.length || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) middle.push({ op: '-', text: xs[i++] });
      else middle.push({ op: '+', text: ys[j++] });
    }
  }
  return [...same(x.slice(0, start)), ...middle, ...same(x.slice(x.length - end))];
}

/** The changed lines with `context` unchanged lines around them; a gap is one `{ op: '…' }`. */
export function hunks(ops, context = 3) {
  const keep = ops.map(() => false);
  ops.forEach((o, i) => {
    if (o.op === ' ') return;
    for (let k = Math.max(0, i - context); k <= Math.min(ops.length - 1, i + context); k++) keep[k] = true;
  });
  const out = [];
  ops.forEach((o, i) => {
    if (keep[i]) out.push(o);
    else if (out.at(-1)?.op !== '…') out.push({ op: '…', text: '' });
  });
  return out;
}

/**
 * Two rounds' files compared: each path with what happened to it (`added`, `removed`,
 * `changed`, `same`) and, when changed, its hunks.
 */
export function compareFiles(before, after) {
  const old = new Map((before ?? []).map((f) => [f.path, f.content]));
  const now = new Map((after ?? []).map((f) => [f.path, f.content]));
  const paths = [...new Set([...now.keys(), ...old.keys()])];
  return paths.map((path) => {
    if (!old.has(path))
      return {
        path,
        change: 'added',
        lines: now
          .get(path)
          .split('\n')
          .map((text) => ({ op: '+', text })),
      };
    if (!now.has(path)) return { path, change: 'removed', lines: [] };
    if (old.get(path) === now.get(path)) return { path, change: 'same', lines: [] };
    return { path, change: 'changed', lines: hunks(lineDiff(old.get(path), now.get(path))) };
  });
}

/** A diff as the text a person reads (`-`, `+`, ` ` per line; `…` for unchanged lines left out). */
export const diffText = (lines) => lines.map((l) => (l.op === '…' ? '…' : `${l.op} ${l.text}`)).join('\n');
