// The types the client API hands out: plain objects with string unions, so the extension and the
// CLI never see generated protobuf types, enums or Long-like numbers. Keys are shown as UTF-8 text.

export type NodeState = 'starting' | 'up' | 'suspect' | 'down' | 'stopped';
export type ClusterPhase = 'empty' | 'starting' | 'running' | 'stopping' | 'stopped';
export type PeerState = 'up' | 'suspect' | 'down' | 'unknown';
/** `skip`: an op this node logs without its key (it went to the key's replicas), keeping its origin's seqs gap-free. */
export type OpKind = 'put' | 'delete' | 'skip';

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
  /** Local writes that waited for peers to catch up (backpressure), the total wait, and those admitted after the longest wait. */
  backpressureWaits: number;
  backpressureWaitedMs: number;
  backpressureTimeouts: number;
}

export interface SSTableInfo {
  id: number;
  level: number;
  file: string;
  /** The table's smallest and largest keys as a person reads them (storedKeyText: rows, salted variants). */
  minKey: string;
  maxKey: string;
  /** Whether minKey / maxKey is a hot key's salted variant (isSaltedStored): those sort after every plain key. */
  minKeySalted: boolean;
  maxKeySalted: boolean;
  entries: number;
  tombstones: number;
  sizeBytes: number;
  /** Bits in the table's bloom filter; 0: it has none. */
  bloomBits: number;
  /** Wall-clock ms by which the node had accepted every entry in it: its flush, or the newest of a compaction's inputs. */
  newestWriteUnixMs: number;
  /** The Lamport timestamps (a version's `ts`) of the oldest and newest versions it holds. */
  minTs: number;
  maxTs: number;
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

/** A store after a flush, and the tables that flush wrote (L0; also when a compaction has merged them since). */
export interface FlushedSnapshot extends StoreSnapshot {
  written: SSTableInfo[];
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
  /** Hinted handoff on this node (undefined before its partitioning layer reports). */
  hints?: HintCounters;
  /** The requests this node coordinated, since it started (undefined before its partitioning layer reports). */
  coordination?: CoordinationCounters;
}

export interface CoordinationCounters {
  reads: number;
  writes: number;
  /** Replicas sent a newer version because a read found them stale. */
  readRepairs: number;
  /** Requests sent on to a replica (enableForwarding). */
  forwarded: number;
  notOwnerAnswers: number;
  /** Replicas asked beside one that had not answered within speculateAfterMs. */
  speculativeReads: number;
  /** Speculative asks the retry budget refused (the read waited on the slow replica). */
  speculationsRefused: number;
  /** How long a point read now waits on a replica before asking another (by default the 99th percentile of recent answers, 5..500 ms). */
  speculateAfterMs: number;
  /** The node's speculativeRetry setting ("none": reads never speculate). */
  speculativeRetry: string;
}

export interface HintCounters {
  /** Held now for replicas that were down. */
  held: number;
  /** Accepted as hints since the node started. */
  hinted: number;
  delivered: number;
  /** Dropped undelivered: older than storage.tombstoneGraceMs (Merkle repair brings their keys). */
  expired: number;
  /** `expired` by the replica the hints were held for. */
  expiredFor: Record<string, number>;
}

export interface NodeInfo {
  id: string;
  /**
   * host:port; "" before the node first served. A node kept down on purpose that never served has
   * the one its peers list it under, where its restart serves if that port is free.
   */
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
  /**
   * Taken down on purpose (KillNode), recorded in the data folder: a controller that crashed and
   * resumes the cluster leaves it down. Restarting or removing it, or stopping or starting the
   * whole cluster, clears it.
   */
  downOnPurpose: boolean;
}

/** RestartNode's answer: the node, and what did not follow its restart. */
export interface RestartedNode extends NodeInfo {
  /**
   * Set when the node restarted but a peer did not take its membership update (hung or dying):
   * which peer, and what follows. The restart itself succeeded.
   */
  warning?: string;
}

/** StartCluster's answer: the cluster, and what the start did with the nodes down on purpose. */
export interface StartedCluster extends ClusterDescription {
  /** Which nodes it kept down (a resume) or started although down on purpose, or a damaged record it ignored; "" when none. */
  note: string;
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
  /** The authoritative partition map; undefined before a cluster started. */
  partitionMap?: PartitionMapInfo;
  /** Hints held per (holder, target) pair. */
  hints?: HintSummary[];
  /** host:port of the router (spec `router`); "" or undefined when there is none. It serves Put/Get/Delete/Scan/BatchPut: use a NodeClient on it. */
  routerAddress?: string;
  /** Why the spec'd router is not serving (restarting after an exit, or given up); "" or undefined while it serves. */
  routerNote?: string;
}

export interface PeerAck {
  peerId: string;
  acked: boolean;
}

export interface ReplicationLogEntry {
  lsn: number;
  opId: string;
  origin: string;
  /** As a person reads it (storedKeyText): a row as "partition / clustering", a salted variant with its bucket. */
  key: string;
  /** The key a Get of this entry's key names (getKeyOf); undefined for a row, or a skip. */
  getKey: string | undefined;
  ts: number;
  kind: OpKind;
  valueBytes: number;
  acks: PeerAck[];
}

export interface PeerCursor {
  peerId: string;
  ackedLsn: number;
}

/** When a node had stored an origin's ops (NodeClient.appliedMarks). */
export type { AppliedMark, AppliedMarksPage } from '../replication/applied-marks';

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
) | PartitionEvent;

export interface Version {
  /** Lamport timestamp. */
  ts: number;
  origin: string;
  /** "<origin>:<seq>" */
  opId: string;
}

/** A hint a node keeps: a write for `target`, a replica that was down, handed over once it is back. */
export interface HeldHint {
  target: string;
  key: Buffer;
  opId: string;
  ageMs: number;
  version: Version | undefined;
  deleted: boolean;
}

export interface GetResult {
  /** False when the key was never written or its newest version is a delete. */
  found: boolean;
  value: Buffer;
  deleted: boolean;
  version: Version | undefined;
  /** Nodes whose answers made up the result (the coordinator's own copy only if it is among them); empty without a partition map. */
  replicas: string[];
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
  /** Partitions and entries that moved off the node (partitioned clusters). */
  moves?: MoveSummary;
}

/** Per-call settings of every client method. */
export interface CallOptions {
  /** Deadline from now, in ms. */
  timeoutMs?: number;
}

// ---------------------------------------------------------------- partitioning (issue 4)

/** One partition of the map, as the Partitions view and `ringdb ring` show it. */
export interface PartitionInfo {
  /** Stable id: survives moves; a split gives the upper half a new id, a merge keeps the lower one. */
  id: number;
  /** "[start, end)": keys as text for range maps, shortened tokens for hash maps. */
  range: string;
  /** First position (inclusive), hex. */
  startHex: string;
  /** End position (exclusive), hex; null = the end of the key space. */
  endHex: string | null;
  /** The node that coordinates the partition (first of `replicas`). */
  owner: string;
  /** The preference list: owner first, then the other replicas (N nodes). */
  replicas: string[];
  /** Share of the hash ring (hash maps); 0 for range maps. */
  share: number;
  /** Operations counted on the partition since the last ResetMetrics (summed over nodes; refreshed by getHotPartitions). */
  ops: number;
}

export interface SaltedKeyInfo {
  /** The hot partition key as a person reads it (keyText: printable UTF-8, else 0x and hex). */
  key: string;
  /** The key's bytes: `key` is not them when it is not printable text. */
  keyHex: string;
  buckets: number;
}

/** The controller's authoritative partition map. Every change raises `version` and is sent as a `partitionMap` event. */
export interface PartitionMapInfo {
  version: number;
  strategy: 'hash' | 'range';
  /** N, W and R as the nodes apply them. */
  replicationFactor: number;
  writeQuorum: number;
  readQuorum: number;
  enableForwarding: boolean;
  loadBalanceReads: boolean;
  nodeIds: string[];
  /** In ring (key) order. */
  partitions: PartitionInfo[];
  saltedKeys: SaltedKeyInfo[];
  /** The exact map (partitioning's JSON form); `Driver` and the router rebuild it to place keys. */
  mapJson: string;
}

/** Hints one node holds for another (sloppy quorum): the Hints view's rows. */
export interface HintSummary {
  /** The node holding the hints. */
  holder: string;
  /** The (down) node they are for. */
  target: string;
  count: number;
  /** Unix ms of the oldest hint; 0 = unknown. */
  oldestUnixMs: number;
  /**
   * Hints the holder has taken, delivered or dropped since it started (all targets): a different
   * number at the same count means the group's keys changed.
   */
  changes: number;
}

/** How much data a topology change streamed between nodes. */
export interface MoveSummary {
  /** Partitions whose owner changed. */
  movedPartitions: number;
  /** Range copies to nodes that became replicas. */
  transfers: number;
  /** Entries copied (first pass and catch-up pass). */
  entries: number;
}

/** Where a partition key lives (`ControllerClient.whereIs`, `ringdb where`). */
export interface KeyLocation {
  partitionId: number;
  range: string;
  /** The key's position (hex): its SHA-1 token for hash maps, the key itself for range maps. */
  positionHex: string;
  /** The partition's first position (hex, inclusive), unshortened, unlike `range`. */
  startHex: string;
  /** Its end (hex, exclusive); null = the end of the key space. */
  endHex: string | null;
  /** Preference list, owner first. */
  replicas: string[];
  /** 0 when the key is not salted. */
  saltBuckets: number;
  /** Salted variants (hex) and the partition each lives in; empty when not salted. */
  variants: { keyHex: string; partitionId: number }[];
  mapVersion: number;
}

export interface HotPartitionInfo {
  pid: number;
  ops: number;
  owner: string;
}

export interface HotKeyInfo {
  /** The partition key as a person reads it (keyText: printable UTF-8, else 0x and hex). */
  key: string;
  /** The key's bytes: `key` is not them when it is not printable text. */
  keyHex: string;
  /** Upper bound of its operations; `count - error` is a lower bound. */
  count: number;
  error: number;
}

export interface SplitResult {
  map: PartitionMapInfo;
  /** The id of the new upper half. */
  newPid: number;
}

export interface MergeResult {
  map: PartitionMapInfo;
  /** The merged partition's id (the lower one's). */
  pid: number;
  moves: MoveSummary;
}

export interface RebalanceResult {
  map: PartitionMapInfo;
  moves: MoveSummary;
}

export interface CheckHotResult {
  /** Partitions that were split. */
  split: number[];
  /** Hot partitions that could not be split, with why; `ownerDown` names an owner that was not up to sample split keys from. */
  skipped: { pid: number; reason: string; ownerDown?: string }[];
  map: PartitionMapInfo;
}

/** A topology change in progress (Watch `topologyProgress`): stages copying -> switching -> catching-up -> dropping -> done | failed. */
export interface TopologyProgressInfo {
  operation: string;
  stage: string;
  /** Copy streams (one per source and target node) finished and planned. */
  done: number;
  total: number;
  entries: number;
  detail: string;
}

/** Watch events added by partitioning; part of `ClusterEvent`. */
export type PartitionEvent = EventBase & (
  | { type: 'partitionMap'; map: PartitionMapInfo; reason: string }
  | ({ type: 'topologyProgress' } & TopologyProgressInfo)
  | { type: 'hints'; nodeId: string; hints: HintSummary[] }
);

// ---------------------------------------------------------------- driver (issue 4)

/** A row: a partition key (decides placement) and an optional clustering key (orders rows in a partition). */
export interface RowKey {
  partitionKey: string | Uint8Array;
  clusteringKey?: string | Uint8Array;
}

/** A raw key (stored as given, placed by itself) or a row key. */
export type KeyRef = string | Uint8Array | RowKey;

export interface WriteOptions extends CallOptions {
  /** Write quorum for this write (1..N); default the cluster's W. */
  w?: number;
  /** Send to this node first (it coordinates); by default the driver picks a replica. */
  via?: string;
}

export interface ReadOptions extends CallOptions {
  /** Send to this node first (it coordinates); by default the driver picks a replica. */
  via?: string;
  /** Read quorum for this read (1..N); default the cluster's R. */
  r?: number;
}

/** An acknowledged write, and who acknowledged it. */
export interface WriteResult {
  version: Version;
  /** The node that coordinated the write. */
  node: string;
  /** Nodes that acknowledged it within the quorum, coordinator first. */
  replicas: string[];
  /** Replica id -> substitute that keeps the write as a hint (sloppy quorum). */
  hinted: Record<string, string>;
  mapVersion: number;
}

/** A write sent to one node (NodeClient): who acknowledged it, as the driver's WriteResult says. */
export type NodeWriteResult = Omit<WriteResult, 'mapVersion'>;

export interface RowScanOptions extends ReadOptions {
  /** Clustering key to start at (inclusive); omitted = the first row. */
  from?: string | Uint8Array;
  /** Clustering key to stop before (exclusive); omitted = the last row. */
  to?: string | Uint8Array;
  /** Rows per page, 1..10000; default 1000. */
  limit?: number;
  /** From the previous page. */
  continuationToken?: Uint8Array;
  includeTombstones?: boolean;
}

export interface RowEntry extends ScanEntry {
  /** The row's clustering key; undefined for the row addressed by the partition key alone. */
  clusteringKey: Buffer | undefined;
}

export interface RowScanResult {
  rows: RowEntry[];
  /** Undefined on the last page. */
  continuationToken: Buffer | undefined;
  node: string;
  mapVersion: number;
}
