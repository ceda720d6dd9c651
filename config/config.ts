/**
 * The one configuration module, read by workers, the CLI and db/ (never by workflows).
 * Every variable is validated with zod; a bad value stops start-up with a message that
 * names the variable and what is wrong with it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { homedir, userInfo } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../errors/index.js';

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const optionalUrl = z.preprocess(emptyToUndefined, z.string().url().optional());
const port = (fallback: number) => z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(65_535).default(fallback));
const bool = (fallback: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );

const postgresUrl = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
);
/**
 * The passwords this module and .env.example have shipped as defaults. Everyone knows them, so
 * they never guard a role: the embedded server's roles get random passwords instead (kept in
 * AURA_HOME/secrets), and a server of one's own configured with one is refused (docs/operations.md).
 */
export const DEFAULT_PASSWORDS: readonly string[] = ['change_me', 'change_me_app'];

const atLeastOne = (fallback: number) => z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).default(fallback));

/** A Director's name as the Manager API records it. */
const DIRECTOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const DIRECTOR_NAME_RULE = 'must be a name of letters, digits and . _ @ - (at most 64)';

/** Who may use the Manager API: `director` may read and command, `read` may only read. */
export type ApiRole = 'director' | 'read';
export interface ApiKeyEntry {
  name: string;
  role: ApiRole;
  /** sha256 of the key, lowercase hex: the key itself is never kept. */
  sha256: string;
}

/** sha256 of an API key, lowercase hex (what MANAGER_API_KEYS lists). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** MANAGER_API_KEYS: `name:role:sha256hex`, comma-separated; each bad entry is named by its place. */
function parseKeyEntries(text: string | undefined, ctx: z.RefinementCtx): ApiKeyEntry[] {
  if (!text) return [];
  const entries: ApiKeyEntry[] = [];
  for (const [i, raw] of text.split(',').entries()) {
    const [name = '', role = '', sha256 = '', ...rest] = raw.trim().split(':');
    const problem =
      rest.length > 0 || !sha256
        ? 'is not name:role:sha256hex'
        : !DIRECTOR_NAME.test(name)
          ? `has a bad name: ${DIRECTOR_NAME_RULE}`
          : role !== 'director' && role !== 'read'
            ? 'has a bad role: director or read'
            : !/^[0-9a-f]{64}$/i.test(sha256)
              ? 'has a bad hash: 64 hex digits, the sha256 of the key'
              : entries.some((e) => e.sha256 === sha256.toLowerCase())
                ? 'repeats the hash of an earlier entry'
                : null;
    if (problem) ctx.addIssue({ code: 'custom', message: `entry ${i + 1} ${problem}` });
    else entries.push({ name, role: role as ApiRole, sha256: sha256.toLowerCase() });
  }
  return entries;
}

const envSchema = z.object({
  DATABASE_URL: postgresUrl,
  DATABASE_OWNER_URL: postgresUrl,
  POSTGRES_HOST: optionalString,
  POSTGRES_PORT: port(5432),
  POSTGRES_DB: z.preprocess(emptyToUndefined, z.string().default('aura_orchestra')),
  POSTGRES_USER: z.preprocess(emptyToUndefined, z.string().default('aura_admin')),
  POSTGRES_PASSWORD: z.preprocess(emptyToUndefined, z.string().default(DEFAULT_PASSWORDS[0]!)),
  POSTGRES_APP_USER: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a role name: lowercase letters, digits and _, at most 63')
      .default('aura_app'),
  ),
  POSTGRES_APP_PASSWORD: z.preprocess(emptyToUndefined, z.string().default(DEFAULT_PASSWORDS[1]!)),
  AURA_EMBEDDED_POSTGRES_PORT: port(54329),

  TEMPORAL_ADDRESS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: z.preprocess(emptyToUndefined, z.string().default('default')),
  TEMPORAL_CLI_PATH: optionalString,
  AURA_TEMPORAL_PORT: port(7233),
  AURA_TEMPORAL_UI_PORT: port(8233),

  MANAGER_PORT: port(8000),
  MANAGER_HOST: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9.:-]+$/, 'must be an address to listen on, e.g. 127.0.0.1 (0.0.0.0: every interface)')
      .default('127.0.0.1'),
  ),
  MANAGER_API_KEY: z.preprocess(emptyToUndefined, z.string().min(12, 'must be at least 12 characters').optional()),
  MANAGER_API_KEY_NAME: z.preprocess(emptyToUndefined, z.string().regex(DIRECTOR_NAME, DIRECTOR_NAME_RULE).optional()),
  MANAGER_API_KEYS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .optional()
      .transform((v, ctx) => parseKeyEntries(v, ctx)),
  ),
  MANAGER_API_ALLOWED_HOSTS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .optional()
      .transform((v) =>
        v
          ? v
              .split(',')
              .map((h) => h.trim().toLowerCase())
              .filter(Boolean)
          : [],
      )
      .refine((hosts) => hosts.every((h) => /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(h)), {
        message: 'must be host names, comma-separated, each with or without a port (aura.example.com,10.0.0.5:8000)',
      }),
  ),
  MANAGER_TEMPORAL_UI_URL: optionalUrl,
  AURA_API_URL: optionalUrl,
  AURA_API_KEY: optionalString,

  OLLAMA_BASE_URL: optionalUrl,
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: z.preprocess(emptyToUndefined, z.string().url().default('https://api.openai.com/v1')),
  GEMINI_API_KEY: optionalString,
  GEMINI_BASE_URL: z.preprocess(emptyToUndefined, z.string().url().default('https://generativelanguage.googleapis.com/v1beta/openai/')),
  AURA_PROVIDERS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^\s*[a-z]+(\s*,\s*[a-z]+)*\s*$/, 'must be a comma-separated list such as "openai,ollama"')
      .optional(),
  ),
  AURA_RUN_TOKEN_BUDGET: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).default(2_000_000)),
  AURA_RUN_COST_BUDGET_USD: z.preprocess(emptyToUndefined, z.coerce.number().min(0).default(5)),

  AUDIT_LOG_RETENTION_DAYS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(36_500).default(365)),
  ENABLE_STRICT_POLICY: bool(true),
  AURA_INDEPENDENT_TESTS: bool(true),
  AURA_LEDGER_KEY_FILE: optionalString,
  AURA_CHECKPOINT_EVERY_ENTRIES: atLeastOne(1_000),
  AURA_CHECKPOINT_EVERY_MINUTES: atLeastOne(10),

  AURA_HOME: optionalString,
  AURA_SYSTEM_DIR: optionalString,
  AURA_EMPLOYEES_FILE: z.preprocess(emptyToUndefined, z.string().default('config/employees.json')),
  AURA_SCRIPT_FILE: z.preprocess(emptyToUndefined, z.string().default('samples/wordfreq/script.json')),
  AURA_DIRECTOR: optionalString,
  AURA_DIRECTOR_KEY_FILE: optionalString,
  AURA_DIRECTOR_PUBLIC_KEYS: optionalString,
  AURA_DIRECTOR_COMMANDS: z.preprocess(emptyToUndefined, z.enum(['authenticated', 'any']).default('any')),
  AURA_SANDBOX_UNSAFE: bool(false),
  AURA_WORKFLOW_BUNDLE: optionalString,
});

export interface AuraConfig {
  /** Absolute path of the project root: relative settings resolve against it. */
  root: string;
  /** Where embedded state lives (database files, Temporal's sqlite file, workspaces). */
  home: string;
  /** As root, where the embedded PostgreSQL keeps its binaries and data (null: /var/lib/aura). */
  systemDir: string | null;
  database: {
    /** The application's connection (DATABASE_URL, or built from POSTGRES_HOST and friends); null: embedded. */
    url: string | null;
    /** The tables' owner (DATABASE_OWNER_URL): migrations, the application role's rights, owner-only settings. */
    ownerUrl: string | null;
    embeddedPort: number;
    /** The owner's name and password on the embedded server. */
    user: string;
    password: string;
    name: string;
    /** The application role, created by the owner when no DATABASE_URL names one (embedded, or DATABASE_OWNER_URL alone). */
    appUser: string;
    appPassword: string;
  };
  temporal: { address: string | null; namespace: string; cliPath: string | null; port: number; uiPort: number };
  manager: {
    port: number;
    /** Where the Manager API listens: 127.0.0.1 unless MANAGER_HOST says otherwise. */
    host: string;
    /** MANAGER_API_KEY as given (local use); it is also the first entry of `keys`. */
    apiKey: string | null;
    /** Every key the API accepts, hashed, with its owner's name and role. */
    keys: ApiKeyEntry[];
    /** Host names the API answers for besides the local ones and MANAGER_HOST (MANAGER_API_ALLOWED_HOSTS). */
    allowedHosts: string[];
    /** The Temporal Web UI the dashboard links to (null: none known). */
    temporalUiUrl: string | null;
    /** For the CLI: send run commands to this Manager API (AURA_API_URL) with this key (AURA_API_KEY). */
    apiUrl: string | null;
    apiClientKey: string | null;
  };
  providers: {
    ollamaBaseUrl: string | null;
    openaiApiKey: string | null;
    openaiBaseUrl: string;
    geminiApiKey: string | null;
    geminiBaseUrl: string;
    /** Providers whose employees may be routed to: AURA_PROVIDERS, else every configured one, else scripted. */
    enabled: string[];
  };
  /** A run's default budget (a run option overrides it). */
  runBudget: { maxTokens: number; maxCostUsd: number };
  auditLogRetentionDays: number;
  strictPolicy: boolean;
  /** Runs' default for acceptance tests by a tester (a run option overrides it; the run records which). */
  independentTests: boolean;
  /** The ledger's signing key and how often a checkpoint is signed. */
  ledger: { keyFile: string; checkpointEveryEntries: number; checkpointEveryMinutes: number };
  employeesFile: string;
  scriptFile: string;
  director: string;
  /**
   * Proof of who gives a Director command (integrity/command-proof.ts): the CLI and the API sign
   * with `keyFile`; workers trust the public keys in `publicKeysFile`, else the public half of
   * `keyFile`. `requireProof`: a command without a valid proof is refused (recorded), not merely
   * marked unauthenticated.
   */
  directorCommands: { keyFile: string; publicKeysFile: string | null; requireProof: boolean };
  /** A workflow bundle built beforehand (workers/create-worker.ts buildWorkflowBundle); null: the manager worker bundles workflows/ at start. */
  workflowBundle: string | null;
}

/** The project root: the folder holding this module's parent. */
export const PROJECT_ROOT = resolve(new URL('..', import.meta.url).pathname);

export function loadConfig(env: NodeJS.ProcessEnv = process.env, root = PROJECT_ROOT): AuraConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      // The variable and what is wrong, never its value: it may be a key or a password.
      parsed.error.issues.map((i) => {
        const value = env[String(i.path[0])];
        return `${String(i.path[0] ?? '?')}: ${i.message} (${value === undefined ? 'not set' : `value not shown, ${value.length} characters`})`;
      }),
    );
  }
  const e = parsed.data;
  const defaults = defaultPasswordsOnOwnServer(e, env);
  if (defaults.length > 0) throw new ConfigError(defaults);
  const fromParts = e.POSTGRES_HOST
    ? `postgres://${encodeURIComponent(e.POSTGRES_USER)}:${encodeURIComponent(e.POSTGRES_PASSWORD)}@${e.POSTGRES_HOST}:${e.POSTGRES_PORT}/${encodeURIComponent(e.POSTGRES_DB)}`
    : null;
  const at = (p: string) => resolve(root, p);
  const home = at(e.AURA_HOME ?? defaultHome(root, env));
  const director = e.AURA_DIRECTOR ?? safeUserName();
  return {
    root,
    home,
    systemDir: e.AURA_SYSTEM_DIR ? at(e.AURA_SYSTEM_DIR) : null,
    database: {
      url: e.DATABASE_URL ?? fromParts,
      ownerUrl: e.DATABASE_OWNER_URL ?? null,
      embeddedPort: e.AURA_EMBEDDED_POSTGRES_PORT,
      user: e.POSTGRES_USER,
      password: e.POSTGRES_PASSWORD,
      name: e.POSTGRES_DB,
      appUser: e.POSTGRES_APP_USER,
      appPassword: e.POSTGRES_APP_PASSWORD,
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? null,
      namespace: e.TEMPORAL_NAMESPACE,
      cliPath: e.TEMPORAL_CLI_PATH ?? null,
      port: e.AURA_TEMPORAL_PORT,
      uiPort: e.AURA_TEMPORAL_UI_PORT,
    },
    manager: {
      port: e.MANAGER_PORT,
      host: e.MANAGER_HOST,
      apiKey: e.MANAGER_API_KEY ?? null,
      keys: [
        ...(e.MANAGER_API_KEY
          ? [{ name: e.MANAGER_API_KEY_NAME ?? director, role: 'director' as const, sha256: hashApiKey(e.MANAGER_API_KEY) }]
          : []),
        ...e.MANAGER_API_KEYS.filter((k) => !e.MANAGER_API_KEY || k.sha256 !== hashApiKey(e.MANAGER_API_KEY)),
      ],
      allowedHosts: e.MANAGER_API_ALLOWED_HOSTS,
      temporalUiUrl: e.MANAGER_TEMPORAL_UI_URL ?? (e.TEMPORAL_ADDRESS ? null : `http://127.0.0.1:${e.AURA_TEMPORAL_UI_PORT}`),
      apiUrl: e.AURA_API_URL ?? null,
      apiClientKey: e.AURA_API_KEY ?? null,
    },
    providers: {
      ollamaBaseUrl: e.OLLAMA_BASE_URL ?? null,
      openaiApiKey: e.OPENAI_API_KEY ?? null,
      openaiBaseUrl: e.OPENAI_BASE_URL,
      geminiApiKey: e.GEMINI_API_KEY ?? null,
      geminiBaseUrl: e.GEMINI_BASE_URL,
      enabled: enabledProviders(e.AURA_PROVIDERS, { openai: !!e.OPENAI_API_KEY, gemini: !!e.GEMINI_API_KEY, ollama: !!e.OLLAMA_BASE_URL }),
    },
    runBudget: { maxTokens: e.AURA_RUN_TOKEN_BUDGET, maxCostUsd: e.AURA_RUN_COST_BUDGET_USD },
    auditLogRetentionDays: e.AUDIT_LOG_RETENTION_DAYS,
    strictPolicy: e.ENABLE_STRICT_POLICY,
    independentTests: e.AURA_INDEPENDENT_TESTS,
    ledger: {
      keyFile: e.AURA_LEDGER_KEY_FILE ? at(e.AURA_LEDGER_KEY_FILE) : join(home, 'ledger', 'signing-key.pem'),
      checkpointEveryEntries: e.AURA_CHECKPOINT_EVERY_ENTRIES,
      checkpointEveryMinutes: e.AURA_CHECKPOINT_EVERY_MINUTES,
    },
    employeesFile: at(e.AURA_EMPLOYEES_FILE),
    scriptFile: at(e.AURA_SCRIPT_FILE),
    director,
    directorCommands: {
      keyFile: e.AURA_DIRECTOR_KEY_FILE ? at(e.AURA_DIRECTOR_KEY_FILE) : join(home, 'secrets', 'director-command-key.pem'),
      publicKeysFile: e.AURA_DIRECTOR_PUBLIC_KEYS ? at(e.AURA_DIRECTOR_PUBLIC_KEYS) : null,
      requireProof: e.AURA_DIRECTOR_COMMANDS === 'authenticated',
    },
    workflowBundle: e.AURA_WORKFLOW_BUNDLE ? at(e.AURA_WORKFLOW_BUNDLE) : null,
  };
}

/**
 * A server of one's own (DATABASE_URL, DATABASE_OWNER_URL, POSTGRES_HOST) reached with a shipped
 * default password: one problem per variable. An unset POSTGRES_APP_PASSWORD beside
 * DATABASE_OWNER_URL alone is no problem: Aura derives that role's password (db/open.ts).
 */
function defaultPasswordsOnOwnServer(e: z.infer<typeof envSchema>, env: NodeJS.ProcessEnv): string[] {
  const known = `a shipped default (${DEFAULT_PASSWORDS.join(', ')}), known to anyone`;
  const problems: string[] = [];
  for (const name of ['DATABASE_URL', 'DATABASE_OWNER_URL'] as const) {
    if (DEFAULT_PASSWORDS.includes(urlPassword(e[name]))) {
      problems.push(`${name}: its password is ${known}; give the role a password of its own (docs/operations.md)`);
    }
  }
  if (!e.DATABASE_URL && e.POSTGRES_HOST && DEFAULT_PASSWORDS.includes(e.POSTGRES_PASSWORD)) {
    const what = env.POSTGRES_PASSWORD?.trim() ? 'is' : 'not set, so it is';
    problems.push(`POSTGRES_PASSWORD: ${what} ${known}; give the role on POSTGRES_HOST a password of its own (docs/operations.md)`);
  }
  if (!e.DATABASE_URL && e.DATABASE_OWNER_URL && env.POSTGRES_APP_PASSWORD?.trim() && DEFAULT_PASSWORDS.includes(e.POSTGRES_APP_PASSWORD)) {
    problems.push(
      `POSTGRES_APP_PASSWORD: is ${known}; set a password of your own, or leave it empty to have one derived from the owner's (docs/operations.md)`,
    );
  }
  return problems;
}

function urlPassword(url: string | undefined): string {
  if (!url) return '';
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/**
 * AURA_HOME when it is not set: `.aura` in a checkout (the project root), as it has always been;
 * for an installed package (its root inside a node_modules folder: `npm install -g`), the user's
 * data folder, $XDG_DATA_HOME/aura or ~/.local/share/aura, never the install folder.
 */
export function defaultHome(root: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!root.split(sep).includes('node_modules')) return '.aura';
  const data = env.XDG_DATA_HOME?.trim() || join(env.HOME?.trim() || homedir(), '.local', 'share');
  return join(data, 'aura');
}

/** Loads `.env` from the project root (never overriding variables already set). */
export function loadDotEnv(root = PROJECT_ROOT): void {
  const file = resolve(root, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

/** Real providers as soon as they are configured; the scripted stand-ins only when none is. */
function enabledProviders(explicit: string | undefined, configured: Record<string, boolean>): string[] {
  if (explicit) return [...new Set(explicit.split(',').map((p) => p.trim()))];
  const real = Object.entries(configured)
    .filter(([, on]) => on)
    .map(([name]) => name);
  return real.length > 0 ? real : ['scripted'];
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'director';
  }
}
