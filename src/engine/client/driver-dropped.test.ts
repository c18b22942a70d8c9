// A write whose coordinator took it and died before answering (real processes, 3 nodes, N=3
// W=3): the driver's call to it ends "Connection dropped", the other replicas refuse the
// connection. The coordinator had written the entry before waiting for its replicas, so the
// driver's error must not say that nothing was written, nor that the coordinator was not reached.

import { strict as assert } from 'node:assert';
import { ControllerClient, Driver, RingDbError, launchController, type ControllerHandle } from './index';
import { engineBundles, tempDataDir } from '../cluster/test-support';

describe('driver: a write whose coordinator died holding it (real processes, 3 nodes)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;
  const pids = new Map<string, number>();
  const stopped: number[] = [];

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    client = ctl.client;
    // Slow heartbeats: a SIGSTOPped replica stays up to the coordinator, which waits for it.
    const cluster = await client.startCluster({ nodes: 3, replicationFactor: 3, writeQuorum: 3, readQuorum: 1, numPartitions: 8, heartbeatIntervalMs: 5_000 });
    for (const n of cluster.nodes) pids.set(n.id, n.pid);
  });

  after(async () => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // killed since
      }
    }
    await ctl?.stop();
    data?.remove();
  });

  it('says the write may have been applied by the node that lost the connection, and does not call it unreached', async () => {
    const driver = await Driver.connect(client, { watch: false });
    try {
      await driver.put('d', 'v');
      const [coordinator, ...others] = driver.replicasFor(Buffer.from('d'), false);
      // The other replicas hang: the coordinator writes the entry and waits for their acknowledgements.
      for (const id of others) {
        process.kill(pids.get(id) as number, 'SIGSTOP');
        stopped.push(pids.get(id) as number);
      }
      const pending = driver.put('d', 'w', { timeoutMs: 8_000 }).then(() => assert.fail('the put was expected to fail'), (e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // All three die at once: the coordinator mid-call, the others before the driver tries them.
      for (const id of [coordinator, ...others]) process.kill(pids.get(id) as number, 'SIGKILL');
      const e = await pending;
      assert.ok(e instanceof RingDbError, String(e));
      assert.doesNotMatch(e.message, /nothing was written/, e.message);
      assert.doesNotMatch(e.message, new RegExp(`${coordinator}: not reached`), e.message);
      assert.match(e.message, new RegExp(`${coordinator}: took the request and lost the connection \\(UNAVAILABLE: Connection dropped\\)`), e.message);
      assert.match(e.message, new RegExp(`may have been written by ${coordinator}`), e.message);
    } finally {
      driver.close();
    }
  });
});
