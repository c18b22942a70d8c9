// `npm start`, the main job: build, start a local 3-node cluster in ./.ringdb/data (or reuse the
// one running there), write on one node and read the value back from another, then leave the
// cluster running for you (`npx ringdb status`, `npx ringdb stop`).
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;

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
console.log(`
The cluster keeps running. Try:
  npx ringdb status                 nodes, addresses, clocks
  npx ringdb put <key> <value>      write (any node: --node n3)
  npx ringdb get <key> --node n3    read from another node
  npx ringdb kill n2 / restart n2   crash a node and watch it catch up
  npx ringdb stop                   stop the cluster
`);
