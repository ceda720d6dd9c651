/** The configuration module: `.env.example` is valid as shipped; bad values are named. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, PROJECT_ROOT } from '../config/config.js';
import { ConfigError, UserError } from '../errors/index.js';
import { employeeProvider } from '../workers/create-worker.js';

function parseDotEnv(text: string): Record<string, string> {
  // node:util parseEnv exists from Node 20.12; keep a tiny fallback for older 20.x.
  if (typeof parseEnv === 'function') return parseEnv(text) as Record<string, string>;
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('configuration', () => {
  it('accepts .env.example as shipped, with the seed settings', () => {
    const env = parseDotEnv(readFileSync(join(PROJECT_ROOT, '.env.example'), 'utf8'));
    for (const key of [
      'POSTGRES_HOST',
      'MANAGER_PORT',
      'MANAGER_API_KEY',
      'OLLAMA_BASE_URL',
      'OPENAI_API_KEY',
      'GEMINI_API_KEY',
      'AUDIT_LOG_RETENTION_DAYS',
      'ENABLE_STRICT_POLICY',
      'DATABASE_URL',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
    ]) {
      expect(env).toHaveProperty(key);
    }
    const config = loadConfig(env);
    expect(config.database.url).toBeNull(); // embedded
    expect(config.temporal.address).toBeNull(); // dev server
    expect(config.auditLogRetentionDays).toBe(365);
    expect(config.strictPolicy).toBe(true);
    expect(config.home).toBe(join(PROJECT_ROOT, '.aura'));
  });

  it('builds DATABASE_URL from the POSTGRES_* parts when only those are set', () => {
    const c = loadConfig({ POSTGRES_HOST: 'db', POSTGRES_USER: 'u', POSTGRES_PASSWORD: 'p@ss', POSTGRES_DB: 'aura' });
    expect(c.database.url).toBe('postgres://u:p%40ss@db:5432/aura');
    expect(loadConfig({ DATABASE_URL: 'postgres://x@h/d', POSTGRES_HOST: 'db' }).database.url).toBe('postgres://x@h/d');
  });

  it('names every bad variable and what is wrong', () => {
    let error: unknown;
    try {
      loadConfig({
        DATABASE_URL: 'mysql://x',
        TEMPORAL_ADDRESS: 'localhost',
        AUDIT_LOG_RETENTION_DAYS: '0',
        MANAGER_PORT: '99999',
        OLLAMA_BASE_URL: 'not a url',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(problems).toMatch(/TEMPORAL_ADDRESS: must be host:port/);
    expect(problems).toMatch(/AUDIT_LOG_RETENTION_DAYS: .*\(value not shown, 1 characters\)/);
    expect(problems).toMatch(/MANAGER_PORT: .*\(value not shown, 5 characters\)/);
    expect(problems).toMatch(/OLLAMA_BASE_URL: /);
  });

  it('never shows a rejected value: it may be a password or a key', () => {
    let error: unknown;
    try {
      loadConfig({ DATABASE_URL: 'mysql://admin:hunter2-SECRET@db/x', OLLAMA_BASE_URL: 'http://user:pw-SECRET@ nope' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).message;
    expect(text).toMatch(/DATABASE_URL: must be a postgres/);
    expect(text).not.toMatch(/SECRET|hunter2|admin/);
  });

  it('a provider enabled without its key is a ConfigError naming the variable (printed alone, exit 2)', () => {
    const config = loadConfig({ AURA_HOME: '/tmp/aura-config-test' }, PROJECT_ROOT);
    for (const [provider, variable] of [
      ['openai', 'OPENAI_API_KEY'],
      ['gemini', 'GEMINI_API_KEY'],
      ['ollama', 'OLLAMA_BASE_URL'],
    ] as const) {
      const attempt = () => employeeProvider(provider, config);
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(UserError);
      expect(attempt).toThrow(new RegExp(`${variable} is not set`));
    }
    expect(() => employeeProvider('acme', config)).toThrow(/employee provider "acme" has no implementation/);
  });
});
