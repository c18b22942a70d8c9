// Generated protobuf messages -> the client API's plain types (and back for the few enums the
// controller sets). One place, so the wire shape can change without the extension noticing.

import { getKeyOf, isSaltedStored, storedKeyText } from './key-text';
import * as ctl from '../gen/ringdb/v1/control';
import * as pb from '../gen/ringdb/v1/node';
import type {
  ClusterDescription, ClusterEvent, ClusterPhase, CoordinationCounters, GetResult, NodeInfo, NodeState, NodeStats, OpCounters,
  PeerCursor, PeerState, ReplicationLogEntry, ScanEntry, SSTableInfo, StoreCounters, StoreSnapshot, Version,
} from './types';
import { hintsFromProto, mapInfoFromProto, partitionEventFromProto } from './partition-convert';

const NODE_STATES: Record<NodeState, ctl.NodeState> = {
  starting: ctl.NodeState.NODE_STATE_STARTING,
  up: ctl.NodeState.NODE_STATE_UP,
  suspect: ctl.NodeState.NODE_STATE_SUSPECT,
  down: ctl.NodeState.NODE_STATE_DOWN,
  stopped: ctl.NodeState.NODE_STATE_STOPPED,
};
const PHASES: Record<ClusterPhase, ctl.ClusterPhase> = {
  empty: ctl.ClusterPhase.CLUSTER_PHASE_EMPTY,
  starting: ctl.ClusterPhase.CLUSTER_PHASE_STARTING,
  running: ctl.ClusterPhase.CLUSTER_PHASE_RUNNING,
  stopping: ctl.ClusterPhase.CLUSTER_PHASE_STOPPING,
  stopped: ctl.ClusterPhase.CLUSTER_PHASE_STOPPED,
};

function reverse<K extends string>(m: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(m).map(([k, v]) => [v as number, k as K]));
}
const NODE_STATE_NAMES = reverse(NODE_STATES);
const PHASE_NAMES = reverse(PHASES);

export const nodeStateToProto = (s: NodeState): ctl.NodeState => NODE_STATES[s];
export const phaseToProto = (p: ClusterPhase): ctl.ClusterPhase => PHASES[p];
export const nodeStateFromProto = (s: ctl.NodeState): NodeState => NODE_STATE_NAMES.get(s) ?? 'stopped';
export const phaseFromProto = (p: ctl.ClusterPhase): ClusterPhase => PHASE_NAMES.get(p) ?? 'empty';

function peerState(s: pb.PeerState): PeerState {
  switch (s) {
    case pb.PeerState.PEER_STATE_UP: return 'up';
    case pb.PeerState.PEER_STATE_SUSPECT: return 'suspect';
    case pb.PeerState.PEER_STATE_DOWN: return 'down';
    default: return 'unknown';
  }
}


export function versionFromProto(v: pb.Version | undefined): Version | undefined {
  return v ? { ts: v.ts, origin: v.origin, opId: v.opId } : undefined;
}

export function sstable(t: pb.SSTableInfo): SSTableInfo {
  return {
    id: t.id, level: t.level, file: t.file, minKey: storedKeyText(t.minKey), maxKey: storedKeyText(t.maxKey),
    minKeySalted: isSaltedStored(t.minKey), maxKeySalted: isSaltedStored(t.maxKey),
    entries: t.entries, tombstones: t.tombstones, sizeBytes: t.sizeBytes, bloomBits: t.bloomBits,
    newestWriteUnixMs: t.newestWriteUnixMs, minTs: t.minTs, maxTs: t.maxTs,
  };
}

const EMPTY_STORE_COUNTERS: StoreCounters = {
  puts: 0, deletes: 0, gets: 0, staleWrites: 0, flushes: 0, compactions: 0, bytesCompacted: 0,
  bloomSkips: 0, bloomFalsePositives: 0, blockCacheHits: 0, blockCacheMisses: 0,
};
const EMPTY_OP_COUNTERS: OpCounters = {
  localPuts: 0, localDeletes: 0, gets: 0, scans: 0, replicatedApplied: 0, replicatedDuplicates: 0,
  replicatedBuffered: 0, replicatedStale: 0, opsSent: 0, fetchedApplied: 0,
  backpressureWaits: 0, backpressureWaitedMs: 0, backpressureTimeouts: 0,
};

export function snapshotFromProto(s: pb.StoreSnapshot | undefined): StoreSnapshot {
  return {
    memtableBytes: s?.memtableBytes ?? 0,
    memtableEntries: s?.memtableEntries ?? 0,
    immutableMemtables: s?.immutableMemtables ?? 0,
    walBytes: s?.walBytes ?? 0,
    sstables: (s?.sstables ?? []).map(sstable),
    counters: { ...EMPTY_STORE_COUNTERS, ...(s?.counters ?? {}) },
  };
}

export function statsFromProto(s: pb.NodeStats): NodeStats {
  return {
    nodeId: s.nodeId, address: s.address, pid: s.pid, uptimeMs: s.uptimeMs, clock: s.clock, seq: s.seq,
    versionVector: { ...s.versionVector },
    counters: { ...EMPTY_OP_COUNTERS, ...(s.counters ?? {}) },
    peers: s.peers.map((p) => ({
      id: p.id, address: p.address, state: peerState(p.state), lastHeardUnixMs: p.lastHeardUnixMs,
      destination: p.destination, ackedLsn: p.ackedLsn, pendingOps: p.pendingOps, lastError: p.lastError,
    })),
    storage: snapshotFromProto(s.storage),
    logFirstLsn: s.logFirstLsn,
    logNextLsn: s.logNextLsn,
    ...(s.partitioning ? {
      hints: { held: s.partitioning.hintsHeld, hinted: s.partitioning.hintedWrites, delivered: s.partitioning.hintsDelivered, expired: s.partitioning.hintsExpired, expiredFor: { ...s.partitioning.hintsExpiredByTarget } },
      coordination: coordinationFromProto(s.partitioning),
    } : {}),
  };
}

function coordinationFromProto(p: pb.PartitionStats): CoordinationCounters {
  return {
    reads: p.coordinatedReads, writes: p.coordinatedWrites, readRepairs: p.readRepairs, forwarded: p.forwardedOps, notOwnerAnswers: p.notOwnerAnswers,
    speculativeReads: p.speculativeReads, speculationsRefused: p.speculationsRefused, speculateAfterMs: p.speculateAfterMs,
    speculativeRetry: p.speculativeRetry,
  };
}

export function logEntryFromProto(e: pb.ReplicationLogEntry): ReplicationLogEntry {
  return {
    lsn: e.lsn, opId: e.opId, origin: e.origin, key: storedKeyText(e.key), getKey: getKeyOf(e.key), ts: e.ts,
    kind: e.kind === pb.OpKind.OP_KIND_DELETE ? 'delete' : e.kind === pb.OpKind.OP_KIND_SKIP ? 'skip' : 'put',
    valueBytes: e.valueBytes, acks: e.acks.map((a) => ({ peerId: a.peerId, acked: a.acked })),
  };
}

export const cursors = (cs: pb.PeerCursor[]): PeerCursor[] => cs.map((c) => ({ peerId: c.peerId, ackedLsn: c.ackedLsn }));

export function nodeFromProto(n: ctl.NodeInfo): NodeInfo {
  return {
    id: n.id, address: n.address, pid: n.pid, state: nodeStateFromProto(n.state),
    startedAtUnixMs: n.startedAtUnixMs, stateSinceUnixMs: n.stateSinceUnixMs, dataDir: n.dataDir,
    logFile: n.logFile, reason: n.reason, stats: n.stats ? statsFromProto(n.stats) : undefined,
    downOnPurpose: n.downOnPurpose,
  };
}

export function clusterFromProto(c: ctl.ClusterDescription | undefined): ClusterDescription {
  return {
    phase: phaseFromProto(c?.phase ?? ctl.ClusterPhase.CLUSTER_PHASE_EMPTY),
    specJson: c?.specJson ?? '',
    dataDir: c?.dataDir ?? '',
    controllerAddress: c?.controllerAddress ?? '',
    controllerPid: c?.controllerPid ?? 0,
    startedAtUnixMs: c?.startedAtUnixMs ?? 0,
    nodes: (c?.nodes ?? []).map(nodeFromProto),
    partitionMap: c?.partitionMap ? mapInfoFromProto(c.partitionMap) : undefined,
    hints: hintsFromProto(c?.hints ?? []),
    routerAddress: c?.routerAddress ?? '',
    routerNote: c?.routerNote ?? '',
  };
}

/** Undefined for an event kind this client does not know (a newer controller): callers skip it. */
export function eventFromProto(r: ctl.WatchResponse): ClusterEvent | undefined {
  const base = { seq: r.seq, atUnixMs: r.atUnixMs };
  const e = r.event;
  switch (e?.$case) {
    case 'snapshot': return { ...base, type: 'snapshot', cluster: clusterFromProto(e.value) };
    case 'nodeState': return e.value.node
      ? { ...base, type: 'nodeState', node: nodeFromProto(e.value.node), previous: nodeStateFromProto(e.value.previous) }
      : undefined;
    case 'stats': return e.value.stats ? { ...base, type: 'stats', nodeId: e.value.nodeId, stats: statsFromProto(e.value.stats) } : undefined;
    case 'storeChanged': return { ...base, type: 'storeChanged', nodeId: e.value.nodeId, snapshot: snapshotFromProto(e.value.snapshot) };
    case 'replicationAppended': return { ...base, type: 'replicationAppended', nodeId: e.value.nodeId, entries: e.value.entries.map(logEntryFromProto) };
    case 'replicationAcknowledged': return { ...base, type: 'replicationAcknowledged', nodeId: e.value.nodeId, cursors: cursors(e.value.cursors) };
    case 'phase': return { ...base, type: 'phase', phase: phaseFromProto(e.value.phase), reason: e.value.reason };
    case 'membership': return { ...base, type: 'membership', nodeIds: [...e.value.nodeIds] };
    default: return partitionEventFromProto(base, e);
  }
}

export function getResultFromProto(r: pb.GetResponse): GetResult {
  return { found: r.found, value: Buffer.from(r.value), deleted: r.deleted, version: versionFromProto(r.version), replicas: [...r.replicas] };
}

export function scanEntryFromProto(e: pb.ScanEntry): ScanEntry {
  return { key: Buffer.from(e.key), value: Buffer.from(e.value), deleted: e.deleted, version: versionFromProto(e.version) };
}
