import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize, countWords, topWords } from '../src/wordfreq.js';

test('countWords counts each word', () => {
  const counts = countWords('the cat and the hat');
  assert.ok(counts instanceof Map);
  assert.deepEqual(Object.fromEntries(counts), { the: 2, cat: 1, and: 1, hat: 1 });
});

test('countWords of empty or word-less text is empty', () => {
  assert.equal(countWords('').size, 0);
  assert.equal(countWords('  ... !!! --- \n').size, 0);
});

test('case is folded to lowercase', () => {
  assert.deepEqual(tokenize('The THE tHe'), ['the', 'the', 'the']);
  assert.deepEqual(Object.fromEntries(countWords('Dog dog DOG')), { dog: 3 });
});

test('punctuation and whitespace separate words', () => {
  assert.deepEqual(
    tokenize('Hello, world! (foo-bar) baz.qux;\tend\n'),
    ['hello', 'world', 'foo', 'bar', 'baz', 'qux', 'end'],
  );
});

test('digits are part of words', () => {
  assert.deepEqual(tokenize('route 66, R2D2'), ['route', '66', 'r2d2']);
});

test('inner apostrophes are kept, edge apostrophes stripped', () => {
  assert.deepEqual(tokenize("Don't say 'hello' to the dogs' owner"), [
    "don't", 'say', 'hello', 'to', 'the', 'dogs', 'owner',
  ]);
  // A typographic apostrophe counts as the same word as an ASCII one.
  assert.deepEqual(Object.fromEntries(countWords("don’t don't")), { "don't": 2 });
  // A lone apostrophe is not a word.
  assert.deepEqual(tokenize("' '' '''"), []);
});

test('unicode letters are word characters', () => {
  assert.deepEqual(tokenize('Café naïve Ärger straße'), ['café', 'naïve', 'ärger', 'straße']);
  assert.deepEqual(tokenize('Привет, мир! 你好'), ['привет', 'мир', '你好']);
  // Decomposed "é" (e + U+0301) is the same word as precomposed "é".
  assert.deepEqual(Object.fromEntries(countWords('cafe\u0301 caf\u00e9')), { 'caf\u00e9': 2 });
});

test('minLength drops short words, measured in characters', () => {
  assert.deepEqual(tokenize('a an the tree', { minLength: 3 }), ['the', 'tree']);
  assert.deepEqual(Object.fromEntries(countWords('I am ok', { minLength: 2 })), { am: 1, ok: 1 });
  // "né" is two characters even though "é" is outside ASCII.
  assert.deepEqual(tokenize('né', { minLength: 2 }), ['né']);
  assert.deepEqual(tokenize('né', { minLength: 3 }), []);
});

test('topWords sorts by count descending, then word ascending', () => {
  const counts = countWords('b a c b a d b');
  assert.deepEqual(topWords(counts), [
    { word: 'b', count: 3 },
    { word: 'a', count: 2 },
    { word: 'c', count: 1 },
    { word: 'd', count: 1 },
  ]);
});

test('topWords truncates to n', () => {
  const counts = countWords('x y z x y x');
  assert.deepEqual(topWords(counts, 2), [
    { word: 'x', count: 3 },
    { word: 'y', count: 2 },
  ]);
  assert.equal(topWords(counts, 10).length, 3);
});

test('topWords accepts a plain object', () => {
  assert.deepEqual(topWords({ zeta: 2, alpha: 2, mid: 5 }, 3), [
    { word: 'mid', count: 5 },
    { word: 'alpha', count: 2 },
    { word: 'zeta', count: 2 },
  ]);
});

test('words that are Object.prototype names are counted safely', () => {
  // With a plain-object accumulator these would start from inherited values.
  assert.deepEqual(topWords(countWords('constructor hasOwnProperty constructor')), [
    { word: 'constructor', count: 2 },
    { word: 'hasownproperty', count: 1 },
  ]);
});
