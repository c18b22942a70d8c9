import { strict as assert } from 'node:assert';
import { createPartitionMap } from '../partitioning/settings';
import { splitPartition } from '../partitioning/topology';
import { splitKeyPosition } from './split-key';

describe('splitKeyPosition', () => {
  it('accepts exactly the keys the engine\'s split accepts, for range and hash maps', () => {
    const keyRanges = [{ start: '', end: 'g', node: 0 }, { start: 'g', end: 'p', node: 1 }, { start: 'p', end: null, node: 0 }];
    const maps = [createPartitionMap({ partitionStrategy: 'range', replicationFactor: 1, keyRanges }, ['n0', 'n1']), createPartitionMap({ numPartitions: 4, replicationFactor: 1 }, ['n0', 'n1'])];
    // Range keys on and around the bounds; for the hash map, enough keys to land in every slice.
    const keys = ['a', 'g', 'ga', 'o', 'p', 'pz', 'z', '\u00e9t\u00e9', ...Array.from({ length: 40 }, (_, i) => `user:${i}`)];
    for (const map of maps) {
      let accepted = 0;
      for (const p of map.partitions) {
        const info = { startHex: p.start.toString('hex'), endHex: p.end === null ? null : p.end.toString('hex') };
        for (const key of keys) {
          let engine = true;
          try {
            splitPartition(map, p.id, { splitKey: Buffer.from(key, 'utf8') });
          } catch {
            engine = false;
          }
          accepted += engine ? 1 : 0;
          assert.equal(splitKeyPosition(map.strategy, info, key).inside, engine, `${map.strategy} partition ${p.id}, key ${key}`);
        }
      }
      // A key on a range start is refused by both (the lower half would be empty): 'g' and 'p' for their partitions.
      assert.equal(accepted, map.strategy === 'range' ? keys.length - 2 : keys.length);
    }
  });
});
