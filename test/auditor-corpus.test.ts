/**
 * The Auditor's labelled corpus (test/corpus/<NN>-<slug>/): for every case, `checkOutput` —
 * the detectors plus the real sandbox, exactly what `aura auditor check` runs — must report
 * exactly the expected set of violation types, each with evidence. Cases that only mean
 * something inside the sandbox (no network, no host files, process limit) are skipped where
 * bubblewrap cannot build one (the operator's AURA_SANDBOX_UNSAFE); where the sandbox refuses
 * to run at all, so are the cases that run code. The cases run one after another: the fork
 * bombs must not starve the others.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutput, parseTask } from '../activities/auditor/check.js';
import { isolationSupport, sandboxMode, sandboxUidsHandedOut } from '../activities/sandbox/isolation-probe.js';
import { PROJECT_ROOT } from '../config/config.js';
import { parseTaskOutput } from '../governance/task-output.js';
import { VIOLATION_TYPES, type ViolationType } from '../governance/types.js';

const CORPUS = join(PROJECT_ROOT, 'test', 'corpus');
const AURA = join(PROJECT_ROOT, 'bin', 'aura');
const SHA256 = /^[0-9a-f]{64}$/;
const CANARY_PLACEHOLDER = '__CANARY__';

interface Expected {
  label: 'good' | 'bad';
  violations: ViolationType[];
  needs?: 'jail';
  why: string;
}

interface Case {
  name: string;
  dir: string;
  taskJson: unknown;
  /** output.json, or null for the one case whose output is written from output.template.json. */
  output: string | null;
  template: string | null;
  workspace: string | null;
  expected: Expected;
}

function loadCases(): Case[] {
  return readdirSync(CORPUS, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const dir = join(CORPUS, name);
      const read = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : null);
      return {
        name,
        dir,
        taskJson: JSON.parse(readFileSync(join(dir, 'task.json'), 'utf8')) as unknown,
        output: read('output.json'),
        template: read('output.template.json'),
        workspace: existsSync(join(dir, 'workspace')) ? join(dir, 'workspace') : null,
        expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected,
      };
    });
}

const cases = loadCases();
const jail = isolationSupport().jail;
/** No bubblewrap and no AURA_SANDBOX_UNSAFE: every verification is refused, so no case that runs code can pass. */
const refused = sandboxMode() === 'refused' ? `SKIPPED: the sandbox refuses to run code here (${isolationSupport().problem})` : null;
/** As root each sandbox runs as a uid of its own (from 1,700,000): its processes can be told apart on the host. */
const ownUids = jail && isolationSupport().root;
const sorted = (types: Iterable<string>) => [...new Set(types)].sort();

/**
 * Processes of the sandbox user ids this process handed out (each sandbox runs as its own uid
 * from 1,700,000 up; other test files' sandboxes, running at the same time, are not ours), one
 * "STAT PID COMMAND" line each ('' when there are none).
 */
function sandboxProcesses(): string {
  const ours = sandboxUidsHandedOut();
  const r = spawnSync('ps', ['-e', '--no-headers', '-o', 'uid=,stat=,pid=,comm='], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && ours.has(Number(l.split(/\s+/)[0])))
    .map((l) => l.replace(/^\d+\s+/, ''))
    .join('\n');
}
const live = (listing: string) => listing.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('Z'));

/** Polls until `done(listing)` or the deadline; returns the last listing. */
async function pollSandbox(done: (listing: string) => boolean, deadlineMs: number): Promise<string> {
  const until = Date.now() + deadlineMs;
  let listing = sandboxProcesses();
  while (!done(listing) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    listing = sandboxProcesses();
  }
  return listing;
}

/**
 * Why some cases must fail, read from the sandbox's output: a case failing for another reason
 * (a typo in its test, say) would otherwise still match its expected violation set.
 */
const FAILS_BECAUSE: Record<string, RegExp> = {
  'halluc-missing-relative-module-executed': /ERR_MODULE_NOT_FOUND/,
  'halluc-package-not-allowed': /ERR_MODULE_NOT_FOUND/,
  'halluc-unlisted-scoped-package': /ERR_MODULE_NOT_FOUND/,
  'fv-no-test-ran': /^# tests 0$/m,
  'fv-memory-bomb': /Array buffer allocation failed|out of memory/i,
  'fv-network-tcp': /ENETUNREACH|ECONNREFUSED/,
  'fv-network-http-external': /EAI_AGAIN|ENOTFOUND|ENETUNREACH/,
  'fv-delete-outside-workspace': /ENOENT|EACCES|EPERM|EROFS/,
};

/** The cases that leave processes behind unless the sandbox kills the whole tree. */
const PROCESS_BOMB = /-(?:fork-bomb|spawned-children-wait)$/;

// The delete-outside case: a canary in a folder outside /tmp (mode 0755), which
// the case's test tries to delete by absolute path; written at test time from the template.
let canaryDir: string | null = null;
let canaryFile: string | null = null;
const CANARY_TEXT = 'the sandbox must not be able to delete me\n';
const tempDirs: string[] = [];

beforeAll(() => {
  // Not under /tmp, /var/tmp or /dev/shm, which hold the sandbox's own folders. (The sandbox
  // shows none of the host's folders, so the canary is out of its sight as well as its reach.)
  const privateInSandbox = /^\/(tmp|var\/tmp|dev\/shm)(\/|$)/;
  canaryDir = mkdtempSync(join(privateInSandbox.test(PROJECT_ROOT) ? homedir() : PROJECT_ROOT, '.aura-corpus-'));
  chmodSync(canaryDir, 0o755);
  canaryFile = join(canaryDir, 'stale.lock');
  writeFileSync(canaryFile, CANARY_TEXT, { mode: 0o644 });
});

afterAll(() => {
  if (canaryDir) rmSync(canaryDir, { recursive: true, force: true });
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function outputText(c: Case): string {
  if (c.output !== null) return c.output;
  if (!canaryFile) throw new Error('the canary was not created');
  // JSON-escape the path: it lands inside a JSON string (and a JS string inside that).
  return c.template!.replaceAll(CANARY_PLACEHOLDER, JSON.stringify(canaryFile).slice(1, -1));
}

describe('the corpus itself', () => {
  it('has at least 30 cases, 10 of them good, and every violation type in some expected set', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(cases.filter((c) => c.expected.label === 'good').length).toBeGreaterThanOrEqual(10);
    const seen = new Set(cases.flatMap((c) => c.expected.violations));
    for (const type of VIOLATION_TYPES) expect(seen, `no case expects ${type}`).toContain(type);
  });

  it('has well-formed cases: a usable task, one output, a consistent label and known types', () => {
    for (const c of cases) {
      expect(c.name, 'folder name').toMatch(/^\d{2}-[a-z0-9-]+$/);
      expect(() => parseTask(c.taskJson), `${c.name}: task`).not.toThrow();
      expect((c.output === null) !== (c.template === null), `${c.name}: exactly one of output.json / output.template.json`).toBe(true);
      expect(['good', 'bad'], `${c.name}: label`).toContain(c.expected.label);
      expect(c.expected.label === 'good', `${c.name}: good exactly when no violation is expected`).toBe(c.expected.violations.length === 0);
      for (const t of c.expected.violations) expect(VIOLATION_TYPES, `${c.name}: type`).toContain(t);
      expect(c.expected.violations, `${c.name}: violations is a set`).toEqual(sorted(c.expected.violations));
      expect(c.expected.why.trim().length, `${c.name}: why`).toBeGreaterThan(0);
      if (c.expected.needs !== undefined) expect(c.expected.needs).toBe('jail');
    }
    const templated = cases.filter((c) => c.template !== null);
    expect(templated.map((c) => c.name)).toHaveLength(1);
    expect(templated[0]!.template).toContain(CANARY_PLACEHOLDER);
    expect(templated[0]!.expected.needs).toBe('jail');
    for (const slug of Object.keys(FAILS_BECAUSE))
      expect(
        cases.map((c) => c.name.replace(/^\d+-/, '')),
        slug,
      ).toContain(slug);
  });
});

describe('the Auditor on the corpus', () => {
  for (const c of cases) {
    const parsed = parseTaskOutput(c.output ?? c.template ?? '');
    const runsCode = parsed.ok && parsed.output.files.length > 0;
    const skip = (c.expected.needs === 'jail' && !jail) || (runsCode && refused !== null);
    const title = `${c.name}: ${c.expected.label}${c.expected.violations.length ? ` (${c.expected.violations.join(', ')})` : ''}${skip && refused ? ` — ${refused}` : ''}`;
    it.skipIf(skip)(
      title,
      async () => {
        const bomb = PROCESS_BOMB.test(c.name) && ownUids;
        // Start a bomb on a quiet host: what is listed afterwards is then its own.
        if (bomb) await pollSandbox((l) => l === '', 10_000);
        const task = parseTask(c.taskJson);
        const verdict = await checkOutput({ task, outputText: outputText(c), workspaceDir: c.workspace });

        expect(
          sorted(verdict.violations.map((v) => v.type)),
          `${c.name}: ${c.expected.why}\n${JSON.stringify(
            verdict.violations.map((v) => v.message),
            null,
            2,
          )}\n${verdict.verification?.excerpt.slice(-1500) ?? ''}`,
        ).toEqual(sorted(c.expected.violations));
        expect(verdict.clean).toBe(c.expected.label === 'good');
        for (const v of verdict.violations) {
          expect(typeof v.message).toBe('string');
          expect(typeof v.evidence.excerpt).toBe('string');
          expect(v.evidence.excerpt.length, `${c.name}: ${v.type} evidence excerpt`).toBeGreaterThan(0);
          expect(v.evidence.sha256, `${c.name}: ${v.type} evidence hash`).toMatch(SHA256);
        }
        const because = FAILS_BECAUSE[c.name.replace(/^\d+-/, '')];
        if (because) expect(verdict.verification?.excerpt, `${c.name}: why the command failed`).toMatch(because);
        if (c.expected.label === 'good') {
          // A good output was really run and accepted by its command, not merely left alone.
          expect(verdict.verification?.ran).toBe(true);
          expect(verdict.verification?.passed).toBe(true);
        }

        if (c.template !== null) {
          expect(existsSync(canaryFile!), 'the canary outside the workspace was deleted').toBe(true);
          expect(readFileSync(canaryFile!, 'utf8')).toBe(CANARY_TEXT);
        }
        if (bomb) {
          expect(verdict.verification?.timedOut).toBe(true);
          // Every process of the tree was killed with the namespace: none of them still runs...
          expect(live(await pollSandbox((l) => live(l).length === 0, 3_000)), 'live processes of the sandbox user left behind').toEqual([]);
          // ...and once the (dead) namespace init is reaped, no process of a sandbox uid is listed at all.
          expect(await pollSandbox((l) => l === '', 10_000), 'processes of the sandbox user left behind').toBe('');
        }
      },
      60_000,
    );
  }
});

describe('aura auditor check (the real CLI)', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(AURA, args, { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 90_000, env: process.env }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  it.skipIf(refused !== null)(
    `judges a bad case, exits 0 and prints the violations with their evidence as JSON${refused ? ` — ${refused}` : ''}`,
    async () => {
      const c = cases.find((x) => x.name.endsWith('-scope-file-outside-globs'));
      expect(c, 'the CLI case is in the corpus').toBeDefined();
      const r = await run(['auditor', 'check', '--task', join(c!.dir, 'task.json'), '--output', join(c!.dir, 'output.json'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const verdict = JSON.parse(r.stdout) as {
        clean: boolean;
        violations: { type: string; evidence: { excerpt: string; sha256: string } }[];
      };
      expect(Array.isArray(verdict.violations)).toBe(true);
      expect(verdict.clean).toBe(false);
      expect(sorted(verdict.violations.map((v) => v.type))).toEqual(c!.expected.violations);
      for (const v of verdict.violations) {
        expect(typeof v.evidence.excerpt).toBe('string');
        expect(v.evidence.sha256).toMatch(SHA256);
      }
    },
    90_000,
  );

  it('refuses an unusable task file with a non-zero exit and a message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aura-corpus-cli-'));
    tempDirs.push(dir);
    const task = join(dir, 'task.json');
    writeFileSync(task, JSON.stringify({ id: 'not a valid id!', title: 'no scope, no acceptance' }));
    const output = join(CORPUS, cases[0]!.name, 'output.json');
    const r = await run(['auditor', 'check', '--task', task, '--output', output, '--json']);
    expect(r.code).not.toBe(0);
    expect(r.stdout.trim()).toBe('');
    expect(r.stderr).toMatch(/task is not usable/);
  }, 90_000);
});
