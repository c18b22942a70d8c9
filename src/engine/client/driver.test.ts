// The driver's read balancing over real processes (3 nodes, N=3, R=1, the nodes' own balancing
// off): with loadBalanceReads the driver sends each read to the next replica in turn, which the
// nodes' Get counters show; without it every read goes to the owner.

import { strict as assert } from 'node:assert';
import { ControllerClient, Driver, NodeClient, launchController, type ControllerHandle } from './index';
import { engineBundles, eventually, tempDataDir } from '../cluster/test-support';

const READS = 30;

describe('driver read balancing (real processes, 3 nodes, N=3 R=1)', function () {
  this.timeout(120_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;
  const nodes = new Map<string, NodeClient>();

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller, statsIntervalMs: 500 });
    client = ctl.client;
    const cluster = await client.startCluster({ nodes: 3, replicationFactor: 3, writeQuorum: 2, readQuorum: 1, numPartitions: 8, loadBalanceReads: false });
    for (const n of cluster.nodes) nodes.set(n.id, new NodeClient({ address: n.address, token: client.target.token, nodeId: n.id }));
  });

  after(async () => {
    for (const n of nodes.values()) n.close();
    await ctl?.stop();
    data?.remove();
  });

  /** Get requests each node served (coordinated or asked by a coordinator) since `before`. */
  async function getsSince(before: Map<string, number>): Promise<Map<string, number>> {
    const now = new Map<string, number>();
    for (const [id, n] of nodes) now.set(id, (await n.stats()).counters.gets - (before.get(id) ?? 0));
    return now;
  }

  async function readMany(driver: Driver): Promise<{ gets: Map<string, number>; servedBy: Map<string, number> }> {
    const before = await getsSince(new Map());
    const servedBy = new Map<string, number>();
    for (let i = 0; i < READS; i++) {
      const r = await driver.get({ partitionKey: 'balanced' });
      assert.equal(r.value.toString(), 'v');
      servedBy.set(r.node, (servedBy.get(r.node) ?? 0) + 1);
    }
    return { gets: await getsSince(before), servedBy };
  }

  it('spreads reads over the replicas with loadBalanceReads, and sends them all to the owner without', async () => {
    const plain = await Driver.connect(client, { watch: false });
    const balanced = await Driver.connect(client, { watch: false, loadBalanceReads: true });
    try {
      await plain.put({ partitionKey: 'balanced' }, 'v');
      const owner = plain.replicasFor(Buffer.from('balanced'), false)[0];
      const others = [...nodes.keys()].filter((id) => id !== owner);

      const direct = await readMany(plain);
      assert.deepEqual([...direct.servedBy], [[owner, READS]], 'the plain driver asks the owner every time');
      for (const id of others) assert.equal(direct.gets.get(id), 0, `${id} served no Get without balancing`);

      const spread = await readMany(balanced);
      assert.equal(spread.servedBy.size, 3, `every replica coordinated reads: ${JSON.stringify([...spread.servedBy])}`);
      for (const [id, n] of spread.servedBy) assert.ok(n >= READS / 3 - 1, `${id} coordinated ${n} of ${READS} reads (round robin)`);
      for (const id of others) assert.ok((spread.gets.get(id) ?? 0) >= READS / 3 - 1, `${id} counted ${spread.gets.get(id)} Gets with balancing`);
    } finally {
      plain.close();
      balanced.close();
    }
  });
});

describe('driver with N=5 when every replica of a key went down unseen (real processes, 7 nodes)', function () {
  this.timeout(180_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;

  before(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller });
    client = ctl.client;
    await client.startCluster({ nodes: 7, replicationFactor: 5, writeQuorum: 2, readQuorum: 2, numPartitions: 16, heartbeatIntervalMs: 100 });
  });

  after(async () => {
    await ctl?.stop();
    data?.remove();
  });

  it('tries the nodes that are up after the five replicas, and the write is kept as hints there', async () => {
    // Connected before the kills and not watching: it still takes every replica for up.
    const stale = await Driver.connect(client, { watch: false });
    try {
      const replicas = stale.replicasFor(Buffer.from('n5key'), false);
      assert.equal(replicas.length, 5);
      const others = (await client.describe()).nodes.map((n) => n.id).filter((id) => !replicas.includes(id));
      for (const id of replicas) await client.killNode(id);
      for (const id of others) {
        const node = await client.nodeClient(id);
        try {
          await eventually(`${id} sees every replica down`, 30_000, async () => {
            const peers = (await node.stats()).peers;
            return replicas.every((r) => peers.find((p) => p.id === r)?.state === 'down') || undefined;
          });
        } finally {
          node.close();
        }
      }
      const w = await stale.put('n5key', 'kept as hints');
      assert.ok(others.includes(w.node), `coordinated by ${w.node}, one of the nodes that are up (${others.join(', ')})`);
      assert.deepEqual(Object.keys(w.hinted).sort(), [...replicas].sort(), 'a hint is kept for every replica');
    } finally {
      stale.close();
    }
  });
});
