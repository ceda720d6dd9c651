/**
 * The Director in the Temporal Web UI (UI 2.42.1, served by the tests' `temporal server
 * start-dev` 1.29.1), driven by headless Chromium: runs listed and filtered by Aura's search
 * attributes; a run at the plan gate, its status query; the plan approved with the `approvePlan`
 * signal; a run started from the "Start Workflow" form and approved the same way. What the page
 * shows is asserted at each step, and what the run did is checked through the Temporal client.
 *
 * Each step takes the screenshot docs/director-guide.md shows (UPDATE_WEB_UI_SCREENSHOTS=1
 * writes them to docs/images/web-ui/; otherwise they go to a temporary folder, kept only when a
 * step fails). Skipped, with a note, when /usr/bin/chromium is missing.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { runStatus, submitRun } from '../director/runs.js';
import type { RunProgress, RunReport } from '../governance/types.js';
import { statusQuery } from '../workflows/definitions.js';
import { SAMPLE_PRD_FILE, eventually, startTestEnv, type TestEnv } from './helpers/env.js';
import { freePort } from './helpers/free-port.js';
import {
  CHROMIUM_MISSING,
  dumpPage,
  expectEventually,
  fillJsonEditor,
  firstJsonString,
  hasChromium,
  launchChromium,
  openWorkflowList,
  removeTemporaryScreenshots,
  runQueryInUi,
  screenshot,
  screenshotFolder,
  sendSignal,
  waitForUi,
} from './helpers/browser.js';

if (!hasChromium) console.warn(`[web-ui.test] ${CHROMIUM_MISSING}`);

const prd = readFileSync(SAMPLE_PRD_FILE, 'utf8');
const PROJECT = 'wordfreq';
const UI_PROJECT = 'ui-started';
const APPROVAL = { by: 'director-ui', reason: 'looks right' };
const AURA_COLUMNS = ['AuraRunStatus', 'AuraProject', 'AuraRunId', 'AuraModel'];

let env: TestEnv;
let ui: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
// Shared by the steps, in order.
let runId: string;
let workflowId: string;

/** The run's live status by workflow id (a run started from the UI has the id the form gave it). */
async function statusOf(id: string): Promise<RunProgress> {
  return env.client.workflow.getHandle(id).query(statusQuery);
}

describe.skipIf(!hasChromium)('the Director in the Temporal Web UI', () => {
  beforeAll(async () => {
    env = await startTestEnv({ temporalUiPort: await freePort() });
    ui = env.temporalUiUrl!;
    await waitForUi(ui);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1920, height: 1000 }, timezoneId: 'UTC' });
    context.setDefaultTimeout(30_000);
    page = await context.newPage();
    console.log(`[web-ui.test] Web UI ${ui}; screenshots in ${screenshotFolder()}`);
  });

  let failed = false;
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    failed = true;
    if (page) console.log(`[web-ui.test] page at the failure: ${await dumpPage(page, ctx.task.name)}`);
  });

  afterAll(async () => {
    if (!failed) removeTemporaryScreenshots();
    await browser?.close();
    await env?.teardown();
  });

  it('lists runs with the Aura search attributes, filtered by them', async () => {
    ({ runId, workflowId } = await submitRun(env.client, { prd, project: PROJECT, options: { director: APPROVAL.by } }));
    await eventually(async () => (await runStatus(env.client, runId)).status === 'awaiting_approval', 60_000, 'the plan gate');

    const row = await openWorkflowList(page, ui, `AuraProject="${PROJECT}" AND AuraRunStatus="awaiting_approval"`, workflowId);
    // The filter is shown as chips.
    await expect.poll(() => page.getByRole('button', { name: `AuraProject = "${PROJECT}"` }).isVisible()).toBe(true);
    await expect.poll(() => page.getByRole('button', { name: 'AuraRunStatus = "awaiting_approval"' }).isVisible()).toBe(true);

    // Columns: the Aura search attributes in, Run ID and End out ("Configure Columns", the gear).
    await page.getByTestId('workflows-summary-table-configuration-button').click();
    const drawer = page.getByRole('region').filter({ has: page.getByRole('heading', { name: 'Configure Workflows Table' }) });
    for (const a of AURA_COLUMNS) await drawer.getByRole('button', { name: `Add ${a} column` }).click();
    for (const c of ['Run ID', 'End']) await drawer.getByRole('button', { name: `Remove ${c} column` }).click();
    await drawer.getByRole('button', { name: 'Close Workflows Table configuration' }).click();
    await page.getByRole('button', { name: 'Collapse saved views' }).click();
    await page.getByText('Saved Views', { exact: true }).waitFor({ state: 'hidden' });
    await page.waitForTimeout(500); // the panel's closing animation

    const headers = await page.getByRole('table', { name: 'Workflows' }).getByRole('columnheader').allInnerTexts();
    expect(headers.map((h) => h.trim())).toEqual(expect.arrayContaining(['Status', 'Workflow ID', 'Type', ...AURA_COLUMNS]));
    const cells = (await row.getByRole('cell').allInnerTexts()).map((c) => c.trim());
    expect(cells).toEqual(expect.arrayContaining(['Running', workflowId, 'prdRun', 'awaiting_approval', PROJECT, runId]));
    await expect.poll(() => page.getByRole('heading', { name: '1 Workflow', level: 1 }).isVisible()).toBe(true);
    await screenshot(page, '01-workflow-list', { height: 480 });
  });

  it("shows a run's page: its summary, and its status query at the plan gate", async () => {
    await page.getByRole('link', { name: workflowId }).first().click();
    await page.getByRole('heading', { name: workflowId, level: 1 }).waitFor();
    const header = page.locator('main');
    await expect.poll(() => header.getByText('Running', { exact: true }).first().isVisible()).toBe(true);
    await expect.poll(() => header.getByRole('link', { name: 'prdRun' }).first().isVisible()).toBe(true);
    await expect.poll(() => header.getByRole('link', { name: 'aura-manager' }).first().isVisible()).toBe(true);

    // User Metadata: the summary submitRun gave the run (rendered in a frame).
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    await page.getByRole('heading', { name: 'Summary' }).waitFor();
    await expect
      .poll(() => page.frameLocator('iframe').first().getByText(`PRD run for ${PROJECT}`).isVisible(), { timeout: 15_000 })
      .toBe(true);
    await screenshot(page, '02-run-summary');

    // Queries: `status` answers with the run's progress, waiting for the Director.
    // (The run's own keys come first: runId, project, status, then the plan and its tasks.)
    const shown = await runQueryInUi(page, 'status');
    expect(firstJsonString(shown, 'runId')).toBe(runId);
    expect(firstJsonString(shown, 'project')).toBe(PROJECT);
    expect(firstJsonString(shown, 'status')).toBe('awaiting_approval');
    expect(shown).toContain('"T1"');
    await screenshot(page, '03-status-query');
    expect((await statusOf(workflowId)).status).toBe('awaiting_approval');
  });

  it('approves the plan with the approvePlan signal from "Send a Signal"', async () => {
    const { listed } = await sendSignal(page, 'approvePlan', APPROVAL, { screenshotAs: '04-send-signal' });
    expect(listed).toEqual(expect.arrayContaining(['approvePlan', 'rejectPlan']));

    const past = await eventually(
      async () => {
        const s = await statusOf(workflowId);
        return s.status !== 'awaiting_approval' ? s : null;
      },
      30_000,
      'the run to move past the plan gate',
    );
    expect(past.status).not.toBe('planning');
    expect(past.ignoredSignals ?? []).toEqual([]);
    // The status query, run again in the UI, says so too.
    await expectEventually(
      async () => {
        const shown = await runQueryInUi(page, 'status');
        return (
          firstJsonString(shown, 'runId') === runId && !['awaiting_approval', 'planning', null].includes(firstJsonString(shown, 'status'))
        );
      },
      30_000,
      'the UI to show the run past the plan gate',
    );
    await screenshot(page, '05-signal-sent');
    // The Web UI vouches for no one: the typed name is recorded, marked as claimed, not proven.
    const actions = await env.db.selectFrom('director_actions').selectAll().where('run_id', '=', runId).execute();
    expect(actions).toEqual([
      expect.objectContaining({ director_id: `${APPROVAL.by} (unauthenticated)`, action: 'approve_plan', reason: APPROVAL.reason }),
    ]);

    // The sample runs to its end; the list shows the run and its tasks, each task with the employee
    // that last worked on it (AuraModel).
    const report = (await env.client.workflow.getHandle(workflowId).result()) as RunReport;
    expect(report.status).toBe('completed');
    const runRow = await openWorkflowList(page, ui, `AuraRunId="${runId}"`, workflowId);
    await expectEventually(
      async () => {
        const done = (await runRow.innerText()).includes('completed');
        const tasks = await page.getByRole('table', { name: 'Workflows' }).getByRole('row').filter({ hasText: 'taskRun' }).allInnerTexts();
        if (done && tasks.length === 3 && tasks.every((t) => /scripted-\w+/.test(t))) return true;
        await page.reload();
        return false;
      },
      30_000,
      'the completed run and its three tasks with their employees',
    );
    await screenshot(page, '06-run-and-tasks', { height: 480 });
  });

  it('starts a run from the "Start Workflow" form, and approves it there too', async () => {
    await page.goto(`${ui}/namespaces/default/workflows`);
    await page.getByRole('button', { name: 'Start Workflow' }).click();
    await page.getByRole('heading', { name: 'Start a Workflow', level: 1 }).waitFor();

    const idField = page.getByRole('textbox', { name: 'Workflow ID' });
    if (!(await idField.inputValue())) await page.getByRole('button', { name: 'Random UUID' }).click();
    const uiWorkflowId = (await idField.inputValue()).trim();
    expect(uiWorkflowId).toMatch(/^[0-9a-f-]{36}$/);
    await page.getByRole('textbox', { name: 'Task Queue' }).fill('aura-manager');
    await page.getByRole('textbox', { name: 'Workflow Type' }).fill('prdRun');
    // Once the queue field is left, the UI checks the queue: a worker polls it.
    await page.getByText('Task Queue is Active').waitFor();
    await fillJsonEditor(page, page.locator('main'), { prd, project: UI_PROJECT });
    // Tall enough to show the whole form, down to its button.
    await page.setViewportSize({ width: 1920, height: 1400 });
    await screenshot(page, '07-start-workflow-form');
    await page.setViewportSize({ width: 1920, height: 1000 });

    await page.getByRole('button', { name: 'Start Workflow' }).click();
    await page.getByText('Workflow started successfully').first().waitFor();

    // The workflow makes its own run id; the run stops at the plan gate like any other.
    const atGate = await eventually(
      async () => {
        const s = await statusOf(uiWorkflowId);
        return s.status === 'awaiting_approval' ? s : null;
      },
      60_000,
      'the UI-started run at the plan gate',
    );
    expect(atGate.project).toBe(UI_PROJECT);
    expect(atGate.runId).toMatch(/^[0-9a-f-]{36}$/);

    // Listed by its search attributes, which the workflow set itself.
    const row = await openWorkflowList(page, ui, `AuraProject="${UI_PROJECT}"`, uiWorkflowId);
    await expectEventually(
      async () => {
        if ((await row.innerText()).includes('awaiting_approval')) return true;
        await page.reload();
        return false;
      },
      30_000,
      'the UI-started run listed as awaiting_approval',
    );
    expect(await row.innerText()).toContain(atGate.runId);
    await screenshot(page, '08-ui-run-at-gate', { height: 480 });

    await row.getByRole('link', { name: uiWorkflowId }).click();
    await page.getByRole('heading', { name: uiWorkflowId, level: 1 }).waitFor();
    await sendSignal(page, 'approvePlan', APPROVAL);
    await screenshot(page, '09-ui-run-approved');

    const past = await eventually(
      async () => {
        const s = await statusOf(uiWorkflowId);
        return s.status !== 'awaiting_approval' ? s : null;
      },
      30_000,
      'the UI-started run to move past the plan gate',
    );
    expect(past.status).not.toBe('planning');
    const report = (await env.client.workflow.getHandle(uiWorkflowId).result()) as RunReport;
    expect(report).toMatchObject({ status: 'completed', project: UI_PROJECT, runId: atGate.runId });
  });
});
