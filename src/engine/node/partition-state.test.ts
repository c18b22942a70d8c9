import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { encodeCompositeKey, tryDecodeCompositeKey } from '../codec/composite-key';
import { createPartitionMap, hashToken, inRange, type PartitionMap, preferenceList, splitPartition } from '../partitioning';
import { partitionMapToProto } from '../rpc/partition-map-proto';
import { NodeFileSystem } from '../storage/node-fs';
import { MAX_CACHED_KEY_BYTES, PidCache } from './pid-cache';
import { PartitionState } from './partition-state';

const NODES = ['n1', 'n2', 'n3', 'n4'];

/** Stored keys as nodes see them: raw (short, long, with zeros) and composite-encoded. */
const storedKeyArb = fc.oneof(
  fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ minLength: MAX_CACHED_KEY_BYTES - 2, maxLength: MAX_CACHED_KEY_BYTES + 4 }).map((a) => Buffer.from(a)),
  fc.tuple(fc.uint8Array({ maxLength: 10 }), fc.option(fc.uint8Array({ maxLength: 10 }), { nil: undefined }))
    .map(([pk, ck]) => encodeCompositeKey(Buffer.from(pk), ck && Buffer.from(ck))),
);

function partitionKeyOf(storedKey: Buffer): Buffer {
  return tryDecodeCompositeKey(storedKey)?.partitionKey ?? storedKey;
}

/** The plain computation: the partition whose range holds the SHA-1 of the partition key, by a scan. */
function plainPid(map: PartitionMap, storedKey: Buffer): number {
  const token = hashToken(partitionKeyOf(storedKey));
  return map.partitions.find((p) => inRange(token, p.start, p.end))!.id;
}

describe('partition state placement', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'ringdb-partition-state-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function install(state: PartitionState, map: PartitionMap): void {
    assert.equal(state.update(partitionMapToProto(map), new Map()), true);
  }

  it('places every stored key as a scan over the map would, before and after the map changes', () => {
    const state = PartitionState.open(new NodeFileSystem(), dir);
    let map = createPartitionMap({ numPartitions: 8 }, NODES);
    install(state, map);
    fc.assert(
      fc.property(fc.array(storedKeyArb, { minLength: 1, maxLength: 40 }), fc.boolean(), (keys, change) => {
        const before = state.map!;
        if (change) {
          // Split the partition of the first key at it: that key and some others change partition.
          const p = before.locate(partitionKeyOf(keys[0]));
          if (!hashToken(partitionKeyOf(keys[0])).equals(p.start)) install(state, (map = splitPartition(before, p.id, { splitKey: partitionKeyOf(keys[0]) }).map));
        }
        for (const key of [...keys, ...keys.map((k) => Buffer.from(k))]) {
          const pid = plainPid(map, key);
          assert.equal(state.partitionOf(map, key), pid);
          assert.equal(state.partitionOf(before, key), plainPid(before, key));
          for (const node of NODES) assert.equal(state.replicates(node, key), preferenceList(map, pid).includes(node));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('replicates everything everywhere until a map arrives', () => {
    const state = PartitionState.open(new NodeFileSystem(), dir);
    assert.equal(state.replicates('anyone', Buffer.from('k')), true);
  });
});

describe('pid cache', () => {
  const place = (key: Buffer): number => hashToken(key).readUInt32BE(0);

  it('answers what place answers for any keys, colliding slots and copies of the same bytes included', () => {
    fc.assert(
      fc.property(fc.array(storedKeyArb, { minLength: 1, maxLength: 50 }), fc.array(fc.nat(), { maxLength: 300 }), (pool, picks) => {
        const cache = new PidCache();
        for (const i of picks) {
          const key = Buffer.from(pool[i % pool.length]);
          assert.equal(cache.pidOf(key, place), place(key));
        }
      }),
    );
    // 10,240 three-byte keys: enough that some share a slot.
    const cache = new PidCache();
    const keys = Array.from({ length: 40 * 256 }, (_, i) => Buffer.from([i & 0xff, i >> 8, 0x6b]));
    for (let i = 0; i < 100_000; i++) {
      const key = keys[(i * 7919) % keys.length];
      assert.equal(cache.pidOf(key, place), place(key));
    }
  });

  it('places a short key once while it keeps its slot, a long key every time, and forgets everything on clear', () => {
    const cache = new PidCache();
    let calls = 0;
    const counting = (key: Buffer): number => (calls++, place(key));
    const short = Buffer.from('user:42');
    cache.pidOf(short, counting);
    cache.pidOf(Buffer.from(short), counting);
    assert.equal(calls, 1);
    const long = Buffer.alloc(MAX_CACHED_KEY_BYTES + 1, 7);
    cache.pidOf(long, counting);
    cache.pidOf(long, counting);
    assert.equal(calls, 3);
    cache.clear();
    cache.pidOf(short, counting);
    assert.equal(calls, 4);
  });
});
