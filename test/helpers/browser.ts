/**
 * Headless Chromium (Debian's /usr/bin/chromium, driven by npm `playwright-core`) for the tests
 * that use the Temporal Web UI as a Director would, and the few UI moves they share. Selectors
 * are roles and visible text of Web UI 2.42.1 (the one `temporal server start-dev` 1.29.1 serves).
 *
 * Screenshots go to a temporary folder; with UPDATE_WEB_UI_SCREENSHOTS=1 they replace the ones in
 * docs/images/web-ui/ that docs/director-guide.md shows.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../config/config.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
export const CHROMIUM_MISSING =
  `skipped: ${CHROMIUM_PATH} is missing. Install Debian's chromium ('apt-get install chromium'; ` +
  `scripts/ensure-setup.sh does it when run as root). 'npx playwright install' is not needed.`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const UPDATING_DOC_SCREENSHOTS = process.env.UPDATE_WEB_UI_SCREENSHOTS === '1';
let screenshotDir: string | null = null;

/** Where screenshots go: docs/images/web-ui/ when updating them, else a temporary folder. */
export function screenshotFolder(): string {
  screenshotDir ??= UPDATING_DOC_SCREENSHOTS ? join(PROJECT_ROOT, 'docs', 'images', 'web-ui') : mkdtempSync(join(tmpdir(), 'aura-web-ui-'));
  return screenshotDir;
}

/** Removes the temporary screenshots (never the ones in docs/). */
export function removeTemporaryScreenshots(): void {
  if (!UPDATING_DOC_SCREENSHOTS && screenshotDir) rmSync(screenshotDir, { recursive: true, force: true });
  if (!UPDATING_DOC_SCREENSHOTS) screenshotDir = null;
}

/** The page as it shows now; `height` keeps only its top (a short list needs no empty page below). */
export async function screenshot(page: Page, name: string, opts: { height?: number } = {}): Promise<string> {
  const dir = screenshotFolder();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  const width = page.viewportSize()?.width ?? 1920;
  await page.screenshot({ path, ...(opts.height ? { clip: { x: 0, y: 0, width, height: opts.height } } : {}) });
  return path;
}

/** What the page showed when a step failed: its HTML and a screenshot, in a temporary folder. */
export async function dumpPage(page: Page, name: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `aura-web-ui-failure-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}-`));
  writeFileSync(join(dir, 'page.html'), await page.content());
  await page.screenshot({ path: join(dir, 'page.png'), fullPage: true });
  writeFileSync(join(dir, 'url.txt'), page.url());
  return dir;
}

/** Waits until the UI answers at all (the dev server starts its UI beside the frontend). */
export async function waitForUi(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`the Temporal Web UI at ${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Types JSON into one of the UI's CodeMirror editors and leaves it. On leaving, the UI formats
 * the JSON and the dialog grows, so a click on Submit in the same move would land beside it; the
 * editor is left first (blur: a click elsewhere in a dialog closes it) and the result checked.
 */
export async function fillJsonEditor(page: Page, scope: Locator, value: unknown): Promise<void> {
  const editor = scope.locator('.cm-content').first();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(JSON.stringify(value));
  await editor.evaluate((el) => (el as unknown as { blur(): void }).blur());
  await expectEventually(
    async () => {
      const text = (await editor.textContent()) ?? '';
      try {
        return JSON.stringify(JSON.parse(text)) === JSON.stringify(value);
      } catch {
        return false;
      }
    },
    10_000,
    'the JSON editor to hold the input',
  );
  await page.waitForTimeout(300);
}

/** On a workflow's page: More Actions → Send a Signal → name, JSON input → Submit. */
export async function sendSignal(
  page: Page,
  name: string,
  input: unknown,
  opts: { screenshotAs?: string } = {},
): Promise<{ listed: string[] }> {
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
  const dialog = page.getByRole('dialog', { name: 'Send a Signal' });
  await dialog.waitFor();
  // The UI lists the workflow's signal handlers (from its metadata query), with their descriptions.
  await dialog.getByRole('button', { name: /select a signal/i }).click();
  const options = page.getByRole('option');
  await options.first().waitFor();
  const listed = (await options.allInnerTexts()).map((t) => t.split('\n')[0]!.trim());
  const index = listed.indexOf(name);
  if (index < 0) throw new Error(`the Web UI does not list the signal ${name}; it lists: ${listed.join(', ')}`);
  await options.nth(index).click();
  await dialog.getByRole('button', { name, exact: true }).waitFor();
  await fillJsonEditor(page, dialog, input);
  if (opts.screenshotAs) await screenshot(page, opts.screenshotAs);
  const submit = dialog.getByRole('button', { name: 'Submit' });
  await submit.click();
  await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
  await page.getByText('Workflow signaled.').first().waitFor({ timeout: 15_000 });
  return { listed };
}

/**
 * On a workflow's page: the Queries tab, the named query run. Returns the top of the result as the
 * UI shows it (its editor draws only the lines in view, so a long answer is never whole in the page).
 */
export async function runQueryInUi(page: Page, queryType: string): Promise<string> {
  await page.getByRole('tab', { name: 'Queries' }).click();
  const typeField = page.getByRole('textbox', { name: 'Query Type' });
  await typeField.waitFor();
  if ((await typeField.inputValue()) !== queryType) {
    await page.getByRole('button').filter({ has: typeField }).click();
    const options = page.getByRole('option');
    const names = (await options.allInnerTexts()).map((t) => t.split('\n')[0]!.trim());
    if (!names.includes(queryType)) throw new Error(`the Web UI does not list the query ${queryType}; it lists: ${names.join(', ')}`);
    await options.nth(names.indexOf(queryType)).click();
  }
  await page.getByRole('button', { name: /^(Run|Refresh) Query$/ }).click();
  const result = page.locator('main .cm-content').filter({ hasText: '"runId"' }).first();
  await result.waitFor({ timeout: 30_000 });
  return (await result.textContent()) ?? '';
}

/** The first value of `"key": "…"` in a JSON text (the top-level one when it comes first). */
export function firstJsonString(text: string, key: string): string | null {
  return new RegExp(`"${key}"\\s*:\\s*"([^"]*)"`).exec(text)?.[1] ?? null;
}

/** Opens a workflow list query and reloads until a row with `text` shows (visibility lags a little). */
export async function openWorkflowList(page: Page, uiUrl: string, query: string, rowText: string, timeoutMs = 30_000): Promise<Locator> {
  const url = `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
  await page.goto(url);
  const table = page.getByRole('table', { name: 'Workflows' });
  const row = table.getByRole('row').filter({ hasText: rowText });
  await expectEventually(
    async () => {
      if (await row.first().isVisible()) return true;
      await page.waitForTimeout(1_000);
      if (await row.first().isVisible()) return true;
      await page.reload();
      return false;
    },
    timeoutMs,
    `a row with "${rowText}" in the workflow list for ${query}`,
  );
  return row.first();
}

export async function expectEventually(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
