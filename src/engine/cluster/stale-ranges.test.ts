// A node that is down while a move releases ranges from it (real processes, 4 nodes, N=2 W=1 R=1,
// a secondary index on "color"): once restarted it drops what it no longer replicates, and a
// secondary query never answers keys whose current value no longer matches. Found by an
// exploratory test: the stale node kept the range forever and every query listed its keys.

import { strict as assert } from 'node:assert';
import { ControllerClient, ConvergenceClient, Driver, launchController, type ControllerHandle } from '../client';
import { addNode, PartitionMap, preferenceList } from '../partitioning/index';
import { engineBundles, storedPartitionKeys, tempDataDir } from './test-support';

const DOCS = 200;
const COLORS = 5;
const doc = (i: number) => `d${String(i).padStart(3, '0')}`;

describe('a node down during a data move (real processes)', function () {
  this.timeout(240_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;
  let driver: Driver;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller, statsIntervalMs: 500 });
    client = ctl.client;
    await client.startCluster({
      nodes: 4, replicationFactor: 2, writeQuorum: 1, readQuorum: 1, numPartitions: 16, partitionsPerNode: 4, indexFields: ['color'], merkleIntervalMs: 600_000,
    });
    driver = await Driver.connect(client);
    for (let i = 0; i < DOCS; i++) await driver.put({ partitionKey: doc(i) }, JSON.stringify({ color: `c${i % COLORS}`, n: i }));
  });

  after(async () => {
    driver?.close();
    await ctl?.stop();
    data?.remove();
  });

  const currentMap = async () => PartitionMap.fromJSON(JSON.parse((await client.getPartitionMap()).mapJson));

  async function storedElsewhere(id: string): Promise<string[]> {
    const map = await currentMap();
    const node = (await client.describe()).nodes.find((n) => n.id === id);
    assert.ok(node, `${id} is a member`);
    const stored = await storedPartitionKeys(node.address, client.target.token);
    return [...stored].filter((k) => !preferenceList(map, map.locate(Buffer.from(k)).id).includes(id)).sort();
  }

  it('restarted after an add-node, the node drops the ranges it released and queries show current values only', async () => {
    const before = await currentMap();
    const keys = Array.from({ length: DOCS }, (_, i) => doc(i));
    const releasedBy = (id: string, after: PartitionMap) => keys.filter((k) => {
      const replicas = (m: PartitionMap) => preferenceList(m, m.locate(Buffer.from(k)).id);
      return replicas(before).includes(id) && !replicas(after).includes(id);
    });
    // The node the add-node (of n5) takes the most keys from is the one that is down meanwhile.
    const predicted = addNode(before, 'n5').map;
    const down = [...before.nodes].sort((a, b) => releasedBy(b, predicted).length - releasedBy(a, predicted).length)[0];
    await client.killNode(down);
    await client.addNodeWithMoves();
    assert.ok(releasedBy(down, await currentMap()).length > 0, `the add-node took keys away from ${down} (else this test proves nothing)`);

    await client.restartNode(down);
    assert.deepEqual(await storedElsewhere(down), [], `${down} still stores keys of partitions it no longer replicates`);

    for (let i = 0; i < DOCS; i++) await driver.put({ partitionKey: doc(i) }, JSON.stringify({ color: `z${i % COLORS}`, n: i }));
    const asked = (await client.describe()).nodes.find((n) => n.id !== down);
    assert.ok(asked);
    const conv = new ConvergenceClient({ address: asked.address, token: client.target.token, nodeId: asked.id });
    for (let c = 0; c < COLORS; c++) {
      const r = await conv.queryIndex('color', `c${c}`, { kind: 'secondary' });
      assert.deepEqual(r.keys.map((k) => k.toString()), [], `color c${c} answered keys that were rewritten (nodes ${r.nodes.join(', ')})`);
      const now = await conv.queryIndex('color', `z${c}`, { kind: 'secondary' });
      assert.equal(now.keys.length, DOCS / COLORS, `color z${c}`);
    }
  });
});
