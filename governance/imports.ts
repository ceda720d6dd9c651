/**
 * The module specifiers a source file imports, read in linear time whatever the file holds
 * (a hostile output may be megabytes of `import import import …`): comments dropped and string
 * literals masked in one pass, then one pass over the tokens. Static `import`/`export … from`,
 * `require()`, `import()` and `createRequire(…)(…)`, wherever they stand on a line.
 */

type Token = { kind: 'word'; text: string } | { kind: 'string'; index: number } | { kind: 'punct'; text: string };

/** Source bytes looked at per file: past this, a file is judged on its beginning. */
export const MAX_SCANNED_CHARS = 2_000_000;
/** Tokens between `createRequire(` and its closing parenthesis, at most. */
const MAX_CREATE_REQUIRE_TOKENS = 64;
const CLAUSE_WORD = /^[\w$]+$/;
const CLAUSE_PUNCT = new Set(['*', '{', '}', ',']);

export function importSpecifiers(source: string): string[] {
  const { tokens, strings } = tokenize(source.length > MAX_SCANNED_CHARS ? source.slice(0, MAX_SCANNED_CHARS) : source);
  // Found in source order, reported by kind (static imports, re-exports, require(), import(),
  // createRequire), each once: the order the Auditor has always listed them in.
  const found = {
    imports: [] as string[],
    exports: [] as string[],
    requires: [] as string[],
    dynamic: [] as string[],
    created: [] as string[],
  };
  const word = (i: number, text?: string) =>
    tokens[i]?.kind === 'word' && (text === undefined || (tokens[i] as { text: string }).text === text);
  const punct = (i: number, text: string) => tokens[i]?.kind === 'punct' && (tokens[i] as { text: string }).text === text;
  const str = (i: number): string | null => (tokens[i]?.kind === 'string' ? strings[(tokens[i] as { index: number }).index]! : null);

  for (let i = 0; i < tokens.length; i++) {
    if (!word(i)) continue;
    const text = (tokens[i] as { text: string }).text;
    if (text === 'import' || text === 'export') {
      // import "x" | import(…"x"…) | import … from "x" | export * from "x" | export {…} from "x"
      if (text === 'import' && str(i + 1) !== null) found.imports.push(str(i + 1)!);
      else if (text === 'import' && punct(i + 1, '(') && str(i + 2) !== null && punct(i + 3, ')')) found.dynamic.push(str(i + 2)!);
      else {
        const from = clauseEnd(i + 1);
        if (from !== null && str(from + 1) !== null) (text === 'import' ? found.imports : found.exports).push(str(from + 1)!);
      }
    } else if (text === 'require' && punct(i + 1, '(') && str(i + 2) !== null && punct(i + 3, ')')) {
      found.requires.push(str(i + 2)!);
    } else if (text === 'createRequire' && punct(i + 1, '(')) {
      let depth = 0;
      for (let j = i + 1; j < Math.min(tokens.length, i + 2 + MAX_CREATE_REQUIRE_TOKENS); j++) {
        if (punct(j, '(')) depth++;
        else if (punct(j, ')') && --depth === 0) {
          if (punct(j + 1, '(') && str(j + 2) !== null && punct(j + 3, ')')) found.created.push(str(j + 2)!);
          break;
        }
      }
    }
  }
  return [...new Set([...found.imports, ...found.exports, ...found.requires, ...found.dynamic, ...found.created])];

  /**
   * The index of `from` ending an import/export clause that starts at `start`, or null. A clause
   * holds only names, `*`, braces and commas; it ends at the first other token, and never runs
   * past another `import` or `export`, so clauses never overlap and the whole pass is linear.
   */
  function clauseEnd(start: number): number | null {
    for (let j = start; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind === 'word') {
        if (t.text === 'from' && j > start) return j;
        if (t.text === 'import' || t.text === 'export') return null;
        if (!CLAUSE_WORD.test(t.text)) return null;
      } else if (t.kind === 'punct') {
        if (!CLAUSE_PUNCT.has(t.text)) return null;
      } else return null;
    }
    return null;
  }
}

/**
 * Comments dropped, every string literal (and template literal) one token, regular-expression
 * literals skipped whole, the rest split into words and single punctuation characters. A `/`
 * after an operator or an opening bracket starts a regular expression.
 */
export function tokenize(source: string): { tokens: Token[]; strings: string[] } {
  const tokens: Token[] = [];
  const strings: string[] = [];
  const n = source.length;
  let last = ''; // the last significant character seen: decides what a `/` starts
  let i = 0;
  while (i < n) {
    const ch = source[i]!;
    const next = source[i + 1];
    if (ch === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      i = end < 0 ? n : end;
    } else if (ch === '/' && next === '*') {
      const close = source.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      let text = '';
      let chunkStart = j;
      while (j < n && source[j] !== ch) {
        if (source[j] === '\\') {
          text += source.slice(chunkStart, j) + (source[j + 1] ?? '');
          j += 2;
          chunkStart = j;
        } else j++;
      }
      text += source.slice(chunkStart, Math.min(j, n));
      strings.push(text);
      tokens.push({ kind: 'string', index: strings.length - 1 });
      last = ch;
      i = j + 1;
    } else if (ch === '/' && (last === '' || '(,=:[!&|?{};+-*%<>~^'.includes(last))) {
      let j = i + 1;
      let inClass = false;
      while (j < n && source[j] !== '\n' && (source[j] !== '/' || inClass)) {
        if (source[j] === '\\') j++;
        else if (source[j] === '[') inClass = true;
        else if (source[j] === ']') inClass = false;
        j++;
      }
      tokens.push({ kind: 'punct', text: '/re/' });
      last = '/';
      i = j + 1;
    } else if (/[\w$]/.test(ch)) {
      let j = i + 1;
      while (j < n && /[\w$]/.test(source[j]!)) j++;
      tokens.push({ kind: 'word', text: source.slice(i, j) });
      last = source[j - 1]!;
      i = j;
    } else {
      if (!/\s/.test(ch)) {
        tokens.push({ kind: 'punct', text: ch });
        last = ch;
      }
      i++;
    }
  }
  return { tokens, strings };
}
