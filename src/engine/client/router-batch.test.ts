// A BatchPut through the router split over two coordinators (real processes, 3 nodes, N=1 W=1,
// slow heartbeats so a SIGSTOPped node stays "up"): one group is written, the other's
// coordinator hangs. The router's error must say which entries were acknowledged and which
// were not; it used to pass on the failed group's answer alone, hiding the written group.

import { strict as assert } from 'node:assert';
import { ControllerClient, Driver, NodeClient, RingDbError, launchController, type ControllerHandle } from './index';
import { engineBundles, tempDataDir } from '../cluster/test-support';

const T = 4000;

describe('a BatchPut through the router with one group on a hung node (real processes, 3 nodes, N=1 W=1)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;
  let router: NodeClient;
  const pids = new Map<string, number>();
  let stopped: number | undefined;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    client = ctl.client;
    const cluster = await client.startCluster({ nodes: 3, replicationFactor: 1, writeQuorum: 1, readQuorum: 1, numPartitions: 8, heartbeatIntervalMs: 5000, router: { port: 0 } });
    for (const n of cluster.nodes) pids.set(n.id, n.pid);
    router = new NodeClient({ address: cluster.routerAddress as string, token: client.target.token, nodeId: 'router' });
  });

  after(async () => {
    if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
    router?.close();
    await ctl?.stop();
    data?.remove();
  });

  it('says which group was written and acknowledged and which was not', async () => {
    const driver = await Driver.connect(client, { watch: false });
    const firstOf = (key: Buffer) => driver.replicasFor(key, false)[0];
    const written = 'r0';
    const writer = firstOf(Buffer.from(written));
    // Not UTF-8: the errors name it as the CLI prints such a key (0x and hex), not as U+FFFD marks.
    const onHung = Array.from({ length: 200 }, (_, i) => Buffer.from([0xff, 0xfe, i])).find((k) => firstOf(k) !== writer) as Buffer;
    const hung = firstOf(onHung);
    const onHungText = `0x${onHung.toString('hex')}`;
    driver.close();
    stopped = pids.get(hung) as number;
    process.kill(stopped, 'SIGSTOP');
    const started = Date.now();
    const e = await router.batchPut([{ key: written, value: 'a' }, { key: onHung, value: 'b' }], { timeoutMs: T }).then(
      () => assert.fail('the batch was expected to fail'),
      (err: unknown) => {
        assert.ok(err instanceof RingDbError, `a RingDbError, got ${String(err)}`);
        return err;
      });
    const took = Date.now() - started;
    assert.ok(took < T + 2000, `answered after ${took} ms with timeoutMs ${T}`);
    assert.match(e.message, /^BatchPut through the router: /, e.message);
    assert.match(e.message, new RegExp(`The 1 entry \\(entries\\[0\\] "${written}"\\) sent to ${writer} was written \\(${writer}:\\d+\\) and acknowledged by W nodes: it needs no retry`), e.message);
    assert.match(e.message, new RegExp(`The 1 entry \\(entries\\[1\\] ${onHungText}\\) for ${hung}'s partitions was not acknowledged; the answer, which numbers the group's entries from 0: .*${hung}`), e.message);
    assert.doesNotMatch(e.message, /\uFFFD/, e.message);
  });
});
