// DEMO: the faulty employee's own test, too weak to see anything wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countWords } from '../src/wordfreq.js';

test('counts words', () => {
  assert.ok(countWords('a b'));
});
