// A coordinator's own answer reaches the caller (real processes, 3 nodes, N=3 W=3 R=1, a router):
// a quorum timeout or refusal is UNAVAILABLE like an unreachable node, but it comes from a live
// coordinator that may have written already, so the driver and the router must pass it on as it
// is instead of retrying on the other replicas and reporting the last connection failure.

import { strict as assert } from 'node:assert';
import * as pb from '../gen/ringdb/v1/node';
import { clientArgs, unary } from '../rpc/client';
import { ControllerClient, Driver, NodeClient, RingDbError, launchController, type ControllerHandle } from './index';
import { engineBundles, eventually, tempDataDir } from '../cluster/test-support';

describe('quorum answers through the driver and the router (real processes, 3 nodes, N=3 W=3 R=1)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;
  let router: NodeClient;
  const pids = new Map<string, number>();
  const addresses = new Map<string, string>();
  let stopped: number | undefined;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    client = ctl.client;
    const cluster = await client.startCluster({ nodes: 3, replicationFactor: 3, writeQuorum: 3, readQuorum: 1, numPartitions: 8, router: { port: 0 } });
    for (const n of cluster.nodes) {
      pids.set(n.id, n.pid);
      addresses.set(n.id, n.address);
    }
    router = new NodeClient({ address: cluster.routerAddress as string, token: client.target.token, nodeId: 'router' });
  });

  after(async () => {
    if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
    router?.close();
    await ctl?.stop();
    data?.remove();
  });

  /** What `node` itself stores for `key` (a direct read: no quorum, no other node asked). */
  async function storedOn(node: string, key: string): Promise<string | undefined> {
    const raw = new pb.NodeServiceClient(...clientArgs(addresses.get(node) as string));
    try {
      const r = await unary(raw, raw.get, { key: Buffer.from(key), direct: true }, { token: client.target.token, timeoutMs: 5000 });
      return r.found ? Buffer.from(r.value).toString() : undefined;
    } finally {
      raw.close();
    }
  }

  function rejection(p: Promise<unknown>): Promise<RingDbError> {
    return p.then(() => assert.fail('the write was expected to fail'), (e: unknown) => {
      assert.ok(e instanceof RingDbError, `a RingDbError, got ${String(e)}`);
      return e;
    });
  }

  it('a quorum timeout from a live coordinator is the answer: no retry elsewhere, no "nothing was written" on top of a write', async () => {
    const driver = await Driver.connect(client);
    try {
      const [owner, stalled, other] = driver.replicasFor(Buffer.from('d'), false);
      stopped = pids.get(stalled) as number;
      process.kill(stopped, 'SIGSTOP');
      const started = Date.now();
      const e = await rejection(driver.put('d', 'D1'));
      const took = Date.now() - started;
      assert.equal(e.code, 'unavailable');
      assert.match(e.message, new RegExp(`^w: only 2 of 3 nodes acknowledged ${owner}:\\d+ in time \\(${owner}, ${other}\\); it is durable there`), e.message);
      assert.ok(took < 9000, `answered after the coordinator's quorum wait, not after retries: ${took} ms`);
      assert.equal(await storedOn(owner, 'd'), 'D1');
      assert.equal(await storedOn(other, 'd'), 'D1');

      const viaRouter = await rejection(router.put('d', 'D2'));
      assert.equal(viaRouter.code, 'unavailable');
      assert.match(viaRouter.message, /^w: (only 2 of 3 nodes acknowledged|3 acknowledgements needed but only 2 of the nodes)/, viaRouter.message);
    } finally {
      if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
      stopped = undefined;
      driver.close();
    }
  });

  it('the router fails over from a hung owner within the caller\'s deadline, and passes the next coordinator\'s answer on', async () => {
    const driver = await Driver.connect(client);
    try {
      const [owner, next] = driver.replicasFor(Buffer.from('h'), false);
      stopped = pids.get(owner) as number;
      process.kill(stopped, 'SIGSTOP');
      // The client's 10 s deadline: each relay attempt gets half of what is left, not a fixed 15 s.
      const e = await rejection(router.put('h', 'H1'));
      assert.equal(e.code, 'unavailable', e.message);
      // The next coordinator times out on the owner, or by then knows it is down and refuses up front.
      assert.match(e.message, new RegExp(`^w: (only 2 of 3 nodes acknowledged ${next}:\\d+ in time|3 acknowledgements needed but only 2 of the nodes)`), e.message);
    } finally {
      if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
      stopped = undefined;
      driver.close();
    }
  });

  it('a W refusal is passed on, not replaced by the connection failure of the dead owner', async () => {
    const driver = await Driver.connect(client);
    try {
      const [owner] = driver.replicasFor(Buffer.from('a'), false);
      await client.killNode(owner);
      // Until the live replicas see the owner down they write and time out waiting for it; then they refuse up front.
      const refusal = await eventually('a W refusal', 30_000, async () => {
        const e = await rejection(driver.put('a', '2'));
        assert.doesNotMatch(e.message, /cannot reach|ECONNREFUSED/, e.message);
        return /^w: 3 acknowledgements needed but only 2 of the nodes for partition \d+ are up/.test(e.message) ? e : undefined;
      });
      assert.equal(refusal.code, 'unavailable');
      assert.match(refusal.message, /nothing was written$/);

      // The router's coordinator may be another node, whose heartbeats see the owner down a little later:
      // until then its answer is the W timeout; either way a W answer, never the dead owner's connection failure.
      const viaRouter = await eventually('the router passing a W refusal on', 30_000, async () => {
        const e = await rejection(router.put('a', '3'));
        assert.equal(e.code, 'unavailable');
        assert.match(e.message, /^w: /, e.message);
        assert.doesNotMatch(e.message, /cannot reach|ECONNREFUSED/, e.message);
        return /^w: 3 acknowledgements needed but only 2 of the nodes for partition \d+ are up/.test(e.message) ? e : undefined;
      });
      assert.match(viaRouter.message, /nothing was written$/);

      // A node that cannot be reached still sends the request on: a driver that has not heard the owner died reads elsewhere.
      const unaware = await Driver.connect(client, { watch: false });
      try {
        unaware.markUp(owner);
        const r = await unaware.get('d');
        assert.notEqual(r.node, owner);
      } finally {
        unaware.close();
      }
    } finally {
      driver.close();
    }
  });
});
