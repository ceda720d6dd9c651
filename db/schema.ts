/**
 * The typed view of the database for kysely. Columns the database fills are `Generated<>`;
 * pg returns NUMERIC and BIGINT as strings, so those are typed as strings here and converted
 * in the repository functions.
 */
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T extends object | null = object> = JSONColumnType<T, string, string>;
type Numeric = ColumnType<string, number | string, number | string>;

export interface ProjectsTable {
  id: string;
  name: string;
  created_at: Generated<Date>;
}

export interface OrchestraRunsTable {
  id: string;
  project_id: string | null;
  manager_id: string;
  status: string;
  confidence_score: Numeric | null;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  workflow_id: string;
  prd: string;
  options: Json<Record<string, unknown>>;
  plan: Json | null;
  report: Json | null;
  status_reason: string | null;
  updated_at: Timestamp;
  idempotency_key: string | null;
}

export interface TaskQueueTable {
  id: string;
  run_id: string | null;
  assigned_agent: string | null;
  status: string;
  priority: number | null;
  created_at: Timestamp;
  completed_at: Timestamp | null;
  task_key: string;
  title: string;
  spec: Json;
  workflow_id: string | null;
  accepted_model_run_id: string | null;
  updated_at: Timestamp;
  idempotency_key: string | null;
  generation: ColumnType<number, number | undefined, number>;
  /** The tester's answer whose files are the task's frozen acceptance tests now (0007). */
  tests_model_run_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface EmployeesTable {
  id: string;
  provider: string;
  model: string;
  capabilities: Json<string[]>;
  status: ColumnType<string, string | undefined, string>;
  reputation: Numeric;
  registered_at: Timestamp;
  updated_at: Timestamp;
  suspended_until: Timestamp | null;
  tier: ColumnType<string, string | undefined, string>;
  price_input_per_mtok: ColumnType<string, number | string | undefined, number | string>;
  price_output_per_mtok: ColumnType<string, number | string | undefined, number | string>;
  concurrency: ColumnType<number, number | undefined, number>;
  rate_limit_per_minute: number | null;
  available: ColumnType<boolean, boolean | undefined, boolean>;
  context_tokens: number | null;
}

export interface EmployeeCapabilitiesTable {
  employee_id: string;
  capability: string;
  reputation: Numeric;
  tier: ColumnType<string, string | undefined, string>;
  attempts: ColumnType<number, number | undefined, number>;
  accepted: ColumnType<number, number | undefined, number>;
  updated_at: Timestamp;
}

export interface ModelRunsTable {
  id: string;
  idempotency_key: string;
  run_id: string | null;
  task_id: string | null;
  employee_id: string;
  kind: 'plan' | 'task' | 'review' | 'tests' | 'dispute';
  attempt: number;
  prompt: string;
  prompt_version: string;
  output: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: Numeric | null;
  latency_ms: number | null;
  finish_reason: string | null;
  error: string | null;
  created_at: Timestamp;
  task_attempt: number | null;
  round: number | null;
  output_altered: ColumnType<boolean, boolean | undefined, boolean>;
  /** A task answer as the task-output schema reads it (0006); null otherwise and before 0006. */
  parsed_output: ColumnType<unknown, string | null | undefined, string | null> | null;
  parse_error: string | null;
}

export interface AuditVerdictsTable {
  id: string;
  idempotency_key: string;
  run_id: string | null;
  task_id: string | null;
  model_run_id: string | null;
  employee_id: string;
  clean: boolean;
  violations: Json;
  verification: Json | null;
  created_at: Timestamp;
  review: Json | null;
  rounds: number | null;
}

export interface VerificationsTable {
  id: string;
  idempotency_key: string;
  run_id: string | null;
  task_id: string | null;
  model_run_id: string | null;
  kind: 'task' | 'workspace';
  command: string;
  ran: boolean;
  passed: boolean;
  exit_code: number | null;
  timed_out: boolean;
  duration_ms: number;
  excerpt: string;
  skipped_reason: string | null;
  isolation: Json<string[]>;
  created_at: Generated<Date>;
  /** red: frozen tests before any code (must fail); green: a coder's round against them (0007). */
  phase: ColumnType<'red' | 'green' | null, 'red' | 'green' | null | undefined, never>;
  /** The full output, in evidence_blobs (0007); null before. */
  output_sha256: ColumnType<string | null, string | null | undefined, never>;
}

export interface AgentActivityLogsTable {
  id: string;
  agent_id: string;
  task_id: string | null;
  message: string | null;
  severity: string | null;
  created_at: Timestamp;
  idempotency_key: string | null;
  run_id: string | null;
}

export interface AuditEventsTable {
  id: string;
  source: string | null;
  severity: string | null;
  description: string | null;
  created_at: Timestamp;
  seq: Generated<string>;
  idempotency_key: string | null;
  actor: string;
  action: string;
  run_id: string | null;
  task_id: string | null;
  workflow_id: string | null;
  activity_id: string | null;
  details: Json<Record<string, unknown>>;
}

export interface DirectorActionsTable {
  id: string;
  director_id: string | null;
  action: string | null;
  target_id: string | null;
  reason: string | null;
  created_at: Timestamp;
  idempotency_key: string | null;
  run_id: string | null;
  details: Json<Record<string, unknown>>;
}

export interface IncidentsTable {
  id: string;
  model_id: string | null;
  task_id: string | null;
  severity: number | null;
  status: string | null;
  reported_at: Timestamp;
  idempotency_key: string | null;
  run_id: string | null;
  violation: string;
  message: string;
  evidence: Json;
  verdict_id: string | null;
}

export interface DisciplinaryActionsTable {
  model_id: string | null;
  action: string | null;
  reason: string | null;
  timestamp: Timestamp;
  id: string;
  idempotency_key: string | null;
  incident_id: string | null;
  severity: number;
  policy_version: string;
  enforced: ColumnType<boolean, boolean | undefined, boolean>;
  run_id: string | null;
  expires_at: Timestamp | null;
  evidence: Json | null;
}

export interface ScoresTable {
  id: string;
  idempotency_key: string;
  employee_id: string;
  run_id: string | null;
  task_id: string | null;
  capability: string;
  score: Numeric;
  reputation_before: Numeric;
  reputation_after: Numeric;
  details: Json<Record<string, unknown>>;
  created_at: Timestamp;
  components: Json<Record<string, number>> | null;
  tier: string | null;
}

export interface LedgerHeadTable {
  chain: string;
  seq: string;
  hash: Buffer;
}

export interface LedgerEntriesTable {
  seq: string;
  at: Date;
  entry: string;
  prev_hash: Buffer;
  hash: Buffer;
  row_table: string;
  row_key: string;
  row_hash: Buffer;
  run_id: string | null;
}

export interface LedgerCheckpointsTable {
  id: string;
  chain: Generated<string>;
  from_seq: ColumnType<string, string | number, never>;
  to_seq: ColumnType<string, string | number, never>;
  root_hash: Buffer;
  last_hash: Buffer;
  key_id: string;
  public_key: string;
  body: string;
  signature: string;
  created_at: Generated<Date>;
}

export interface RetentionPurgesTable {
  id: string;
  director_id: string;
  reason: string;
  before: Date;
  from_seq: string;
  horizon_seq: string;
  horizon_hash: string;
  checkpoint_id: string;
  merkle_root: string;
  counts: Json<Record<string, number>>;
  created_at: Generated<Date>;
}

export interface AuraSettingsTable {
  key: string;
  value: string;
  updated_at: Generated<Date>;
}

export interface LedgerTablesTable {
  table_name: string;
  key_columns: string[];
}

export interface Database {
  projects: ProjectsTable;
  orchestra_runs: OrchestraRunsTable;
  task_queue: TaskQueueTable;
  employees: EmployeesTable;
  employee_capabilities: EmployeeCapabilitiesTable;
  model_runs: ModelRunsTable;
  audit_verdicts: AuditVerdictsTable;
  agent_activity_logs: AgentActivityLogsTable;
  audit_events: AuditEventsTable;
  director_actions: DirectorActionsTable;
  incidents: IncidentsTable;
  disciplinary_actions: DisciplinaryActionsTable;
  scores: ScoresTable;
  verifications: VerificationsTable;
  ledger_head: LedgerHeadTable;
  ledger_entries: LedgerEntriesTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  retention_purges: RetentionPurgesTable;
  aura_settings: AuraSettingsTable;
  ledger_tables: LedgerTablesTable;
  acceptance_tests: AcceptanceTestsTable;
  evidence_blobs: EvidenceBlobsTable;
}

/** One freeze of a task's acceptance tests (0007): append-only, chained. */
export interface AcceptanceTestsTable {
  id: string;
  idempotency_key: string;
  run_id: string | null;
  task_id: string | null;
  task_key: string;
  version: number;
  tester_id: string;
  model_run_id: string;
  files: Json<{ path: string; sha256: string }[]>;
  reason: string;
  decided_by: string;
  dispute: Json | null;
  created_at: Generated<Date>;
}

/** Full outputs, content-addressed (0007): a verification names its output by sha256. */
export interface EvidenceBlobsTable {
  sha256: string;
  content: string;
  bytes: number;
  created_at: Generated<Date>;
}
