import { strict as assert } from 'node:assert';
import { ringTable, where } from './describe';
import { markHotKey } from './salting';
import { createPartitionMap } from './settings';

describe('map views for the CLI and the editor', () => {
  it('ring: one row per partition with owner first among replicas; hash shares sum to the ring', () => {
    const map = createPartitionMap({ numPartitions: 16, replicationFactor: 2 }, ['a', 'b', 'c']);
    const rows = ringTable(map);
    assert.equal(rows.length, 16);
    for (const r of rows) assert.equal(r.replicas[0], r.owner);
    assert.ok(Math.abs(rows.reduce((s, r) => s + (r.share ?? 0), 0) - 1) < 1e-6);
    assert.match(rows[0].range, /^\[token 000000000000…, token 100000000000…\)$/);
    const range = createPartitionMap({ partitionStrategy: 'range', keyRanges: [{ start: '', end: 'm', node: 0 }, { start: 'm', node: 1 }] }, ['a', 'b']);
    assert.deepEqual(ringTable(range).map((r) => r.range), ['["", "m")', '["m", end)']);
  });

  it('where: partition, replicas and salt variants of a key', () => {
    const map = markHotKey(createPartitionMap({}, ['a', 'b', 'c']), Buffer.from('hot'), 4);
    const hot = where(map, Buffer.from('hot'));
    assert.equal(hot.saltBuckets, 4);
    assert.equal(hot.readKeys.length, 5);
    assert.equal(hot.partition, map.locate(Buffer.from('hot')).id);
    assert.equal(hot.replicas.length, 3);
    assert.equal(where(map, Buffer.from('cold')).readKeys.length, 1);
  });

  it('where: the partition\'s whole range beside the key\'s token, which it contains', () => {
    const map = createPartitionMap({ numPartitions: 16 }, ['a', 'b', 'c']);
    const w = where(map, Buffer.from('cold'));
    assert.match(w.position, /^[0-9a-f]{40}$/);
    assert.match(w.startHex, /^[0-9a-f]{40}$/);
    assert.ok(w.startHex <= w.position && (w.endHex === null || w.position < w.endHex), `${w.position} outside ${w.startHex}..${w.endHex}`);
    // The last partition runs to the end of the ring: no end token.
    const lastId = map.partitions[map.partitions.length - 1].id;
    const inLast = Array.from({ length: 200 }, (_, i) => where(map, Buffer.from(`k${i}`))).find((x) => x.partition === lastId);
    assert.ok(inLast, 'no key of 200 in the last of 16 partitions');
    assert.equal(inLast.endHex, null);
  });
});
