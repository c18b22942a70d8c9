// The wire form of the partition map round-trips both strategies and salted keys, and a
// malformed message is rejected naming the field.
import assert from 'node:assert/strict';
import { createPartitionMap, InvalidMapError, markHotKey } from '../partitioning';
import { partitionMapFromProto, partitionMapToProto } from './partition-map-proto';

describe('partition map protocol form', () => {
  it('round-trips hash and range maps with salted keys and node addresses', () => {
    const hash = markHotKey(createPartitionMap({ replicationFactor: 2, numPartitions: 8, partitionsPerNode: 4 }, ['a', 'b', 'c']), Buffer.from('hot'), 3);
    const range = createPartitionMap({ partitionStrategy: 'range', keyRanges: [{ start: '', end: 'm', node: 0 }, { start: 'm', end: null, node: 1 }] }, ['a', 'b']);
    for (const map of [hash, range]) {
      const wire = partitionMapToProto(map, [{ id: 'a', address: '127.0.0.1:1' }]);
      assert.deepEqual(partitionMapFromProto(wire).toJSON(), map.toJSON());
    }
    assert.deepEqual(partitionMapToProto(hash, [{ id: 'a', address: '127.0.0.1:1' }]).addresses, [{ id: 'a', address: '127.0.0.1:1' }]);
  });

  it('rejects a malformed map naming the field', () => {
    const wire = partitionMapToProto(createPartitionMap({ numPartitions: 4 }, ['a', 'b']));
    assert.throws(() => partitionMapFromProto({ ...wire, strategy: 0 }), (e: unknown) => e instanceof InvalidMapError && e.field === 'strategy');
    assert.throws(() => partitionMapFromProto({ ...wire, partitions: wire.partitions.slice(1) }), (e: unknown) => e instanceof InvalidMapError && e.field === 'partitions[0].start');
    assert.throws(() => partitionMapFromProto({ ...wire, version: 0 }), (e: unknown) => e instanceof InvalidMapError && e.field === 'version');
  });
});
