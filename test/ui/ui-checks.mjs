// UI checks: what a person sees in a real VS Code window (code-server + Chromium), driven by
// Playwright through the workbench's own UI. Screenshots go to media/screenshots/ for the README.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { workbenchUrl } from '../harness/code-server.mjs';

const STEP_TIMEOUT_MS = 60_000;

/** Runs each check in order; a failed check is reported and the next one still runs. */
export async function runUiChecks({ browser, server, paths, root }) {
  const shots = join(root, 'media/screenshots');
  mkdirSync(shots, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const counts = { passes: 0, failures: 0 };
  const check = async (title, fn) => {
    const started = Date.now();
    try {
      await fn();
      counts.passes++;
      console.log(`    ✓ ${title} (${Date.now() - started} ms)`);
    } catch (err) {
      counts.failures++;
      console.log(`    ✗ ${title}\n        ${String(err?.stack ?? err).split('\n').slice(0, 6).join('\n        ')}`);
      await page.screenshot({ path: join(paths.dir, `failed-${counts.failures}.png`) }).catch(() => undefined);
    }
  };

  await check('the workbench opens with the extension under development', async () => {
    await page.goto(workbenchUrl(server, paths.workspace, { extensionPath: root }));
    await page.locator('.monaco-workbench').waitFor();
  });

  await check('the RingDB activity-bar icon opens the explorer with its welcome view', async () => {
    await page.locator('.activitybar [aria-label^="RingDB"]').first().click();
    await page.getByRole('button', { name: 'Start Local Cluster' }).waitFor();
    await page.screenshot({ path: join(shots, 'welcome.png') });
  });

  await context.close();
  return counts;
}
