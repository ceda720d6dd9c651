#!/usr/bin/env node
// Thin entry point: wire the real process streams and filesystem into run().
import { run } from '../src/cli.js';

// Set exitCode instead of calling process.exit() so output still buffered
// for a pipe is flushed before the process ends.
process.exitCode = await run(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
