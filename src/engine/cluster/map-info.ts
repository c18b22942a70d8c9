// The partition map as the controller reports it (Describe, Watch, GetPartitionMap): one row per
// partition with its human range, replicas and operation count, plus the exact map as JSON so a
// driver or router can rebuild it and place keys exactly as the nodes do.

import type * as ctl from '../gen/ringdb/v1/control';
import { type PartitionMap, type QuorumSettings, ringTable } from '../partitioning/index';

export interface RoutingFlags {
  enableForwarding: boolean;
  loadBalanceReads: boolean;
}

export function mapInfo(map: PartitionMap, quorum: QuorumSettings, flags: RoutingFlags, ops: ReadonlyMap<number, number>): ctl.PartitionMapInfo {
  const rows = ringTable(map);
  // After RemoveNode a key has fewer replicas than the spec's N, and W and R stop at them (the
  // coordinator waits for at most every replica): report what is in force, not N=1 W=2.
  const replicationFactor = Math.min(quorum.replicationFactor, map.nodes.length);
  return {
    version: map.version,
    strategy: map.strategy,
    replicationFactor,
    writeQuorum: Math.min(quorum.writeQuorum, replicationFactor),
    readQuorum: Math.min(quorum.readQuorum, replicationFactor),
    enableForwarding: flags.enableForwarding,
    loadBalanceReads: flags.loadBalanceReads,
    nodeIds: [...map.nodes],
    partitions: map.partitions.map((p, i) => ({
      id: p.id,
      range: rows[i].range,
      startHex: p.start.toString('hex'),
      endHex: p.end?.toString('hex') ?? '',
      endIsOpen: p.end === null,
      owner: p.owner,
      replicas: [...rows[i].replicas],
      share: rows[i].share ?? 0,
      ops: ops.get(p.id) ?? 0,
    })),
    saltedKeys: [...map.saltedKeys].map(([hex, buckets]) => ({ key: Buffer.from(hex, 'hex'), buckets })),
    mapJson: JSON.stringify(map.toJSON()),
  };
}
