// The hints a cluster holds, as the controller reports them for the Hints view: with a replica
// killed, writes through the driver leave hints on substitutes (sloppy quorum); Describe and
// Watch show them per holder and target, and show them gone once the replica is back.

import { strict as assert } from 'node:assert';
import { Driver, launchController, type ClusterEvent, type ControllerHandle, type HintSummary } from '../client';
import { engineBundles, eventually, tempDataDir } from './test-support';

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
});
