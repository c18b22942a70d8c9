// Deletes stay deleted when an older write arrives late. A hint written while a replica was down
// is handed over after that replica took a later delete and compacted: the tombstone must still
// be there for the hint to lose to (storage.tombstoneGraceMs), and a hint older than the grace is
// dropped rather than delivered. Found by an exploratory test: before the grace, compaction
// dropped the tombstones at once and the hinted value came back on every replica.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Driver, launchController, type ControllerClient, type ControllerHandle, type HintSummary } from '../client';
import { PartitionMap, preferenceList } from '../partitioning/index';
import { DEFAULT_SPEC } from '../spec';
import { engineBundles, eventually, partitionStats, storedPartitionKeys, tempDataDir } from './test-support';

describe('tombstone grace and hint expiry (real processes)', function () {
  this.timeout(240_000);
  let data: ReturnType<typeof tempDataDir>;
  let ctl: ControllerHandle;
  let client: ControllerClient;
  let driver: Driver | undefined;

  beforeEach(async () => {
    const bundles = await engineBundles();
    data = tempDataDir();
    ctl = await launchController({ dataDir: data.dir, controllerScript: bundles.controller, statsIntervalMs: 200 });
    client = ctl.client;
  });

  afterEach(async () => {
    driver?.close();
    driver = undefined;
    await ctl?.stop();
    data?.remove();
  });

  /** The key's two replicas and the third node, which stands in for a replica that is down. */
  async function roles(key: string): Promise<{ a: string; b: string; standIn: string }> {
    const map = PartitionMap.fromJSON(JSON.parse((await client.getPartitionMap()).mapJson));
    const [a, b] = preferenceList(map, map.locate(Buffer.from(key)).id);
    const standIn = ['n1', 'n2', 'n3'].find((n) => n !== a && n !== b) as string;
    return { a, b, standIn };
  }

  const hintsFor = async (target: string): Promise<HintSummary[]> =>
    ((await client.describe()).hints ?? []).filter((h) => h.target === target && h.count > 0);

  const countersOf = async (node: string) => {
    const info = (await client.describe()).nodes.find((n) => n.id === node);
    return partitionStats(info?.address ?? '', ctl.client.target.token);
  };

  const tombstonesOn = async (node: string): Promise<number> =>
    (await client.compactNode(node)).sstables.reduce((n, t) => n + t.tombstones, 0);

  it('a hint delivered after the delete and a compaction loses to the kept tombstone', async () => {
    await client.startCluster({ nodes: 3, replicationFactor: 2, writeQuorum: 2, readQuorum: 2, heartbeatIntervalMs: 100 });
    const d = await Driver.connect(client);
    driver = d;
    const key = { partitionKey: 'zombie' };
    const { a, b, standIn } = await roles('zombie');
    await d.put(key, 'v0');

    await client.killNode(b);
    // Coordinated by the stand-in: the hinted version also sits in its replication log, which
    // resends it to both replicas when it is back, after the delete.
    const hinted = await eventually('a put acknowledged with a hint for the dead replica', 30_000, async () => {
      try {
        const r = await d.put(key, 'v1', { via: standIn });
        return Object.keys(r.hinted).length > 0 ? r : undefined;
      } catch {
        return undefined; // the driver may not know yet that the replica is down
      }
    });
    assert.deepEqual(hinted.hinted, { [b]: standIn });
    await eventually('the hint in Describe', 30_000, async () => ((await hintsFor(b)).length ? true : undefined));
    await client.killNode(standIn); // the hint holder is down when the replica returns
    await client.restartNode(b);
    await eventually('a delete acknowledged by both replicas', 30_000, async () => {
      try {
        return Object.keys((await d.delete(key)).hinted).length === 0 ? true : undefined;
      } catch {
        return undefined;
      }
    });
    // Well inside the default grace (an hour): compaction keeps the tombstone on both replicas.
    assert.ok(await tombstonesOn(a) >= 1, `${a} kept the tombstone`);
    assert.ok(await tombstonesOn(b) >= 1, `${b} kept the tombstone`);

    await client.restartNode(standIn);
    await eventually('the hint handed over', 60_000, async () => ((await countersOf(standIn)).hintsDelivered >= 1 ? true : undefined));
    const addressOf = async (node: string) => (await client.describe()).nodes.find((n) => n.id === node)?.address ?? '';
    assert.equal((await storedPartitionKeys(await addressOf(b), client.target.token)).has('zombie'), false, `${b}'s own copy is still deleted`);
    for (const via of [a, b]) {
      const r = await d.get(key, { via, r: 2 });
      assert.equal(r.found, false, `read through ${via} found ${r.found ? r.value.toString() : ''}`);
    }
  });

  it('drops a hint older than the grace instead of delivering it, and compacts a tombstone away once it is older', async () => {
    const graceMs = 3_000;
    await client.startCluster({ nodes: 3, replicationFactor: 2, writeQuorum: 2, readQuorum: 2, heartbeatIntervalMs: 100, storage: { ...DEFAULT_SPEC.storage, tombstoneGraceMs: graceMs } });
    const d = await Driver.connect(client);
    driver = d;
    const key = { partitionKey: 'late' };
    const { a, b, standIn } = await roles('late');
    await client.killNode(b);
    await eventually('a put acknowledged with a hint', 30_000, async () => {
      try {
        return Object.keys((await d.put(key, 'v1')).hinted).length > 0 ? true : undefined;
      } catch {
        return undefined;
      }
    });
    // Gone while the replica is still down: it will never be delivered.
    await eventually('the expired hint dropped', 30_000, async () => ((await countersOf(standIn)).hintsExpired >= 1 ? true : undefined));
    const counters = await countersOf(standIn);
    assert.deepEqual([counters.hintsHeld, counters.hintsDelivered], [0, 0]);
    // The controller's view (what `ringdb status` prints) carries the count too, with its next stats.
    await eventually('the expired count in Describe', 10_000, async () =>
      ((await client.describe()).nodes.find((n) => n.id === standIn)?.stats?.hints?.expired === 1 ? true : undefined));
    assert.deepEqual((await client.describe()).nodes.find((n) => n.id === standIn)?.stats?.hints?.expiredFor, { [b]: 1 }, 'the replica the dropped hint was for');
    const log = readFileSync(join(data.dir, standIn, 'node.log'), 'utf8');
    assert.match(log, new RegExp(`dropped 1 hints for ${b} older than storage\\.tombstoneGraceMs \\(${graceMs} ms\\)`));

    await d.delete(key, { w: 1 });
    await eventually(`a fresh tombstone kept on ${a}`, 30_000, async () => ((await tombstonesOn(a)) >= 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, graceMs + 500));
    assert.equal(await tombstonesOn(a), 0, 'a tombstone older than the grace is dropped');
  });
});
