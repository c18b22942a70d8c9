// The driver's one deadline per call (real processes, 3 nodes, N=3 W=3 R=1): two replicas of a
// key are SIGSTOPped, so they never answer. The attempts share the
// caller's timeoutMs, so the call ends within about that time, by the live replica's answer or
// with an error naming the hung nodes; with a full timeout per attempt it took one per hung node.

import { strict as assert } from 'node:assert';
import { ControllerClient, Driver, RingDbError, launchController, type ControllerHandle } from './index';
import { engineBundles, eventually, tempDataDir } from '../cluster/test-support';

const T = 4000;
/** About T: the deadline plus room for a loaded machine, short of the 2 x T two hung attempts took. */
const BOUND_MS = T + T / 2 + 1000;

async function timed<R>(p: Promise<R>): Promise<{ took: number; result?: R; error?: RingDbError }> {
  const started = Date.now();
  try {
    const result = await p;
    return { took: Date.now() - started, result };
  } catch (e) {
    assert.ok(e instanceof RingDbError, `a RingDbError, got ${String(e)}`);
    return { took: Date.now() - started, error: e };
  }
}

describe('driver deadline shared by its attempts (real processes, 3 nodes, two SIGSTOPped)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;
  const pids = new Map<string, number>();
  const stopped: number[] = [];
  let hung: string[];
  let live: string;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    client = ctl.client;
    const cluster = await client.startCluster({ nodes: 3, replicationFactor: 3, writeQuorum: 3, readQuorum: 1, numPartitions: 8, loadBalanceReads: false });
    for (const n of cluster.nodes) pids.set(n.id, n.pid);
  });

  after(async () => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    await ctl?.stop();
    data?.remove();
  });

  function stop(id: string): void {
    const pid = pids.get(id) as number;
    process.kill(pid, 'SIGSTOP');
    stopped.push(pid);
  }

  it('times the answer of a hedged attempt that nobody reads, so the slow tail stays in its wait', async () => {
    // The slowest answer of the window (quantile 1), from the first.
    const driver = await Driver.connect(client, { watch: false, hedgeLatency: { minSamples: 1, quantile: 1 } });
    try {
      await driver.put('tail', 'v');
      const first = driver.replicasFor(Buffer.from('tail'), true)[0];
      for (let i = 0; i < 3; i++) await driver.get('tail');
      const waits = driver.hedgeLatency.delayMs();
      process.kill(pids.get(first) as number, 'SIGSTOP');
      let answeredBy: string | undefined;
      try {
        answeredBy = (await driver.get('tail')).node;
        await new Promise((resolve) => setTimeout(resolve, 300));
      } finally {
        process.kill(pids.get(first) as number, 'SIGCONT');
      }
      assert.notEqual(answeredBy, first, `hedged after ${waits} ms to another replica`);
      // The stopped node answers once it runs again, 300 ms and more after it was asked; the Get had its answer long before.
      await eventually(`${first}'s late answer to be timed (slowest so far ${driver.hedgeLatency.quantileMs()} ms)`, 10_000,
        () => ((driver.hedgeLatency.quantileMs() ?? 0) >= 300 ? true : undefined));
    } finally {
      driver.close();
    }
  });

  it('reaches the live replica after two hung ones within the caller\'s timeout', async () => {
    // Not watching: the driver takes every node for up, as one that has not heard of the hang yet.
    const driver = await Driver.connect(client, { watch: false });
    try {
      await driver.put('h', 'v');
      const replicas = driver.replicasFor(Buffer.from('h'), true);
      hung = replicas.slice(0, 2);
      live = replicas[2];
      for (const id of hung) stop(id);
      const r = await timed(driver.get('h', { timeoutMs: T }));
      assert.equal(r.error, undefined, r.error?.message);
      assert.equal(r.result?.node, live);
      assert.equal(r.result?.value.toString(), 'v');
      assert.ok(r.took < BOUND_MS, `answered in ${r.took} ms with timeoutMs ${T} (each hung node used to cost all of it)`);
      // A Get is hedged: each hung node got 500 ms (a new driver has timed no Gets) before the next was asked beside it, not half of what was left.
      // (A node the driver had sent the put to took the Get; one it never connected to was sent nothing.)
      assert.deepEqual(r.result?.passedOver.map((a) => a.node), hung, JSON.stringify(r));
      for (const a of r.result?.passedOver ?? []) assert.match(a.answer, /^(no answer|not reached: no connection) within 500 ms; asked another node beside it$/);
      assert.deepEqual(driver.hedgeBudget.counters, { extra: 2, refused: 0 });
    } finally {
      driver.close();
    }
  });

  it('with its hedge budget spent, gives each hung node its share of the deadline instead of asking another beside it', async () => {
    const driver = await Driver.connect(client, { watch: false, hedgeBudget: { percent: 0, minPerSecond: 0 } });
    try {
      const r = await timed(driver.get('h', { timeoutMs: T }));
      assert.equal(r.error, undefined, r.error?.message);
      assert.equal(r.result?.node, live);
      // Half of the deadline, then half of the rest: 3 s of 4 where hedging took 1.
      assert.ok(r.took >= (3 * T) / 4 - 100, `answered after ${r.took} ms, sooner than two unhedged attempts take`);
      assert.deepEqual(r.result?.passedOver.map((a) => a.node), hung, JSON.stringify(r));
      assert.deepEqual(driver.hedgeBudget.counters, { extra: 0, refused: 2 });
    } finally {
      driver.close();
    }
  });

  it('hedges after the 99th percentile of the Gets it has timed, not 500 ms, once 50 are in', async () => {
    const driver = await Driver.connect(client, { watch: false });
    try {
      // 110: the 99th percentile is the second slowest, so the first Get's connection (or one slowed by a loaded machine) is let off.
      for (let i = 0; i < 110; i++) await driver.get('h', { via: live });
      assert.equal(driver.hedgeLatency.samples, 110);
      const waits = driver.hedgeLatency.delayMs();
      assert.ok(waits >= 5 && waits < 500, `loopback Gets' 99th percentile, got ${waits} ms`);
      // The controller has declared the hung nodes down by now: the driver is to try them first, as one that has not heard.
      // A warm-up Get slower than the wait learned so far was hedged too.
      const hedgedBefore = driver.hedgeBudget.counters.extra;
      for (const id of hung) driver.markUp(id);
      const r = await timed(driver.get('h', { timeoutMs: T }));
      assert.equal(r.error, undefined, r.error?.message);
      assert.equal(r.result?.node, live);
      assert.deepEqual(r.result?.passedOver.map((a) => a.node), hung, JSON.stringify(r));
      for (const a of r.result?.passedOver ?? []) assert.match(a.answer, new RegExp(`^(no answer|not reached: no connection) within ${waits} ms; asked another node beside it$`));
      assert.equal(driver.hedgeBudget.counters.extra, hedgedBefore + 2, 'one hedge past each hung node');
    } finally {
      driver.close();
    }
  });

  it('fails within the caller\'s timeout with an error naming the hung nodes, after a fast failure on a dead one', async () => {
    await client.killNode(live);
    const driver = await Driver.connect(client, { watch: false });
    try {
      // Every node for up again, so the hung ones are tried first as a fresh driver would.
      for (const id of [...hung, live]) driver.markUp(id);
      const r = await timed(driver.put('h', 'w', { timeoutMs: T }));
      const e = r.error;
      assert.ok(e, 'the put was expected to fail');
      assert.equal(e.code, 'deadline-exceeded', e.message);
      assert.ok(r.took < BOUND_MS, `failed after ${r.took} ms with timeoutMs ${T}: ${e.message}`);
      assert.match(e.message, new RegExp(`^Put: none of the nodes tried answered \\(waited \\d+ ms of the call's ${T} ms deadline; tried `), e.message);
      // A fresh driver's connections to the stopped nodes never complete: nothing was sent to them.
      for (const id of hung) assert.match(e.message, new RegExp(`${id}: not reached: nothing was sent \\(no connection within \\d+ ms\\)`), e.message);
      assert.match(e.message, new RegExp(`${live}: not reached: nothing was sent \\(connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+\\)\\)`), e.message);
      assert.match(e.message, new RegExp(`Nodes ${hung.join(', ')} accepted no connection in time, so nothing was sent to them: they may be hung`), e.message);
      assert.doesNotMatch(e.message, /took the request|the write may still be applied/, e.message);
      assert.match(e.message, new RegExp(`Check \`ringdb status\`, restart them \\(\`ringdb restart ${hung[0]}\``), e.message);
    } finally {
      driver.close();
    }
  });
});

// A SIGSTOPped node's kernel still accepts TCP connections, but the HTTP/2 handshake never
// completes, so grpc-js keeps a call to it waiting for a connection and never sends it: such a
// node cannot apply a write, unlike one stopped after its connection was made.
describe('driver deadline: a node never connected to is named as not reached (real processes, 3 nodes)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  const pids = new Map<string, number>();
  const stopped: number[] = [];

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    const cluster = await ctl.client.startCluster({ nodes: 3, replicationFactor: 3, writeQuorum: 3, readQuorum: 1, numPartitions: 8, loadBalanceReads: false });
    for (const n of cluster.nodes) pids.set(n.id, n.pid);
  });

  after(async () => {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    await ctl?.stop();
    data?.remove();
  });

  it('says which node took the request and which was sent nothing, and that only the first may still write', async () => {
    const driver = await Driver.connect(ctl.client, { watch: false });
    try {
      const [taker, unconnected, refused] = driver.replicasFor(Buffer.from('k'), false);
      // Only the taker's connection is made (grpc-js shares it through its subchannel pool).
      await driver.get('k', { via: taker });
      for (const id of [taker, unconnected]) {
        const pid = pids.get(id) as number;
        process.kill(pid, 'SIGSTOP');
        stopped.push(pid);
      }
      await ctl.client.killNode(refused);
      let error: unknown;
      try {
        await driver.put('k', 'v', { timeoutMs: T });
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof RingDbError, `a RingDbError, got ${String(error)}`);
      const m = error.message;
      assert.equal(error.code, 'deadline-exceeded', m);
      assert.match(m, new RegExp(`${taker}: no answer in \\d+ ms`), m);
      assert.match(m, new RegExp(`${unconnected}: not reached: nothing was sent \\(no connection within \\d+ ms\\)`), m);
      assert.match(m, new RegExp(`${refused}: not reached: nothing was sent \\(connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+\\)`), m);
      assert.match(m, new RegExp(`Node ${taker} took the request and did not answer: it may be hung; ` +
        `Node ${unconnected} accepted no connection in time, so nothing was sent to it: it may be hung`), m);
      assert.doesNotMatch(m, new RegExp(`${unconnected}[^;]* took the request`), m);
      assert.match(m, /the write may still be applied by a node that answers late/);
      assert.match(m, new RegExp(`restart them \\(\`ringdb restart ${taker}\``), m);
    } finally {
      driver.close();
    }
  });
});

// A node's NotOwner (forwarding off, a partition moved) names the new owner and a newer map
// version, so the driver fetches the map from the controller while the call runs. With the
// controller hung (SIGSTOPped) the request still follows the owner the node named at once: it
// waited for the fetch first and spent the call's deadline on it. A fetch that is still running
// when the call fails for another reason is held to the call's deadline (it waited out its own
// 15 s) and named in the error.
describe('driver deadline: a NotOwner redirect while the controller is hung (real processes)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  const stopped: number[] = [];
  /** Drivers holding the map from before the move, one per case (a hung fetch stays shared by a driver). */
  const stale: Driver[] = [];
  let moved: string;
  let oldOwner: string;
  let newOwner: { id: string; pid: number };
  /** The map version after the move (the stale drivers hold an older one). */
  let movedVersion: number;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    await ctl.client.startCluster({ nodes: 2, replicationFactor: 1, writeQuorum: 1, readQuorum: 1, numPartitions: 8, enableForwarding: false });
    for (let i = 0; i < 3; i++) stale.push(await Driver.connect(ctl.client, { watch: false }));
    const added = await ctl.client.addNodeWithMoves();
    newOwner = { id: added.node.id, pid: added.node.pid };
    const fresh = await Driver.connect(ctl.client, { watch: false });
    try {
      const key = Array.from({ length: 500 }, (_, i) => `m${i}`)
        .find((k) => stale[0].replicasFor(Buffer.from(k), true)[0] !== fresh.replicasFor(Buffer.from(k), true)[0]);
      assert.ok(key !== undefined, 'a key whose partition moved to the new node');
      assert.equal(fresh.replicasFor(Buffer.from(key), true)[0], newOwner.id);
      moved = key;
      oldOwner = stale[0].replicasFor(Buffer.from(moved), true)[0];
      movedVersion = (await fresh.put(moved, 'v')).mapVersion;
    } finally {
      fresh.close();
    }
    process.kill(ctl.pid, 'SIGSTOP');
    stopped.push(ctl.pid);
  });

  after(async () => {
    for (const d of stale) d.close();
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    await ctl?.stop();
    data?.remove();
  });

  it('follows the owner the NotOwner answer names without waiting for the map', async () => {
    const driver = stale[0];
    const got = await timed(driver.get(moved, { timeoutMs: T }));
    assert.equal(got.error, undefined, got.error?.message);
    assert.ok(got.took < T / 2, `answered after ${got.took} ms with timeoutMs ${T}`);
    assert.equal(got.result?.value.toString(), 'v');
    assert.equal(got.result?.node, newOwner.id);
    assert.deepEqual(got.result?.passedOver.map((a) => a.node), [oldOwner]);
    assert.match(got.result?.passedOver[0].answer ?? '', new RegExp(`^NotOwner \\(partition \\d+ is on ${newOwner.id}\\)$`));
    // Routed by the map the old owner named, not the driver's own (still the old one).
    assert.equal(got.result?.mapVersion, movedVersion);
    // The map is still the old one (the controller is hung), so a put takes the same path.
    const put = await timed(driver.call('Put', (c) => c.put, { key: Buffer.from(moved), value: Buffer.from('w') }, false, { timeoutMs: T }));
    assert.equal(put.error, undefined, put.error?.message);
    assert.ok(put.took < T / 2, `answered after ${put.took} ms with timeoutMs ${T}`);
    assert.equal(put.result?.node, newOwner.id);
    assert.equal(put.result?.attempts, 2);
    assert.equal(put.result?.mapVersion, movedVersion);
    assert.deepEqual(put.result?.passedOver.map((a) => a.node), [oldOwner]);
    assert.match(put.result?.passedOver[0].answer ?? '', /^NotOwner /);
  });

  it('ends the call by its deadline, naming the NotOwner answer and the unfinished map fetch, when the named owner does not answer either', async () => {
    process.kill(newOwner.pid, 'SIGSTOP');
    stopped.push(newOwner.pid);
    // The new owner is 'no answer in N ms' when the first case's connection is reused (grpc-js shares it), 'not reached' otherwise.
    const r = await timed(stale[1].get(moved, { timeoutMs: T }));
    assert.ok(r.took < BOUND_MS, `ended after ${r.took} ms with timeoutMs ${T}: ${r.error?.message ?? 'answered'}`);
    assert.ok(r.error, 'the call was expected to end with the deadline');
    assert.equal(r.error.code, 'deadline-exceeded', r.error.message);
    assert.match(r.error.message, new RegExp(`^Get: .*tried ${oldOwner}: NotOwner \\(partition \\d+ is on ${newOwner.id}\\); ${newOwner.id}: (no answer in|not reached)`), r.error.message);
    assert.match(r.error.message, /; the partition map was being fetched from the controller, which had not answered\)\./, r.error.message);
  });

  it('does not end a call with the map fetch error of a shorter call that started the fetch it joined', async () => {
    // Runs after the case before: the new owner and the controller are both stopped.
    const driver = stale[2];
    const short = timed(driver.get(moved, { timeoutMs: 300 }));
    const long = await timed(driver.get(moved, { timeoutMs: T }));
    assert.equal((await short).error?.code, 'deadline-exceeded');
    assert.ok(long.error, 'the call was expected to end with the deadline');
    // With the fetch capped at the short call's 300 ms, the long call got its Describe failure instead of its own deadline error.
    assert.doesNotMatch(long.error.message, /Describe/, long.error.message);
    assert.equal(long.error.code, 'deadline-exceeded', long.error.message);
    assert.match(long.error.message, new RegExp(`^Get: .*tried ${oldOwner}: NotOwner`), long.error.message);
  });
});
