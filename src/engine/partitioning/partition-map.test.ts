import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { InvalidMapError, InvalidSettingError } from './errors';
import { hashToken, inRange } from './keyspace';
import { PartitionMap } from './partition-map';
import { createPartitionMap, resolveQuorum } from './settings';
import { mergePartitions, splitPartition } from './topology';

const nodes = (k: number): string[] => Array.from({ length: k }, (_, i) => `n${i}`);
const keyArb = fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a));

function settingError(field: string, pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof InvalidSettingError && e.field === field && pattern.test(e.message);
}

describe('partition map', () => {
  describe('hash strategy', () => {
    it('defaults to 128 equal logical partitions over the SHA-1 ring, owned through vnode tokens', () => {
      const map = createPartitionMap({}, nodes(3));
      assert.equal(map.partitions.length, 128);
      assert.equal(map.tokens.length, 3 * 8);
      assert.equal(map.version, 1);
      assert.equal(map.replicationFactor, 3);
      assert.deepEqual(map.partitions[1].start, Buffer.from(`02${'0'.repeat(38)}`, 'hex'));
      assert.deepEqual(new Set(map.partitions.map((p) => p.owner)), new Set(nodes(3)));
    });

    it('locates every key in the partition whose range holds its hash, using only the partition key', () => {
      const map = createPartitionMap({ numPartitions: 16, partitionsPerNode: 4 }, nodes(4));
      fc.assert(
        fc.property(keyArb, (key) => {
          const p = map.locate(key);
          assert.ok(inRange(hashToken(key), p.start, p.end));
        }),
      );
    });

    it('spreads keys evenly over the logical partitions', () => {
      const map = createPartitionMap({ numPartitions: 8 }, nodes(2));
      const hits = new Map<number, number>();
      for (let i = 0; i < 8000; i++) {
        const id = map.locate(Buffer.from(`user:${i}`)).id;
        hits.set(id, (hits.get(id) ?? 0) + 1);
      }
      for (const count of hits.values()) assert.ok(count > 800 && count < 1200, `a partition got ${count} of 8000 keys`);
    });
  });

  describe('range strategy', () => {
    it('places keys by bytes into the configured ranges, in any listed order', () => {
      const map = createPartitionMap(
        { partitionStrategy: 'range', keyRanges: [{ start: 'm', end: null, node: 'n1' }, { start: '', end: 'm', node: 0 }] },
        nodes(2),
      );
      assert.equal(map.locate(Buffer.from('apple')).owner, 'n0');
      assert.equal(map.locate(Buffer.from('m')).owner, 'n1');
      assert.equal(map.locate(Buffer.from('zebra')).owner, 'n1');
      assert.equal(map.locate(Buffer.alloc(0)).owner, 'n0');
    });

    it('rejects overlaps, gaps, uncovered ends and unknown nodes, naming the entry', () => {
      const spec = (keyRanges: unknown): object => ({ partitionStrategy: 'range', keyRanges });
      assert.throws(
        () => createPartitionMap(spec([{ start: '', end: 'm', node: 0 }, { start: 'k', end: null, node: 1 }]), nodes(2)),
        settingError('keyRanges[1]', /\["k", end\) overlaps keyRanges\[0\] \["", "m"\)/),
      );
      assert.throws(
        () => createPartitionMap(spec([{ start: '', end: 'm', node: 0 }, { start: 'p', end: null, node: 1 }]), nodes(2)),
        settingError('keyRanges[1]', /gap after keyRanges\[0\].*keys in \["m", "p"\) have no owner/),
      );
      assert.throws(() => createPartitionMap(spec([{ start: 'a', end: null, node: 0 }]), nodes(1)), settingError('keyRanges', /keys before/));
      assert.throws(() => createPartitionMap(spec([{ start: '', end: 'x', node: 0 }]), nodes(1)), settingError('keyRanges[0]', /from "x" on have no owner/));
      assert.throws(() => createPartitionMap(spec([{ start: '', end: null, node: 5 }]), nodes(2)), settingError('keyRanges[0].node', /index from 0 to 1 or one of "n0", "n1"/));
      assert.throws(() => createPartitionMap(spec([{ start: 'b', end: 'a', node: 0 }]), nodes(1)), settingError('keyRanges[0]', /start must sort before end/));
      assert.throws(() => createPartitionMap(spec(null), nodes(1)), settingError('keyRanges', /needs keyRanges/));
    });
  });

  describe('fast lookup', () => {
    // Bytes from a small alphabet, so keys, split points and range starts often share their first
    // 6 bytes (the prefix locate compares as a number) and differ only after, or by a trailing 0x00.
    const tieKeyArb = fc.array(fc.constantFrom(0x00, 0x01, 0x61, 0xff), { maxLength: 9 }).map((a) => Buffer.from(a));
    const anyKeyArb = fc.oneof(tieKeyArb, keyArb);
    type Step = { split: Buffer } | { splitMiddle: number } | { merge: number };
    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      anyKeyArb.map((split) => ({ split })),
      fc.nat().map((splitMiddle) => ({ splitMiddle })),
      fc.nat().map((merge) => ({ merge })),
    );

    /** A map after random splits (at keys, whose positions become starts, or midpoints) and merges. */
    function evolve(start: PartitionMap, steps: readonly Step[]): PartitionMap {
      let map = start;
      for (const step of steps) {
        const n = map.partitions.length;
        if ('split' in step) {
          const p = map.locate(step.split);
          if (!map.positionOf(step.split).equals(p.start)) map = splitPartition(map, p.id, { splitKey: step.split }).map;
        } else if ('splitMiddle' in step) {
          if (map.strategy === 'hash') map = splitPartition(map, map.partitions[step.splitMiddle % n].id).map;
        } else if (n > 1) {
          const i = step.merge % (n - 1);
          map = mergePartitions(map, map.partitions[i].id, map.partitions[i + 1].id).map;
        }
      }
      return map;
    }

    const mapArb = fc.oneof(
      fc.record({ partitions: fc.integer({ min: 1, max: 64 }), nodes: fc.integer({ min: 1, max: 4 }) })
        .map((o) => createPartitionMap({ numPartitions: o.partitions }, nodes(o.nodes))),
      fc.uniqueArray(anyKeyArb.filter((k) => k.length > 0), { maxLength: 12, selector: (k) => k.toString('hex') }).map((starts) => {
        const sorted = [Buffer.alloc(0), ...starts.sort(Buffer.compare)];
        return PartitionMap.of({
          version: 1, strategy: 'range', replicationFactor: 1, tokensPerNode: 0, nodes: ['n0'], tokens: [], nextId: sorted.length, saltedKeys: new Map(),
          partitions: sorted.map((start, i) => ({ id: i, start, end: i + 1 < sorted.length ? sorted[i + 1] : null, owner: 'n0' })),
        });
      }),
    );

    /** The plain computation: the partition whose [start, end) holds the key's position, found by a scan. */
    function plainIndex(map: PartitionMap, position: Buffer): number {
      return map.partitions.findIndex((p) => inRange(position, p.start, p.end));
    }

    const plainPosition = (map: PartitionMap, key: Buffer): Buffer => (map.strategy === 'hash' ? hashToken(key) : key);

    it('locate and indexOfPosition agree with a bytewise scan, after any splits and merges', () => {
      fc.assert(
        fc.property(mapArb, fc.array(stepArb, { maxLength: 12 }), fc.array(anyKeyArb, { maxLength: 30 }), (start, steps, keys) => {
          const map = evolve(start, steps);
          for (const key of keys) {
            const position = plainPosition(map, key);
            assert.equal(map.locate(key), map.partitions[plainIndex(map, position)]);
            assert.equal(map.indexOfPosition(position), plainIndex(map, position));
          }
          // Positions at, just below and just above every start: where a prefix tie needs the bytes.
          for (const p of map.partitions) {
            const below = Buffer.from(p.start);
            const above = Buffer.concat([p.start, Buffer.from([0])]);
            if (below.length > 0 && below[below.length - 1] > 0) below[below.length - 1]--;
            for (const position of [p.start, below, above]) assert.equal(map.indexOfPosition(position), plainIndex(map, position));
          }
        }),
        { numRuns: 300 },
      );
    });

    it('places a key exactly at a split point, where its token ties a start, in the upper partition', () => {
      const base = createPartitionMap({ numPartitions: 4 }, nodes(2));
      fc.assert(
        fc.property(keyArb, (key) => {
          const p = base.locate(key);
          fc.pre(!hashToken(key).equals(p.start));
          const map = splitPartition(base, p.id, { splitKey: key }).map;
          const upper = map.partition(base.nextId);
          assert.equal(map.locate(key), upper);
          assert.ok(upper.start.equals(hashToken(key)));
        }),
      );
    });
  });

  describe('settings', () => {
    it('defaults N/W/R to 3/2/2, capped by the node count', () => {
      assert.deepEqual(resolveQuorum({}, 5), { replicationFactor: 3, writeQuorum: 2, readQuorum: 2 });
      assert.deepEqual(resolveQuorum({}, 1), { replicationFactor: 1, writeQuorum: 1, readQuorum: 1 });
      assert.deepEqual(resolveQuorum({ replicationFactor: 5, writeQuorum: 1, readQuorum: 5 }, 5), { replicationFactor: 5, writeQuorum: 1, readQuorum: 5 });
    });

    it('rejects W > N, R > N, N > nodes, unknown strategies and bad numbers, naming the setting', () => {
      assert.throws(() => resolveQuorum({ writeQuorum: 4 }, 5), settingError('writeQuorum', /4 is more than replicationFactor 3; accepted: 1 to 3/));
      assert.throws(() => resolveQuorum({ readQuorum: 3, replicationFactor: 2 }, 5), settingError('readQuorum', /more than replicationFactor 2/));
      assert.throws(() => resolveQuorum({ replicationFactor: 4 }, 3), settingError('replicationFactor', /cluster has 3; accepted: 1 to 3/));
      assert.throws(() => resolveQuorum({ writeQuorum: 0 }, 3), settingError('writeQuorum', /integer from 1 to 3/));
      assert.throws(() => resolveQuorum({ readQuorum: '2' }, 3), settingError('readQuorum', /"2" is not accepted/));
      assert.throws(() => createPartitionMap({ partitionStrategy: 'random' }, nodes(3)), settingError('partitionStrategy', /"random" is not a strategy; accepted: "hash", "range"/));
      assert.throws(() => createPartitionMap({ numPartitions: 0 }, nodes(3)), settingError('numPartitions', /integer from 1/));
      assert.throws(() => createPartitionMap({ partitionsPerNode: 2.5 }, nodes(3)), settingError('partitionsPerNode', /integer from 1/));
      assert.throws(() => createPartitionMap({ keyRanges: [] }, nodes(3)), settingError('keyRanges', /only applies to partitionStrategy "range"/));
      assert.throws(() => createPartitionMap({}, ['a', 'a']), settingError('nodes[1]', /used twice/));
    });
  });

  describe('JSON form', () => {
    it('round-trips hash and range maps exactly', () => {
      const hash = createPartitionMap({ numPartitions: 5, partitionsPerNode: 3 }, nodes(3));
      const range = createPartitionMap({ partitionStrategy: 'range', keyRanges: [{ start: '', end: 'g', node: 0 }, { start: 'g', node: 1 }] }, nodes(2));
      for (const map of [hash, range]) {
        const json = JSON.parse(JSON.stringify(map));
        assert.deepEqual(PartitionMap.fromJSON(json).toJSON(), map.toJSON());
      }
    });

    it('rejects malformed maps naming the field, and a higher version wins', () => {
      const json = createPartitionMap({ numPartitions: 4 }, nodes(2)).toJSON();
      const broken = (patch: (j: typeof json) => void, field: string): void => {
        const copy = structuredClone(json);
        patch(copy);
        assert.throws(() => PartitionMap.fromJSON(copy), (e: unknown) => e instanceof InvalidMapError && e.field === field, field);
      };
      broken((j) => (j.partitions[2].owner = 'ghost'), 'partitions[2].owner');
      broken((j) => (j.partitions[2].start = j.partitions[1].start), 'partitions[2].start');
      broken((j) => (j.partitions[3].end = 'ff'.repeat(20)), 'partitions[3].end');
      broken((j) => (j.partitions[1].id = 0), 'partitions[1].id');
      broken((j) => j.tokens.pop(), 'tokens');
      broken((j) => (j.version = 0), 'version');
      broken((j) => ((j as { strategy: string }).strategy = 'ring'), 'strategy');
      broken((j) => (j.partitions[0].start = 'zz'), 'partitions[0].start');
      const v1 = PartitionMap.fromJSON(json);
      const v2 = PartitionMap.fromJSON({ ...json, version: 2 });
      assert.ok(v2.isNewerThan(v1) && !v1.isNewerThan(v2) && !v1.isNewerThan(v1) && v1.isNewerThan(undefined));
    });
  });
});
