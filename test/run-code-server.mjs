// Runs the extension test suite inside a real VS Code (code-server 4.100.3 = VS Code 1.100.3)
// driven by headless Chromium, then the UI checks (test/ui) against a second window.
// Prints the mocha report, writes the counts to $RINGDB_TEST_STATS, and on every exit path ends
// code-server, Chromium and every RingDB process the run started.
//   node test/run-code-server.mjs [--no-ui | --ui-only] [--grep PATTERN] [--keep] [--screenshots DIR]
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSuite, root } from './harness/build-suite.mjs';
import { launchBrowser } from './harness/browser.mjs';
import { makeRunFolder, startCodeServer, workbenchUrl } from './harness/code-server.mjs';
import { endMarked, markedProcesses } from './harness/processes.mjs';
import { followReport, readCounts, writeStats } from './harness/report.mjs';
import { runUiChecks } from './ui/ui-checks.mjs';

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const SUITE_TIMEOUT_MS = 8 * 60_000;

const paths = makeRunFolder();
const logStream = createWriteStream(paths.logs);
let server;
let browser;
let cleaning;

async function cleanup() {
  cleaning ??= (async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    const left = markedProcesses(paths.dir);
    if (left.length) console.log(`cleanup: ending ${left.length} leftover process(es): ${left.map((p) => p.pid).join(', ')}`);
    await endMarked(paths.dir);
    logStream.end();
    if (!flag('--keep')) rmSync(paths.dir, { recursive: true, force: true });
    else console.log(`kept run folder ${paths.dir}`);
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => { console.log(`\n${sig}: cleaning up`); cleanup().finally(() => process.exit(130)); });
}

async function runSuite() {
  const testsPath = await buildSuite();
  const env = { RINGDB_TEST_REPORT: paths.report };
  if (option('--grep')) env.RINGDB_TEST_GREP = option('--grep');
  server = await startCodeServer(paths, { env, logStream });
  console.log(`code-server ${server.url} (run folder ${paths.dir})`);
  browser = await launchBrowser();
  const page = await browser.newPage();
  const exitCode = new Promise((resolve) => {
    page.exposeFunction('codeAutomationExit', (code) => resolve(code));
  });
  const stopFollowing = followReport(paths.report);
  await page.goto(workbenchUrl(server, paths.workspace, { extensionPath: root, testsPath }));
  const code = await Promise.race([
    exitCode,
    new Promise((resolve) => setTimeout(() => resolve('timeout'), SUITE_TIMEOUT_MS)),
  ]);
  stopFollowing();
  if (code === 'timeout') console.log(`\nthe suite did not finish within ${SUITE_TIMEOUT_MS / 60000} min`);
  else console.log(`extension host test exit code: ${code}`);
  await page.close();
  return code;
}

let counts = { passes: 0, failures: 0, pending: 0 };
try {
  if (!existsSync(join(root, 'dist/extension.js'))) throw new Error('dist/extension.js is missing: run node esbuild.mjs first');
  if (!flag('--ui-only')) {
    const code = await runSuite();
    counts = readCounts(paths.report);
    if (!counts.ended || (code !== 0 && counts.failures === 0)) counts.failures += 1;
  } else {
    server = await startCodeServer(paths, { logStream });
    browser = await launchBrowser();
  }
  if (!flag('--no-ui') && !option('--grep')) {
    console.log('\n  UI checks (Playwright, what a person sees)');
    const ui = await runUiChecks({ browser, server, paths, root, screenshots: option('--screenshots') && resolve(option('--screenshots')) });
    counts.passes += ui.passes;
    counts.failures += ui.failures;
  }
} catch (err) {
  console.error(`run-code-server: ${err instanceof Error ? err.stack : err}`);
  counts.failures += 1;
} finally {
  await cleanup();
}
writeStats(counts);
console.log(`\nextension: ${counts.passes} passed, ${counts.failures} failed${counts.pending ? `, ${counts.pending} skipped` : ''}`);
process.exit(counts.failures ? 1 : 0);
