// The extension's view of a cluster: plain, immutable data that tree views, the status bar and
// the webview render. Filled from controller events by controller/eventMapper.ts; nothing here
// knows the wire protocol.

export type ClusterPhase = 'none' | 'starting' | 'running' | 'stopping' | 'stopped';
export type NodeStatus = 'starting' | 'up' | 'suspect' | 'down' | 'stopped' | 'unknown';
export type PeerStatus = 'up' | 'suspect' | 'down' | 'unknown';

export interface PeerView {
  readonly id: string;
  readonly address: string;
  readonly status: PeerStatus;
  readonly lastHeardUnixMs: number;
  /** True when the node replicates to this peer. */
  readonly destination: boolean;
  readonly ackedLsn: number;
  readonly pendingOps: number;
}

export interface SSTableView {
  readonly id: number;
  readonly level: number;
  readonly file: string;
  readonly minKey: string;
  readonly maxKey: string;
  /** A hot key's salted variant: stored after every plain key (keyRangeText says what that means). */
  readonly minKeySalted: boolean;
  readonly maxKeySalted: boolean;
  readonly entries: number;
  readonly tombstones: number;
  readonly sizeBytes: number;
  /** 0: the table has no bloom filter. */
  readonly bloomBits: number;
  /** When the node had accepted every entry in it (its flush, or the newest input of the compaction that made it). */
  readonly newestWriteUnixMs: number;
  /** Lamport timestamps of its oldest and newest versions. */
  readonly minTs: number;
  readonly maxTs: number;
}

export interface StoreView {
  readonly memtableBytes: number;
  readonly memtableEntries: number;
  readonly immutableMemtables: number;
  readonly walBytes: number;
  readonly sstables: readonly SSTableView[];
  readonly flushes: number;
  readonly compactions: number;
}

export interface NodeView {
  readonly id: string;
  readonly address: string;
  /** 0 when no process runs. */
  readonly pid: number;
  readonly status: NodeStatus;
  /** Why the node is in its state, e.g. "killed by KillNode". */
  readonly reason: string;
  readonly startedAtUnixMs: number;
  readonly statusSinceUnixMs: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** Lamport clock; undefined before the first stats arrived. */
  readonly clock: number | undefined;
  readonly versionVector: Readonly<Record<string, number>>;
  readonly peers: readonly PeerView[];
  readonly store: StoreView | undefined;
  /** Next replication-log position this node will write. */
  readonly logNextLsn: number;
  /** The requests it coordinated since it started; undefined before its first report says. */
  readonly coordination?: CoordinationView;
}

export interface CoordinationView {
  readonly reads: number;
  readonly writes: number;
  readonly readRepairs: number;
  /** Replicas asked beside a slow one, and those the retry budget refused. */
  readonly speculativeReads: number;
  readonly speculationsRefused: number;
  /** How long a read waits on a replica before asking another (by default the 99th percentile of recent answers, 5..500 ms). */
  readonly speculateAfterMs: number;
  /** The node's speculativeRetry setting: "none", "always", "<N>ms" or "<P>p". */
  readonly speculativeRetry: string;
}

export interface PartitionView {
  readonly id: string;
  /** "[a, m)" for range partitions, "tokens 12..40" for hash partitions. */
  readonly range: string;
  readonly owner: string;
  readonly replicas: readonly string[];
  /** Fraction of the hash ring it covers (0..1); undefined for range maps, whose ranges have no size. */
  readonly share: number | undefined;
  readonly mapVersion: number;
  readonly ops: number;
  readonly hot: boolean;
}

export interface HintView {
  /** The node holding the hints. */
  readonly holder: string;
  /** The down node they are for. */
  readonly target: string;
  readonly count: number;
  readonly oldestUnixMs: number;
  /** The holder's hint changes since it started: the group's keys are listed again when it moves. */
  readonly changes: number;
}

/** One hint a holder keeps, as the Hints view lists it under its group. */
export interface HeldHintView {
  /** The down replica it is for. */
  readonly target: string;
  /** The stored key as a person reads it (rows and salted variants decoded). */
  readonly key: string;
  /** What Get names to read it; undefined for a row. */
  readonly getKey: string | undefined;
  readonly opId: string;
  /** The version's Lamport timestamp, if the hint carries a version. */
  readonly ts: number | undefined;
  readonly deleted: boolean;
  readonly ageMs: number;
}

export interface ClusterSnapshot {
  readonly phase: ClusterPhase;
  readonly phaseReason: string;
  readonly controllerPid: number;
  readonly controllerAddress: string;
  readonly dataDir: string;
  /** The validated spec with defaults filled in, as the controller reported it. */
  readonly spec: Readonly<Record<string, unknown>> | undefined;
  readonly nodes: readonly NodeView[];
  readonly partitions: readonly PartitionView[];
  readonly hints: readonly HintView[];
  /** Whether the engine reports partitions / hints at all (the partitioning layer may be absent). */
  readonly reportsPartitions: boolean;
  readonly reportsHints: boolean;
}

export const EMPTY_SNAPSHOT: ClusterSnapshot = Object.freeze({
  phase: 'none',
  phaseReason: '',
  controllerPid: 0,
  controllerAddress: '',
  dataDir: '',
  spec: undefined,
  nodes: [],
  partitions: [],
  hints: [],
  reportsPartitions: false,
  reportsHints: false,
});

export type ReplicationKind = 'put' | 'delete' | 'skip' | 'hint' | 'repair';

export interface ReplicationEntryView {
  /** The node whose log holds the entry. */
  readonly node: string;
  readonly lsn: number;
  readonly opId: string;
  readonly origin: string;
  readonly key: string;
  /** What Get names to read it (a salted variant's original key); undefined for a row. */
  readonly getKey: string | undefined;
  readonly ts: number;
  readonly kind: ReplicationKind;
  readonly valueBytes: number;
  /** Destination peer -> acknowledged. */
  readonly acks: Readonly<Record<string, boolean>>;
}

/** What changed, so a view can skip events that do not concern it. */
export type ClusterChange =
  | { readonly kind: 'reset' }
  | { readonly kind: 'phase' }
  /** With `nodeId` when only that node changed; without, the list itself changed (added, removed). */
  | { readonly kind: 'nodes'; readonly nodeId?: string }
  | { readonly kind: 'store'; readonly nodeId: string }
  | { readonly kind: 'partitions' }
  | { readonly kind: 'hints' };

/**
 * What a suspect node is, for a person deciding whether to wait or restart it: the engine's
 * HUNG_WORDS (rpc/hung-probe.ts), repeated because the engine client loads lazily, with gRPC.
 */
export const HUNG_WORDS = 'its process runs but has stopped answering (hung, paused or overloaded)';

/** The statuses of a node that answers requests (a suspect one is only slow to answer pings). */
export const ANSWERING: readonly NodeStatus[] = ['up', 'suspect'];

export function answersRequests(status: NodeStatus | undefined): boolean {
  return status !== undefined && ANSWERING.includes(status);
}

/** The first of `ids` that is up, else the first suspect one: a suspect node answers, but its missed pings say it may be slow. */
export function firstAnswering(ids: readonly string[], statusOf: (id: string) => NodeStatus | undefined): string | undefined {
  return ids.find((id) => statusOf(id) === 'up') ?? ids.find((id) => answersRequests(statusOf(id)));
}

/** Counts shown by the status bar. */
export function upCount(s: ClusterSnapshot): { up: number; total: number } {
  return { up: s.nodes.filter((n) => n.status === 'up').length, total: s.nodes.length };
}
