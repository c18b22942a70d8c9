// The ringdb CLI as a user runs it: the bundled cli.js in a workspace folder, a detached
// controller that outlives each command, human and --json output, and exit codes.

import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cliSuite, json } from './cli-test-support';
import { COMMANDS } from './commands';
import { eventually, tempDataDir, waitForExit } from '../cluster/test-support';


describe('ringdb CLI', function () {
  this.timeout(120_000);
  const { ws, ringdb, cliPath } = cliSuite();

  it('prints help for every command and in general', async () => {
    const general = await ringdb(ws.dir, '--help');
    assert.equal(general.code, 0);
    for (const c of COMMANDS) {
      assert.match(general.stdout, new RegExp(`\\n  ${c.name} `));
      const r = await ringdb(ws.dir, c.name, '--help');
      assert.equal(r.code, 0, `${c.name} --help`);
      assert.match(r.stdout, new RegExp(`usage: ringdb ${c.name}`));
    }
  });

  it('exits 2 on bad usage, naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"; commands are start, status/],
      [['put', 'only-a-key'], /`ringdb put` takes <key> <value>, got "only-a-key"/],
      [['start', '--nodes', '0'], /--nodes must be an integer from 1 to 32, got "0"/],
      [['start', '--nodes'], /--nodes needs a value/],
      // 0 printed the whole log (the protocol's 0 means the default).
      [['logs', 'n1', '--lines', '0'], /--lines must be an integer from 1 to 10000, got "0"/],
      [['get', 'k', '--colour', 'red'], /unknown option --colour for `ringdb get`; accepted: --clustering, --node, --r, --local, --dir, --json, --help/],
    ];
    for (const [args, message] of cases) {
      const r = await ringdb(ws.dir, ...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
  });

  it('exits 3 with a clear message when no cluster runs', async () => {
    const r = await ringdb(ws.dir, 'status');
    assert.equal(r.code, 3);
    assert.equal(r.stderr.trim(), 'ringdb: no RingDB cluster found in .ringdb/data; start one with `ringdb start`');
    // The advice repeats a --dir given, or its start would look in another folder.
    const elsewhere = await ringdb(ws.dir, 'status', '--dir', 'other/data');
    assert.equal(elsewhere.stderr, 'ringdb: no RingDB cluster found in other/data; start one with `ringdb start --dir other/data`\n');
    const j = await ringdb(ws.dir, 'get', 'k', '--json');
    assert.equal(j.code, 3);
    assert.equal(json<{ error: string }>(j).error, 'no-cluster');
  });

  it('refuses an invalid .ringdb/cluster.json with the field, and starts nothing', async () => {
    const bad = tempDataDir();
    try {
      mkdirSync(join(bad.dir, '.ringdb'));
      writeFileSync(join(bad.dir, '.ringdb', 'cluster.json'), '// mine\n{ "nodes": 2, "storage": { "sync": "sometimes" } }\n');
      const r = await ringdb(bad.dir, 'start');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /storage\.sync: must be one of "always", "batch", "none", got "sometimes"/);
      assert.equal(existsSync(join(bad.dir, '.ringdb', 'data', 'cluster-state.json')), false);
    } finally {
      bad.remove();
    }
  });

  it('runs a cluster through every command', async function () {
    // Some forty CLI processes and two cluster starts: generous on a loaded machine.
    this.timeout(300_000);
    const started = await ringdb(ws.dir, 'start', '--nodes', '2', '--json');
    assert.equal(started.code, 0, started.stderr);
    const cluster = json<{ phase: string; controllerPid: number; nodes: { id: string; state: string; pid: number }[] }>(started);
    assert.equal(cluster.phase, 'running');
    assert.deepEqual(cluster.nodes.map((n) => `${n.id}:${n.state}`), ['n1:up', 'n2:up']);

    // The CLI has exited; the detached controller still serves the folder.
    const status = await ringdb(ws.dir, 'status');
    assert.equal(status.code, 0);
    assert.match(status.stdout, /running, 2\/2 nodes up/);
    assert.match(status.stdout, /^n1\s+up\s+127\.0\.0\.1:\d+/m);

    const again = await ringdb(ws.dir, 'start');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /a cluster is already running in \.ringdb\/data/);

    const put = await ringdb(ws.dir, 'put', 'greeting', 'hello world', '--node', 'n1');
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^OK op n1:1 ts \d+ on n1 \(acknowledged by n1(, n2)?\)$/m);
    const read = await eventually('greeting on n2', 15_000, async () => {
      const r = await ringdb(ws.dir, 'get', 'greeting', '--node', 'n2', '--json');
      return r.code === 0 ? r : undefined;
    });
    const got = json<{ found: boolean; value: string; node: string; version: { opId: string } }>(read);
    assert.deepEqual([got.found, got.value, got.node, got.version.opId], [true, 'hello world', 'n2', 'n1:1']);
    assert.equal((await ringdb(ws.dir, 'get', 'greeting')).stdout, 'hello world\n');
    // Into a shell pipe (a 64 KiB buffer) all of a large answer arrives before the CLI exits.
    assert.equal((await ringdb(ws.dir, 'put', 'big', 'b'.repeat(120_000), '--node', 'n1')).code, 0);
    const piped = await new Promise<string>((resolve, reject) => execFile('sh', ['-c', '"$0" "$1" get big --node n1 | wc -c', process.execPath, cliPath()],
      { cwd: ws.dir, timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))));
    assert.equal(piped, '120001');

    const del = await ringdb(ws.dir, 'delete', 'greeting', '--node', 'n2');
    assert.equal(del.code, 0, del.stderr);
    const gone = await ringdb(ws.dir, 'get', 'greeting', '--node', 'n2');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /"greeting" not found \(deleted op n2:1 ts \d+; coordinated by n2, answered by n\d(, n\d)?\)/);
    // The controller's view of each node's Stats follows a poll: the delete n2 coordinated appears within one.
    const coordinated = await eventually('n2\'s reads and the delete it coordinated in status', 15_000, async () => {
      const r = await ringdb(ws.dir, 'status');
      return /^ {2}n2: [1-9]\d* reads?, [1-9]\d* writes?, /m.test(r.stdout) ? r.stdout : undefined;
    });
    assert.match(coordinated, /^requests coordinated \(since each node started\):$/m);
    assert.match(coordinated, /^ {2}n2: .*, a read waits \d+ ms on a replica before asking another$/m, coordinated);
    assert.equal((await ringdb(ws.dir, 'get', 'greeting', '--node', 'n9')).code, 2);
    const empty = await ringdb(ws.dir, 'put', '', 'v');
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /key: must not be empty/);

    const killed = await ringdb(ws.dir, 'kill', 'n2', '--json');
    assert.equal(killed.code, 0, killed.stderr);
    assert.equal(json<{ state: string }>(killed).state, 'down');
    const down = json<{ nodes: { id: string; state: string }[]; spec: { nodes: number }; partitionMap: Record<string, unknown> }>(
      await ringdb(ws.dir, 'status', '--json'));
    assert.equal(down.nodes.find((n) => n.id === 'n2')?.state, 'down');
    // The spec is JSON a script reads directly, not JSON inside a string.
    assert.equal(down.spec.nodes, 2);
    assert.equal('mapJson' in down.partitionMap, false);
    assert.equal((await ringdb(ws.dir, 'kill', 'n2')).code, 1);
    const restarted = await ringdb(ws.dir, 'restart', 'n2');
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.match(restarted.stdout, /restarted n2: up on 127\.0\.0\.1:\d+/);
    // With a peer hung, a restart still restarts: exit 0, and the peer that missed the update named.
    const hung = Number(/\(pid (\d+)\)/.exec(restarted.stdout)?.[1]);
    process.kill(hung, 'SIGSTOP');
    try {
      const beside = await ringdb(ws.dir, 'restart', 'n1');
      assert.equal(beside.code, 0, beside.stderr);
      assert.match(beside.stdout, /restarted n1: up on 127\.0\.0\.1:\d+ \(pid \d+\)\nwarning: could not update the membership of n2: .*; a node that missed it keeps its earlier list of peers/);
    } finally {
      process.kill(hung, 'SIGCONT');
    }

    const logs = await ringdb(ws.dir, 'logs', 'n1', '--lines', '2');
    assert.equal(logs.code, 0);
    assert.equal(logs.stdout.trimEnd().split('\n').length, 2);
    const badLogs = await ringdb(ws.dir, 'logs', 'n7');
    assert.equal(badLogs.code, 2);
    assert.match(badLogs.stderr, /no node "n7" in this cluster; nodes are n1, n2/);
    // The user named it, so the message names it, not the RPC field, and no progress line comes first.
    const badRestart = await ringdb(ws.dir, 'restart', 'n7');
    assert.equal(badRestart.code, 2);
    assert.equal(badRestart.stderr, 'ringdb: no node "n7" in this cluster; nodes are n1, n2\n');
    assert.equal((await ringdb(ws.dir, 'kill', 'n7')).stderr, 'ringdb: no node "n7" in this cluster; nodes are n1, n2\n');

    const follow = spawn(process.execPath, [cliPath(), 'logs', 'n2', '--follow', '--lines', '1'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    createInterface({ input: follow.stdout }).on('line', (l) => lines.push(l));
    await eventually('the followed tail line', 10_000, () => (lines.length >= 1 ? true : undefined));
    await ringdb(ws.dir, 'restart', 'n2');
    await eventually('a followed line from the restart', 10_000, () => (lines.some((l) => l.startsWith('RINGDB_NODE_READY')) ? true : undefined));
    follow.kill('SIGINT');
    const followExit = await new Promise<number | null>((resolve) => follow.once('exit', (code) => resolve(code)));
    assert.equal(followExit, 0);

    const added = await ringdb(ws.dir, 'add-node', '--json');
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual([json<{ id: string }>(added).id, json<{ state: string }>(added).state], ['n3', 'up']);
    // n3 replicates about two thirds of the keys (N=2 of 3 nodes): some of twenty land in its memtable.
    for (let i = 0; i < 20; i++) assert.equal((await ringdb(ws.dir, 'put', `to-flush:${i}`, 'v', '--node', 'n3')).code, 0);
    const flushed = await ringdb(ws.dir, 'flush', 'n3');
    assert.equal(flushed.code, 0, flushed.stderr);
    assert.match(flushed.stdout, /^flushed n3: \d{6}\.sst \(L0, [1-9]\d* entries\) written; (\d+) -> \d+ SSTables \(L0: \d+/);
    for (let i = 20; i < 40; i++) assert.equal((await ringdb(ws.dir, 'put', `to-flush:${i}`, 'v', '--node', 'n3')).code, 0);
    const flushedJson = json<{ written: string[] }>(await ringdb(ws.dir, 'flush', 'n3', '--json'));
    assert.equal(flushedJson.written.length, 1, JSON.stringify(flushedJson.written));
    assert.match(flushedJson.written[0], /\/n3\/.*\d{6}\.sst$/);
    const flushedAgain = await ringdb(ws.dir, 'flush', 'n3');
    assert.match(flushedAgain.stdout, /^flushed n3: the memtable was empty, nothing written; (\d+) -> \1 SSTables/);
    const compacted = await ringdb(ws.dir, 'compact', 'n3');
    assert.equal(compacted.code, 0, compacted.stderr);
    assert.match(compacted.stdout, /^compacted n3: \d+ -> \d+ SSTables/);
    const removed = await ringdb(ws.dir, 'remove-node', 'n3');
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^removed n3 \(\d+ partitions moved, \d+ entries copied to the nodes that took over\)/);
    const removedAgain = await ringdb(ws.dir, 'remove-node', 'n3');
    assert.equal(removedAgain.code, 2);
    assert.equal(removedAgain.stderr, 'ringdb: no node "n3" in this cluster; nodes are n1, n2\n');

    assert.equal((await ringdb(ws.dir, 'put', 'persisted', 'across restarts', '--node', 'n1')).code, 0);
    const pids = json<{ nodes: { pid: number }[]; controllerPid: number }>(await ringdb(ws.dir, 'status', '--json'));
    const stop = await ringdb(ws.dir, 'stop', '--json');
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(json<{ stopped: string[] }>(stop).stopped.sort(), ['n1', 'n2']);
    for (const pid of [pids.controllerPid, ...pids.nodes.map((n) => n.pid)]) assert.ok(await waitForExit(pid, 10_000), `pid ${pid} exited`);
    assert.equal((await ringdb(ws.dir, 'status')).code, 3);
    // With no cluster running a node's log is read from its file (it is wanted most then).
    const stoppedLogs = await ringdb(ws.dir, 'logs', 'n1', '--lines', '2');
    assert.equal(stoppedLogs.code, 0, stoppedLogs.stderr);
    assert.equal(stoppedLogs.stdout.trimEnd().split('\n').length, 2);
    assert.match(stoppedLogs.stderr, /^no cluster is running in .*; n1's log as its file holds it \(.*node\.log\)$/m);
    const unknown = await ringdb(ws.dir, 'logs', 'n9');
    assert.equal(unknown.code, 2, 'a node the stopped folder does not hold is bad input');
    assert.match(unknown.stderr, /no node "n9" in .* \(no cluster is running there\); its nodes are n1, n2/);

    // The same folder starts the members it holds, whatever --nodes says (that is a new cluster's size), and says so.
    const restarted2 = await ringdb(ws.dir, 'start', '--nodes', '3');
    assert.equal(restarted2.code, 0, restarted2.stderr);
    assert.match(restarted2.stdout, /^started 2 nodes in .*\(the members this folder holds; 3 nodes is the size of a new cluster/);
    assert.match(restarted2.stderr, /^starting the nodes this folder holds \.\.\.$/m);
    assert.doesNotMatch(restarted2.stderr, /starting 3 nodes/);
    assert.doesNotMatch(restarted2.stdout, /^n3/m);
    const kept = await ringdb(ws.dir, 'get', 'persisted', '--node', 'n1');
    assert.deepEqual([kept.code, kept.stdout], [0, 'across restarts\n']);
    assert.equal((await ringdb(ws.dir, 'stop')).code, 0);
  });
});
