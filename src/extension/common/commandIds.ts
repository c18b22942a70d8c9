// Every command id in one map; package.json contributes exactly these (test/suite checks it).
export const Commands = {
  startCluster: 'ringdb.startCluster',
  stopCluster: 'ringdb.stopCluster',
  showRunningCluster: 'ringdb.showRunningCluster',
  createClusterSpec: 'ringdb.createClusterSpec',
  put: 'ringdb.put',
  get: 'ringdb.get',
  delete: 'ringdb.delete',
  scanPartition: 'ringdb.scanPartition',
  queryIndex: 'ringdb.queryIndex',
  splitPartition: 'ringdb.splitPartition',
  mergePartitions: 'ringdb.mergePartitions',
  rebalance: 'ringdb.rebalance',
  markHotKey: 'ringdb.markHotKey',
  showHotspots: 'ringdb.showHotspots',
  setConsistency: 'ringdb.setConsistency',
  splitHotPartitions: 'ringdb.splitHotPartitions',
  resetHotspotCounters: 'ringdb.resetHotspotCounters',
  addNode: 'ringdb.addNode',
  removeNode: 'ringdb.removeNode',
  killNode: 'ringdb.killNode',
  restartNode: 'ringdb.restartNode',
  compactNode: 'ringdb.compactNode',
  flushNode: 'ringdb.flushNode',
  showSSTableDetails: 'ringdb.showSSTableDetails',
  repair: 'ringdb.repair',
  whereIsKey: 'ringdb.whereIsKey',
  openReplicationLog: 'ringdb.openReplicationLog',
  showNodeLogs: 'ringdb.showNodeLogs',
  showExplorer: 'ringdb.showExplorer',
  groupPartitionsByOwner: 'ringdb.groupPartitionsByOwner',
  showPartitionsInRingOrder: 'ringdb.showPartitionsInRingOrder',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

/** View ids, matching contributes.views in package.json. */
export const Views = {
  container: 'ringdb',
  nodes: 'ringdb.nodes',
  partitions: 'ringdb.partitions',
  sstables: 'ringdb.sstables',
  hints: 'ringdb.hints',
} as const;

/** Context keys used in when-clauses. */
export const ContextKeys = {
  clusterRunning: 'ringdb.clusterRunning',
  clusterStarting: 'ringdb.clusterStarting',
  partitionsByOwner: 'ringdb.partitionsByOwner',
} as const;
