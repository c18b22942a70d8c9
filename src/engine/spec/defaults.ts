// Defaults of the cluster spec, and the commented default file the extension and `ringdb init`-style
// flows write to `.ringdb/cluster.json`.

import type { ClusterSpec } from './types';
import { DEFAULT_SPECULATIVE_RETRY } from './speculative-retry';

const DEFAULTS: ClusterSpec = {
  nodes: 3,
  dataDir: '.ringdb/data',
  host: '127.0.0.1',
  // 16 MiB, not LevelDB's 4: three replicas share a small machine's cores, and a quarter of the
  // flushes, L0 tables and compactions gave about 20 % more replicated puts/s
  // (bench/cluster/README.md, "Memtable size").
  // An hour of tombstone grace: Cassandra's gc_grace_seconds is 10 days for clusters that repair
  // weekly; here Merkle rounds run every minute and a node is rarely down for long, while a
  // day-long grace would keep every delete on disk through a whole working session.
  storage: { sync: 'batch', syncIntervalMs: 5, memtableBytes: 16 * 1024 * 1024, tombstoneGraceMs: 3_600_000 },
  topology: null,
  replicationFactor: 3,
  writeQuorum: 2,
  readQuorum: 2,
  partitionStrategy: 'hash',
  partitionsPerNode: 8,
  numPartitions: 128,
  keyRanges: null,
  enableForwarding: true,
  loadBalanceReads: false,
  speculativeRetry: DEFAULT_SPECULATIVE_RETRY,
  consistencyMode: 'lww',
  crdt: {},
  indexFields: [],
  globalIndexFields: [],
  cacheSize: 0,
  antiEntropyIntervalMs: 5000,
  heartbeatIntervalMs: 500,
  replicationBacklogOps: 1000,
  merkleIntervalMs: 60_000,
  logLevel: 'info',
  router: null,
};

export const DEFAULT_SPEC: Readonly<ClusterSpec> = Object.freeze(DEFAULTS);

/** A fresh, mutable copy of the defaults. */
export function defaultClusterSpec(): ClusterSpec {
  return structuredClone(DEFAULT_SPEC) as ClusterSpec;
}

/** The default spec as a commented JSONC file; `schemaRef` is the "$schema" value to put in it. */
export function defaultClusterSpecText(schemaRef?: string): string {
  const d = DEFAULT_SPEC;
  const schemaLine = schemaRef ? `  "$schema": ${JSON.stringify(schemaRef)},\n` : '';
  return `// RingDB cluster spec: read by the ringdb CLI and the RingDB extension.
// Every field is optional; what is left out takes the default shown here.
{
${schemaLine}  // Number of node processes (1 to 32), named n1, n2, ...
  "nodes": ${d.nodes},
  // Where node data, logs and the cluster token live, relative to this workspace.
  "dataDir": ${JSON.stringify(d.dataDir)},
  // Address nodes listen on; keep loopback unless other machines must reach them.
  "host": ${JSON.stringify(d.host)},
  // fsync policy of each node's write-ahead log: "always", "batch" or "none"; how long deletes
  // are kept (ms) before compaction may drop them, and hints before they expire.
  "storage": { "sync": ${JSON.stringify(d.storage.sync)}, "syncIntervalMs": ${d.storage.syncIntervalMs}, "memtableBytes": ${d.storage.memtableBytes}, "tombstoneGraceMs": ${d.storage.tombstoneGraceMs} },
  // null (full mesh), "ring", "star", or a map like { "n1": ["n2"], "n2": ["n3"], "n3": ["n1"] }.
  "topology": null,
  // N replicas per key; a write needs W acknowledgements, a read R answers.
  "replicationFactor": ${d.replicationFactor}, "writeQuorum": ${d.writeQuorum}, "readQuorum": ${d.readQuorum},
  // "hash": the ring is cut into numPartitions equal partitions, each owned by the node whose
  // virtual node (partitionsPerNode of them per node) comes next on the ring; or "range": keyRanges.
  "partitionStrategy": ${JSON.stringify(d.partitionStrategy)}, "partitionsPerNode": ${d.partitionsPerNode}, "numPartitions": ${d.numPartitions}, "keyRanges": null,
  "enableForwarding": ${d.enableForwarding}, "loadBalanceReads": ${d.loadBalanceReads},
  // When a read asks another replica beside one that has not answered: "99p" after the 99th
  // percentile of recent answers, "50ms" after a fixed wait, "always" at once, "none" never.
  "speculativeRetry": ${JSON.stringify(d.speculativeRetry)},
  // "lww" (last write wins), "vector" (version vectors) or "crdt"; crdt maps keys to CRDT types.
  "consistencyMode": ${JSON.stringify(d.consistencyMode)}, "crdt": {},
  // JSON value fields to index: indexFields on every node (a query asks them all), globalIndexFields
  // partitioned by the indexed value (a query reads one partition's replicas).
  "indexFields": [], "globalIndexFields": [], "cacheSize": ${d.cacheSize},
  // Pull sync of missing ops every antiEntropyIntervalMs; Merkle-tree comparison of the stores
  // every merkleIntervalMs (under writes it mostly finds writes still in flight: keep it rarer).
  "antiEntropyIntervalMs": ${d.antiEntropyIntervalMs}, "merkleIntervalMs": ${d.merkleIntervalMs}, "heartbeatIntervalMs": ${d.heartbeatIntervalMs},
  // Local writes wait while a live peer has more than this many ops unacknowledged (0 = never wait).
  "replicationBacklogOps": ${d.replicationBacklogOps},
  "logLevel": ${JSON.stringify(d.logLevel)},
  // { "port": 0 } starts a router process that relays requests to the right node.
  "router": null
}
`;
}

/**
 * `spec` with N, W and R at most `nodes` (the same object when they fit already): the defaults
 * assume 3 nodes, and a cluster started again after RemoveNode may have fewer members than N.
 */
export function fitQuorumsToNodes(spec: ClusterSpec, nodes: number): ClusterSpec {
  if (spec.replicationFactor <= nodes) return spec;
  const replicationFactor = Math.max(1, nodes);
  return { ...spec, replicationFactor, writeQuorum: Math.min(spec.writeQuorum, replicationFactor), readQuorum: Math.min(spec.readQuorum, replicationFactor) };
}
