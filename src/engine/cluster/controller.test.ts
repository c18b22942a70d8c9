// The controller over real processes: a bundled controller spawning bundled nodes on real ports
// in a temp folder, driven only through the client API, the way the extension drives it.

import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ControlServiceClient } from '../gen/ringdb/v1/control';
import { clientArgs } from '../rpc/client';
import {
  ControllerClient, ConvergenceClient, NodeClient, RingDbError, launchController, readStateFile, type ClusterEvent, type ControllerHandle, type EventStream,
} from '../client';
import { engineBundles, eventually, tempDataDir, waitForExit } from './test-support';

/** Collects a watch stream's events so a test can wait for the one it expects. */
class Recorder {
  readonly events: ClusterEvent[] = [];
  private readonly done: Promise<void>;

  constructor(readonly stream: EventStream<ClusterEvent>) {
    this.done = (async () => {
      for await (const e of stream) this.events.push(e);
    })();
  }

  async waitFor(what: string, match: (e: ClusterEvent) => boolean, fromIndex = 0): Promise<ClusterEvent> {
    return eventually(what, 20_000, () => this.events.slice(fromIndex).find(match));
  }

  async close(): Promise<void> {
    this.stream.close();
    await this.done;
  }
}

const nodeStateIs = (id: string, state: string) => (e: ClusterEvent): boolean =>
  e.type === 'nodeState' && e.node.id === id && e.node.state === state;

describe('controller (real processes)', function () {
  this.timeout(180_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller, statsIntervalMs: 200 });
    client = ctl.client;
  });

  after(async () => {
    await ctl?.stop();
    data?.remove();
  });

  async function valueOn(nodeId: string, key: string): Promise<string | undefined> {
    const node = await client.nodeClient(nodeId);
    try {
      const r = await node.get(key);
      return r.found ? r.value.toString() : undefined;
    } finally {
      node.close();
    }
  }

  it('refuses calls without the token or with a wrong one, and changes nothing', async () => {
    const raw = new ControlServiceClient(...clientArgs(ctl.address));
    const noToken = await new Promise<ServiceError | null>((resolve) =>
      raw.startCluster({ specJson: '{}', resume: false }, new Metadata(), (err) => resolve(err)));
    raw.close();
    assert.equal(noToken?.code, status.UNAUTHENTICATED);
    const wrong = new ControllerClient({ address: ctl.address, token: 'f'.repeat(64) });
    await assert.rejects(wrong.startCluster({ nodes: 1 }), (e: unknown) => e instanceof RingDbError && e.code === 'unauthenticated');
    wrong.close();
    assert.equal((await client.describe()).phase, 'empty');
  });

  it('rejects an invalid spec with the field and what is accepted, and starts nothing', async () => {
    await assert.rejects(client.startCluster({ nodes: 0 }), (e: unknown) =>
      e instanceof RingDbError && e.code === 'invalid-argument' && /nodes: must be an integer from 1 to 32, got 0/.test(e.message));
    await assert.rejects(client.startCluster('{ "nodes": 3, "writeQuorum": 5 }'), /writeQuorum: must be at most replicationFactor \(3\), got 5/);
    const d = await client.describe();
    assert.equal(d.phase, 'empty');
    assert.equal(d.nodes.length, 0);
  });

  it('starts a 3-node cluster, describes it, and keeps the token private', async () => {
    const started = await client.startCluster({ nodes: 3, heartbeatIntervalMs: 100, antiEntropyIntervalMs: 500 });
    assert.equal(started.phase, 'running');
    assert.deepEqual(started.nodes.map((n) => [n.id, n.state]), [['n1', 'up'], ['n2', 'up'], ['n3', 'up']]);
    for (const n of started.nodes) {
      assert.match(n.address, /^127\.0\.0\.1:\d+$/);
      assert.ok(n.pid > 0 && n.stats, `${n.id} has a pid and stats`);
      assert.equal(n.dataDir, join(data.dir, n.id));
      process.kill(n.pid, 0);
    }
    assert.equal(statSync(join(data.dir, 'token')).mode & 0o777, 0o600);
    const state = readStateFile(data.dir);
    assert.equal(state.pid, ctl.pid);
    assert.equal(state.address, ctl.address);
    // The same folder reaches the same cluster, as `ringdb put` would.
    const viaFolder = ControllerClient.fromDataDir(data.dir);
    assert.equal((await viaFolder.describe()).nodes.length, 3);
    viaFolder.close();

    const n1 = await client.nodeClient('n1');
    const v = await n1.put('colour', 'blue');
    assert.equal(v.opId, 'n1:1');
    for (const id of ['n2', 'n3']) await eventually(`colour on ${id}`, 15_000, async () => ((await valueOn(id, 'colour')) === 'blue' ? true : undefined));
    const log = await n1.replicationLog(0, 10);
    const entry = log.entries.find((e) => e.opId === 'n1:1');
    assert.deepEqual([entry?.key, entry?.kind, entry?.origin], ['colour', 'put', 'n1']);
    const scan = await n1.scan({ start: 'c', end: 'd' });
    assert.deepEqual(scan.entries.map((e) => [e.key.toString(), e.value.toString()]), [['colour', 'blue']]);
    await assert.rejects(n1.put('', 'x'), (e: unknown) => e instanceof RingDbError && e.code === 'invalid-argument' && /key: must not be empty/.test(e.message));
    n1.close();
  });

  it('refuses a second StartCluster while one runs', async () => {
    await assert.rejects(client.startCluster({ nodes: 1 }), (e: unknown) => e instanceof RingDbError && e.code === 'failed-precondition');
  });

  it('reports KillNode as down and RestartNode as starting then up, with the data still there', async () => {
    const rec = new Recorder(client.watch());
    try {
      const first = await rec.waitFor('snapshot', () => true);
      assert.equal(first.type, 'snapshot');
      await rec.waitFor('a stats event', (e) => e.type === 'stats');
      const before = (await client.describe()).nodes.find((n) => n.id === 'n2')!;
      const killed = await client.killNode('n2');
      assert.equal(killed.state, 'down');
      assert.match(killed.reason, /KillNode/);
      assert.ok(await waitForExit(before.pid, 5000), 'the killed process is gone');
      await rec.waitFor('n2 down', nodeStateIs('n2', 'down'));
      const logged = readFileSync(join(data.dir, 'n2', 'node.log'), 'utf8').trimEnd().split('\n');
      assert.match(logged[logged.length - 1], new RegExp(`^\\[controller\\] node n2 \\(pid ${before.pid}\\) ended, killed by SIGKILL: KillNode`),
        'the node\'s own log says why it stopped');
      await assert.rejects(client.killNode('n2'), (e: unknown) => e instanceof RingDbError && e.code === 'failed-precondition');
      await assert.rejects(client.nodeClient('n2'), (e: unknown) => e instanceof RingDbError && e.code === 'unavailable' && /n2 is down/.test(e.message));
      const stale = new NodeClient({ address: before.address, token: ctl.token, nodeId: 'n2' });
      await assert.rejects(stale.get('colour', { timeoutMs: 2000 }), (e: unknown) =>
        e instanceof RingDbError && (e.code === 'unavailable' || e.code === 'deadline-exceeded'));
      stale.close();

      const logs = client.followNodeLogs('n2', 0, true);
      // The tail holds the killed process's lines; the new process's come live.
      const followed: string[] = [];
      const sawReady = (async () => {
        for await (const line of logs) {
          followed.push(line);
          if (line.startsWith('RINGDB_NODE_READY') && !line.includes(`"pid":${before.pid}`)) return true;
        }
        return false;
      })();
      const mark = rec.events.length;
      const restarted = await client.restartNode('n2');
      assert.equal(restarted.state, 'up');
      assert.notEqual(restarted.pid, before.pid);
      assert.equal(restarted.address, before.address, 'the port was free, so it is kept');
      await rec.waitFor('n2 starting', nodeStateIs('n2', 'starting'), mark);
      await rec.waitFor('n2 up', nodeStateIs('n2', 'up'), mark);
      assert.equal(await sawReady, true, 'NodeLogs --follow delivered the new process\'s ready line');
      const started = followed.indexOf(`[controller] started node n2 (pid ${restarted.pid})`);
      assert.ok(started >= 0 && started < followed.length - 1, `the controller's start line, live and before the ready line:\n${followed.join('\n')}`);
      assert.equal(followed[followed.length - 1].includes(`"pid":${restarted.pid}`), true);
      logs.close();
      assert.equal(await valueOn('n2', 'colour'), 'blue');
    } finally {
      await rec.close();
    }
  });

  it('a Watch stream closed by its reader yields nothing more, not even the events it had queued', async () => {
    const stream = client.watch();
    // Not read while the snapshot and a stats poll (every 200 ms) arrive: they queue. A second
    // stream, read, says when they have been sent, after the first's.
    const reader = new Recorder(client.watch());
    try {
      const first = await reader.waitFor('a stats event', (e) => e.type === 'stats');
      await reader.waitFor('a later stats event', (e) => e.type === 'stats', reader.events.indexOf(first) + 1);
    } finally {
      await reader.close();
    }
    stream.close();
    // A reader that closed it (a window stopping its cluster) must not apply a stale snapshot after.
    assert.deepEqual(await stream[Symbol.asyncIterator]().next(), { value: undefined, done: true });
  });

  it('reports a node that dies on its own as down and does not restart it', async () => {
    const rec = new Recorder(client.watch());
    try {
      const n3 = (await client.describe()).nodes.find((n) => n.id === 'n3')!;
      process.kill(n3.pid, 'SIGKILL');
      const ev = await rec.waitFor('n3 down', nodeStateIs('n3', 'down'));
      assert.ok(ev.type === 'nodeState' && /exited unexpectedly/.test(ev.node.reason));
      await new Promise((r) => setTimeout(r, 500));
      const after = (await client.describe()).nodes.find((n) => n.id === 'n3')!;
      assert.equal(after.state, 'down');
      assert.equal(after.pid, 0);
      await client.restartNode('n3');
    } finally {
      await rec.close();
    }
  });

  it('refuses to start a node whose replication log is damaged, says why and what to do, and leaves the file as it is', async () => {
    await client.killNode('n3');
    const logDir = join(data.dir, 'n3', 'replication_log');
    const segment = join(logDir, readdirSync(logDir).filter((f) => f.endsWith('.log')).sort()[0]);
    const damaged = readFileSync(segment);
    damaged[20] ^= 0xff;
    writeFileSync(segment, damaged);
    await assert.rejects(client.restartNode('n3'), (e: unknown) => e instanceof RingDbError
      && /node n3 exited \(exit code 1\) before it served: node failed to start: corruption in \S+seg-\d+\.log at byte \d+/.test(e.message)
      && /restore it from a copy, or move this node's folder away and start it again/.test(e.message));
    assert.deepEqual(readFileSync(segment), damaged);
    // The way out the message names: the node starts empty and takes the data back from its peers.
    renameSync(join(data.dir, 'n3'), join(data.dir, 'n3-damaged'));
    assert.equal((await client.restartNode('n3')).state, 'up');
    await eventually('colour back on n3', 20_000, async () => ((await valueOn('n3', 'colour')) === 'blue' ? true : undefined));
  });

  it('stops a node that finds a damaged SSTable while it runs, says which file and what to do, and the way out brings its data back', async () => {
    const n1 = await client.nodeClient('n1');
    for (let i = 0; i < 50; i++) await n1.put(`sst-${i}`, `v${i}`);
    n1.close();
    await eventually('the keys on n2', 20_000, async () => ((await valueOn('n2', 'sst-49')) === 'v49' ? true : undefined));
    await client.flushNode('n2');
    // The store's replay point is saved at most once a second: past it, a restart replays nothing
    // and its open reads no data block (as after a graceful stop).
    await new Promise((r) => setTimeout(r, 2_500));
    await client.killNode('n2');
    const sstDir = join(data.dir, 'n2', 'store', 'sst');
    const table = join(sstDir, readdirSync(sstDir).filter((f) => f.endsWith('.sst')).sort().pop() as string);
    const damaged = readFileSync(table);
    damaged[16] ^= 0xff;
    writeFileSync(table, damaged);
    // The node serves until something reads that block (the Merkle trees' scan on start, or a
    // write's Last-Write-Wins lookup), then stops saying why. It used to answer on: writes
    // acknowledged and not stored, its peers' resends failing forever, repair reporting "in sync".
    const rec = new Recorder(client.watch());
    let why = '';
    try {
      await client.restartNode('n2').catch((e: Error) => void (why = e.message));
      if (!why) {
        const n2 = await client.nodeClient('n2').catch(() => undefined);
        await n2?.put('sst-0', 'again').catch(() => undefined);
        n2?.close();
        const ev = await rec.waitFor('n2 down', (e) => e.type === 'nodeState' && e.node.id === 'n2' && e.node.state === 'down');
        why = ev.type === 'nodeState' ? ev.node.reason : '';
      }
    } finally {
      await rec.close();
    }
    assert.match(why, /corruption in \S+\.sst/);
    assert.match(why, /move this node's folder away and start it again/);
    assert.notEqual((await client.describe()).nodes.find((n) => n.id === 'n2')?.state, 'up');
    assert.deepEqual(readFileSync(table), damaged, 'the file is left as it is');
    renameSync(join(data.dir, 'n2'), join(data.dir, 'n2-damaged'));
    assert.equal((await client.restartNode('n2')).state, 'up');
    await eventually('the keys back on n2', 30_000, async () => ((await valueOn('n2', 'sst-49')) === 'v49' ? true : undefined));
  });

  it('tails a node log and refuses bad NodeLogs input', async () => {
    const lines = await client.nodeLogs('n1', 3);
    assert.ok(lines.length > 0 && lines.length <= 3);
    await assert.rejects(client.nodeLogs('n9'), (e: unknown) => e instanceof RingDbError && e.code === 'not-found' && /n1, n2, n3/.test(e.message));
    await assert.rejects(client.nodeLogs('../etc'), (e: unknown) => e instanceof RingDbError && e.code === 'invalid-argument' && /node_id/.test(e.message));
    await assert.rejects(client.nodeLogs('n1', 10_001), (e: unknown) => e instanceof RingDbError && /tail_lines/.test(e.message));
  });

  it('streams replication-log and store changes through Watch', async () => {
    const rec = new Recorder(client.watch());
    try {
      await rec.waitFor('snapshot', (e) => e.type === 'snapshot');
      const n1 = await client.nodeClient('n1');
      const v = await n1.put('watched', 'yes');
      n1.close();
      const appended = await rec.waitFor('the put appended to n1\'s log', (e) =>
        e.type === 'replicationAppended' && e.nodeId === 'n1' && e.entries.some((x) => x.opId === v.opId));
      assert.ok(appended.type === 'replicationAppended' && appended.entries.find((x) => x.opId === v.opId)?.key === 'watched');
      await rec.waitFor('n1\'s peers acknowledging', (e) =>
        e.type === 'replicationAcknowledged' && e.nodeId === 'n1' && e.cursors.length > 0);
      const flushed = await client.flushNode('n1');
      assert.ok(flushed.sstables.length >= 1, 'the flush wrote an SSTable');
      await rec.waitFor('n1\'s store change', (e) => e.type === 'storeChanged' && e.nodeId === 'n1' && e.snapshot.sstables.length >= 1);
      await assert.rejects(client.flushNode('n7'), (e: unknown) => e instanceof RingDbError && e.code === 'not-found');
    } finally {
      await rec.close();
    }
  });

  it('Watch sends every log entry a restarted node appends while catching up, without a gap', async () => {
    const rec = new Recorder(client.watch());
    try {
      await rec.waitFor('snapshot', (e) => e.type === 'snapshot');
      const n1 = await client.nodeClient('n1');
      // n2 came back from an empty folder in an earlier test: the batch's W=2 rests on it alone
      // once n3 is down, so it must have caught up with n1's log first (under load that took longer than W's wait).
      await eventually('n2 caught up with n1', 60_000, async () => ((await n1.stats()).peers.find((p) => p.id === 'n2')?.pendingOps === 0 ? true : undefined));
      await client.killNode('n3');
      // Fewer than a watch sends a tick (500: above that it sends the newest), taken before the controller first asks its Stats.
      await n1.batchPut(Array.from({ length: 400 }, (_, i) => ({ key: `down-${i}`, value: 'x'.repeat(100) })));
      const missed = await n1.put('while-n3-down', 'x');
      n1.close();
      const restartFrom = rec.events.length;
      await client.restartNode('n3');
      // n3 takes the write from its peers after it serves: its log gets an entry for it.
      const got = await rec.waitFor('n3 appending the write it missed', (e) =>
        e.type === 'replicationAppended' && e.nodeId === 'n3' && e.entries.some((x) => x.opId === missed.opId), restartFrom);
      assert.ok(got);
      const lsns = rec.events.flatMap((e) => (e.type === 'replicationAppended' && e.nodeId === 'n3' ? e.entries.map((x) => x.lsn) : []));
      const gaps = lsns.slice(1).flatMap((l, i) => (l === lsns[i] + 1 ? [] : [`${lsns[i]} -> ${l}`]));
      assert.deepEqual(gaps, [], `n3's ${lsns.length} entries from ${lsns[0]} to ${lsns.at(-1)} skip`);
    } finally {
      await rec.close();
    }
  });

  it('adds a node that catches up, and removes it after handing its writes over', async () => {
    const rec = new Recorder(client.watch());
    try {
      const added = await client.addNode();
      assert.equal(added.id, 'n4');
      assert.equal(added.state, 'up');
      await rec.waitFor('membership with n4', (e) => e.type === 'membership' && e.nodeIds.includes('n4'));
      await eventually('colour on n4', 15_000, async () => ((await valueOn('n4', 'colour')) === 'blue' ? true : undefined));

      const n4 = await client.nodeClient('n4');
      // With a partition map (N=3 of 4 nodes) n4 writes the entries it replicates and forwards the others.
      const batch = await n4.batchPut(Array.from({ length: 50 }, (_, i) => ({ key: `from-n4-${i}`, value: `v${i}` })));
      assert.equal(batch.count, 50);
      n4.close();
      const removed = await client.removeNode('n4');
      assert.equal(removed.nodeId, 'n4');
      assert.ok(await waitForExit(added.pid, 5000), 'the removed node\'s process is gone');
      const d = await client.describe();
      assert.deepEqual(d.nodes.map((n) => n.id), ['n1', 'n2', 'n3']);
      await rec.waitFor('membership without n4', (e) => e.type === 'membership' && !e.nodeIds.includes('n4'));
      for (const id of ['n1', 'n2', 'n3']) {
        for (const i of [0, 25, 49]) {
          await eventually(`from-n4-${i} on ${id}`, 15_000, async () => ((await valueOn(id, `from-n4-${i}`)) === `v${i}` ? true : undefined));
        }
      }
      assert.ok(readdirSync(data.dir).some((f) => f.startsWith('n4.removed-')), 'the removed node\'s folder is kept aside, not deleted');
      await assert.rejects(client.removeNode('n4'), (e: unknown) => e instanceof RingDbError && e.code === 'not-found');
    } finally {
      await rec.close();
    }
  });

  it('refuses a second controller on the same folder', async () => {
    const bundles = await engineBundles();
    await assert.rejects(launchController({ dataDir: data.dir, controllerScript: bundles.controller }), /already served by the controller/);
    // Detached (as `ringdb start` launches it), its reason is in its log: the error quotes it.
    await assert.rejects(launchController({ dataDir: data.dir, controllerScript: bundles.controller, detached: true }),
      /^LaunchError: the controller exited before serving: .*already served by the controller at 127\.0\.0\.1:\d+ \(pid \d+\).*; see \S+controller\.log$/);
  });

  it('stops every node on StopCluster, and removes its state file when stopped', async () => {
    const pids = (await client.describe()).nodes.map((n) => n.pid);
    assert.deepEqual((await client.stopCluster()).sort(), ['n1', 'n2', 'n3']);
    for (const pid of pids) assert.ok(await waitForExit(pid, 5000));
    const d = await client.describe();
    assert.equal(d.phase, 'stopped');
    assert.ok(d.nodes.every((n) => n.state === 'stopped' && n.pid === 0));
    const exit = await ctl.stop();
    assert.equal(exit.code, 0);
    assert.equal(existsSync(join(data.dir, 'cluster-state.json')), false);
  });
});

describe('controller: a node whose folder is missing when a cluster starts again (real processes)', function () {
  this.timeout(120_000);

  it('starts it as a node that may have lost its folder: its op ids go on from what the peers hold', async () => {
    const bundles = await engineBundles();
    const data = tempDataDir();
    let ctl: ControllerHandle | undefined;
    try {
      ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
      await ctl.client.startCluster({ nodes: 2 });
      const configOf = (id: string): { newMember?: boolean } => JSON.parse(readFileSync(join(data.dir, id, 'node-config.json'), 'utf8')) as { newMember?: boolean };
      assert.equal(configOf('n1').newMember, true, 'a new cluster\'s nodes are new members');
      assert.equal(existsSync(join(data.dir, 'n1', 'own-seq-pending')), false, 'and settle nothing');
      const n1 = await ctl.client.nodeClient('n1');
      const first = [];
      for (const k of ['a', 'b', 'c']) first.push((await n1.put(k, k)).opId);
      n1.close();
      assert.deepEqual(first, ['n1:1', 'n1:2', 'n1:3']);
      await eventually('n2 holds n1:3', 20_000, async () => {
        const n2 = await ctl!.client.nodeClient('n2');
        try {
          return (await n2.stats()).versionVector.n1 === 3 ? true : undefined;
        } finally {
          n2.close();
        }
      });
      await ctl.client.stopCluster();
      rmSync(join(data.dir, 'n1'), { recursive: true, force: true });
      await ctl.client.startCluster({ nodes: 2 });
      const again = await ctl.client.nodeClient('n1');
      assert.equal((await again.put('d', 'd')).opId, 'n1:4');
      again.close();
      // Not only because anti-entropy happened to run first: the node settled before it wrote.
      await eventually('n1 logged that it settled', 10_000, () =>
        (/peers had logged this node's ops up to seq 3/.test(readFileSync(join(data.dir, 'n1', 'node.log'), 'utf8')) ? true : undefined));
      assert.equal(configOf('n1').newMember, false);
      assert.equal(configOf('n2').newMember, false, 'n2 restarted');

      // AddNode takes an id this folder has never seen, also after a removal and a restart.
      assert.equal((await ctl.client.addNode()).id, 'n3');
      assert.equal(configOf('n3').newMember, true);
      await ctl.client.removeNode('n3');
      await ctl.client.stopCluster();
      await ctl.client.startCluster({ nodes: 2 });
      assert.equal((await ctl.client.addNode()).id, 'n4', 'n3 lives on in the peers\' version vectors');
    } finally {
      await ctl?.stop();
      data.remove();
    }
  });
});

describe('controller: a folder started again with another consistency mode (real processes)', function () {
  this.timeout(120_000);

  it('is refused, naming both modes and the ways out, and starts nothing; the recorded mode starts, as does a folder without the record', async () => {
    const bundles = await engineBundles();
    const data = tempDataDir();
    let ctl: ControllerHandle | undefined;
    try {
      ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
      await ctl.client.startCluster({ nodes: 2, indexFields: ['c'] });
      const n1 = await ctl.client.nodeClient('n1');
      await n1.put('k', '{"c":"v"}');
      n1.close();
      await ctl.client.stopCluster();

      await assert.rejects(ctl.client.startCluster({ nodes: 2, consistencyMode: 'vector' }), (e: unknown) => e instanceof RingDbError
        && e.code === 'failed-precondition'
        && /holds a cluster whose values are stored in consistencyMode "lww", and the spec asks for "vector"; .*Start it with consistencyMode "lww", or use a new data folder \(--dir\) for a "vector" cluster; nothing was started/.test(e.message));
      const d = await ctl.client.describe();
      assert.notEqual(d.phase, 'running');
      assert.equal(d.nodes.filter((n) => n.state === 'up' || n.state === 'starting').length, 0, 'no node was started');

      // A folder from before the record: it starts, and gets the record.
      rmSync(join(data.dir, 'cluster-mode'));
      await ctl.client.startCluster({ nodes: 2, indexFields: ['c'] });
      const again = await ctl.client.nodeClient('n2');
      assert.equal((await again.get('k')).value.toString(), '{"c":"v"}');
      again.close();
      await ctl.client.stopCluster();
      await assert.rejects(ctl.client.startCluster({ nodes: 2, consistencyMode: 'crdt' }), /consistencyMode "lww", and the spec asks for "crdt"/);
    } finally {
      await ctl?.stop();
      data.remove();
    }
  });
});

describe('controller: a crdt folder started again with other CRDT key types (real processes)', function () {
  this.timeout(120_000);

  it('refuses a retyped or dropped CRDT key, naming each with both types and the ways out; accepts and records an added key', async () => {
    const bundles = await engineBundles();
    const data = tempDataDir();
    let ctl: ControllerHandle | undefined;
    const crdt = { likes: 'gcounter', bal: 'pncounter', tags: 'orset', name: 'lwwregister', mv: 'mvregister' } as const;
    const counter = async (key: string): Promise<number> => {
      const node = (await ctl!.client.describe()).nodes[0];
      const conv = new ConvergenceClient({ address: node.address, token: ctl!.client.target.token, nodeId: node.id });
      try {
        return (await conv.crdtGet(key)).count;
      } finally {
        conv.close();
      }
    };
    try {
      ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
      await ctl.client.startCluster({ nodes: 2, consistencyMode: 'crdt', crdt });
      const n1 = await ctl.client.describe().then((d) => d.nodes[0]);
      const conv = new ConvergenceClient({ address: n1.address, token: ctl.client.target.token, nodeId: n1.id });
      await conv.crdtUpdate('likes', 'increment', { by: 3 });
      await conv.crdtUpdate('tags', 'add', { element: 'a' });
      conv.close();
      await ctl.client.stopCluster();

      const refused = (e: unknown): boolean => e instanceof RingDbError && e.code === 'failed-precondition' && /nothing was started/.test(e.message)
        && /keep these keys with their recorded types in crdt \(new keys may be added\), or use a new data folder \(--dir\)/.test(e.message);
      // The tester's start: two keys retyped, three dropped.
      await assert.rejects(ctl.client.startCluster({ nodes: 2, consistencyMode: 'crdt', crdt: { likes: 'pncounter', bal: 'gcounter', name: 'orset' } }), (e: unknown) => refused(e)
        && /"likes": recorded gcounter, requested pncounter/.test((e as Error).message)
        && /"bal": recorded pncounter, requested gcounter/.test((e as Error).message)
        && /"name": recorded lwwregister, requested orset/.test((e as Error).message)
        && /"tags": recorded orset, requested none \(dropped from crdt/.test((e as Error).message)
        && /"mv": recorded mvregister, requested none/.test((e as Error).message));
      // One key dropped, the rest as recorded.
      const { mv: _dropped, ...withoutMv } = crdt;
      await assert.rejects(ctl.client.startCluster({ nodes: 2, consistencyMode: 'crdt', crdt: withoutMv }), (e: unknown) => refused(e)
        && /"mv": recorded mvregister, requested none/.test((e as Error).message) && !/"likes"/.test((e as Error).message));
      const d = await ctl.client.describe();
      assert.notEqual(d.phase, 'running');
      assert.equal(d.nodes.filter((n) => n.state === 'up' || n.state === 'starting').length, 0, 'no node was started');

      // An added key starts, the old states read as before, and the record now holds the new key too.
      await ctl.client.startCluster({ nodes: 2, consistencyMode: 'crdt', crdt: { ...crdt, views: 'gcounter' } });
      assert.equal(await counter('likes'), 3);
      await ctl.client.stopCluster();
      await assert.rejects(ctl.client.startCluster({ nodes: 2, consistencyMode: 'crdt', crdt }), (e: unknown) => refused(e)
        && /"views": recorded gcounter, requested none/.test((e as Error).message));
    } finally {
      await ctl?.stop();
      data.remove();
    }
  });
});

describe('controller: a start whose node finds a damaged SSTable just after it serves (real processes)', function () {
  this.timeout(180_000);

  it('fails naming the node, the file and the way out, and the node\'s log says it stopped itself', async () => {
    const bundles = await engineBundles();
    const data = tempDataDir();
    const ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller, statsIntervalMs: 200 });
    try {
      await ctl.client.startCluster({ nodes: 3 });
      const n2 = await ctl.client.nodeClient('n2');
      await n2.batchPut(Array.from({ length: 3000 }, (_, i) => ({ key: `sst-${String(i).padStart(5, '0')}`, value: 'v'.repeat(200) })));
      n2.close();
      await ctl.client.flushNode('n2');
      await ctl.client.stopCluster();
      const sstDir = join(data.dir, 'n2', 'store', 'sst');
      const table = join(sstDir, readdirSync(sstDir).filter((f) => f.endsWith('.sst')).sort().pop() as string);
      const damaged = readFileSync(table);
      // A block in the middle: what opening reads (the first block, the index) stays whole.
      damaged[Math.floor(damaged.length / 2)] ^= 0xff;
      writeFileSync(table, damaged);
      // Opening reads no data block: n2 serves, then its Merkle scan finds the damage and it stops,
      // before the controller's first Stats of it or (the case this is for) during a later step of
      // the start, which then failed with "n2 is not running" or a dropped connection.
      await assert.rejects(ctl.client.startCluster({ nodes: 3 }), (e: unknown) => e instanceof RingDbError
        && /^the cluster did not start: node n2 (stopped|exited while starting|exited \(exit code 1\) before it served): (node stopped: )?corruption in \S+\.sst .*move this node's folder away/.test(e.message));
      const log = readFileSync(join(data.dir, 'n2', 'node.log'), 'utf8').trimEnd().split('\n');
      assert.match(log.at(-1) ?? '', /\[controller\] node n2 \(pid \d+\) ended, exit code 1: it stopped itself, saying why just above$/);
    } finally {
      await ctl.stop();
      data.remove();
    }
  });
});

describe('controller: RestartNode while another node hangs (real processes)', function () {
  this.timeout(120_000);

  it('finishes the restart and says which peer missed the membership update, instead of failing as if nothing restarted', async () => {
    const bundles = await engineBundles();
    const data = tempDataDir();
    const ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller, statsIntervalMs: 200 });
    let hung = 0;
    try {
      const started = await ctl.client.startCluster({ nodes: 3 });
      const before = started.nodes.find((n) => n.id === 'n1')!;
      hung = started.nodes.find((n) => n.id === 'n3')!.pid;
      process.kill(hung, 'SIGSTOP');
      const restarted = await ctl.client.restartNode('n1');
      assert.equal(restarted.state, 'up');
      assert.match(restarted.warning ?? '', /^could not update the membership of n3: .*; a node that missed it keeps its earlier list of peers/);
      const n1 = (await ctl.client.describe()).nodes.find((n) => n.id === 'n1')!;
      assert.equal(n1.state, 'up');
      assert.notEqual(n1.pid, before.pid);
    } finally {
      if (hung) process.kill(hung, 'SIGCONT');
      await ctl.stop();
      data.remove();
    }
  });
});

describe('controller: FlushNode on a suspect node (real processes)', function () {
  this.timeout(120_000);

  it('flushes a node that is running but missed its Stats polls, instead of refusing it as not up; one that stays hung is told by a ping in 5 s', async () => {
    const bundles = await engineBundles();
    const data = tempDataDir();
    const ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller, statsIntervalMs: 200 });
    let stopped = 0;
    try {
      const started = await ctl.client.startCluster({ nodes: 2 });
      const n2 = await ctl.client.nodeClient('n2');
      await n2.put('flushed-while-suspect', 'v');
      n2.close();
      stopped = started.nodes.find((n) => n.id === 'n2')!.pid;
      process.kill(stopped, 'SIGSTOP');
      await eventually('n2 suspect', 20_000, async () => ((await ctl.client.describe()).nodes.find((n) => n.id === 'n2')?.state === 'suspect' ? true : undefined));
      // Why, in words: not grpc's "Deadline exceeded after 1.002s,LB pick: …".
      assert.match((await ctl.client.describe()).nodes.find((n) => n.id === 'n2')!.reason,
        /^not answering: no answer to a Stats poll within 1000 ms, \d+ in a row; its process runs \(hung, paused or overloaded\)$/);
      // Still stopped: a ping tells it in 5 s, where the flush or compaction waited out its 120 s deadline.
      for (const call of [() => ctl.client.flushNode('n2'), () => ctl.client.compactNode('n2')]) {
        await assert.rejects(call(), (e: unknown) => e instanceof RingDbError && e.code === 'unavailable'
          && /: node n2 did not answer a ping within 5 s: its process runs but has stopped answering \(hung, paused or overloaded\); try again once it answers, or restart it/.test(e.message));
      }
      const flush = ctl.client.flushNode('n2');
      // The call reaches the controller while n2 is still stopped, so it is judged as suspect; n2 then answers its ping and the flush.
      await new Promise((resolve) => setTimeout(resolve, 500));
      process.kill(stopped, 'SIGCONT');
      stopped = 0;
      const flushed = await flush;
      assert.ok(flushed.sstables.length >= 1, 'the flush wrote the put to an SSTable');

      // A restart of a paused node stops it as asked (it is resumed to take SIGTERM), not by SIGKILL once the grace runs out.
      process.kill(stopped = started.nodes.find((n) => n.id === 'n2')!.pid, 'SIGSTOP');
      await ctl.client.restartNode('n2');
      stopped = 0;
      const log = readFileSync((await ctl.client.member('n2')).logFile, 'utf8');
      assert.match(log, /\[controller\] node n2 \(pid \d+\) ended, exit code 0: the controller stopped it \(SIGTERM\)\n/);
      assert.doesNotMatch(log, /SIGKILL/);
    } finally {
      if (stopped) process.kill(stopped, 'SIGCONT');
      await ctl.stop();
      data.remove();
    }
  });
});

describe('controller: a router that cannot start (real processes)', function () {
  this.timeout(120_000);

  it('says why in one line, not with a line of its stack, and starts nothing', async () => {
    const bundles = await engineBundles();
    const data = tempDataDir();
    const ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      await assert.rejects(ctl.client.startCluster({ nodes: 1, router: { port } }), (e: unknown) => {
        assert.ok(e instanceof RingDbError, String(e));
        assert.match(e.message, /router failed to start: .*EADDRINUSE/);
        assert.doesNotMatch(e.message, /\n|\bat async\b|\.js:\d+:\d+/);
        return true;
      });
      assert.equal((await ctl.client.describe()).phase, 'stopped');
    } finally {
      taken.close();
      await ctl.stop();
      data.remove();
    }
  });
});

describe('controller lifetime (real processes)', function () {
  this.timeout(120_000);

  it('leaves no node process behind when the controller is SIGKILLed', async () => {
    const bundles = await engineBundles();
    const data = tempDataDir();
    let ctl: ControllerHandle | undefined;
    try {
      ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
      const started = await ctl.client.startCluster({ nodes: 3 });
      const pids = started.nodes.map((n) => n.pid);
      assert.equal(pids.length, 3);
      process.kill(ctl.pid, 'SIGKILL');
      await ctl.exited;
      for (const pid of pids) assert.ok(await waitForExit(pid, 10_000), `node pid ${pid} exited with its controller`);
      // Nothing writes a node's log once its controller is gone: the node says why it stopped there itself.
      for (const id of ['n1', 'n2', 'n3']) {
        const lines = readFileSync(join(data.dir, id, 'node.log'), 'utf8').trimEnd().split('\n');
        assert.match(lines[lines.length - 1], new RegExp(`WARN  \\[${id}\\] the controller is gone \\(stdin closed\\): shutting down; the lines after this one are not recorded$`));
      }
    } finally {
      await ctl?.stop(1000);
      data.remove();
    }
  });

  for (const how of ['SIGTERM', 'stdin closing'] as const) {
    it(`stops every node and exits 0 on ${how}`, async () => {
      const bundles = await engineBundles();
      const data = tempDataDir();
      let ctl: ControllerHandle | undefined;
      try {
        ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
        const pids = (await ctl.client.startCluster({ nodes: 2 })).nodes.map((n) => n.pid);
        if (how === 'SIGTERM') process.kill(ctl.pid, 'SIGTERM');
        const exit = how === 'SIGTERM' ? await ctl.exited : await ctl.stop();
        assert.deepEqual(exit, { code: 0, signal: null });
        for (const pid of pids) assert.ok(await waitForExit(pid, 10_000), `node pid ${pid} exited`);
        assert.equal(existsSync(join(data.dir, 'cluster-state.json')), false);
        assert.doesNotMatch(readFileSync(join(data.dir, 'n1', 'node.log'), 'utf8'), /the controller is gone/, 'a stop is not a lost controller');
      } finally {
        await ctl?.stop(1000);
        data.remove();
      }
    });
  }
});
