// The cluster spec: one format for the CLI, the controller and the extension (DESIGN.md, "Cluster spec").
// Fields for later issues (quorums, partitioning, CRDTs, indexes, router) are typed and validated
// here already, so a spec written today keeps meaning the same thing when those features land.

export type SyncPolicy = 'always' | 'batch' | 'none';
export type PartitionStrategy = 'hash' | 'range';
export type ConsistencyMode = 'lww' | 'vector' | 'crdt';
export type CrdtType = 'gcounter' | 'pncounter' | 'orset' | 'lwwregister' | 'mvregister';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Replication topology: null or "mesh" is all-to-all; "ring" and "star" are presets over the
 *  node ids in order; an object maps each node id to the nodes it forwards its ops to. */
export type TopologySpec = null | 'mesh' | 'ring' | 'star' | Record<string, string[]>;

export interface StorageSpec {
  sync: SyncPolicy;
  syncIntervalMs: number;
  memtableBytes: number;
  /** How long a delete's tombstone outlives compaction, and a hint its write (see storage README). */
  tombstoneGraceMs: number;
}

/** One explicit key range of the `range` strategy: keys in [start, end) live on `node`;
 *  `end: null` means "to the end of the key space". */
export interface KeyRangeSpec {
  start: string;
  end: string | null;
  node: string;
}

export interface RouterSpec {
  port: number;
}

export interface ClusterSpec {
  nodes: number;
  dataDir: string;
  host: string;
  storage: StorageSpec;
  topology: TopologySpec;
  replicationFactor: number;
  writeQuorum: number;
  readQuorum: number;
  partitionStrategy: PartitionStrategy;
  partitionsPerNode: number;
  numPartitions: number;
  keyRanges: KeyRangeSpec[] | null;
  enableForwarding: boolean;
  loadBalanceReads: boolean;
  /** When a point read asks a replica beside a slow one: "none", "always", "<N>ms" or "<P>p" (spec/speculative-retry.ts). */
  speculativeRetry: string;
  consistencyMode: ConsistencyMode;
  crdt: Record<string, CrdtType>;
  indexFields: string[];
  globalIndexFields: string[];
  cacheSize: number;
  antiEntropyIntervalMs: number;
  /** Periodic Merkle-tree rounds (store comparison with each replica), apart from the pull sync's antiEntropyIntervalMs. */
  merkleIntervalMs: number;
  heartbeatIntervalMs: number;
  /** Backpressure: local writes wait while a live peer lags by more ops than this; 0 = off. */
  replicationBacklogOps: number;
  logLevel: LogLevel;
  router: RouterSpec | null;
}

/** Limits shared by the validator, the JSON schema test and the docs. */
export const SPEC_LIMITS = {
  nodes: { min: 1, max: 32 },
  syncIntervalMs: { min: 1, max: 10_000 },
  memtableBytes: { min: 64 * 1024, max: 1024 * 1024 * 1024 },
  tombstoneGraceMs: { min: 0, max: 365 * 24 * 3_600_000 },
  partitionsPerNode: { min: 1, max: 1024 },
  numPartitions: { min: 1, max: 65_536 },
  cacheSize: { min: 0, max: 10_000_000 },
  antiEntropyIntervalMs: { min: 50, max: 3_600_000 },
  merkleIntervalMs: { min: 50, max: 86_400_000 },
  heartbeatIntervalMs: { min: 50, max: 60_000 },
  replicationBacklogOps: { min: 0, max: 10_000_000 },
  port: { min: 0, max: 65_535 },
} as const;

export const SYNC_POLICIES: readonly SyncPolicy[] = ['always', 'batch', 'none'];
export const PARTITION_STRATEGIES: readonly PartitionStrategy[] = ['hash', 'range'];
export const CONSISTENCY_MODES: readonly ConsistencyMode[] = ['lww', 'vector', 'crdt'];
export const CRDT_TYPES: readonly CrdtType[] = ['gcounter', 'pncounter', 'orset', 'lwwregister', 'mvregister'];
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const TOPOLOGY_PRESETS = ['mesh', 'ring', 'star'] as const;

/** Node ids are "n1", "n2", ...: short, stable across restarts, and safe as folder names. */
export const NODE_ID_PATTERN = /^n[1-9][0-9]{0,3}$/;

export function nodeIdOf(index: number): string {
  return `n${index + 1}`;
}
