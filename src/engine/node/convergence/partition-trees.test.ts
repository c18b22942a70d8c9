// Per-partition Merkle trees over a real store: which partitions get a tree, that each tree holds
// exactly its partition's keys, and that a map change (split, merge, add/remove node) rebuilds
// only the partitions it affected while every tree still equals one built from scratch.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { placementKeyOf } from '../../codec/stored-key';
import { addNode, createPartitionMap, mergePartitions, preferenceList, removeNode, splitPartition, type PartitionMap } from '../../partitioning';
import { Store } from '../../storage';
import type { Entry } from '../../storage/types';
import { ObservedStore } from './observed-store';
import type { SliceSize } from '../../event-loop';
import { PartitionTrees, type Placement } from './partition-trees';
import { encodeVersion, mergeableVersion, type VersionOf } from './tree';

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const SELF = 'n1';
const b = (s: string) => Buffer.from(s);
const pidOf = (map: PartitionMap, key: Buffer) => map.locate(placementKeyOf(key)).id;

describe('PartitionTrees (one Merkle tree per replicated partition)', () => {
  let dir: string;
  let store: Store;
  let observed: ObservedStore;
  let current: PartitionMap | undefined;
  const placement: Placement = { map: () => current, partitionOf: pidOf };
  const open: PartitionTrees[] = [];
  /** Trees built on start; the build is a scan in slices like a map change's, awaited here. */
  const trees = async (versionOf?: VersionOf, slice?: SliceSize) => {
    const t = new PartitionTrees(store, observed, SELF, placement, versionOf, slice);
    open.push(t);
    await t.whenBuilt();
    return t;
  };
  let clock = 1;
  const write = (keys: string[], value: string | null = 'v') =>
    observed.write(keys.map((k): Entry => ({ key: b(k), value: value === null ? null : b(`${value}-${k}`), ts: clock++, origin: 'n2' })));
  /** Every tree equals the one a fresh scan builds, and the set of trees is the same. */
  const assertMatchesFreshBuild = async (t: PartitionTrees, versionOf?: VersionOf) => {
    const fresh = await trees(versionOf);
    assert.deepEqual(t.partitionIds(), fresh.partitionIds());
    for (const pid of t.partitionIds()) {
      assert.ok(t.tree(pid)!.root().equals(fresh.tree(pid)!.root()), `partition ${pid} differs from a fresh build`);
      assert.equal(t.tree(pid)!.size, fresh.tree(pid)!.size);
    }
  };
  /** Every bucket's entries as the trees serve them equal those a scan of the store finds. */
  const assertEntriesMatchStore = async (t: PartitionTrees, versionOf: VersionOf = encodeVersion) => {
    const all = Array.from({ length: 4096 }, (_, i) => i);
    for (const pid of t.partitionIds()) {
      const tree = t.tree(pid)!;
      const expected = all.map((): string[] => []);
      for (const e of store.scan({ includeTombstones: true })) {
        if ((current ? pidOf(current, e.key) : 0) === pid) expected[tree.bucketOf(e.key)].push(`${e.key.toString()}=${versionOf(e).toString('hex')}`);
      }
      const served = (await tree.bucketEntries(all)).map((list) => list.map((x) => `${x.key.toString()}=${x.versionHash.toString('hex')}`));
      assert.deepEqual(served, expected, `partition ${pid}`);
    }
  };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ringdb-ptrees-'));
    store = await Store.open(path.join(dir, 'store'), { sync: 'none' });
    observed = new ObservedStore(store);
    current = undefined;
  });
  afterEach(async () => {
    for (const t of open.splice(0)) t.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a map keeps one tree over the whole store (partition 0, map version 0)', async () => {
    await write(['a', 'b', 'c']);
    const t = await trees();
    assert.deepEqual(t.partitionIds(), [0]);
    assert.equal(t.mapVersion, 0);
    assert.equal(t.size, 3);
    assert.deepEqual(t.sharedWith('n4'), [0]);
    const before = t.digest();
    await write(['d'], null);
    assert.equal(t.size, 3, 'a tombstone is not recorded: compaction may drop it unseen');
    assert.ok(t.digest().equals(before));
    await write(['a'], null);
    assert.equal(t.size, 2, 'a deleted key leaves the tree');
    assert.equal((await t.tree(0)!.bucketEntries([t.tree(0)!.bucketOf(b('a'))]))[0].find((e) => e.key.equals(b('a')))?.versionHash[8], 1, 'its entry shows the tombstone');
    await assertMatchesFreshBuild(t);
  });

  it('keeps a tree for each partition this node replicates, holding exactly that partition\'s keys', async () => {
    current = createPartitionMap({ replicationFactor: 3, numPartitions: 16 }, IDS);
    const map = current;
    const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    await write(keys);
    const t = await trees();
    const mine = map.partitions.filter((p) => preferenceList(map, p.id).includes(SELF)).map((p) => p.id);
    assert.deepEqual(t.partitionIds(), mine);
    assert.ok(mine.length > 0 && mine.length < 16, `n1 replicates ${mine.length} of 16`);
    for (const pid of mine) assert.equal(t.tree(pid)!.size, keys.filter((k) => pidOf(map, b(k)) === pid).length);
    // Writes of partitions it does not replicate touch no tree.
    const foreign = keys.find((k) => !mine.includes(pidOf(map, b(k))))!;
    const before = t.digest();
    await write([foreign], 'newer');
    assert.ok(t.digest().equals(before));
    const own = keys.find((k) => mine.includes(pidOf(map, b(k))))!;
    await write([own], 'newer');
    assert.ok(!t.digest().equals(before));
    for (const peer of IDS.slice(1)) {
      assert.deepEqual(t.sharedWith(peer), mine.filter((pid) => preferenceList(map, pid).includes(peer)));
    }
    await assertMatchesFreshBuild(t);
  });

  it('builds on start in slices while writes go on: nothing answers until built, then every tree equals a fresh build', async () => {
    current = createPartitionMap({ replicationFactor: 3, numPartitions: 16 }, IDS);
    const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    await write(keys);
    const t = new PartitionTrees(store, observed, SELF, placement, undefined, { items: 1, ms: 0 });
    open.push(t);
    assert.deepEqual(t.partitionIds(), [], 'no tree answers before its scan is complete');
    assert.ok(t.buildingCount > 0);
    // Overwrites, deletes and new keys while the scan yields after every key.
    await write(keys.slice(0, 300), 'newer');
    await write(keys.slice(300, 500), null);
    await write(['new-1', 'new-2', 'new-3']);
    assert.equal(t.buildingCount > 0, true, 'the writes above ran while the scan was still going');
    assert.ok(typeof await t.initialBuild === 'number');
    assert.equal(t.buildingCount, 0);
    assert.equal(t.built, t.partitionIds().length);
    await assertMatchesFreshBuild(t);
  });

  it('follows a split, a merge, an added and a removed node, rebuilding only the affected partitions', async () => {
    current = createPartitionMap({ replicationFactor: 3, numPartitions: 16 }, IDS);
    await write(Array.from({ length: 3000 }, (_, i) => `k${i}`));
    const t = await trees(undefined, { items: 1, ms: 0 }); // a map change's scan yields after every key
    const [target] = t.partitionIds();
    const before = new Map(t.partitionIds().map((pid) => [pid, t.tree(pid)]));

    current = splitPartition(current, target).map;
    const split = t.follow(current);
    assert.equal(t.tree(target), undefined, 'a tree being built answers nothing');
    assert.ok(t.isBuilding(target));
    assert.ok(typeof await split.ready === 'number');
    const upper = current.nextId - 1;
    assert.deepEqual(split.built.sort((a, b2) => a - b2), [target, upper].sort((a, b2) => a - b2), 'only the two halves are built');
    assert.deepEqual(split.dropped, []);
    for (const pid of split.kept) assert.equal(t.tree(pid), before.get(pid), `partition ${pid} kept its tree object`);
    assert.equal(t.tree(target)!.size + t.tree(upper)!.size, before.get(target)!.size, 'the halves hold the old partition\'s keys');
    assert.equal(t.mapVersion, current.version);
    await write(['after-split-1', 'after-split-2', 'after-split-3']);
    await assertMatchesFreshBuild(t);

    current = mergePartitions(current, target, upper).map;
    const merged = t.follow(current);
    await merged.ready;
    assert.deepEqual(merged.built, [target]);
    assert.deepEqual(merged.dropped, [upper]);
    await assertMatchesFreshBuild(t);

    const grown = addNode(current, 'n6').map;
    const mineBefore = new Set(t.partitionIds());
    current = grown;
    const added = t.follow(current);
    await added.ready;
    const mineAfter = grown.partitions.filter((p) => preferenceList(grown, p.id).includes(SELF)).map((p) => p.id);
    assert.deepEqual(t.partitionIds(), mineAfter);
    assert.deepEqual(added.dropped, [...mineBefore].filter((pid) => !mineAfter.includes(pid)).sort((a, b2) => a - b2));
    assert.deepEqual(added.built, mineAfter.filter((pid) => !mineBefore.has(pid)), 'only partitions n1 newly replicates are built');
    await assertMatchesFreshBuild(t);

    current = removeNode(current, 'n3').map;
    await t.follow(current).ready;
    await assertMatchesFreshBuild(t);

    current = removeNode(current, SELF).map;
    const gone = t.follow(current);
    await gone.ready;
    assert.deepEqual(t.partitionIds(), [], 'a node outside the map keeps no tree');
    assert.equal(gone.built.length, 0);
  });

  it('property: concurrent batches (stale versions, repeated keys, tombstones), purges and flushes keep every tree equal to a fresh build, '
    + 'even one built while writes wait for their fsync; bucket entries equal the store\'s', async () => {
    const mergeable: VersionOf = (e) => (e.value === null ? encodeVersion(e) : mergeableVersion(createHash('sha1').update(e.value).digest()));
    const op = fc.record({ k: fc.nat(40), ts: fc.integer({ min: 1, max: 400 }), del: fc.boolean(), origin: fc.constantFrom('n2', 'n3') });
    const step = fc.oneof(
      { weight: 4, arbitrary: fc.record({ batch: fc.array(op, { minLength: 1, maxLength: 12 }) }) },
      { weight: 1, arbitrary: fc.record({ purge: fc.array(fc.nat(40), { minLength: 1, maxLength: 6 }) }) },
      { weight: 1, arbitrary: fc.record({ flush: fc.constant(true) }) },
      { weight: 1, arbitrary: fc.record({ check: fc.constant(true) }) },
    );
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), fc.boolean(), fc.boolean(), async (steps, withMap, crdt) => {
      current = withMap ? createPartitionMap({ replicationFactor: 3, numPartitions: 8 }, IDS) : undefined;
      const versionOf = crdt ? mergeable : encodeVersion;
      const t = await trees(versionOf);
      await t.tree(t.partitionIds()[0])?.bucketEntries([0]); // a bucket index that must follow the writes below
      let inFlight: Promise<unknown>[] = [];
      for (const s of steps) {
        if ('batch' in s) {
          // The value, tombstone or not, is a function of the version (ts, origin): one version,
          // one value, as in a cluster. (The store may take the same version again over a purge
          // marker; a put and a delete sharing one version made reads disagree, and the test flaky.)
          inFlight.push(observed.write(s.batch.map(({ k, ts, del, origin }): Entry => {
            const version = ts * 2 + (del ? 1 : 0);
            return { key: b(`q${k}`), value: del ? null : b(`${k}@${version}/${origin}`), ts: version, origin };
          })));
        } else if ('purge' in s) {
          inFlight.push(observed.purge(s.purge.map((k) => b(`q${k}`))));
        } else if ('flush' in s) {
          await Promise.all(inFlight);
          inFlight = [];
          await store.flush(); // later lookups of these keys go to a table, not the memtable
        } else {
          await assertMatchesFreshBuild(t, versionOf); // while the batches above wait for the WAL
        }
      }
      await Promise.all(inFlight);
      await assertMatchesFreshBuild(t, versionOf);
      await assertEntriesMatchStore(t, versionOf);
      for (const x of open.splice(0)) x.close();
    }), { numRuns: 60 });
  });

  it('serves bucket entries with current versions: keys written after the index was built, overwritten, deleted, purged', async () => {
    current = createPartitionMap({ replicationFactor: 3, numPartitions: 16 }, IDS);
    await write(Array.from({ length: 500 }, (_, i) => `k${i}`));
    const t = await trees();
    await assertEntriesMatchStore(t); // builds the index
    await write(Array.from({ length: 100 }, (_, i) => `new${i}`));
    await write(Array.from({ length: 50 }, (_, i) => `k${i}`), 'newer');
    await write(Array.from({ length: 50 }, (_, i) => `k${i + 50}`), null);
    await observed.purge(Array.from({ length: 50 }, (_, i) => b(`k${i + 100}`)));
    await write(['k100'], 'back');
    await assertEntriesMatchStore(t);
    await assertMatchesFreshBuild(t);
    current = splitPartition(current, t.partitionIds()[0]).map;
    await t.follow(current).ready;
    await write(['after-split']);
    await assertEntriesMatchStore(t);
    await assertMatchesFreshBuild(t);
  });

  it('property: a bucket index scanned in slices while writes, deletes and purges go on serves exactly what the store holds', async () => {
    const op = fc.record({ keys: fc.array(fc.nat(120), { minLength: 1, maxLength: 10 }), kind: fc.constantFrom('put', 'put', 'delete', 'purge') });
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 150 }), fc.array(op, { minLength: 1, maxLength: 12 }), fc.boolean(), async (initial, ops, withMap) => {
      current = withMap ? createPartitionMap({ replicationFactor: 3, numPartitions: 8 }, IDS) : undefined;
      await write(Array.from({ length: initial }, (_, i) => `s${i}`), 'first');
      await store.flush(); // part of the scan comes from a table, part from the memtable
      await write(Array.from({ length: initial }, (_, i) => `s${i * 2}`), 'second');
      const t = await trees(undefined, { items: 1, ms: 0 }); // yields after every key
      const tree = t.tree(t.partitionIds()[0])!;
      let built = false;
      const building = tree.bucketEntries([0]).then(() => void (built = true));
      let writesDuringBuild = 0;
      for (const o of ops) {
        const keys = o.keys.map((k) => `s${k}`);
        if (o.kind === 'purge') await observed.purge(keys.map(b));
        else await write(keys, o.kind === 'delete' ? null : `w${clock}`);
        if (!built) writesDuringBuild++;
      }
      await building;
      assert.ok(writesDuringBuild > 0 || initial < 3, 'the scan yielded while writes went on');
      await assertEntriesMatchStore(t);
      await assertMatchesFreshBuild(t);
      for (const x of open.splice(0)) x.close();
    }), { numRuns: 40 });
  });

  it('close() stops a map change\'s build: it settles as stopped, and nothing waits on it', async () => {
    current = createPartitionMap({ replicationFactor: 3, numPartitions: 8 }, IDS);
    await write(Array.from({ length: 500 }, (_, i) => `c${i}`));
    const t = await trees(undefined, { items: 1, ms: 0 });
    current = splitPartition(current, t.partitionIds()[0]).map;
    const change = t.follow(current);
    assert.ok(change.built.some((pid) => t.isBuilding(pid)), 'the build yields before it is done');
    t.close();
    open.splice(open.indexOf(t), 1);
    await t.whenBuilt();
    assert.equal(await change.ready, undefined);
  });

  it('property: writes interleaved with map changes, and with the scans that build new trees, leave every tree equal to a fresh build', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(
        fc.record({ write: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 20 }), del: fc.boolean() }),
        fc.record({ split: fc.nat() }),
        fc.record({ merge: fc.nat() }),
        fc.record({ settle: fc.constant(true) }),
      ), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 40 }),
      async (steps, sliceKeys) => {
        await write(Array.from({ length: 200 }, (_, i) => `p${i}`), 'base');
        let map = createPartitionMap({ replicationFactor: 3, numPartitions: 8 }, IDS);
        current = map;
        // A scan yields every `sliceKeys` keys, so the writes below land in the middle of builds.
        const t = await trees(undefined, { items: sliceKeys, ms: 0 });
        for (const step of steps) {
          if ('write' in step) {
            await write(step.write.map((i) => `p${i}`), step.del ? null : 'v');
          } else if ('settle' in step) {
            await t.whenBuilt();
            await assertMatchesFreshBuild(t);
          } else if ('split' in step) {
            map = splitPartition(map, map.partitions[step.split % map.partitions.length].id).map;
            current = map;
            t.follow(map);
          } else if (map.partitions.length > 1) {
            const i = step.merge % (map.partitions.length - 1);
            map = mergePartitions(map, map.partitions[i].id, map.partitions[i + 1].id).map;
            current = map;
            t.follow(map);
          }
        }
        await t.whenBuilt();
        await assertMatchesFreshBuild(t);
        for (const x of open.splice(0)) x.close();
      },
    ), { numRuns: 40 });
  });
});
