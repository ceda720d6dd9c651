// Core word-frequency logic. These are pure functions with no I/O so the CLI
// and the tests share exactly the same behaviour.

// A word is a run of letters, digits and apostrophes. Combining marks (\p{M})
// are included so a letter followed by a combining accent stays one word
// even when the input is not in NFC form.
const WORD_RE = /[\p{L}\p{M}\p{N}']+/gu;

// Typographic apostrophes (U+2019, U+02BC) are folded to ASCII so that
// "don’t" and "don't" are counted as the same word.
const TYPOGRAPHIC_APOSTROPHES_RE = /[\u2019\u02BC]/g;

// Apostrophes at the edge of a run are quotes ('hello') or plural possessives
// (dogs'), not part of the word; only inner ones (don't) are kept.
const EDGE_APOSTROPHES_RE = /^'+|'+$/g;

/**
 * Split text into lowercase words.
 * @param {string} text
 * @param {{ minLength?: number }} [options] words shorter than minLength
 *   (measured in code points) are dropped.
 * @returns {string[]}
 */
export function tokenize(text, { minLength = 1 } = {}) {
  const normalized = String(text)
    .normalize('NFC')
    .replace(TYPOGRAPHIC_APOSTROPHES_RE, "'")
    .toLowerCase();

  const words = [];
  for (const [run] of normalized.matchAll(WORD_RE)) {
    const word = run.replace(EDGE_APOSTROPHES_RE, '');
    // Spread to count code points, not UTF-16 units, so letters outside the
    // BMP count as one character.
    if (word !== '' && [...word].length >= minLength) {
      words.push(word);
    }
  }
  return words;
}

/**
 * Count occurrences of each word.
 * A Map is used rather than a plain object so words such as "constructor"
 * or "__proto__" cannot collide with Object.prototype.
 * @param {string} text
 * @param {{ minLength?: number }} [options] passed through to tokenize()
 * @returns {Map<string, number>}
 */
export function countWords(text, options = {}) {
  const counts = new Map();
  for (const word of tokenize(text, options)) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/**
 * The n most frequent words, by count descending, then word ascending.
 * @param {Map<string, number> | Record<string, number>} counts
 * @param {number} [n] how many to return; all words when omitted.
 * @returns {{ word: string, count: number }[]}
 */
export function topWords(counts, n) {
  const entries = counts instanceof Map ? [...counts] : Object.entries(counts);
  return entries
    .map(([word, count]) => ({ word, count }))
    // Ties are broken by plain code-unit order rather than localeCompare so
    // the output is identical whatever the machine's locale or ICU data.
    .sort((a, b) => b.count - a.count || (a.word < b.word ? -1 : a.word > b.word ? 1 : 0))
    .slice(0, n);
}
