// The editor demo in the foreground: builds RingDB, packages the extension (.vsix, offline),
// installs it into the pinned local code-server (real VS Code 1.100.3) in a temporary folder,
// opens a sample workspace with a cluster spec and prints the URL to open. Runs until Ctrl-C,
// then ends code-server and every RingDB process. (`npm start` does the same in the background.)
//   npm run demo [-- --port 8080] [-- --check]
// --check: start, then in headless Chromium open the RingDB view of the installed .vsix, start
// its cluster and wait for "3/3 up" (the packaged bundles must be complete), then stop.
import { createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeRunFolder } from '../test/harness/code-server.mjs';
import { launchBrowser } from '../test/harness/browser.mjs';
import { endMarked } from '../test/harness/processes.mjs';
import { codeServerInstalled, INSTALL_CODE_SERVER, installExtension, openEditor, packageExtension, step, writeSampleWorkspace } from './lib/editor.mjs';

const argv = process.argv.slice(2);
const portArg = argv.includes('--port') ? Number(argv[argv.indexOf('--port') + 1]) : undefined;
const check = argv.includes('--check');

if (portArg !== undefined && !(Number.isInteger(portArg) && portArg > 0 && portArg < 65536)) {
  console.error(`demo: --port must be a port number from 1 to 65535, got ${argv[argv.indexOf('--port') + 1]}`);
  process.exit(2);
}
if (!codeServerInstalled()) {
  console.error(`demo: code-server is not installed; run "${INSTALL_CODE_SERVER}" first (about 75 s, offline).`);
  process.exit(1);
}

step('demo', 'building (protocol stubs, bundles)', 'npm', ['run', '--silent', 'build']);
const paths = makeRunFolder('ringdb-demo-');
const vsix = join(paths.dir, 'ringdb.vsix');
packageExtension('demo', vsix);
installExtension('demo', paths, vsix);
const workspace = writeSampleWorkspace(join(paths.dir, 'ringdb-sample'));

const logStream = createWriteStream(paths.logs);
let server;
const stop = async (code) => {
  await server?.stop();
  await endMarked(paths.dir);
  logStream.end();
  rmSync(paths.dir, { recursive: true, force: true });
  process.exit(code);
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, () => void stop(0));

let url;
try {
  ({ server, url } = await openEditor(paths, workspace, { port: portArg, logStream }));
} catch (err) {
  console.error(`demo: ${err.message}`);
  await stop(1);
}
if (check) {
  const browser = await launchBrowser();
  let ok = false;
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(url);
    await page.locator('.activitybar [aria-label^="RingDB"]').first().click();
    await page.getByRole('button', { name: 'Start Local Cluster' }).click();
    await page.locator('.statusbar-item', { hasText: 'RingDB 3/3 up' }).waitFor();
    ok = true;
  } catch (err) {
    console.error(`demo: the installed extension did not show a running cluster: ${err.message}`);
  } finally {
    await browser.close();
  }
  console.log(`demo: ${ok ? 'ok: the installed extension started its 3-node cluster at' : 'FAILED at'} ${url}`);
  await stop(ok ? 0 : 1);
}
console.log(`\nRingDB demo: open ${url}\n(code-server log: ${paths.logs}; Ctrl-C stops it and every RingDB process)`);
