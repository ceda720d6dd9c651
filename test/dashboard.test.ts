/**
 * The Director's dashboard in headless Chromium (Debian's /usr/bin/chromium, npm playwright-core)
 * against the Manager API over a real Temporal dev server and PostgreSQL, with the scripted
 * employees of test/fixtures/dashboard (the only coder fails, so its task escalates). The
 * Director signs in with a key, approves the plan and resolves the escalation from the
 * intervention page (each asking for a reason, with the Auditor's evidence beside it), watches
 * the run complete on the monitoring page without a reload, and reads the overview. What the
 * page shows is asserted, and what was recorded is checked in the database.
 *
 * Screenshots: UPDATE_DASHBOARD_SCREENSHOTS=1 writes them to docs/images/dashboard/ (shown in
 * docs/director-guide.md); otherwise to a temporary folder, removed unless a step fails.
 * Skipped, with a note, when /usr/bin/chromium is missing.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  if (button.startsWith('Accept')) await shot('03-reason-dialog', { fullPage: false });
  else if (button === 'Approve plan') await shot('01-approve-reason', { fullPage: false });
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const n = page.getByRole('status');
  await expect.poll(() => n.innerText()).toContain('recorded as dana');
  return n.innerText();
}

describe.skipIf(!hasChromium)('the Director dashboard', () => {
  beforeAll(async () => {
    env = await startTestEnv({
      env: {
        AURA_EMPLOYEES_FILE: join(PROJECT_ROOT, 'test', 'fixtures', 'dashboard', 'employees.json'),
        AURA_SCRIPT_FILE: join(PROJECT_ROOT, 'test', 'fixtures', 'dashboard', 'script.json'),
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
  afterEach(async (ctx) => {
    expect(pageErrors).toEqual([]);
    if (ctx.task.result?.state !== 'fail') return;
    failed = true;
    if (page) console.log(`[dashboard.test] page at the failure: ${await dumpPage(page, ctx.task.name)}`);
  });
  afterAll(async () => {
    if (!failed && !UPDATING) rmSync(shots, { recursive: true, force: true });
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

  it('approves the plan from the intervention page, with the plan beside the buttons and a reason', async () => {
    const res = await fetch(`${api.url}/api/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DANA_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prd: PRD, project: 'dashboard', maxRepairRounds: 0 }),
    });
    expect(res.status).toBe(201);
    runId = ((await res.json()) as { runId: string }).runId;

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
    const plan = item.getByRole('table', { name: 'Plan tasks' });
    expect(await plan.innerText()).toContain('node --test test/add.test.js');
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

  it("resolves the escalation from the intervention page, with the Auditor's evidence beside it; the run completes", async () => {
    const item = page.locator(`section[data-kind="task"][data-run="${runId}"][data-task="T1"]`);
    await item.waitFor({ timeout: 90_000 });
    // The evidence: the escalation, the failing check with its output, the verdict and the incident.
    await expectEventually(async () => /Incident: /.test(await item.innerText()), 30_000, 'the incident beside the escalation');
    const text = await item.innerText();
    expect(text).toContain('T1: no eligible coder left');
    expect(text).toMatch(/last acceptance check: node --test test\/add\.test\.js failed \(exit [1-9]/);
    expect(text).toContain('Verdict on s-flaky');
    expect(text).toMatch(/not ok|AssertionError|fail/i);
    await shot('02-intervention-escalation');

    await actWithReason("Accept T1's last output", 'good enough for a spike');
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
      async () => /T1\s+Add function\s+accepted\s+s-flaky\s+1/.test(await tasks.innerText()),
      15_000,
      'T1 accepted from s-flaky, without a reload',
    );
    const attempts = await watch.getByRole('table', { name: 'Attempts' }).innerText();
    expect(attempts).toMatch(/T1\s+1\s+1\s+s-flaky\s+failing/);
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

  it('overview: runs by status, spend against budget, employees by tier and status', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    const runs = page.getByRole('table', { name: 'Recent runs' });
    await runs.waitFor();
    const row = runs.locator(`tr[data-run="${runId}"]`);
    await expectEventually(async () => (await row.innerText()).includes('completed'), 15_000, 'the run in the overview');
    expect(await row.innerText()).toMatch(/dashboard\s+completed/);
    expect(await row.locator('meter').count()).toBe(2);
    expect(await page.getByRole('region', { name: 'Runs by status' }).innerText()).toMatch(/1\s+completed/);
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
