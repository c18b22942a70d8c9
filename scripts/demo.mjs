// The editor demo: builds RingDB, packages the extension (.vsix, offline), installs it into the
// pinned local code-server (real VS Code 1.100.3), opens a sample workspace with a cluster spec
// and prints the URL to open. Runs until Ctrl-C, then ends code-server and every RingDB process.
//   npm run demo [-- --port 8080] [-- --check]   (--check: start, verify, stop; for scripts)
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeServerEntry, makeRunFolder, startCodeServer } from '../test/harness/code-server.mjs';
import { launchBrowser } from '../test/harness/browser.mjs';
import { endMarked } from '../test/harness/processes.mjs';

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const argv = process.argv.slice(2);
const portArg = argv.includes('--port') ? Number(argv[argv.indexOf('--port') + 1]) : undefined;
const check = argv.includes('--check');

function step(title, cmd, args, env = {}) {
  console.log(`demo: ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`demo: "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}); fix that first.`);
    process.exit(1);
  }
}

if (portArg !== undefined && !(Number.isInteger(portArg) && portArg > 0 && portArg < 65536)) {
  console.error(`demo: --port must be a port number from 1 to 65535, got ${argv[argv.indexOf('--port') + 1]}`);
  process.exit(2);
}

step('building (protocol stubs, bundles)', 'npm', ['run', '--silent', 'build']);
const paths = makeRunFolder('ringdb-demo-');
const vsix = join(paths.dir, 'ringdb.vsix');
step('packaging the extension', 'npx', ['--no-install', 'vsce', 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', vsix]);
// --config /dev/null and the XDG folders keep code-server from writing into the home folder.
step('installing it into code-server', process.execPath, [codeServerEntry, '--config', '/dev/null', '--install-extension', vsix,
  '--extensions-dir', paths.extensions, '--user-data-dir', paths.userData],
{ XDG_CONFIG_HOME: join(paths.xdg, 'config'), XDG_DATA_HOME: join(paths.xdg, 'data'), XDG_CACHE_HOME: join(paths.xdg, 'cache') });

// A sample workspace: a commented cluster spec (the extension's schema validates it) and a note.
const workspace = join(paths.dir, 'ringdb-sample');
mkdirSync(join(workspace, '.ringdb'), { recursive: true });
writeFileSync(join(workspace, '.ringdb/cluster.json'), `// RingDB cluster spec of the demo workspace: edit it, then run "RingDB: Start Cluster".
{
  // Three node processes, n1..n3, each with its own port and data folder under dataDir.
  "nodes": 3,
  "dataDir": ".ringdb/data",
  // Every key on every node; a write needs 2 acknowledgements, a read 2 answers.
  "replicationFactor": 3, "writeQuorum": 2, "readQuorum": 2,
  "heartbeatIntervalMs": 500
}
`);
writeFileSync(join(workspace, 'README.md'), `# RingDB demo workspace

1. Open the RingDB view (the ring icon in the activity bar) and click **Start Local Cluster**.
2. F1 → **RingDB: Put** (key \`user:1\`, any value), then **RingDB: Get** \`user:1\`: the value, its
   version and which replicas answered.
3. F1 → **RingDB: Open Replication Log** to watch writes replicate; **RingDB: Kill Node** on n3,
   write again, then **RingDB: Restart Node** and see it catch up.
4. **RingDB: Compact Node** and watch the SSTables view change.
`);

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

try {
  server = await startCodeServer(paths, { folder: workspace, logStream, port: portArg });
} catch (err) {
  console.error(`demo: ${err.message}`);
  await stop(1);
}
const url = `${server.url}/?folder=${encodeURIComponent(workspace)}`;
if (check) {
  // The installed .vsix (not a development path) must show its view container in a browser.
  const browser = await launchBrowser();
  let ok = false;
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.locator('.activitybar [aria-label^="RingDB"]').first().waitFor({ timeout: 60_000 });
    ok = true;
  } catch (err) {
    console.error(`demo: the RingDB view did not appear: ${err.message}`);
  } finally {
    await browser.close();
  }
  console.log(`demo: ${ok ? 'ok: the installed extension shows its RingDB view at' : 'FAILED at'} ${url}`);
  await stop(ok ? 0 : 1);
}
console.log(`\nRingDB demo: open ${url}\n(code-server log: ${paths.logs}; Ctrl-C stops it and every RingDB process)`);
