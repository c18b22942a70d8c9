// The types the client API hands out: plain objects with string unions, so the extension and the
// CLI never see generated protobuf types, enums or Long-like numbers. Keys are shown as UTF-8 text.

export type NodeState = 'starting' | 'up' | 'suspect' | 'down' | 'stopped';
export type ClusterPhase = 'empty' | 'starting' | 'running' | 'stopping' | 'stopped';
export type PeerState = 'up' | 'suspect' | 'down' | 'unknown';
export type OpKind = 'put' | 'delete';

export interface PeerStatus {
  id: string;
  address: string;
  state: PeerState;
  /** Unix ms of the last successful exchange; 0 = never. */
  lastHeardUnixMs: number;
  /** True when the node replicates to this peer. */
  destination: boolean;
  ackedLsn: number;
  pendingOps: number;
  lastError: string;
}

export interface OpCounters {
  localPuts: number;
  localDeletes: number;
  gets: number;
  scans: number;
  replicatedApplied: number;
  replicatedDuplicates: number;
  replicatedBuffered: number;
  replicatedStale: number;
  opsSent: number;
  fetchedApplied: number;
}

export interface SSTableInfo {
  id: number;
  level: number;
  file: string;
  minKey: string;
  maxKey: string;
  entries: number;
  tombstones: number;
  sizeBytes: number;
  bloomBits: number;
}

export interface StoreCounters {
  puts: number;
  deletes: number;
  gets: number;
  staleWrites: number;
  flushes: number;
  compactions: number;
  bytesCompacted: number;
  bloomSkips: number;
  bloomFalsePositives: number;
  blockCacheHits: number;
  blockCacheMisses: number;
}

export interface StoreSnapshot {
  memtableBytes: number;
  memtableEntries: number;
  immutableMemtables: number;
  walBytes: number;
  sstables: SSTableInfo[];
  counters: StoreCounters;
}

export interface NodeStats {
  nodeId: string;
  address: string;
  pid: number;
  uptimeMs: number;
  /** Lamport clock. */
  clock: number;
  /** Highest local sequence number issued. */
  seq: number;
  /** origin node -> highest seq applied. */
  versionVector: Record<string, number>;
  counters: OpCounters;
  peers: PeerStatus[];
  storage: StoreSnapshot;
  logFirstLsn: number;
  logNextLsn: number;
}

export interface NodeInfo {
  id: string;
  /** host:port; "" before the node first served. */
  address: string;
  /** 0 when no process runs. */
  pid: number;
  state: NodeState;
  startedAtUnixMs: number;
  stateSinceUnixMs: number;
  dataDir: string;
  logFile: string;
  /** Why the node is in its state, e.g. "killed by KillNode". */
  reason: string;
  /** The last stats the controller received, if any. */
  stats: NodeStats | undefined;
}

export interface ClusterDescription {
  phase: ClusterPhase;
  /** The validated spec with defaults filled in, as JSON; "" when no cluster was started. */
  specJson: string;
  dataDir: string;
  controllerAddress: string;
  controllerPid: number;
  startedAtUnixMs: number;
  nodes: NodeInfo[];
}

export interface PeerAck {
  peerId: string;
  acked: boolean;
}

export interface ReplicationLogEntry {
  lsn: number;
  opId: string;
  origin: string;
  key: string;
  ts: number;
  kind: OpKind;
  valueBytes: number;
  acks: PeerAck[];
}

export interface PeerCursor {
  peerId: string;
  ackedLsn: number;
}

/** One page of a node's replication log (NodeClient.replicationLog). */
export interface ReplicationLogPage {
  entries: ReplicationLogEntry[];
  /** Pass as `fromLsn` to continue. */
  nextLsn: number;
  /** First position the node still retains. */
  firstLsn: number;
  cursors: PeerCursor[];
}

interface EventBase {
  /** Increases by one per event of one watch stream. */
  seq: number;
  atUnixMs: number;
}

/** What Watch delivers. The first event is always a snapshot; the rest apply to it. */
export type ClusterEvent = EventBase & (
  | { type: 'snapshot'; cluster: ClusterDescription }
  | { type: 'nodeState'; node: NodeInfo; previous: NodeState }
  | { type: 'stats'; nodeId: string; stats: NodeStats }
  | { type: 'storeChanged'; nodeId: string; snapshot: StoreSnapshot }
  | { type: 'replicationAppended'; nodeId: string; entries: ReplicationLogEntry[] }
  | { type: 'replicationAcknowledged'; nodeId: string; cursors: PeerCursor[] }
  | { type: 'phase'; phase: ClusterPhase; reason: string }
  | { type: 'membership'; nodeIds: string[] }
);

export interface Version {
  /** Lamport timestamp. */
  ts: number;
  origin: string;
  /** "<origin>:<seq>" */
  opId: string;
}

export interface GetResult {
  /** False when the key was never written or its newest version is a delete. */
  found: boolean;
  value: Buffer;
  deleted: boolean;
  version: Version | undefined;
}

export interface ScanOptions {
  /** Inclusive; omitted = from the first key. */
  start?: string | Uint8Array;
  /** Exclusive; omitted = to the last key. */
  end?: string | Uint8Array;
  /** 1..10000; default 1000. */
  limit?: number;
  continuationToken?: Uint8Array;
  includeTombstones?: boolean;
}

export interface ScanEntry {
  key: Buffer;
  value: Buffer;
  deleted: boolean;
  version: Version | undefined;
}

export interface ScanResult {
  entries: ScanEntry[];
  /** Undefined when the range is exhausted. */
  continuationToken: Buffer | undefined;
}

export interface RemoveNodeResult {
  nodeId: string;
  handedOverOps: number;
}

/** Per-call settings of every client method. */
export interface CallOptions {
  /** Deadline from now, in ms. */
  timeoutMs?: number;
}
