/**
 * The two database roles: the owner (migrations, rights, owner-only settings) and the
 * application role the workers and the CLI run as. The owner gives the application role
 * exactly what the code needs, again at every start: rows of the record may be added, state
 * may be updated, nothing may be deleted or truncated, and no table, trigger or ledger function
 * is the application's. The ledger triggers stay as a second line behind these rights.
 */
import { sql } from 'kysely';
import type { Db } from '../connect.js';

/** The governance record: rows are added, never changed. */
export const APPEND_ONLY_TABLES = [
  'model_runs',
  'audit_verdicts',
  'verifications',
  'agent_activity_logs',
  'audit_events',
  'director_actions',
  'incidents',
  'disciplinary_actions',
  'scores',
  'acceptance_tests',
  'evidence_blobs',
] as const;

/** State that moves on: runs, tasks and the employees' standing. */
export const MUTABLE_TABLES = ['projects', 'orchestra_runs', 'task_queue', 'employees', 'employee_capabilities'] as const;

/**
 * Written only by the owner or by the owner's functions (the ledger triggers, the retention purge,
 * the guarded checkpoint insert).
 */
export const READ_ONLY_TABLES = [
  'ledger_checkpoints',
  'ledger_head',
  'ledger_entries',
  'ledger_pending',
  'ledger_tables',
  'retention_purges',
  'aura_settings',
  'aura_migrations',
  'aura_migrations_lock',
] as const;

const INSERTABLE: string[] = [...APPEND_ONLY_TABLES, ...MUTABLE_TABLES];

const ALLOWED: Record<string, readonly string[]> = Object.fromEntries([
  ...APPEND_ONLY_TABLES.map((t) => [t, ['SELECT', 'INSERT']]),
  ...MUTABLE_TABLES.map((t) => [t, ['SELECT', 'INSERT', 'UPDATE']]),
  ...READ_ONLY_TABLES.map((t) => [t, ['SELECT']]),
]);

/**
 * The owner's functions the application may call: the purge guards itself (retention, reason,
 * checkpoint); sealing only chains entries the triggers wrote (the verifier and checkpointer
 * call it first); a checkpoint goes in only when it continues the last one (0008).
 */
const APP_FUNCTIONS: Record<string, string> = {
  aura_retention_purge: 'aura_retention_purge(uuid, timestamptz, bigint, text, text, text)',
  aura_ledger_seal: 'aura_ledger_seal(boolean)',
  aura_ledger_checkpoint_add: 'aura_ledger_checkpoint_add(uuid, bigint, bigint, bytea, bytea, text, text, text, text)',
};

/**
 * A transaction of the application left open is ended by the server after this long (it may hold
 * the chain head). A default for the role's sessions, not a bound: a session may set its own.
 */
export const APP_IDLE_IN_TRANSACTION_TIMEOUT = '60s';

/** Serializes concurrent starts that set the rights (concurrent GRANTs on one table can fail). */
const GRANTS_LOCK = 4_157_007_001;

const isCode = (err: unknown, ...codes: string[]) => codes.includes((err as { code?: string }).code ?? '');

/** The role this connection logs in as. */
export async function currentRole(db: Db): Promise<string> {
  const result = await sql<{ role: string }>`SELECT current_user AS role`.execute(db);
  return result.rows[0]!.role;
}

/** Creates `name` as a LOGIN role when missing (another start may create it at the same moment). */
export async function ensureLoginRole(owner: Db, name: string, password: string): Promise<boolean> {
  if (await roleExists(owner, name)) return false;
  const statement = await sql<{ s: string }>`
    SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', ${name}::text, ${password}::text) AS s
  `.execute(owner);
  try {
    await sql.raw(statement.rows[0]!.s).execute(owner);
    return true;
  } catch (err) {
    if (isCode(err, '42710', '23505') && (await roleExists(owner, name))) return false;
    throw err;
  }
}

/** Gives `name` its login and password again (the configured password changed). */
export async function resetLoginRole(owner: Db, name: string, password: string): Promise<void> {
  const statement = await sql<{ s: string }>`
    SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', ${name}::text, ${password}::text) AS s`.execute(owner);
  await sql.raw(statement.rows[0]!.s).execute(owner);
}

async function roleExists(db: Db, name: string): Promise<boolean> {
  const found = await sql`SELECT 1 FROM pg_roles WHERE rolname = ${name}`.execute(db);
  return found.rows.length > 0;
}

/**
 * The application role's rights, set from scratch in one transaction (nobody sees a moment
 * without them): nothing on any table, then the lists above; the sequences of the tables it
 * adds rows to; the purge and the seal.
 * PUBLIC loses TEMPORARY on the database and CREATE in schema public where the owner may take
 * them: a temporary table named like a ledger table would shadow it inside the ledger's trigger.
 */
export async function grantApplicationRights(owner: Db, appRole: string): Promise<void> {
  if (appRole === (await currentRole(owner))) throw new Error(`the application role ${appRole} is the owner itself: nothing to grant`);
  await owner.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(${GRANTS_LOCK})`.execute(tx);
    await revokeEverything(tx, appRole);
    await sql`GRANT USAGE ON SCHEMA public TO ${sql.id(appRole)}`.execute(tx);
    await grantTables(tx, appRole);
    for (const seq of await sequencesOf(tx, INSERTABLE)) {
      await sql`GRANT USAGE, SELECT ON SEQUENCE ${sql.table(seq)} TO ${sql.id(appRole)}`.execute(tx);
    }
    for (const fn of await existingFunctions(tx, Object.values(APP_FUNCTIONS))) {
      await sql`GRANT EXECUTE ON FUNCTION ${sql.raw(fn)} TO ${sql.id(appRole)}`.execute(tx);
    }
    await closePublicLoopholes(tx, appRole);
    await idleInTransactionTimeout(tx, appRole);
  });
}

/** Sets the role's idle-in-transaction timeout in this database when it differs and the owner may (CREATEROLE). */
async function idleInTransactionTimeout(tx: Db, appRole: string): Promise<void> {
  const setting = `idle_in_transaction_session_timeout=${APP_IDLE_IN_TRANSACTION_TIMEOUT}`;
  const current = await sql<{ s: string }>`
    SELECT format('ALTER ROLE %I IN DATABASE %I SET idle_in_transaction_session_timeout = %L',
                  ${appRole}::text, current_database(), ${APP_IDLE_IN_TRANSACTION_TIMEOUT}::text) AS s,
           EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                   WHERE d.datname = current_database() AND s.setrole = to_regrole(${appRole}::text)
                     AND ${setting}::text = ANY(s.setconfig)) AS done`.execute(tx);
  const row = current.rows[0] as { s: string; done?: boolean };
  if (row.done) return;
  await sql`SAVEPOINT app_idle_timeout`.execute(tx);
  try {
    await sql.raw(row.s).execute(tx);
  } catch (err) {
    if (!isCode(err, '42501')) throw err;
    await sql`ROLLBACK TO SAVEPOINT app_idle_timeout`.execute(tx);
  }
}

async function revokeEverything(tx: Db, appRole: string): Promise<void> {
  const role = sql.id(appRole);
  await sql`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`.execute(tx);
  await sql`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${role}`.execute(tx);
  await sql`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM ${role}`.execute(tx);
  await sql`REVOKE CREATE ON SCHEMA public FROM ${role}`.execute(tx);
}

async function grantTables(tx: Db, appRole: string): Promise<void> {
  const existing = new Set(await publicTables(tx));
  const byRights = new Map<string, string[]>();
  for (const [table, rights] of Object.entries(ALLOWED)) {
    if (existing.has(table)) byRights.set(rights.join(', '), [...(byRights.get(rights.join(', ')) ?? []), table]);
  }
  for (const [rights, tables] of byRights) {
    await sql`GRANT ${sql.raw(rights)} ON ${sql.join(tables.map((t) => sql.table(t)))} TO ${sql.id(appRole)}`.execute(tx);
  }
}

async function publicTables(db: Db): Promise<string[]> {
  const result = await sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`.execute(db);
  return result.rows.map((r) => r.name);
}

/** The sequences behind the serial and identity columns of `tables` (audit_events.seq). */
async function sequencesOf(db: Db, tables: string[]): Promise<string[]> {
  const result = await sql<{ name: string }>`
    SELECT DISTINCT s.relname AS name FROM pg_class s
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE s.relkind = 'S' AND n.nspname = 'public' AND t.relname = ANY(${tables}::text[])`.execute(db);
  return result.rows.map((r) => r.name);
}

async function existingFunctions(db: Db, signatures: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const signature of signatures) {
    const result = await sql<{ oid: string | null }>`SELECT to_regprocedure(${signature})::text AS oid`.execute(db);
    if (result.rows[0]?.oid) found.push(signature);
  }
  return found;
}

async function closePublicLoopholes(tx: Db, appRole: string): Promise<void> {
  await sql`
    DO $$ BEGIN
      IF pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER') THEN
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
      END IF;
      IF pg_has_role((SELECT nspowner FROM pg_namespace WHERE nspname = 'public'), 'MEMBER') THEN
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
      END IF;
    END $$`.execute(tx);
  const statement = await sql<{ s: string }>`
    SELECT format('REVOKE TEMPORARY, CREATE ON DATABASE %I FROM %I', current_database(), ${appRole}::text) AS s`.execute(tx);
  await sql.raw(statement.rows[0]!.s).execute(tx);
}

/**
 * The owner-only retention floor follows AUDIT_LOG_RETENTION_DAYS. Written only when it
 * differs (every change is a ledger entry); returns the earlier value when it changed.
 */
export async function syncRetentionDays(owner: Db, days: number): Promise<string | null> {
  const before = await sql<{ value: string }>`SELECT value FROM aura_settings WHERE key = 'retention_days'`.execute(owner);
  const was = before.rows[0]?.value ?? null;
  if (was === String(days)) return null;
  await sql`
    INSERT INTO aura_settings (key, value) VALUES ('retention_days', ${String(days)})
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
    WHERE aura_settings.value IS DISTINCT FROM excluded.value`.execute(owner);
  return was ?? 'unset';
}

/** What a connection's role could do to the record beyond what the application needs. */
export interface RoleRights {
  role: string;
  superuser: boolean;
  /** Tables it owns (or could act as owner of): ALTER TABLE … DISABLE TRIGGER, DROP. */
  ownedTables: string[];
  /** Rights on record tables beyond the application's (UPDATE, DELETE, TRUNCATE, …). */
  excess: { table: string; rights: string[] }[];
  /** May create temporary tables: one named like a ledger table shadows it in the ledger trigger. */
  temporaryTables: boolean;
  createInPublic: boolean;
  /** Owner functions (SECURITY DEFINER) it may call besides the purge and the seal. */
  ownerFunctions: string[];
}

export async function roleRights(db: Db): Promise<RoleRights> {
  const who = await sql<{ role: string; superuser: boolean; temp: boolean; create: boolean }>`
    SELECT current_user AS role, r.rolsuper AS superuser,
           has_database_privilege(current_database(), 'TEMPORARY') AS temp,
           has_schema_privilege('public', 'CREATE') AS create
    FROM pg_roles r WHERE r.rolname = current_user`.execute(db);
  const tables = await sql<{ name: string; owns: boolean; rights: string[] }>`
    SELECT c.relname AS name, pg_has_role(c.relowner, 'MEMBER') AS owns,
           array_remove(ARRAY[
             CASE WHEN has_table_privilege(c.oid, 'INSERT') THEN 'INSERT' END,
             CASE WHEN has_table_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END,
             CASE WHEN has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END,
             CASE WHEN has_table_privilege(c.oid, 'TRUNCATE') THEN 'TRUNCATE' END,
             CASE WHEN has_table_privilege(c.oid, 'TRIGGER') THEN 'TRIGGER' END,
             CASE WHEN has_table_privilege(c.oid, 'REFERENCES') THEN 'REFERENCES' END], NULL) AS rights
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`.execute(db);
  const functions = await sql<{ name: string }>`
    SELECT DISTINCT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.prosecdef AND NOT p.proname = ANY(${Object.keys(APP_FUNCTIONS)}::text[])
      AND has_function_privilege(p.oid, 'EXECUTE')
    ORDER BY 1`.execute(db);
  const me = who.rows[0]!;
  return {
    role: me.role,
    superuser: me.superuser,
    ownedTables: tables.rows.filter((t) => t.owns).map((t) => t.name),
    excess: tables.rows
      .filter((t) => ALLOWED[t.name])
      .map((t) => ({ table: t.name, rights: t.rights.filter((r) => !ALLOWED[t.name]!.includes(r)) }))
      .filter((t) => t.rights.length > 0),
    temporaryTables: me.temp,
    createInPublic: me.create,
    ownerFunctions: functions.rows.map((f) => f.name),
  };
}

/** What is wrong with these rights for the application, in short phrases; empty when nothing is. */
export function excessRights(r: RoleRights): string[] {
  const problems: string[] = [];
  if (r.superuser) problems.push('is a superuser');
  if (r.ownedTables.length > 0) problems.push(`owns ${listed(r.ownedTables)} (can ALTER TABLE … DISABLE TRIGGER, DROP)`);
  if (!r.superuser && r.ownedTables.length === 0) {
    const byRights = new Map<string, string[]>();
    for (const e of r.excess) byRights.set(e.rights.join('/'), [...(byRights.get(e.rights.join('/')) ?? []), e.table]);
    for (const [rights, tables] of byRights) problems.push(`can ${rights} ${listed(tables)}`);
  }
  if (r.ownerFunctions.length > 0) problems.push(`can call the owner's ${r.ownerFunctions.join(', ')}`);
  if (r.temporaryTables) problems.push('can create temporary tables (one named like a ledger table would shadow it)');
  if (r.createInPublic) problems.push('can create objects in schema public');
  return problems;
}

function listed(tables: string[]): string {
  return tables.length <= 3 ? tables.join(', ') : `${tables.slice(0, 3).join(', ')} and ${tables.length - 3} more tables`;
}
