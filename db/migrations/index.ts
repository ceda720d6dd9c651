/**
 * Every migration, in order. Append a new entry for a schema change; never edit or remove one.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_governance_engine.js';
import * as m0003 from './0003_model_accounting.js';
import * as m0004 from './0004_converging_work.js';
import * as m0005 from './0005_ledger_chain.js';
import * as m0006 from './0006_parsed_output.js';
import * as m0007 from './0007_independent_checks.js';
import * as m0008 from './0008_checkpoint_guard.js';
import * as m0009 from './0009_ledger_append_cost.js';
import * as m0010 from './0010_ledger_seal_by_id.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_governance_engine': m0002,
  '0003_model_accounting': m0003,
  '0004_converging_work': m0004,
  '0005_ledger_chain': m0005,
  '0006_parsed_output': m0006,
  '0007_independent_checks': m0007,
  '0008_checkpoint_guard': m0008,
  '0009_ledger_append_cost': m0009,
  '0010_ledger_seal_by_id': m0010,
};
