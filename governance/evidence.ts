/**
 * What a failing check's output says about the failure, within a budget of characters: the
 * excerpt a coder's repair round is shown. The last characters alone are often only passes and
 * a count (`# fail 1`) when passing tests ran after the failing one.
 *
 * - TAP (`node --test` when its output is not a terminal): each failing test's own block
 *   (`not ok N - name` and its indented YAML: error, expected, actual, stack), with what the
 *   test printed just before it, first failures first; the summary (`# tests`, `# pass`,
 *   `# fail`, …) and the output's last line.
 * - Any other runner (jest, vitest, mocha, pytest, go test, …): a few lines around each line
 *   that speaks of a failure (fail, error, assert, expected, Traceback, panic, …), plus the
 *   output's head and tail.
 *
 * Every failing block gets a fair share of the budget (a block that needs less leaves the rest
 * to the others), so one huge block never starves the ones after it; a block longer than its
 * share keeps its beginning. Whatever is left out is said where it was, on a line of its own:
 * `… (N characters omitted) …`, N counting the characters of the output it stands for. Output
 * that fits the budget is returned unchanged. Pure: no I/O.
 */

/** The line that stands for `n` characters of the output left out. */
export function omittedMarker(n: number): string {
  return `… (${n} characters omitted) …`;
}

/** A part of the output worth keeping, and which end of it to keep when it must be cut. */
interface Piece {
  start: number;
  end: number;
  keep: 'head' | 'tail';
}

/** A failing test (or the lines around a failure): the failure itself, and what led to it. */
interface Block {
  main: Piece;
  /** What the test printed before its result (kept from its end, after `main` is served). */
  before?: Piece;
}

/** A part always kept first, up to `frac` of the budget; `grow`: it takes what the blocks left. */
interface Fixed {
  piece: Piece;
  frac: number;
  grow?: boolean;
}

interface Plan {
  fixed: Fixed[];
  blocks: Block[];
}

interface Line {
  start: number;
  /** After the line's newline. */
  end: number;
  text: string;
}

/** A failing block that cannot get this many characters is left out rather than shown in shreds. */
const MIN_BLOCK_SHARE = 300;
/** A long line in a failing block keeps at least this much when the block is cut. */
const LINE_SHARE = 160;
/** A cut shorter than this says nothing: the piece is left out whole. */
const MIN_CUT = 24;
/** What a failing test printed before its result is shown only when this much of it fits. */
const MIN_BEFORE = 60;

export function failureEvidence(output: string, budgetChars: number): string {
  const budget = Math.max(0, Math.floor(budgetChars));
  if (output.length <= budget) return output;
  const lines = linesOf(output);
  const plan = tapPlan(lines) ?? otherRunnerPlan(lines, output.length, budget);
  return fit(output, plan, budget);
}

function linesOf(s: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start < s.length) {
    const nl = s.indexOf('\n', start);
    const end = nl === -1 ? s.length : nl + 1;
    lines.push({ start, end, text: s.slice(start, nl === -1 ? s.length : nl).replace(/\r$/, '') });
    start = end;
  }
  return lines;
}

const indentOf = (text: string) => text.length - text.trimStart().length;

const NOT_OK = /^(\s*)not ok \d+\b/;
const TAP_SUMMARY = /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)\b/;
const TAP_COMMENT = /^\s*#/;
const ONLY_SUBTESTS = /^\s*failureType: '?subtestsFailed'?\s*$/;

/** TAP with at least one failing test, or null. */
function tapPlan(lines: Line[]): Plan | null {
  const blocks: Block[] = [];
  const taken = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    const m = NOT_OK.exec(lines[i]!.text);
    if (!m) continue;
    const indent = m[1]!.length;
    let last = i;
    const open = lines[i + 1];
    if (open && open.text.trim() === '---' && indentOf(open.text) > indent) {
      const yamlIndent = indentOf(open.text);
      let j = i + 2;
      while (j < lines.length && !(lines[j]!.text.trim() === '...' && indentOf(lines[j]!.text) === yamlIndent)) j++;
      last = Math.min(j, lines.length - 1);
    }
    // A suite that failed because a test in it failed: its name says enough (the test's block is shown).
    const onlySubtests = lines.slice(i + 1, last + 1).some((l) => ONLY_SUBTESTS.test(l.text));
    let first = i;
    if (!onlySubtests) {
      // What the test printed (and, for a file that did not load, its stderr) comes just above, as comments.
      while (first > 0 && !taken.has(first - 1) && TAP_COMMENT.test(lines[first - 1]!.text)) {
        const above = lines[first - 1]!.text;
        if (indentOf(above) !== indent || TAP_SUMMARY.test(above)) break;
        first--;
      }
    }
    const mainEnd = onlySubtests ? lines[i]!.end : lines[last]!.end;
    blocks.push({
      main: { start: lines[i]!.start, end: mainEnd, keep: 'head' },
      before: first < i ? { start: lines[first]!.start, end: lines[i]!.start, keep: 'tail' } : undefined,
    });
    for (let k = first; k <= last; k++) taken.add(k);
    i = last;
  }
  if (blocks.length === 0) return null;

  const fixed: Fixed[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (taken.has(i) || !TAP_SUMMARY.test(lines[i]!.text)) continue;
    let j = i;
    while (j + 1 < lines.length && !taken.has(j + 1) && TAP_SUMMARY.test(lines[j + 1]!.text)) j++;
    fixed.push({ piece: { start: lines[i]!.start, end: lines[j]!.end, keep: 'head' }, frac: 0.35 });
    for (let k = i; k <= j; k++) taken.add(k);
    i = j;
  }
  // The last line, when it is not the summary: a note such as "(N earlier bytes not kept)".
  let lastLine = lines.length - 1;
  while (lastLine > 0 && lines[lastLine]!.text.trim() === '') lastLine--;
  if (!taken.has(lastLine)) fixed.push({ piece: { start: lines[lastLine]!.start, end: lines[lastLine]!.end, keep: 'tail' }, frac: 0.1 });
  return { fixed, blocks };
}

/** A line that speaks of a failure, in the words test runners use. */
const FAILURE_WORDS = /fail|error|assert|expect|received|traceback|panic|exception|✕|✖|✗|×|●|^E\s/i;
const CONTEXT_BEFORE = 2;
const CONTEXT_AFTER = 3;
/** Windows merge into one block up to this many lines; a longer stretch is several blocks. */
const MAX_BLOCK_LINES = 30;

function otherRunnerPlan(lines: Line[], length: number, budget: number): Plan {
  const n = lines.length;
  // The head: the first lines, up to 5 and about 15% of the budget.
  let head = 0;
  while (head < Math.min(5, n) && (head === 0 || lines[head]!.end <= budget * 0.15)) head++;
  // The tail (the runner's summary): the last lines, up to 12 and about 30% of the budget.
  let tailFrom = n;
  while (tailFrom > head && n - tailFrom < 12 && (tailFrom === n || length - lines[tailFrom - 1]!.start <= budget * 0.3)) tailFrom--;

  const windows: [number, number][] = [];
  for (let i = head; i < tailFrom; i++) {
    if (!FAILURE_WORDS.test(lines[i]!.text)) continue;
    const from = Math.max(head, i - CONTEXT_BEFORE);
    const to = Math.min(tailFrom - 1, i + CONTEXT_AFTER);
    const prev = windows[windows.length - 1];
    if (prev && from <= prev[1] + 1 && to - prev[0] < MAX_BLOCK_LINES) prev[1] = Math.max(prev[1], to);
    else windows.push([prev && from <= prev[1] ? prev[1] + 1 : from, to]);
  }
  const blocks: Block[] = windows
    .filter(([from, to]) => from <= to)
    .map(([from, to]) => ({ main: { start: lines[from]!.start, end: lines[to]!.end, keep: 'head' } }));

  // The tail first (a runner's summary is at the end), then the head. Each starts at about its
  // lines' size and grows, when the blocks leave characters over, over the middle: the tail
  // backwards, then the head forwards.
  const headEnd = lines[head - 1]!.end;
  const tailStart = tailFrom < n ? lines[tailFrom]!.start : lines[n - 1]!.start;
  const fixed: Fixed[] = [
    {
      piece: { start: Math.min(headEnd, tailStart), end: length, keep: 'tail' },
      frac: Math.min(0.3, (length - tailStart) / budget),
      grow: true,
    },
    { piece: { start: 0, end: length, keep: 'head' }, frac: Math.min(0.15, headEnd / budget), grow: true },
  ];
  return { fixed, blocks };
}

/**
 * Shares `avail` characters out, renders, and when the markers made it longer than the budget,
 * shares out less, until it fits.
 */
function fit(output: string, plan: Plan, budget: number): string {
  let slack = 0;
  for (let round = 0; round < 40; round++) {
    const avail = budget - slack;
    if (avail <= 0) break;
    const text = render(output, allocate(output, plan, avail));
    if (text.length <= budget) return text;
    slack += text.length - budget;
  }
  return bluntCut(output, budget);
}

const sizeOf = (p: Piece) => p.end - p.start;

function allocate(output: string, plan: Plan, avail: number): [number, number][] {
  let left = avail;
  const fixedAlloc = plan.fixed.map((f) => {
    const a = Math.max(0, Math.min(sizeOf(f.piece), Math.floor(f.frac * avail), left));
    left -= a;
    return a;
  });
  const sizes = plan.blocks.map((b) => sizeOf(b.main) + (b.before ? sizeOf(b.before) : 0));
  const shares = fairShares(sizes, left, Math.min(MIN_BLOCK_SHARE, left));
  left -= shares.reduce((a, b) => a + b, 0);
  plan.fixed.forEach((f, i) => {
    if (!f.grow || left <= 0) return;
    const more = Math.min(sizeOf(f.piece) - fixedAlloc[i]!, left);
    fixedAlloc[i]! += more;
    left -= more;
  });

  const spans: [number, number][] = [];
  const add = (span: [number, number] | null) => {
    if (span) spans.push(span);
  };
  plan.fixed.forEach((f, i) => add(cut(output, f.piece, fixedAlloc[i]!)));
  plan.blocks.forEach((b, i) => {
    const share = shares[i]!;
    const main = Math.min(sizeOf(b.main), share);
    for (const span of cutLines(output, b.main, main)) add(span);
    if (b.before && share - main >= Math.min(MIN_BEFORE, sizeOf(b.before))) add(cut(output, b.before, share - main));
  });
  return spans;
}

/**
 * The first blocks, as many as can each have a fair share of at least `minShare` (or all of
 * itself, if smaller): blocks smaller than the fair share take what they need and the others
 * share the rest equally (water-filling).
 */
function fairShares(sizes: number[], total: number, minShare: number): number[] {
  const out = sizes.map(() => 0);
  if (total <= 0) return out;
  // No more blocks than can each have what they need up to `minShare` (one pass, not one per count).
  let most = 0;
  for (let need = 0; most < sizes.length && need + Math.min(sizes[most]!, minShare) <= total; most++) {
    need += Math.min(sizes[most]!, minShare);
  }
  for (let k = Math.max(1, most); k > 0; k--) {
    const alloc = waterFill(sizes.slice(0, k), total);
    if (k === 1 || alloc.every((a, i) => a >= Math.min(sizes[i]!, minShare))) {
      alloc.forEach((a, i) => (out[i] = a));
      break;
    }
  }
  return out;
}

function waterFill(sizes: number[], total: number): number[] {
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[a]! - sizes[b]!);
  const out = sizes.map(() => 0);
  let left = total;
  let remaining = sizes.length;
  for (const i of order) {
    out[i] = Math.min(sizes[i]!, Math.floor(left / remaining));
    left -= out[i]!;
    remaining--;
  }
  return out;
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** The part of `piece` kept with `alloc` characters: whole lines when that keeps at least half of it. */
function cut(output: string, piece: Piece, alloc: number): [number, number] | null {
  const size = sizeOf(piece);
  if (alloc >= size) return size > 0 ? [piece.start, piece.end] : null;
  if (alloc < Math.min(MIN_CUT, size) || alloc <= 0) return null;
  if (piece.keep === 'head') {
    let end = piece.start + alloc;
    const nl = output.lastIndexOf('\n', end - 1);
    if (nl >= piece.start && nl + 1 - piece.start >= alloc / 2) end = nl + 1;
    else if (isHighSurrogate(output.charCodeAt(end - 1))) end--;
    return [piece.start, end];
  }
  let start = piece.end - alloc;
  if (output[start - 1] !== '\n') {
    const nl = output.indexOf('\n', start);
    if (nl !== -1 && nl + 1 < piece.end && piece.end - (nl + 1) >= alloc / 2) start = nl + 1;
    else if (isLowSurrogate(output.charCodeAt(start))) start++;
  }
  return [start, piece.end];
}

/**
 * The lines of `piece` from its first, with `alloc` characters: a line longer than its part
 * (a third of the whole, at least LINE_SHARE) keeps its beginning, and the lines after it
 * still have their turn: an `actual:` of 6,000 characters does not hide the `operator:` and
 * the `stack:` after it.
 */
function cutLines(output: string, piece: Piece, alloc: number): [number, number][] {
  if (alloc >= sizeOf(piece)) return [[piece.start, piece.end]];
  const lineCap = Math.max(LINE_SHARE, Math.floor(alloc / 3));
  const spans: [number, number][] = [];
  let left = alloc;
  for (let start = piece.start; start < piece.end && left > 0;) {
    const nl = output.indexOf('\n', start);
    const end = nl === -1 || nl + 1 > piece.end ? piece.end : nl + 1;
    const span = cut(output, { start, end, keep: 'head' }, Math.min(end - start, lineCap, left));
    if (!span) break;
    spans.push(span);
    left -= span[1] - span[0];
    start = end;
  }
  return spans;
}

/** The kept spans in order, each gap a marker line; a span ending just before a newline keeps it. */
function render(output: string, spans: [number, number][]): string {
  const sorted = spans.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [s, e0] of sorted) {
    const e = output[e0] === '\n' ? e0 + 1 : e0;
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  let out = '';
  let pos = 0;
  const mark = (n: number) => {
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    out += omittedMarker(n);
  };
  for (const [s, e] of merged) {
    if (s > pos) {
      mark(s - pos);
      out += '\n';
    }
    out += output.slice(s, e);
    pos = e;
  }
  if (pos < output.length) mark(output.length - pos);
  return out;
}

/** The output's beginning and a marker: when not even the markers of a plan fit the budget. */
function bluntCut(output: string, budget: number): string {
  let keep = budget;
  for (let i = 0; i < 3; i++) keep = budget - omittedMarker(output.length - keep).length - 1;
  if (keep < MIN_CUT) return output.slice(0, budget);
  let end = keep;
  if (isHighSurrogate(output.charCodeAt(end - 1))) end--;
  const text = `${output.slice(0, end)}\n${omittedMarker(output.length - end)}`;
  return text.length <= budget ? text : output.slice(0, budget);
}
