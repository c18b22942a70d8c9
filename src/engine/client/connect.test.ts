// connectController: a handle on a controller someone else launched (here a detached one, as
// `ringdb start` leaves it), with the same client API; closing it leaves the controller running,
// stopping it ends the controller and its nodes.

import { strict as assert } from 'node:assert';
import { engineBundles, tempDataDir, waitForExit } from '../cluster/test-support';
import { NoClusterError } from './errors';
import { connectController, launchController, type ControllerHandle } from './launch';
import { isProcessAlive } from './state-file';

describe('connectController (real processes)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let launched: ControllerHandle | undefined;

  before(async () => {
    data = tempDataDir();
    launched = await launchController({ dataDir: data.dir, controllerScript: (await engineBundles()).controller, detached: true });
    launched.client.close();
  });

  after(async () => {
    if (launched && isProcessAlive(launched.pid)) await launched.stop(5000);
    data?.remove();
  });

  it('says no cluster runs in a folder without a live controller', () => {
    const empty = tempDataDir();
    try {
      assert.throws(() => connectController(empty.dir), (e: unknown) => e instanceof NoClusterError);
    } finally {
      empty.remove();
    }
  });

  it('drives the running controller, leaves it running when closed, and stops it and its nodes on stop()', async () => {
    const first = connectController(data.dir);
    assert.equal(first.launched, false);
    assert.equal(first.pid, launched?.pid);
    const cluster = await first.client.startCluster({ nodes: 2, replicationFactor: 2, writeQuorum: 1, readQuorum: 1 });
    const nodePids = cluster.nodes.map((n) => n.pid);
    assert.equal(nodePids.length, 2);
    first.client.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(isProcessAlive(first.pid), 'closing a connected handle does not stop the controller');

    const second = connectController(data.dir);
    assert.deepEqual((await second.client.describe()).nodes.map((n) => n.state), ['up', 'up']);
    await second.client.stopCluster();
    const exit = await second.stop(5000);
    assert.deepEqual(exit, { code: null, signal: null }, 'not our child: the exit code is unknown');
    assert.ok(await waitForExit(second.pid, 5000), 'the controller is gone');
    for (const pid of nodePids) assert.ok(await waitForExit(pid, 5000), `node pid ${pid} is gone`);
  });
});
