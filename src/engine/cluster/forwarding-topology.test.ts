// A cluster whose ops travel a star hop by hop (real processes): every node is a replica of every
// key by default, a restarted node starts with the star the others have (it took itself for the
// hub before the membership push corrected it, resending its log to the other leaves), and
// AddNode is refused because a new node would leave a hop that replicates nothing.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Driver, launchController, RingDbError, type ControllerHandle } from '../client';
import { engineBundles, eventually, tempDataDir } from './test-support';

describe('a star topology (real processes)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
  });

  after(async () => {
    await ctl?.stop();
    data?.remove();
  });

  it('replicates every key on every node, restarts a leaf as a leaf, and refuses AddNode', async () => {
    const client = ctl.client;
    const started = await client.startCluster({ nodes: 4, topology: 'star' });
    assert.equal(JSON.parse(started.specJson).replicationFactor, 4, 'N is the node count');
    const driver = await Driver.connect(client);
    try {
      const w = await driver.put('k', 'v', { via: 'n3' });
      assert.equal(w.replicas.length, 2, 'the leaf and the hub acknowledge it');
      // The other leaves get it through the hub; their heartbeat answers tell n3 they hold it.
      const all = await driver.put('k-all', 'v', { via: 'n3', w: 4 });
      assert.deepEqual([...all.replicas].sort(), ['n1', 'n2', 'n3', 'n4'], 'W=4 from a leaf counts the leaves it does not send to');
    } finally {
      driver.close();
    }

    await client.restartNode('n3');
    const served = readFileSync(join(data.dir, 'n3', 'node.log'), 'utf8').split('\n').filter((l) => l.includes('serving on')).pop() ?? '';
    assert.match(served, /topology: \{"n1":\["n2","n3","n4"\],"n2":\["n1"\],"n3":\["n1"\],"n4":\["n1"\]\}/, served);

    await assert.rejects(client.addNode(), (e: unknown) => e instanceof RingDbError && e.code === 'failed-precondition'
      && /^AddNode: a star needs every node to hold every key, and a new node would leave 4 replicas for 5 nodes/.test(e.message));
    assert.deepEqual((await client.describe()).nodes.map((n) => n.id), ['n1', 'n2', 'n3', 'n4']);
  });

  it('refuses a topology map that does not fit the members the folder brings back', async () => {
    const client = ctl.client;
    await client.removeNode('n4');
    await client.stopCluster();
    const map = { n1: ['n2'], n2: ['n3'], n3: ['n4'], n4: ['n1'] };
    await assert.rejects(client.startCluster({ nodes: 4, topology: map }), (e: unknown) => e instanceof RingDbError && e.code === 'failed-precondition'
      && /^the spec's topology map does not fit this folder's members \(n1, n2, n3\): topology\.n3\[0\]: must be .*"n4"/.test(e.message));
    assert.deepEqual((await client.describe()).nodes.filter((n) => n.state === 'up'), []);
    const fits = await client.startCluster({ nodes: 3, topology: { n1: ['n2'], n2: ['n3'], n3: ['n1'] } });
    assert.deepEqual(fits.nodes.map((n) => [n.id, n.state]), [['n1', 'up'], ['n2', 'up'], ['n3', 'up']]);
  });

  it('routes around a dead hop of the ring: the node before it reaches the node after it, W=2 holds, and the hop gets everything back', async () => {
    const client = ctl.client;
    await client.killNode('n2');
    const driver = await Driver.connect(client);
    const own = async (node: string, key: string) => {
      const c = await client.nodeClient(node);
      try {
        return await c.getOwnCopy(key);
      } finally {
        c.close();
      }
    };
    try {
      // Until n1's heartbeat declares n2 down, its op waits for n2 and W=2 can time out.
      const w = await eventually('a W=2 write from n1 with n2 dead', 30_000, async () => driver.put('around', 'v', { via: 'n1', w: 2 }).catch(() => undefined));
      assert.deepEqual([...w.replicas].sort(), ['n1', 'n3'], 'n3 took it from n1 directly');
      assert.equal((await own('n3', 'around')).value.toString(), 'v');
      const n1 = await client.nodeClient('n1');
      try {
        const dests = (await n1.stats()).peers.filter((p) => p.destination).map((p) => p.id).sort();
        assert.deepEqual(dests, ['n2', 'n3'], 'n1 sends to n3 while n2 is down, and keeps n2\'s ops for its return');
      } finally {
        n1.close();
      }
      await client.restartNode('n2');
      await eventually('n2 has the write made while it was down', 30_000, async () => ((await own('n2', 'around')).found ? true : undefined));
      // Back to the ring: n1 sends to n2 alone again.
      const after = await client.nodeClient('n1');
      try {
        await eventually('n1 sends only to n2 again', 30_000, async () => {
          const peers = (await after.stats()).peers;
          return peers.filter((p) => p.destination).map((p) => p.id).join() === 'n2' ? true : undefined;
        });
      } finally {
        after.close();
      }
    } finally {
      driver.close();
    }
  });
});
