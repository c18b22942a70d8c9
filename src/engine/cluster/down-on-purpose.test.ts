// Nodes taken down on purpose stay down when a crashed controller is started again to resume the
// cluster (the extension's supervision: a new controller, StartCluster with `resume`), over real
// processes: a SIGKILLed controller, its nodes gone with it, a new controller on the same folder.

import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Driver, launchController, readStateFile, type ClusterDescription, type ControllerHandle } from '../client';
import { cliSuite } from '../cli/cli-test-support';
import { NodeFileSystem } from '../storage/node-fs';
import { DOWN_FILE, readDownMarks, writeDownMarks } from './down-file';
import { writeFolderRecord } from './folder-record';
import { engineBundles, eventually, tempDataDir, waitForExit } from './test-support';

/** KillNode on `id` once Describe shows it starting within `operation`; what the operation failed with. */
async function killWhileStarting(c: ControllerHandle, id: string, operation: Promise<unknown>): Promise<unknown> {
  const outcome = operation.then(() => undefined, (e: unknown) => e);
  const deadline = Date.now() + 30_000;
  while ((await c.client.describe()).nodes.find((n) => n.id === id)?.state !== 'starting') {
    assert.ok(Date.now() < deadline, `${id} never reported starting`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await c.client.killNode(id);
  return outcome;
}

describe('nodes down on purpose across a controller restart (real processes)', function () {
  this.timeout(240_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle | undefined;

  beforeEach(() => void (data = tempDataDir()));
  afterEach(async () => {
    await ctl?.stop();
    ctl = undefined;
    data.remove();
  });

  async function launch(): Promise<ControllerHandle> {
    ctl = await launchController({ dataDir: data.dir, controllerScript: (await engineBundles()).controller, statsIntervalMs: 200 });
    return ctl;
  }

  /** SIGKILLs the controller, as a crash would, and waits until it and its nodes are gone. */
  async function crash(c: ControllerHandle): Promise<void> {
    const pids = (await c.client.describe()).nodes.map((n) => n.pid).filter((pid) => pid > 0);
    process.kill(c.pid, 'SIGKILL');
    for (const pid of [c.pid, ...pids]) assert.ok(await waitForExit(pid, 10_000), `pid ${pid} exited with the controller`);
    c.client.close();
    ctl = undefined;
  }

  const node = (cluster: ClusterDescription, id: string): ClusterDescription['nodes'][number] => {
    const n = cluster.nodes.find((x) => x.id === id);
    assert.ok(n, `${id} in ${cluster.nodes.map((x) => x.id).join(', ')}`);
    return n;
  };
  const states = (cluster: ClusterDescription): string => cluster.nodes.map((n) => `${n.id} ${n.state}`).join(', ');

  it('a resumed cluster leaves a killed node down saying why; restarting it clears the mark, so the next resume starts it', async () => {
    let c = await launch();
    await c.client.startCluster({ nodes: 3 });
    const n1 = await c.client.nodeClient('n1');
    await n1.put('colour', 'blue');
    n1.close();
    const killed = await c.client.killNode('n2');
    assert.equal(killed.downOnPurpose, true);
    assert.match(killed.reason, /^killed by KillNode at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; it stays down until you restart it \(`ringdb restart n2`, or RingDB: Restart Node in VS Code\)$/);
    await assert.rejects(c.client.killNode('n2'), /KillNode: node n2 has no running process; it is down: killed by KillNode at [^;]+; it stays down until you restart it \(/);
    await crash(c);

    c = await launch();
    const phases: string[] = [];
    const watch = c.client.watch();
    let subscribed = false;
    const watching = (async () => {
      for await (const e of watch) {
        subscribed = true; // the stream opens with a snapshot
        if (e.type === 'phase') phases.push(e.reason);
      }
    })();
    await eventually('the watch subscribed', 10_000, () => subscribed || undefined);
    const resumed = await c.client.startCluster({ nodes: 3 }, { resume: true });
    watch.close();
    await watching;
    // What the extension and `ringdb status` show while it starts: the nodes started, not every member.
    assert.ok(phases.includes('starting 2 nodes: n1, n3; n2 kept down on purpose'), JSON.stringify(phases));
    assert.equal(states(resumed), 'n1 up, n2 down, n3 up');
    const n2 = node(resumed, 'n2');
    assert.equal(n2.pid, 0, 'no process was started for n2');
    assert.equal(n2.downOnPurpose, true);
    assert.match(n2.reason, /^killed by KillNode at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ before the controller restarted; it stays down until you restart it \(`ringdb restart n2`/);
    assert.match(resumed.note, /kept down on purpose, as before the controller restarted: n2 \(killed by KillNode at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)/);
    // The peers still list it, at its last address: they keep hints and log cursors for it.
    const peers = (await (await c.client.nodeClient('n1')).stats()).peers.map((p) => `${p.id} ${p.address}`);
    assert.ok(peers.includes(`n2 ${killed.address}`), `n1's peers: ${peers.join(', ')}`);

    const restarted = await c.client.restartNode('n2');
    assert.equal(restarted.state, 'up');
    assert.equal(restarted.downOnPurpose, false);
    assert.deepEqual(readDownMarks(data.dir), {}, 'the restart cleared the mark on disk');
    const back = await c.client.nodeClient('n2');
    assert.equal((await back.get('colour')).value.toString(), 'blue');
    back.close();
    await crash(c);

    c = await launch();
    const again = await c.client.startCluster({ nodes: 3 }, { resume: true });
    assert.equal(states(again), 'n1 up, n2 up, n3 up');
    assert.equal(again.note, '');
  });

  it('a resumed cluster lists the hints a node kept down holds, as before the crash; its restart replaces them with its own report', async () => {
    const spec = { nodes: 4, replicationFactor: 3, writeQuorum: 2, readQuorum: 2, heartbeatIntervalMs: 100 };
    let c = await launch();
    await c.client.startCluster(spec);
    await c.client.killNode('n4');
    const rows = (cluster: ClusterDescription): string[] =>
      (cluster.hints ?? []).filter((h) => h.count > 0).map((h) => `${h.holder} ${h.count} for ${h.target}`).sort();
    const driver = await Driver.connect(c.client);
    let i = 0;
    let held: string[];
    try {
      // Settled: no write under way, and every holder's last count answered.
      held = await eventually('hints for n4 in Describe', 60_000, async () => {
        for (const end = i + 20; i < end; i++) await driver.put({ partitionKey: `k${i}` }, `v${i}`);
        await new Promise((r) => setTimeout(r, 1_000));
        const now = rows(await c.client.describe());
        return now.length && now.join() === rows(await c.client.describe()).join() ? now : undefined;
      });
    } finally {
      driver.close();
    }
    // A holder taken down too: its hints wait on its disk, and Describe keeps listing them.
    const holder = held[0].split(' ')[0];
    const oldest = (cluster: ClusterDescription): number | undefined => cluster.hints?.find((h) => h.holder === holder)?.oldestUnixMs;
    const oldestBefore = oldest(await c.client.describe());
    await c.client.killNode(holder);
    assert.deepEqual(rows(await c.client.describe()), held);
    assert.deepEqual(readDownMarks(data.dir)[holder]?.hints?.map((h) => `${holder} ${h.count} for ${h.target}`), held.filter((r) => r.startsWith(`${holder} `)));
    await crash(c);

    c = await launch();
    const resumed = await c.client.startCluster(spec, { resume: true });
    assert.equal(states(resumed), ['n1', 'n2', 'n3', 'n4'].map((id) => `${id} ${id === holder || id === 'n4' ? 'down' : 'up'}`).join(', '));
    assert.deepEqual(rows(resumed), held, 'the hints listed before the controller crashed');
    assert.equal(oldest(resumed), oldestBefore);
    // Still there once the other holders' Stats have been polled a few times.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(rows(await c.client.describe()), held);

    // Its own report replaces the saved rows (n4 is still down: the same hints), then n4's restart drains them all.
    await c.client.restartNode(holder);
    const node = await c.client.nodeClient(holder);
    assert.equal((await node.stats()).hints?.held, Number(held.find((r) => r.startsWith(`${holder} `))?.split(' ')[1]), 'the count saved was the count on its disk');
    node.close();
    assert.deepEqual(rows(await c.client.describe()), held, 'one row per holder and target');
    await c.client.restartNode('n4');
    await eventually('every hint delivered', 60_000, async () => (rows(await c.client.describe()).length === 0 ? true : undefined));
    assert.deepEqual(readDownMarks(data.dir), {});
  });

  it('a node killed before it first served is kept down at an address its peers keep its log for; its restart serves there', async () => {
    let c = await launch();
    await c.client.startCluster({ nodes: 3 });
    await crash(c);
    // What KillNode records for a node killed while it was starting: it had not served, so no address.
    // A kill on another day, told by a controller in another zone than the reader's: the time is UTC, with its date.
    writeDownMarks(data.dir, { n2: { how: 'killed', atUnixMs: Date.UTC(2026, 0, 2, 23, 4, 5), address: '' } });

    const zone = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      c = await launch();
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
    const resumed = await c.client.startCluster({ nodes: 3 }, { resume: true });
    assert.equal(states(resumed), 'n1 up, n2 down, n3 up');
    const n2 = node(resumed, 'n2');
    assert.match(n2.reason, /^killed by KillNode at 2026-01-02T23:04:05Z while it was starting, before the controller restarted; it stays down until you restart it \(`ringdb restart n2`/);
    assert.match(n2.address, /^127\.0\.0\.1:\d+$/, 'the address its peers know it by');
    assert.deepEqual(readDownMarks(data.dir).n2?.address, '', 'the mark still says it never served');

    // Its peers list it there, down, and keep the writes made meanwhile in their log for it.
    const n1 = await c.client.nodeClient('n1');
    await n1.put('colour', 'blue');
    const peer = await eventually('n1 keeps a backlog for n2', 20_000, async () => {
      const p = (await n1.stats()).peers.find((x) => x.id === 'n2');
      return p && p.pendingOps > 0 ? p : undefined;
    });
    n1.close();
    assert.equal(peer.address, n2.address);
    assert.notEqual(peer.state, 'up');

    const restarted = await c.client.restartNode('n2');
    assert.equal(restarted.state, 'up');
    assert.equal(restarted.address, n2.address, 'the port kept for it was free');
    const back = await c.client.nodeClient('n2');
    await eventually('colour on n2', 20_000, async () => ((await back.getOwnCopy('colour')).value.toString() === 'blue' ? true : undefined));
    back.close();
  });

  it('a node killed while AddNode starts it is no member, and leaves no mark to keep it down', async () => {
    const c = await launch();
    await c.client.startCluster({ nodes: 3 });
    const e = await killWhileStarting(c, 'n4', c.client.addNode());
    assert.ok(e instanceof Error, 'AddNode was expected to fail');
    assert.match(e.message, /node n4 was killed by KillNode while it was starting/);
    assert.equal(states(await c.client.describe()), 'n1 up, n2 up, n3 up');
    assert.deepEqual(readDownMarks(data.dir), {});
  });

  it('a start cut short by KillNode keeps the mark; StopCluster then clears it, though nothing runs', async () => {
    const c = await launch();
    const e = await killWhileStarting(c, 'n2', c.client.startCluster({ nodes: 3 }));
    assert.ok(e instanceof Error, 'the start was expected to fail');
    assert.match(e.message, /node n2 was killed by KillNode while it was starting/);
    assert.deepEqual(Object.keys(readDownMarks(data.dir)), ['n2']);
    await c.client.stopCluster();
    assert.deepEqual(readDownMarks(data.dir), {}, 'a stopped cluster keeps no node down');
    const n2 = (await c.client.describe()).nodes.find((n) => n.id === 'n2');
    assert.deepEqual([n2?.state, n2?.downOnPurpose], ['stopped', false]);
    const resumed = await c.client.startCluster({ nodes: 3 }, { resume: true });
    assert.equal(states(resumed), 'n1 up, n2 up, n3 up');
  });

  it('a start a person asks for starts every member and clears the marks; so does StopCluster', async () => {
    let c = await launch();
    await c.client.startCluster({ nodes: 3 });
    await c.client.killNode('n3');
    await crash(c);

    c = await launch();
    const started = await c.client.startCluster({ nodes: 3 });
    assert.equal(states(started), 'n1 up, n2 up, n3 up');
    assert.match(started.note, /started every member, as a start does, including the nodes that were down on purpose: n3 \(killed by KillNode at /);
    assert.deepEqual(readDownMarks(data.dir), {});

    await c.client.killNode('n3');
    await c.client.stopCluster();
    assert.deepEqual(readDownMarks(data.dir), {}, 'a stopped cluster keeps no node down');
    const n2 = (await c.client.describe()).nodes.find((n) => n.id === 'n2');
    assert.deepEqual([n2?.state, n2?.downOnPurpose], ['stopped', false]);
    const resumed = await c.client.startCluster({ nodes: 3 }, { resume: true });
    assert.equal(states(resumed), 'n1 up, n2 up, n3 up');
  });

  it('a damaged record of the nodes down on purpose is ignored, said so, and does not stop the resume', async () => {
    let c = await launch();
    await c.client.startCluster({ nodes: 3 });
    await c.client.killNode('n2');
    await crash(c);
    const file = join(data.dir, DOWN_FILE);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(file, bytes);

    c = await launch();
    const resumed = await c.client.startCluster({ nodes: 3 }, { resume: true });
    assert.equal(states(resumed), 'n1 up, n2 up, n3 up');
    assert.ok(resumed.note.startsWith(`corruption in ${file} at byte `), resumed.note);
    assert.match(resumed.note, /; ignored it, so no node is kept down on purpose and every member starts \(the record is written afresh\)$/);
    assert.deepEqual(readDownMarks(data.dir), {}, 'written afresh');
  });

  it('reads a mark with the hints the node held, and one written before marks kept them', () => {
    const held = { how: 'killed' as const, atUnixMs: 1, address: '127.0.0.1:1', hints: [{ target: 'n3', count: 2, oldestUnixMs: 5 }] };
    writeDownMarks(data.dir, { n2: held });
    assert.deepEqual(readDownMarks(data.dir), { n2: held });
    // The bytes an older controller wrote: no "hints".
    writeFolderRecord(new NodeFileSystem(), join(data.dir, DOWN_FILE), { nodes: { n2: { how: 'killed', atUnixMs: 1, address: '127.0.0.1:1' } } });
    assert.deepEqual(readDownMarks(data.dir), { n2: { how: 'killed', atUnixMs: 1, address: '127.0.0.1:1' } });
  });

  it('keeps a mark whose hints cannot be read without them, and says so', () => {
    writeDownMarks(data.dir, { n2: { how: 'killed', atUnixMs: 1, address: '', hints: [{ target: 'n3', count: 0, oldestUnixMs: 1 }] }, n4: { how: 'killed', atUnixMs: 2, address: '' } });
    const told: string[] = [];
    assert.deepEqual(readDownMarks(data.dir, undefined, (id, d) => told.push(`${id}: ${d}`)), { n2: { how: 'killed', atUnixMs: 1, address: '' }, n4: { how: 'killed', atUnixMs: 2, address: '' } });
    assert.deepEqual(told, ['n2: the record of nodes down on purpose holds hints for n2 that are not "hints":[{"target":<node id>,"count":<n>,"oldestUnixMs":<ms>}]: '
      + '[{"target":"n3","count":0,"oldestUnixMs":1}]; n2 stays down without them, and reports its own hints once restarted']);
  });

  it('a resume keeps a node down whose mark holds hints it cannot read, and rewrites the mark without them', async () => {
    let c = await launch();
    await c.client.startCluster({ nodes: 3 });
    await c.client.killNode('n2');
    await crash(c);
    const [mark] = Object.values(readDownMarks(data.dir));
    writeFolderRecord(new NodeFileSystem(), join(data.dir, DOWN_FILE), { nodes: { n2: { ...mark, hints: 'three for n3' } } });

    c = await launch();
    const resumed = await c.client.startCluster({ nodes: 3 }, { resume: true });
    assert.equal(states(resumed), 'n1 up, n2 down, n3 up');
    assert.match(resumed.note, /^kept down on purpose, as before the controller restarted: n2 \(killed by KillNode at [^)]+\); `ringdb restart <node>` starts one; the record of nodes down on purpose holds hints for n2 that are not .*: "three for n3"; n2 stays down without them/);
    assert.deepEqual(readDownMarks(data.dir), { n2: { how: mark.how, atUnixMs: mark.atUnixMs, address: mark.address } });
  });

  it('refuses a record that is not node ids with marks, naming what it holds', () => {
    writeDownMarks(data.dir, { 'node-2': { how: 'killed', atUnixMs: 1, address: '' } });
    assert.throws(() => readDownMarks(data.dir), /holds "node-2": .*not a node id with \{"how":"killed"/);
    writeFileSync(join(data.dir, DOWN_FILE), '{"nodes":{}}');
    assert.throws(() => readDownMarks(data.dir), /corruption in .*cluster-down/);
  });
});

describe('ringdb start --resume after a crashed controller (real processes)', function () {
  this.timeout(240_000);
  const { ws, ringdb } = cliSuite();

  async function crashController(): Promise<void> {
    const pid = readStateFile(join(ws.dir, '.ringdb', 'data')).pid;
    process.kill(pid, 'SIGKILL');
    assert.ok(await waitForExit(pid, 10_000));
  }

  it('keeps the node killed with `ringdb kill` down and says so; a plain start starts it and says that', async () => {
    assert.equal((await ringdb(ws.dir, 'start', '--nodes', '3')).code, 0);
    assert.equal((await ringdb(ws.dir, 'kill', 'n2')).code, 0);
    // A command sent to it says how it went down and the way back, not only "restart it first".
    const flush = await ringdb(ws.dir, 'flush', 'n2');
    assert.equal(flush.code, 1);
    assert.match(flush.stderr, /^ringdb: node n2 is down: killed by KillNode at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; it stays down until you restart it \(`ringdb restart n2`, or RingDB: Restart Node in VS Code\)\n$/);
    await crashController();

    // What a person tries first after the crash: the way back as it was, not only a fresh start.
    const status = await ringdb(ws.dir, 'status');
    assert.equal(status.code, 3);
    assert.match(status.stderr, /\(its controller \(pid \d+\) is no longer running\); n2 was down on purpose \(killed by KillNode at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\): `ringdb start --resume` brings the cluster back as it was, with n2 still down; `ringdb start` starts every node\n$/);

    const resumed = await ringdb(ws.dir, 'start', '--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^started 2 of 3 nodes in \.ringdb\/data\n/, 'n2 was not started');
    assert.match(resumed.stdout, /\nnote: kept down on purpose, as before the controller restarted: n2 \(killed by KillNode at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\); `ringdb restart <node>` starts one\n/);
    assert.match(resumed.stdout, /n2 +down/);

    // Again, on the running cluster: nothing to resume, and the next step is n2's restart, not a stop.
    const again = await ringdb(ws.dir, 'start', '--resume');
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'ringdb: a cluster is already running in .ringdb/data (controller pid ' +
      `${readStateFile(join(ws.dir, '.ringdb', 'data')).pid}), so there is nothing to resume; n2 is not up: \`ringdb restart n2\` starts it; \`ringdb status\` shows its nodes\n`);
    const plain = await ringdb(ws.dir, 'start');
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /^ringdb: a cluster is already running in \.ringdb\/data \(controller pid \d+\); n2 is not up: `ringdb restart n2` starts it; to start it afresh, stop it first with `ringdb stop`\n$/);
    await crashController();

    const started = await ringdb(ws.dir, 'start');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /\nnote: started every member, as a start does, including the nodes that were down on purpose: n2 \(killed by KillNode at /);
    assert.match(started.stdout, /running, 3\/3 nodes up/);
    // A stop names what it stopped, and what was down already rather than leaving it out.
    assert.equal((await ringdb(ws.dir, 'kill', 'n3')).code, 0);
    const stopped = await ringdb(ws.dir, 'stop');
    assert.deepEqual([stopped.code, stopped.stdout], [0, 'stopped n1, n2 and the controller; n3 was not running\n']);
    assert.equal((await ringdb(ws.dir, 'start')).code, 0);
    const asJson = JSON.parse((await ringdb(ws.dir, 'stop', '--json')).stdout) as { stopped: string[]; notRunning: string[] };
    assert.deepEqual([asJson.stopped, asJson.notRunning], [['n1', 'n2', 'n3'], []]);
  });
});
