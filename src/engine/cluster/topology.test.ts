// Topology operations over real processes: a bundled controller, nodes and router on real ports.
// Forwarding is off, so a request that reaches a non-replica is answered NotOwner and the driver
// must refresh its map and retry; N = 1, so "where does a key live" has one answer per key and
// moved data can be counted per node.

import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerClient, Driver, NodeClient, RingDbError, launchController, type ClusterEvent, type ControllerHandle, type PartitionMapInfo } from '../client';
import { PartitionMap } from '../partitioning/index';
import { engineBundles, eventually, storedPartitionKeys, tempDataDir } from './test-support';

const KEYS = 200;
const key = (i: number): { partitionKey: string } => ({ partitionKey: `user-${i}` });

/**
 * Writers that run until stopped and remember every acknowledged write. Several lanes keep writes
 * in flight at every moment of a move, so some are coordinated under the old map and land while
 * the catch-up copy runs or after it (the race the coordinator and the drop step must survive).
 */
class Writer {
  readonly acked = new Map<string, string>();
  private running = true;
  private readonly done: Promise<void>;
  failures = 0;

  constructor(driver: Driver, prefix: string, lanes = 4) {
    this.done = Promise.all(Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; this.running; i++) {
        const k = `${prefix}-${lane}-${i}`;
        try {
          await driver.put({ partitionKey: k }, `v${i}`);
          this.acked.set(k, `v${i}`);
        } catch {
          this.failures++;
        }
      }
    })).then(() => undefined);
  }

  async stop(): Promise<Map<string, string>> {
    this.running = false;
    await this.done;
    return this.acked;
  }
}

describe('topology operations (real processes)', function () {
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
  });

  after(async () => {
    driver?.close();
    await ctl?.stop();
    data?.remove();
  });

  /** The partition keys a node stores (live rows). */
  async function keysOn(nodeId: string): Promise<Set<string>> {
    const node = (await client.describe()).nodes.find((n) => n.id === nodeId);
    assert.ok(node?.address, `${nodeId} has an address`);
    return storedPartitionKeys(node.address, client.target.token);
  }

  const mapOf = (info: PartitionMapInfo): PartitionMap => PartitionMap.fromJSON(JSON.parse(info.mapJson));
  const ownerOf = (map: PartitionMap, k: string): string => map.locate(Buffer.from(k)).owner;

  async function assertAllReadable(d: Driver, expected: Map<string, string>): Promise<void> {
    for (const [k, v] of expected) {
      const r = await d.get({ partitionKey: k });
      assert.equal(r.found ? r.value.toString() : `(missing: ${JSON.stringify(r)})`, v, `${k} after the change`);
    }
  }

  const base = new Map(Array.from({ length: KEYS }, (_, i) => [key(i).partitionKey, `v${i}`]));

  it('rejects invalid quorum settings naming the setting, and starts nothing', async () => {
    await assert.rejects(client.startCluster({ nodes: 3, replicationFactor: 2, writeQuorum: 3 }),
      (e: unknown) => e instanceof RingDbError && e.code === 'invalid-argument' && /writeQuorum/.test(e.message));
    await assert.rejects(client.startCluster({ nodes: 2, partitionStrategy: 'range', keyRanges: [{ start: '', end: 'm', node: 'n1' }, { start: 'k', end: null, node: 'n2' }] }),
      (e: unknown) => e instanceof RingDbError && e.code === 'invalid-argument' && /keyRanges\[1\]/.test(e.message));
    const d = await client.describe();
    assert.deepEqual([d.phase, d.nodes.length, d.partitionMap], ['empty', 0, undefined]);
  });

  it('starts with the map in Describe, and a driver writes and reads through it', async () => {
    const cluster = await client.startCluster({
      nodes: 3, replicationFactor: 1, writeQuorum: 1, readQuorum: 1, numPartitions: 16, partitionsPerNode: 4,
      enableForwarding: false, router: { port: 0 },
    });
    const map = cluster.partitionMap as PartitionMapInfo;
    assert.equal(map.version, 1);
    assert.deepEqual([map.partitions.length, map.replicationFactor, map.enableForwarding], [16, 1, false]);
    assert.match(cluster.routerAddress ?? '', /^127\.0\.0\.1:\d+$/);
    driver = await Driver.connect(client);
    for (let i = 0; i < KEYS; i++) await driver.put(key(i), `v${i}`);
    await assertAllReadable(driver, base);
  });

  it('rejects bad arguments with the argument named, and leaves the map unchanged', async () => {
    const before = await client.getPartitionMap();
    await assert.rejects(client.splitPartition(999), (e: unknown) => e instanceof RingDbError && e.code === 'not-found' && /^pid: no partition 999/.test(e.message));
    const p0 = before.partitions[0];
    const outside = before.partitions.map((p) => p.id).find((id) => id !== p0.id) as number;
    // A key placed in another partition cannot split partition p0.
    const foreign = Array.from({ length: 200 }, (_, i) => `probe-${i}`);
    let outsideKey = '';
    for (const k of foreign) if ((await client.whereIs(k)).partitionId === outside) outsideKey = k;
    assert.ok(outsideKey);
    await assert.rejects(client.splitPartition(p0.id, outsideKey), (e: unknown) => e instanceof RingDbError && e.code === 'invalid-argument' && /^splitKey:/.test(e.message));
    const far = before.partitions[5].id;
    await assert.rejects(client.mergePartitions(p0.id, far), (e: unknown) => e instanceof RingDbError && e.code === 'failed-precondition' && /^pid2: .*not adjacent/.test(e.message));
    await assert.rejects(client.markHotKey('k', 1), (e: unknown) => e instanceof RingDbError && e.code === 'invalid-argument' && /buckets/.test(e.message));
    assert.equal((await client.getPartitionMap()).version, before.version);
  });

  it('splits at the median and merges back, keeping every row, while a writer runs', async () => {
    const before = await client.getPartitionMap();
    const busiest = before.partitions.reduce((a, b) => (a.share >= b.share ? a : b));
    const writer = new Writer(driver, 'during-split');
    const split = await client.splitPartition(busiest.id);
    assert.equal(split.map.version, before.version + 1);
    assert.equal(split.map.partitions.length, before.partitions.length + 1);
    const lower = split.map.partitions.find((p) => p.id === busiest.id);
    const upper = split.map.partitions.find((p) => p.id === split.newPid);
    assert.ok(lower && upper && lower.endHex === upper.startHex, 'the halves meet at the split point');
    const merged = await client.mergePartitions(busiest.id, split.newPid);
    const acked = await writer.stop();
    assert.equal(merged.map.version, before.version + 2);
    assert.deepEqual(merged.map.partitions.map((p) => [p.id, p.startHex, p.endHex]), before.partitions.map((p) => [p.id, p.startHex, p.endHex]));
    assert.ok(acked.size > 0);
    await assertAllReadable(driver, base);
    await assertAllReadable(driver, acked);
  });

  it('rebalances to counts that differ by at most one; a stale driver follows NotOwner and retries', async () => {
    const stale = await Driver.connect(client, { watch: false });
    // Splits pile partitions onto a few owners, so rebalance has work to do.
    let map = await client.getPartitionMap();
    for (const p of map.partitions.slice(0, 4)) map = (await client.splitPartition(p.id)).map;
    const events = client.watch();
    const seen: ClusterEvent[] = [];
    const following = (async () => {
      for await (const e of events) seen.push(e);
    })();
    const writer = new Writer(driver, 'during-rebalance');
    const r = await client.rebalance();
    const acked = await writer.stop();
    events.close();
    await following;
    // Watch reported the new map with its version, and the move's stages in order.
    assert.ok(seen.some((e) => e.type === 'partitionMap' && e.map.version === r.map.version && /^rebalanced/.test(e.reason)));
    const stages = seen.flatMap((e) => (e.type === 'topologyProgress' && e.operation === 'rebalance' ? [e.stage] : []));
    assert.deepEqual([...new Set(stages)], ['copying', 'switching', 'catching-up', 'dropping', 'done']);
    const counts = r.map.nodeIds.map((n) => r.map.partitions.filter((p) => p.owner === n).length);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `counts ${counts.join(',')}`);
    assert.ok(r.moves.movedPartitions > 0 && r.moves.entries > 0, JSON.stringify(r.moves));
    await assertAllReadable(driver, acked);
    // The stale driver still routes by the old map: some of its requests hit a node that no longer holds the key.
    await assertAllReadable(stale, base);
    assert.ok(stale.refreshes > 0, 'the stale driver refreshed its map after NotOwner');
    assert.equal(stale.partitionMap.version, r.map.version);
    stale.close();
  });

  it('add-node moves about 1/N of the keys to the new node; remove-node hands everything over; no concurrent write is lost', async () => {
    const before = mapOf(await client.getPartitionMap());
    const writer = new Writer(driver, 'during-add');
    const added = await client.addNodeWithMoves();
    let acked = await writer.stop();
    assert.equal(added.node.id, 'n4');
    assert.ok(added.map && added.moves.movedPartitions > 0 && added.moves.entries > 0, JSON.stringify(added.moves));
    const after = mapOf(added.map);
    // Keys per node before and after, by the maps; every key that changed owner went to n4 and is stored there.
    const all = [...base.keys()];
    const moved = all.filter((k) => ownerOf(before, k) !== ownerOf(after, k));
    assert.ok(moved.every((k) => ownerOf(after, k) === 'n4'), 'keys move only to the new node');
    const fraction = moved.length / all.length;
    assert.ok(fraction > 0.1 && fraction < 0.45, `${moved.length} of ${all.length} keys moved (1/4 expected)`);
    const onN4 = await keysOn('n4');
    assert.deepEqual(moved.filter((k) => !onN4.has(k)), [], 'n4 stores every key it took over');
    // The old owners dropped what they gave away (N = 1: each key lives on its owner alone).
    for (const old of before.nodes) {
      const kept = await keysOn(old);
      const gone = moved.filter((k) => ownerOf(before, k) === old);
      assert.deepEqual(gone.filter((k) => kept.has(k)), [], `${old} dropped the keys it handed to n4`);
      assert.ok(all.filter((k) => ownerOf(after, k) === old).every((k) => kept.has(k)), `${old} keeps the keys it still owns`);
    }
    await assertAllReadable(driver, base);
    await assertAllReadable(driver, acked);

    const remover = new Writer(driver, 'during-remove');
    const owned = [...base.keys(), ...acked.keys()].filter((k) => ownerOf(after, k) === 'n2');
    const removed = await client.removeNode('n2');
    const writtenMeanwhile = await remover.stop();
    acked = new Map([...acked, ...writtenMeanwhile]);
    // Each key counted once, though the catching-up pass streams the ranges again.
    const copied = removed.moves?.entries ?? 0;
    assert.ok(copied >= owned.length && copied <= owned.length + writtenMeanwhile.size, `copied ${copied} entries; n2 owned ${owned.length} keys, ${writtenMeanwhile.size} written meanwhile`);
    const final = mapOf(await client.getPartitionMap());
    assert.ok(!final.nodes.includes('n2') && final.partitions.every((p) => p.owner !== 'n2'));
    const holders = new Map<string, Set<string>>();
    for (const n of final.nodes) holders.set(n, await keysOn(n));
    assert.deepEqual(owned.filter((k) => !holders.get(ownerOf(final, k))?.has(k)), [], 'the new owners store every key n2 owned');
    for (const [n, keys] of holders) assert.deepEqual([...keys].filter((k) => ownerOf(final, k) !== n), [], `${n} holds only keys it owns`);
    await assertAllReadable(driver, base);
    await assertAllReadable(driver, acked);
  });

  it('the router answers as the driver does, and follows the map', async () => {
    const d = await client.describe();
    const router = new NodeClient({ address: d.routerAddress as string, token: client.target.token, nodeId: 'router' });
    try {
      for (let i = 0; i < 20; i++) await router.put(`raw-${i}`, `r${i}`);
      for (let i = 0; i < 20; i++) {
        const viaRouter = await router.get(`raw-${i}`);
        const viaDriver = await driver.get(`raw-${i}`);
        assert.deepEqual([viaRouter.found, viaRouter.value.toString(), viaRouter.version], [viaDriver.found, viaDriver.value.toString(), viaDriver.version]);
      }
      await client.rebalance();
      const after = await router.get('raw-7');
      assert.equal(after.value.toString(), 'r7');
      await assert.rejects(router.stats(), (e: unknown) => e instanceof RingDbError && /does not implement/i.test(`${e.code} ${e.message}`));
    } finally {
      router.close();
    }
  });

  it('starts the router again when it is killed, and says so in Describe meanwhile', async () => {
    const configFile = join(data.dir, 'router', 'router-config.json');
    const routerPid = (): number | undefined => {
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(configFile)) return Number(entry);
        } catch {
          // the process ended while we looked
        }
      }
      return undefined;
    };
    const before = (await client.describe()).routerAddress;
    const first = routerPid();
    assert.ok(first, 'the router process runs');
    process.kill(first, 'SIGKILL');
    const note = await eventually('Describe saying the router is restarting', 10_000, async () => (await client.describe()).routerNote || undefined);
    assert.match(note, /^exited unexpectedly \(killed by SIGKILL\); restarting it$/);
    const address = await eventually('the router serving again', 30_000, async () => (await client.describe()).routerAddress || undefined);
    assert.notEqual(routerPid(), first);
    assert.equal(address, before, 'back on the port it had, though the spec let the OS pick it');
    assert.equal((await client.describe()).routerNote, '');
    const router = new NodeClient({ address, token: client.target.token, nodeId: 'router' });
    try {
      assert.equal((await router.get('raw-7')).value.toString(), 'r7');
    } finally {
      router.close();
    }
  });

  it('starts again in the same folder with the members it last had and the map they kept: every key is still there', async () => {
    const last = await client.getPartitionMap();
    driver.close();
    await client.stopCluster();
    // The spec still says 3 nodes; the folder's members are n1, n3, n4 (n2 was removed, n4 added).
    // Starting n1..n3 left n4's partitions unserved and gave n2's id to an empty node (N = 1: a
    // key lives on its owner alone), so keys read as never written.
    const again = await client.startCluster({ nodes: 3, replicationFactor: 1, writeQuorum: 1, readQuorum: 1, numPartitions: 16, partitionsPerNode: 4 });
    assert.deepEqual(again.nodes.map((n) => n.id), ['n1', 'n3', 'n4']);
    assert.equal(again.partitionMap?.version, last.version);
    assert.deepEqual(again.partitionMap?.nodeIds, ['n1', 'n3', 'n4']);
    driver = await Driver.connect(client);
    await assertAllReadable(driver, base);
    // Ids stay unique: the next node is n5, not the removed n2.
    assert.equal((await client.addNodeWithMoves()).node.id, 'n5');
  });
});
