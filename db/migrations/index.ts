/**
 * Every migration, in order. Append a new entry for a schema change; never edit or remove one.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
};
