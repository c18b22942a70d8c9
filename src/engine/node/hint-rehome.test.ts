// Hints for a node that is not in this node's partition map (real processes, 4 nodes, N=3 over
// n1..n3). A node the membership still names is joining (AddNode introduces it before any map
// names it): its hints wait for it. Only once the membership drops it too has it left, and its
// hints go to the current replicas of their keys.
import assert from 'node:assert/strict';
import { createPartitionMap, preferenceList, removeNode } from '../partitioning';
import { partitionMapToProto } from '../rpc/partition-map-proto';
import { TestCluster, waitFor } from './test-harness';

describe('hints for a node outside the partition map (real processes)', function () {
  this.timeout(120_000);
  let c: TestCluster;

  before(async () => {
    c = await TestCluster.start(4, { heartbeatIntervalMs: 100, antiEntropyIntervalMs: 3_600_000 });
    const map = createPartitionMap({ replicationFactor: 3, numPartitions: 8 }, ['n1', 'n2', 'n3']);
    const nodes = [...c.nodes.values()].map((n) => ({ id: n.id, address: n.address }));
    for (const id of c.nodes.keys()) assert.equal((await c.call(id, (x) => x.updatePartitionMap, { map: partitionMapToProto(map, nodes) })).accepted, true);
    assert.deepEqual(preferenceList(map, map.locate(Buffer.from('joining-key')).id).sort(), ['n1', 'n2', 'n3']);
  });
  after(async () => {
    await c?.stop();
  });

  const hintsOnN1 = async () => (await c.call('n1', (x) => x.listHints, { limit: 0 })).hints.filter((h) => h.target === 'n4');

  const entryFor = (key: string, value: string, seq: number) => ({ key: Buffer.from(key), value: Buffer.from(value), deleted: false, version: { ts: 7, origin: 'n2', opId: `n2:${seq}` } });
  const direct = async (id: string, key: string) => {
    const got = await c.call(id, (x) => x.get, { key: Buffer.from(key), direct: true });
    return got.found ? got.value.toString() : undefined;
  };

  it('gives a hint for a member the map does not name yet to that member, not to the map\'s replicas', async () => {
    assert.equal((await c.call('n1', (x) => x.storeHints, { hints: [{ target: 'n4', opId: 'n2:900', entry: entryFor('joining-key', 'for n4', 900) }] })).stored, 1);
    await waitFor('the hint handed over', async () => (await hintsOnN1()).length === 0);
    assert.equal(await direct('n4', 'joining-key'), 'for n4', 'n4 got its hint');
    for (const id of ['n2', 'n3']) assert.equal(await direct(id, 'joining-key'), undefined, `${id} was not given n4's hint`);
  });

  it('keeps a hint for a member that is down, and hands it to the replicas once the membership drops it', async () => {
    await c.kill('n4');
    assert.equal((await c.call('n1', (x) => x.storeHints, { hints: [{ target: 'n4', opId: 'n2:901', entry: entryFor('left-key', 'n4 left', 901) }] })).stored, 1);
    // Many handoff rounds (every 200 ms here).
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal((await hintsOnN1()).length, 1, 'the hint for n4, down but a member, waits for it');

    await c.introduce('n1', ['n2', 'n3']);
    await waitFor('the hint for n4, now gone, handed to the replicas', async () => (await hintsOnN1()).length === 0);
    for (const id of ['n1', 'n2', 'n3']) assert.equal(await direct(id, 'left-key'), 'n4 left', `${id} holds the write`);
  });
});

describe('hints for a node that is leaving (real processes)', function () {
  this.timeout(120_000);
  let c: TestCluster;

  before(async () => {
    c = await TestCluster.start(4, { heartbeatIntervalMs: 100, antiEntropyIntervalMs: 3_600_000 });
  });
  after(async () => {
    await c?.stop();
  });

  it('gives a hint for a node a newer map dropped to the current replicas, though the membership still names it', async () => {
    const nodes = [...c.nodes.values()].map((n) => ({ id: n.id, address: n.address }));
    const send = async (m: ReturnType<typeof createPartitionMap>) => {
      for (const id of c.nodes.keys()) assert.equal((await c.call(id, (x) => x.updatePartitionMap, { map: partitionMapToProto(m, nodes) })).accepted, true);
    };
    const before = createPartitionMap({ replicationFactor: 3, numPartitions: 8 }, ['n1', 'n2', 'n3', 'n4']);
    await send(before);
    // RemoveNode flips the map first and drops the node from the membership afterwards.
    const after = removeNode(before, 'n4').map;
    await send(after);
    const key = Buffer.from('leaving-key');
    const replicas = preferenceList(after, after.locate(key).id);
    const entry = { key, value: Buffer.from('for the leaving n4'), deleted: false, version: { ts: 9, origin: 'n2', opId: 'n2:950' } };
    assert.equal((await c.call('n1', (x) => x.storeHints, { hints: [{ target: 'n4', opId: 'n2:950', entry }] })).stored, 1);
    await waitFor('the hint handed over', async () => (await c.call('n1', (x) => x.listHints, { limit: 0 })).hints.every((h) => h.target !== 'n4'));
    for (const id of replicas) {
      const got = await c.call(id, (x) => x.get, { key, direct: true });
      assert.equal(got.found && got.value.toString(), 'for the leaving n4', `${id}, a replica under the new map, holds it`);
    }
    assert.equal((await c.call('n4', (x) => x.get, { key, direct: true })).found, false, 'the leaving n4 was not given it');
  });
});
