/**
 * The Director's dashboard in headless Chromium (Debian's /usr/bin/chromium, npm playwright-core)
 * against the Manager API over a real Temporal dev server and PostgreSQL, with the scripted
 * employees of test/fixtures/dashboard, written to a folder of the test's own with a second coder
 * (both fail, so the task escalates with two rounds of code to compare), a coder whose provider is
 * off, and a first plan the plan rules send back. The Director signs in with a key, submits the
 * PRD from the form, reads the plan gate (the PRD, each task's instructions, the round sent back)
 * and approves, reads the escalation (the code, its diff, who may take it over) and overrides it,
 * watches the run complete without a reload, reads its report and downloads its workspace,
 * pauses, resumes and cancels a second run from its page, and reads the overview. What the page
 * shows is asserted, and what was recorded is checked in the database.
 *
 * Screenshots: UPDATE_DASHBOARD_SCREENSHOTS=1 writes them to docs/images/dashboard/ (shown in
 * docs/director-guide.md); otherwise to a temporary folder, removed unless a step fails.
 * Skipped, with a note, when /usr/bin/chromium is missing.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../config/config.js';
import { startApi, type RunningApi } from '../api/server.js';
import { waitForReport } from '../director/runs.js';
import { eventually, startTestEnv, type TestEnv } from './helpers/env.js';
import { CHROMIUM_MISSING, dumpPage, expectEventually, hasChromium, launchChromium } from './helpers/browser.js';

if (!hasChromium) console.warn(`[dashboard.test] ${CHROMIUM_MISSING}`);

const DANA_KEY = 'dana-director-key-0001';
const RILEY_KEY = 'riley-read-only-key-0003';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const PRD = '# Add\n\nAn add(a, b) function with a test.\n';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'dashboard');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, any>;
/** The test's own registry and script: the fixture's, with a second coder, a coder whose provider is off, and a first plan the rules send back. */
const own = mkdtempSync(join(tmpdir(), 'aura-dashboard-script-'));
const EMPLOYEES_FILE = join(own, 'employees.json');
const SCRIPT_FILE = join(own, 'script.json');
const ADD_MINUS = 'export const add = (a, b) => a - b;\n';
const ADD_TIMES = 'export const add = (a, b) => a * b;\n';

/** Writes the script the scripted provider reads on every call; `delayMs`: every coder's answer takes that long. */
function writeScript(delayMs = 0): void {
  const script = fixture('script.json');
  const good = script.employees['s-planner'].plan[0];
  const bad = { ...good, tasks: good.tasks.map((t: Record<string, unknown>) => ({ ...t, dependsOn: ['T9'] })) };
  script.employees['s-planner'].plan = [bad, good];
  const flaky = script.employees['s-flaky']['*'];
  const answer = (content: string) => ({
    ...flaky,
    ...(delayMs ? { delayMs } : {}),
    files: flaky.files.map((f: { path: string }) => (f.path === 'src/add.js' ? { ...f, content } : f)),
  });
  script.employees['s-flaky']['*'] = answer(ADD_MINUS);
  script.employees['s-other'] = { '*': answer(ADD_TIMES) };
  writeFileSync(SCRIPT_FILE, JSON.stringify(script));
}
const employees = fixture('employees.json');
employees.employees.push(
  { id: 's-other', provider: 'scripted', model: 'script:other', capabilities: ['coder'] },
  { id: 's-off', provider: 'gemini', model: 'gemini-2.5-flash', capabilities: ['coder'] },
);
writeFileSync(EMPLOYEES_FILE, JSON.stringify(employees));
writeScript();

const UPDATING = process.env.UPDATE_DASHBOARD_SCREENSHOTS === '1';
const shots = UPDATING ? join(PROJECT_ROOT, 'docs', 'images', 'dashboard') : mkdtempSync(join(tmpdir(), 'aura-dashboard-'));

let env: TestEnv;
let api: RunningApi;
let browser: Browser;
let page: Page;
let runId: string;
let navigations = 0;
/** A second tab on the run's monitoring page, opened at the plan gate and never reloaded. */
let watch: Page;
const pageErrors: string[] = [];

async function shot(name: string, opts: { fullPage?: boolean; on?: Page } = {}): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await (opts.on ?? page).screenshot({ path: join(shots, `${name}.png`), fullPage: opts.fullPage ?? true });
}

/** Signs in on a page showing the sign-in dialog (each tab keeps its own key). */
async function signIn(on: Page, key: string): Promise<void> {
  const dialog = on.getByRole('dialog', { name: 'Sign in' });
  await dialog.getByLabel('API key').fill(key);
  await dialog.getByRole('button', { name: 'Sign in' }).click();
  await dialog.waitFor({ state: 'hidden' });
}

/** Clicks an action, types the reason in the dialog it opens, confirms; returns the notice shown. */
async function actWithReason(button: string, reason: string, fill: Record<string, string> = {}): Promise<string> {
  await page.getByRole('button', { name: button }).first().click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  for (const [label, value] of Object.entries(fill)) await dialog.getByLabel(label).fill(value);
  // Without a reason the dialog refuses and stays open.
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect.poll(() => dialog.getByRole('alert').innerText()).toContain('Say why');
  await dialog.getByLabel(/^Reason/).fill(reason);
  if (button.startsWith('Override')) await shot('03-reason-dialog', { fullPage: false });
  else if (button === 'Approve plan') await shot('01-approve-reason', { fullPage: false });
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const n = page.getByRole('status');
  await expect.poll(() => n.innerText()).toContain('Recorded as dana.');
  return n.innerText();
}

describe.skipIf(!hasChromium)('the Director dashboard', () => {
  beforeAll(async () => {
    env = await startTestEnv({
      env: {
        AURA_EMPLOYEES_FILE: EMPLOYEES_FILE,
        AURA_SCRIPT_FILE: SCRIPT_FILE,
        MANAGER_API_KEY: DANA_KEY,
        MANAGER_API_KEY_NAME: 'dana',
        MANAGER_API_KEYS: `riley:read:${sha(RILEY_KEY)}`,
        MANAGER_TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
      },
    });
    api = await startApi({ client: env.client, db: env.db, config: env.config }, { host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC' });
    context.setDefaultTimeout(30_000);
    page = await context.newPage();
    // A script error on the page fails the test that caused it.
    page.on('pageerror', (err) => pageErrors.push(err.message));
    console.log(`[dashboard.test] dashboard ${api.url}/; screenshots in ${shots}`);
  });

  let failed = false;
  // Each step goes on from where the one before left the run: after a failure the rest would only time out.
  beforeEach((ctx) => {
    if (failed) ctx.skip();
  });
  afterEach(async (ctx) => {
    expect(pageErrors).toEqual([]);
    if (ctx.task.result?.state !== 'fail') return;
    failed = true;
    if (page) console.log(`[dashboard.test] page at the failure: ${await dumpPage(page, ctx.task.name)}`);
  });
  afterAll(async () => {
    if (!failed && !UPDATING) rmSync(shots, { recursive: true, force: true });
    rmSync(own, { recursive: true, force: true });
    await browser?.close();
    await api?.close();
    await env?.teardown();
  });

  it('asks for a key, refuses a wrong one, and signs in as its owner', async () => {
    await page.goto(`${api.url}/`);
    const dialog = page.getByRole('dialog', { name: 'Sign in' });
    await dialog.waitFor();
    await dialog.getByLabel('API key').fill('not-a-key-of-anyone');
    await dialog.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => dialog.getByRole('alert').innerText()).toContain('not known');
    await dialog.getByLabel('API key').fill(DANA_KEY);
    await dialog.getByRole('button', { name: 'Sign in' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.locator('#who').innerText()).toBe('dana (Director)');
    await expect
      .poll(() => page.getByRole('link', { name: 'Temporal Web UI ↗' }).getAttribute('href'))
      .toBe('http://127.0.0.1:8233/namespaces/default/workflows');
  });

  it("submits a PRD from the form; the plan gate shows the PRD, each task's instructions and the round the rules sent back; approves", async () => {
    await page.getByRole('link', { name: 'Submit a PRD' }).click();
    const form = page.getByRole('form', { name: 'Submit a PRD' });
    await form.waitFor();
    // Refused by the page before anything is sent: no project.
    await form.getByLabel('PRD (Markdown or text)').fill(PRD);
    await form.getByRole('button', { name: 'Start the run' }).click();
    await expect.poll(() => form.getByRole('alert').innerText()).toBe('Name the project.');
    await form.getByLabel('Project').fill('dashboard');
    await form.getByLabel('Repair rounds').fill('0');
    await shot('06-submit-form', { fullPage: false });
    await form.getByRole('button', { name: 'Start the run' }).click();
    // The run's page, with the run the API started.
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    runId = decodeURIComponent(page.url().split('#/runs/')[1]!);
    await expect.poll(() => page.getByRole('status').innerText()).toContain(`Run ${runId} started for dashboard — recorded as dana`);
    const run = await eventually(
      () => env.db.selectFrom('orchestra_runs').select(['prd', 'options']).where('id', '=', runId).executeTakeFirst(),
      30_000,
      'the run in the record',
    );
    expect(run.prd).toBe(PRD);
    expect(run.options).toMatchObject({ director: 'dana', autoApprove: false, maxRepairRounds: 0 });

    watch = await page.context().newPage();
    watch.on('pageerror', (err) => pageErrors.push(err.message));
    watch.on('framenavigated', (f) => {
      if (f === watch.mainFrame()) navigations += 1;
    });
    await watch.goto(`${api.url}/#/runs/${runId}`);
    await signIn(watch, DANA_KEY);
    await expectEventually(
      async () => (await watch.locator('main').innerText()).includes('awaiting_approval'),
      60_000,
      'the monitoring page at the plan gate',
    );
    await watch.evaluate(() => ((globalThis as unknown as { __stillHere: boolean }).__stillHere = true));
    navigations = 0;

    await page.getByRole('link', { name: /^Intervention/ }).click();
    const item = page.locator(`section[data-kind="plan_approval"][data-run="${runId}"]`);
    await item.waitFor({ timeout: 60_000 }); // appears by polling, no reload
    expect(await item.innerText()).toContain('approve or reject the plan');
    // The PRD as written, as text: its Markdown heading is not a heading on the page.
    expect(await item.getByLabel('PRD', { exact: true }).innerText()).toBe(PRD);
    expect(await item.locator('h1').count()).toBe(0);
    const plan = item.getByRole('table', { name: 'Plan tasks' });
    const row = await plan.locator('tr[data-task="T1"]').innerText();
    expect(row).toContain('Write add(a, b) in src/add.js with a test in test/add.test.js.');
    expect(row).toContain('node --test test/add.test.js');
    // The first plan was sent back by the rules: the round and the rule it broke.
    expect(await item.getByLabel('Plan rounds sent back').innerText()).toMatch(/Round 1 by s-planner at .*\n.*depends on unknown task T9/);
    await expect.poll(() => page.locator('#pending-count').innerText()).toBe('1');
    await shot('00-intervention-plan');

    await actWithReason('Approve plan', 'plan is fine');
    const actions = await env.db
      .selectFrom('director_actions')
      .select(['action', 'director_id', 'reason'])
      .where('run_id', '=', runId)
      .execute();
    expect(actions).toEqual([{ action: 'approve_plan', director_id: 'dana', reason: 'plan is fine' }]);
  });

  it('the escalation shows the code, its diff against the round before, the failing output once and who may take it over; the override completes the run', async () => {
    const item = page.locator(`section[data-kind="task"][data-run="${runId}"][data-task="T1"]`);
    await item.waitFor({ timeout: 90_000 });
    // The evidence: the escalation, the failing check with its output, the verdict and the incident.
    await expectEventually(async () => /Incident: /.test(await item.innerText()), 30_000, 'the incident beside the escalation');
    const text = await item.innerText();
    expect(text).toContain('T1: no eligible coder left');
    expect(text).toMatch(/last acceptance check: node --test test\/add\.test\.js failed \(exit [1-9]/);
    expect(text).toContain('Verdict on s-flaky');
    // The code under judgement: the last coder's files, and what changed since the other coder's round.
    const code = item.getByLabel('Code under judgement');
    expect(await code.innerText()).toMatch(/The code under judgement \(s-(flaky|other), attempt 2 round 1/);
    const file = code.locator('details').filter({ hasText: 'src/add.js' }).first();
    await file.locator('summary').click();
    expect(await file.locator('pre').innerText()).toMatch(/export const add = \(a, b\) => a [-*] b;/);
    const diff = await item.getByLabel('Diff against the previous round').innerText();
    expect(diff).toContain('src/add.js — changed');
    expect(diff).toMatch(/^- export const add = \(a, b\) => a [-*] b;$/m);
    expect(diff).toMatch(/^\+ export const add = \(a, b\) => a [-*] b;$/m);
    expect(diff).not.toContain('test/add.test.js'); // the same in both rounds
    // The failing output is shown once, collapsed; the verdict and the incident point back to it.
    const outputs = item.locator('details').filter({ hasText: /failing test output/ });
    expect(await outputs.count()).toBe(1);
    expect(await outputs.first().getAttribute('open')).toBeNull();
    expect(text).toContain('(the same output as the failing test output, above)');
    // Overriding is the dangerous choice, not the primary one.
    const override = item.getByRole('button', { name: "Override: accept T1's last output" });
    expect(await override.getAttribute('class')).toContain('danger');
    expect(await item.getByRole('button', { name: 'Reassign T1' }).getAttribute('class')).toContain('primary');
    await shot('02-intervention-escalation');

    // Reassignment: a choice among the coders, each with its status; the one whose provider is off is shown, not offered.
    await item.getByRole('button', { name: 'Reassign T1' }).click();
    const dialog = page.getByRole('dialog');
    const options = dialog.getByLabel('Employee').locator('option');
    const offered = await options.allInnerTexts();
    expect(offered).toHaveLength(3);
    expect(offered.find((o) => o.startsWith('s-flaky'))).toMatch(/^s-flaky — \w+, scripted script:flaky, reputation \d/);
    expect(offered.find((o) => o.startsWith('s-other'))).toMatch(/^s-other — \w+, scripted script:other, reputation \d/);
    // The ones that may not take it come last, disabled, with why.
    expect(offered[2]).toMatch(/^s-off — active, gemini gemini-2\.5-flash, .*\(not eligible: its provider \(gemini\) is not configured/);
    expect(await options.nth(2).isDisabled()).toBe(true);
    await dialog.getByRole('button', { name: 'Back' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const notice = await actWithReason("Override: accept T1's last output", 'good enough for a spike');
    expect(notice).not.toContain('escalated');
    const report = await waitForReport(env.client, runId);
    expect(report.status).toBe('completed');
    expect(report.tasks[0]).toMatchObject({ taskKey: 'T1', status: 'accepted', overriddenBy: 'dana' });
    const actions = await env.db
      .selectFrom('director_actions')
      .select(['action', 'director_id'])
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute();
    expect(actions.map((a) => [a.action, a.director_id])).toEqual([
      ['approve_plan', 'dana'],
      ['task_accept', 'dana'],
    ]);
    await expect.poll(() => page.getByText('Nothing waits on you').isVisible(), { timeout: 15_000 }).toBe(true);
  });

  it('monitoring: the run, its tasks, attempts and incidents, updated without a reload', async () => {
    // The tab opened at the plan gate has followed the run to its end by itself.
    const tasks = watch.getByRole('table', { name: 'Tasks' });
    await expectEventually(
      async () => (await watch.locator('main').innerText()).includes('completed'),
      15_000,
      'the completed run, without a reload',
    );
    // The status reads `completed` a moment before the run's last task report is shown.
    await expectEventually(
      async () => /T1\s+Add function\s+accepted\s+s-(flaky|other)\s+2/.test(await tasks.innerText()),
      15_000,
      'T1 accepted after two attempts, without a reload',
    );
    const attempts = await watch.getByRole('table', { name: 'Attempts' }).innerText();
    expect(attempts).toMatch(/T1\s+\d\s+1\s+s-flaky\s+failing/);
    expect(attempts).toMatch(/T1\s+\d\s+1\s+s-other\s+failing/);
    const main = await watch.locator('main').innerText();
    expect(main).toMatch(/by s-flaky at .*severity \d+ → HR: /);
    expect(main).toContain('dana: approve_plan — plan is fine');
    expect(main).toContain('dana: task_accept — good enough for a spike');
    expect(await watch.getByRole('link', { name: 'Temporal ↗' }).first().getAttribute('href')).toBe(
      `http://127.0.0.1:8233/namespaces/default/workflows/prd-run-${runId}`,
    );
    // Still the same document: every change came by polling.
    expect(await watch.evaluate(() => (globalThis as unknown as { __stillHere?: boolean }).__stillHere)).toBe(true);
    expect(navigations).toBe(0);
    await shot('04-monitoring', { on: watch });
    await watch.close();

    // The monitoring list leads to the same page.
    await page.getByRole('link', { name: 'Monitoring' }).click();
    await page
      .getByRole('table', { name: 'Runs' })
      .getByRole('link', { name: `${runId.slice(0, 8)}…` })
      .click();
    await page.getByRole('table', { name: 'Tasks' }).waitFor();
  });

  it('a finished run: its report, final verification, workspace files and a download of them', async () => {
    const report = page.getByRole('region', { name: 'Report' });
    await report.waitFor();
    const text = await report.innerText();
    expect(text).toMatch(/completed/);
    expect(text).toContain('Final verification: test -f src/add.js && test -f test/add.test.js passed');
    expect(text).toContain('T1: accepted');
    expect(text).toContain('(override by dana)');
    // No Pause or Cancel on an ended run.
    expect(await page.getByRole('button', { name: /^(Pause|Cancel) run$/ }).count()).toBe(0);
    const files = await page.getByLabel('Workspace files').innerText();
    expect(files).toMatch(/src\/add\.js — from T1, \d+ bytes/);
    expect(files).toMatch(/test\/add\.test\.js — from T1/);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the workspace (.tar.gz)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`aura-${runId.slice(0, 8)}.tar.gz`);
    const tar = gunzipSync(readFileSync((await download.path())!)).toString('utf8');
    const last = (
      await env.db
        .selectFrom('model_runs')
        .select('id')
        .where('run_id', '=', runId)
        .where('kind', '=', 'task')
        .orderBy('created_at', 'desc')
        .executeTakeFirstOrThrow()
    ).id;
    const accepted = await env.db
      .selectFrom('task_queue')
      .select('accepted_model_run_id')
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    expect(accepted.accepted_model_run_id).toBe(last);
    expect(tar).toContain(`aura-${runId.slice(0, 8)}/src/add.js`);
    expect(tar).toMatch(/export const add = \(a, b\) => a [-*] b;/);
  });

  it('pauses, resumes and cancels a running run from its page', async () => {
    // Every coder's answer now takes two minutes: the task stays running until the run is cancelled.
    writeScript(120_000);
    const res = await fetch(`${api.url}/api/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DANA_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prd: PRD, project: 'control', autoApprove: true }),
    });
    expect(res.status).toBe(201);
    const control = ((await res.json()) as { runId: string }).runId;
    await page.evaluate((id) => ((globalThis as unknown as { location: { hash: string } }).location.hash = `#/runs/${id}`), control);
    const head = page.getByRole('region', { name: `Run ${control}` });
    await expectEventually(
      async () => /T1\s+Add function\s+running/.test(await page.getByRole('table', { name: 'Tasks' }).innerText()),
      60_000,
      'the control run with T1 running',
    );
    expect(await head.innerText()).toContain('running');

    await actWithReason('Pause run', 'hold on');
    await expectEventually(async () => (await head.innerText()).includes('paused'), 15_000, 'the run paused');
    await shot('07-run-paused', { fullPage: false });
    await actWithReason('Resume run', 'carry on');
    await expectEventually(async () => (await head.innerText()).includes('running'), 15_000, 'the run running again');
    const notice = await actWithReason('Cancel run', 'wrong PRD');
    expect(notice).toContain('Recorded as dana');
    const report = await waitForReport(env.client, control);
    expect(report.status).toBe('cancelled');
    expect(report.reason).toBe('cancelled by dana: wrong PRD');
    await expectEventually(
      async () => (await page.getByRole('region', { name: 'Report' }).innerText()).includes('cancelled by dana: wrong PRD'),
      15_000,
      "the cancelled run's report",
    );
    const actions = await env.db
      .selectFrom('director_actions')
      .select(['action', 'director_id', 'reason'])
      .where('run_id', '=', control)
      .orderBy('created_at')
      .execute();
    expect(actions).toEqual([
      { action: 'approve_plan', director_id: 'dana', reason: 'auto-approval chosen when the run was started' },
      { action: 'pause_run', director_id: 'dana', reason: 'hold on' },
      { action: 'resume_run', director_id: 'dana', reason: 'carry on' },
      { action: 'cancel_run', director_id: 'dana', reason: 'wrong PRD' },
    ]);
    writeScript();
  });

  it('overview: runs by status, spend against budget, employees by tier and status', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    const runs = page.getByRole('table', { name: 'Recent runs' });
    await runs.waitFor();
    const row = runs.locator(`tr[data-run="${runId}"]`);
    await expectEventually(async () => (await row.innerText()).includes('completed'), 15_000, 'the run in the overview');
    expect(await row.innerText()).toMatch(/dashboard\s+completed/);
    expect(await row.locator('meter').count()).toBe(2);
    expect(await page.getByRole('region', { name: 'Runs by status' }).innerText()).toMatch(/1\s+cancelled[\s\S]*1\s+completed/);
    const employees = await page.getByRole('table', { name: 'Employees' }).innerText();
    expect(employees).toMatch(/s-flaky\s+scripted\s+script:flaky\s+coder\s+active/);
    expect(employees).toContain('s-planner');
    await shot('05-overview');
  });

  it('a read-only key sees the pages but no buttons', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, RILEY_KEY);
    await expect.poll(() => page.locator('#who').innerText()).toBe('riley (read only)');
    // A run waiting at the plan gate: riley sees it, without the buttons.
    const res = await fetch(`${api.url}/api/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DANA_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prd: PRD, project: 'read-only-view' }),
    });
    const other = ((await res.json()) as { runId: string }).runId;
    await page.getByRole('link', { name: /^Intervention/ }).click();
    const item = page.locator(`section[data-kind="plan_approval"][data-run="${other}"]`);
    await item.waitFor({ timeout: 60_000 });
    expect(await item.innerText()).toContain('Your key may read, not act.');
    expect(await item.getByRole('button').count()).toBe(0);
    await eventually(
      async () => (await env.db.selectFrom('director_actions').select('id').where('run_id', '=', other).execute()).length === 0,
      1_000,
      'no action',
    );
  });
});
