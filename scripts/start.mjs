// `npm start`, the main job: build, start a local 3-node cluster in ./.ringdb/data (or reuse the
// one running there), write on one node and read the value back from another; then open RingDB
// in a real VS Code: package the extension (ringdb.vsix), install it into the local code-server,
// start code-server in the background on a sample workspace with a cluster spec, check that its
// URL answers and print it. Everything keeps running until `npm run stop`.
//   npm start [-- --port 8080] [-- --no-editor]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runFolder } from '../test/harness/code-server.mjs';
import {
  codeServerInstalled, EDITOR_DIR, INSTALL_CODE_SERVER, installExtension, openEditor, packageExtension, root, stopEditor, writeSampleWorkspace,
} from './lib/editor.mjs';

const argv = process.argv.slice(2);
const portArg = argv.includes('--port') ? Number(argv[argv.indexOf('--port') + 1]) : undefined;
if (portArg !== undefined && !(Number.isInteger(portArg) && portArg > 0 && portArg < 65536)) {
  console.error(`start: --port must be a port number from 1 to 65535, got ${argv[argv.indexOf('--port') + 1]}`);
  process.exit(2);
}

function step(title, cmd, args, { allowFail = false } = {}) {
  console.log(`\n$ ${[cmd === process.execPath ? 'node' : cmd, ...args].join(' ')}    # ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0 && !allowFail) {
    console.error(`\n${title} failed (exit ${r.status ?? r.signal}). Details are above; the cluster's logs are in .ringdb/data/<node>/node.log.`);
    process.exit(r.status ?? 1);
  }
  return r.status;
}

const ringdb = (title, ...args) => step(title, process.execPath, ['dist/engine/cli.js', ...args]);

step('build the engine and the extension', 'npm', ['run', '--silent', 'build']);
const running = spawnSync(process.execPath, ['dist/engine/cli.js', 'status'], { cwd: root, stdio: 'ignore' }).status === 0;
if (running) console.log('\na cluster already runs in .ringdb/data: using it');
else ringdb('start a local 3-node cluster', 'start', '--nodes', '3');
ringdb('show the nodes', 'status');
const value = `hello from n1 at ${new Date().toISOString()}`;
ringdb('write a key on n1', 'put', 'demo:greeting', value, '--node', 'n1');
// Replication is asynchronous: give the write a moment to reach n2 before reading it there.
for (let attempt = 0; attempt < 50; attempt++) {
  const r = spawnSync(process.execPath, ['dist/engine/cli.js', 'get', 'demo:greeting', '--node', 'n2', '--json'], { cwd: root, encoding: 'utf8' });
  if (r.status === 0 && r.stdout.includes(value)) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
ringdb('read it back from n2', 'get', 'demo:greeting', '--node', 'n2');

/** Packages and installs the extension, (re)starts code-server in the background; the URL, or undefined. */
async function openInVsCode() {
  console.log('\n# RingDB in VS Code');
  const vsix = join(root, 'ringdb.vsix');
  packageExtension('start', vsix);
  if (!codeServerInstalled()) {
    console.log(`start: code-server is not installed, so no editor was started. Install it with "${INSTALL_CODE_SERVER}" (offline, about 75 s) and run npm start again,`);
    console.log('       or install the extension in desktop VS Code: code --install-extension ringdb.vsix');
    return undefined;
  }
  const previous = await stopEditor(EDITOR_DIR);
  if (previous) console.log(`start: stopped the code-server of an earlier npm start (pid ${previous})`);
  const paths = runFolder(EDITOR_DIR);
  installExtension('start', paths, vsix);
  const workspace = writeSampleWorkspace(join(EDITOR_DIR, 'ringdb-sample'));
  console.log('start: starting code-server in the background');
  try {
    const { server, url } = await openEditor(paths, workspace, { port: portArg, background: true });
    console.log(`start: code-server pid ${server.child.pid} answers; log ${paths.logs.replace(`${root}/`, '')}`);
    return url;
  } catch (err) {
    console.error(`start: code-server did not start: ${err.message}`);
    await stopEditor(EDITOR_DIR);
    process.exit(1);
  }
}

const url = argv.includes('--no-editor') ? undefined : await openInVsCode();
console.log(`
RingDB is running.${url ? `

  Open RingDB in VS Code:  ${url}
  (a sample workspace with .ringdb/cluster.json; click the ring icon, then "Start Local Cluster".
   On a remote machine, forward the port first: ssh -L ${new URL(url).port}:127.0.0.1:${new URL(url).port} <host>)` : ''}

The CLI cluster in .ringdb/data keeps running. Try:
  npx ringdb status                 nodes, addresses, clocks
  npx ringdb put <key> <value>      write (any node: --node n3)
  npx ringdb get <key> --node n3    read from another node
  npx ringdb kill n2 / restart n2   crash a node and watch it catch up
  npx ringdb put <key> <v> --w 3    wait for every replica (fails while one is down; --w 1 does not)
  npx ringdb where <key>            its partition, replicas, each replica's copy, hints of it
  npx ringdb flush n1 / compact n1  the memtable out to L0, then compaction
  npx ringdb hot                    busiest partitions and keys

Stop everything (code-server, the clusters it started, the CLI cluster):  npm run stop
`);
