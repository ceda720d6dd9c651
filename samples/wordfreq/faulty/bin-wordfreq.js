#!/usr/bin/env node
// Out of scope for the library task: the CLI is task T2's work.
import { countWords } from '../src/wordfreq.js';
console.log(countWords(process.argv.slice(2).join(' ')));
