// What a non-replica coordinator (forwarding on) answers when it cannot forward a write as asked
// (real processes, 5 nodes, N=3 W=2 R=2): with every replica of the key's partition down it
// says so, instead of a NotOwner that sends the client to a dead owner; and a forwarded write's
// refusal by the replica reaches the client as the replica worded it.

import { strict as assert } from 'node:assert';
import { ControllerClient, Driver, RingDbError, launchController, type ControllerHandle } from '../client/index';
import { engineBundles, eventually, tempDataDir } from '../cluster/test-support';

describe('a non-replica coordinator that cannot forward (real processes, 5 nodes, N=3 W=2 R=2)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;
  let driver: Driver;
  let replicas: string[];
  let others: string[];

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    client = ctl.client;
    const cluster = await client.startCluster({ nodes: 5, replicationFactor: 3, writeQuorum: 2, readQuorum: 2, numPartitions: 64 });
    driver = await Driver.connect(client, { watch: false });
    replicas = driver.replicasFor(Buffer.from('rk1'), false);
    others = cluster.nodes.map((n) => n.id).filter((id) => !replicas.includes(id));
    for (const id of replicas) await client.killNode(id);
  });

  after(async () => {
    driver?.close();
    await ctl?.stop();
    data?.remove();
  });

  it('answers UNAVAILABLE naming the down replicas, not NotOwner pointing at a dead owner', async () => {
    const node = await client.nodeClient(others[0]);
    try {
      // The node's heartbeat has to see the replicas down first; until then it forwards and fails.
      const e = await eventually('the replicas-down answer', 30_000, async () => {
        const err = await node.put('rk1', 'x').then(() => assert.fail('the write was expected to fail'), (x: unknown) => x);
        assert.ok(err instanceof RingDbError, String(err));
        assert.doesNotMatch(err.message, /not a replica of partition/, err.message);
        return /^all 3 replicas/.test(err.message) ? err : undefined;
      });
      assert.equal(e.code, 'unavailable');
      assert.match(e.message, new RegExp(`^all 3 replicas of partition \\d+ \\(${replicas.join(', ')}\\) are down or unreachable from ${others[0]}; nothing was written; restart one of them \\(ringdb restart ${replicas[0]}\\)`), e.message);
    } finally {
      node.close();
    }
  });

  it('the driver, which tries the replicas themselves, names them and the way out, not a raw connection error', async () => {
    const e = await driver.put('rk1', 'x').then(() => assert.fail('the write was expected to fail'), (x: unknown) => x);
    assert.ok(e instanceof RingDbError, String(e));
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, new RegExp(`^Put: none could be reached of the replicas tried \\(${replicas.join(', ')}\\); nothing was written\\. Restart one of them \\(\`ringdb restart ${replicas[0]}\``), e.message);
    assert.doesNotMatch(e.message, /ECONNREFUSED|is it running/);
    // A read says the same without the write's clause.
    const r = await driver.get('rk1').then(() => assert.fail('the read was expected to fail'), (x: unknown) => x);
    assert.ok(r instanceof RingDbError, String(r));
    assert.match(r.message, new RegExp(`^Get: none could be reached of the replicas tried \\(${replicas.join(', ')}\\)\\. Restart one of them`), r.message);
  });

  it('passes the replica\'s own answer to a forwarded write on as it is', async () => {
    const [via, replica] = others;
    // A key whose only live replica is `replica`: `via` forwards it there, and the replica cannot place W=3.
    const key = Array.from({ length: 500 }, (_, i) => `fw${i}`).find((k) => {
      const r = driver.replicasFor(Buffer.from(k), false);
      return r.includes(replica) && !r.includes(via);
    });
    assert.ok(key, `a key replicated on ${replica} and not on ${via}`);
    const e = await eventually('the forwarded W refusal', 30_000, async () => {
      const err = await driver.put(key, 'v', { via, w: 3 }).then(() => assert.fail('the write was expected to fail'), (x: unknown) => x);
      assert.ok(err instanceof RingDbError, String(err));
      assert.doesNotMatch(err.message, /internal error/, err.message);
      return /^w: 3 acknowledgements needed/.test(err.message) ? err : undefined;
    });
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /^w: 3 acknowledgements needed but only 2 of the nodes for partition \d+ are up \(.*\); nothing was written$/, e.message);
  });
});
