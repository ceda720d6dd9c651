/**
 * The `aura` executable's entry (bin/aura runs dist/aura.js, built from this file, or this file
 * through tsx): runs the CLI on this process's arguments and exits with its code.
 */
import { main } from './cli.js';

process.exit(await main(process.argv));
