// The hints a cluster holds, as the controller reports them for the Hints view: with a replica
// killed, writes through the driver leave hints on substitutes (sloppy quorum); Describe and
// Watch show them per holder and target, and show them gone once the replica is back; a hint
// delivered and another taken between two Stats (the same count) are published too.

import { strict as assert } from 'node:assert';
import { Driver, launchController, type ClusterEvent, type ControllerHandle, type HintSummary } from '../client';
import * as pb from '../gen/ringdb/v1/node';
import { clientArgs, unary } from '../rpc/client';
import { engineBundles, eventually, partitionStats, tempDataDir } from './test-support';

describe('hints in Describe and Watch (real processes)', function () {
  this.timeout(180_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let driver: Driver | undefined;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller, statsIntervalMs: 200 });
  });

  after(async () => {
    driver?.close();
    await ctl?.stop();
    data?.remove();
  });

  it('reports hints for a killed replica, and their delivery after its restart', async () => {
    const client = ctl.client;
    await client.startCluster({ nodes: 4, replicationFactor: 3, writeQuorum: 2, readQuorum: 2, heartbeatIntervalMs: 100 });
    const d = await Driver.connect(client);
    driver = d;
    const events = client.watch();
    const seen: ClusterEvent[] = [];
    const following = (async () => {
      for await (const e of events) seen.push(e);
    })();
    await client.killNode('n4');
    const forN4 = (hints: HintSummary[] | undefined): HintSummary[] => (hints ?? []).filter((h) => h.target === 'n4' && h.count > 0);
    let i = 0;
    const held = await eventually('hints for n4 in Describe', 60_000, async () => {
      for (const end = i + 20; i < end; i++) await d.put({ partitionKey: `k${i}` }, `v${i}`);
      const rows = forN4((await client.describe()).hints);
      return rows.length ? rows : undefined;
    });
    assert.ok(held.every((h) => h.holder !== 'n4' && h.oldestUnixMs > 0), JSON.stringify(held));
    assert.ok(seen.some((e) => e.type === 'hints' && forN4(e.hints).length > 0), 'a hints event named n4');
    await client.restartNode('n4');
    await eventually('n4\'s hints delivered', 60_000, async () => (forN4((await client.describe()).hints).length === 0 ? true : undefined));
    events.close();
    await following;
    for (let k = 0; k < i; k += 7) assert.equal((await d.get({ partitionKey: `k${k}` })).value.toString(), `v${k}`);
  });

  it('publishes a holder\'s hints again when one was delivered and another taken at the same count', async () => {
    const client = ctl.client;
    const nodes = (await client.describe()).nodes;
    const n1 = nodes.find((n) => n.id === 'n1');
    const n4 = nodes.find((n) => n.id === 'n4');
    assert.ok(n1 && n4 && n4.state === 'up', JSON.stringify(nodes));
    const raw = new pb.NodeServiceClient(...clientArgs(n1.address));
    const store = (key: string, seq: number) => unary(raw, raw.storeHints, { hints: [{
      target: 'n4', opId: `n1:${900_000 + seq}`,
      entry: { key: Buffer.from(key), value: Buffer.from(key), deleted: false, version: { ts: 900_000 + seq, origin: 'n1', opId: '' } },
    }] }, { token: ctl.token, timeoutMs: 10_000 });
    const heldFor = async (count: number) => eventually(`n1 holding ${count} hint(s)`, 30_000, async () =>
      (Number((await partitionStats(n1.address, ctl.token)).hintsHeld) === count ? true : undefined));
    const n1ForN4 = async () => (await client.describe()).hints?.find((h) => h.holder === 'n1' && h.target === 'n4' && h.count > 0);
    const stopped = new Set<number>();
    const stop = (pid: number) => { process.kill(pid, 'SIGSTOP'); stopped.add(pid); };
    const resume = (pid: number) => { process.kill(pid, 'SIGCONT'); stopped.delete(pid); };
    try {
      // A stopped n4 takes no delivery: n1 keeps what it is given for it.
      stop(n4.pid);
      await store('swap-a', 1);
      const before = await eventually('n1\'s hint for n4 in Describe', 30_000, n1ForN4);
      assert.equal(before.count, 1);
      // With the controller stopped, its Stats cannot see the count pass through 0.
      stop(ctl.pid);
      resume(n4.pid);
      await heldFor(0);
      stop(n4.pid);
      await store('swap-b', 2);
      await heldFor(1);
      resume(ctl.pid);
      const after = await eventually('n1\'s hints published again', 30_000, async () => {
        const row = await n1ForN4();
        return row && row.changes !== before.changes ? row : undefined;
      });
      assert.equal(after.count, 1, 'the same count as before: only the changes tell the group apart');
      assert.equal(after.changes, before.changes + 2, 'one hint delivered and one taken');
      const listed = await unary(raw, raw.listHints, { limit: 10, target: 'n4' }, { token: ctl.token, timeoutMs: 10_000 });
      assert.deepEqual(listed.hints.map((h) => h.key.toString()), ['swap-b']);
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
      raw.close();
    }
  });
});
