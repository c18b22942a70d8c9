import { strict as assert } from 'node:assert';
import { createPartitionMap } from '../partitioning/index';
import { mapInfo } from './map-info';

describe('the partition map as the controller reports it (map-info)', () => {
  const flags = { enableForwarding: true, loadBalanceReads: false };

  it('reports the N, W and R in force once fewer nodes than the spec\'s N are left (the coordinator caps W and R at the replicas)', () => {
    const shrunk = createPartitionMap({ replicationFactor: 1, numPartitions: 4, partitionsPerNode: 4 }, ['n1']);
    const info = mapInfo(shrunk, { replicationFactor: 3, writeQuorum: 2, readQuorum: 2 }, flags, new Map());
    assert.deepEqual([info.replicationFactor, info.writeQuorum, info.readQuorum], [1, 1, 1]);
  });

  it('reports the spec\'s settings when the nodes can hold them', () => {
    const map = createPartitionMap({ replicationFactor: 3, numPartitions: 6, partitionsPerNode: 2 }, ['n1', 'n2', 'n3']);
    const info = mapInfo(map, { replicationFactor: 3, writeQuorum: 2, readQuorum: 1 }, flags, new Map());
    assert.deepEqual([info.replicationFactor, info.writeQuorum, info.readQuorum], [3, 2, 1]);
  });
});
