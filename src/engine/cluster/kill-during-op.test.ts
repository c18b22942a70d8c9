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
});
