// KillNode is fault injection: it acts at once, not after the topology operation under way (a
// kill meant to land in the middle of a restart or an AddNode waited for it to finish, and the
// CLI's call gave up first under load). Real processes, 3 nodes.

import { strict as assert } from 'node:assert';
import { launchController, type ControllerHandle } from '../client';
import { engineBundles, tempDataDir } from './test-support';

describe('KillNode during another operation (real processes)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    await ctl.client.startCluster({ nodes: 3 });
  });

  after(async () => {
    await ctl?.stop();
    data?.remove();
  });

  it('kills a node while a restart of another is still under way, and the restart finishes', async () => {
    const order: string[] = [];
    const restart = ctl.client.restartNode('n1').then((r) => {
      order.push('restart');
      return r;
    });
    // Queued behind the restart (graceful stop, spawn, membership), the kill would come second.
    const killed = await ctl.client.killNode('n2').then((n) => {
      order.push('kill');
      return n;
    });
    const restarted = await restart;
    assert.deepEqual(order, ['kill', 'restart']);
    assert.equal(killed.state, 'down');
    assert.equal(restarted.state, 'up');
    const nodes = (await ctl.client.describe()).nodes;
    assert.deepEqual(nodes.map((n) => [n.id, n.state]), [['n1', 'up'], ['n2', 'down'], ['n3', 'up']]);
    assert.match(nodes[1].reason, /killed by KillNode/);
  });

  it('ends a restart of the node it kills with a message naming KillNode, and the node is down until restarted', async () => {
    // n2 is down from the test before: a restart starts it from there.
    const restart = ctl.client.restartNode('n2').then(() => undefined, (e: unknown) => e);
    const deadline = Date.now() + 30_000;
    while ((await ctl.client.describe()).nodes[1].state !== 'starting') {
      assert.ok(Date.now() < deadline, 'n2 never reported starting');
      await new Promise((r) => setTimeout(r, 5));
    }
    await ctl.client.killNode('n2');
    const e = await restart;
    assert.ok(e instanceof Error, 'the restart was expected to fail');
    assert.match(e.message, /node n2 was killed by KillNode while it was starting; restart it \(`ringdb restart n2`/);
    const n2 = (await ctl.client.describe()).nodes[1];
    assert.equal(n2.state, 'down');
    assert.match(n2.reason, /killed by KillNode/);
    assert.equal((await ctl.client.restartNode('n2')).state, 'up');
  });
});
