// The partitioning package's public surface (see README.md): what the node, the controller,
// the driver and the router import.

export { InvalidArgumentError, InvalidMapError, InvalidSettingError, PartitioningError } from './errors';
export { changedPartitionIds, type HotKey, type HotPartition, HotspotMetrics, SpaceSaving } from './hotspots';
export { describeRange, hashToken, inRange, ringFraction, type Strategy, STRATEGIES, type VnodeToken } from './keyspace';
export { MAX_SALT_BUCKETS, type Partition, PartitionMap, type PartitionMapFields, type PartitionMapJson } from './partition-map';
export { type Placement, preferenceList, readCandidates, replicasOf, ringWalk, sloppyPreferenceList } from './placement';
export { READ_BALANCING, ReadBalancer, type ReadBalancing } from './read-balancer';
export { isSaltedKey, markHotKey, readKeysFor, saltBuckets, saltedKey, saltVariants, unmarkHotKey, unsaltKey, writeKeyFor } from './salting';
export {
  createPartitionMap,
  DEFAULT_NUM_PARTITIONS,
  DEFAULT_PARTITIONS_PER_NODE,
  parseKeyRanges,
  parseStrategy,
  type PlacementSpec,
  type QuorumSettings,
  quorumOverrideProblem,
  resolveQuorum,
} from './settings';
export {
  addNode,
  type HotSplitResult,
  type KeyRange,
  mergePartitions,
  type PartitionMove,
  rebalance,
  removeNode,
  type SplitOptions,
  splitHotPartitions,
  splitPartition,
  type TopologyChange,
} from './topology';
export { type DataRelease, type DataTransfer, planTransfers, type TransferPlan } from './transfers';
export { type KeyPlacement, type RingRow, ringTable, where } from './describe';
