// Controller events (the client API's plain types) -> the extension's model. The only place that
// knows both shapes, so a change of the engine's API touches one file.
import type {
  ClusterDescription, ClusterEvent, HintSummary, NodeInfo, NodeStats, PartitionMapInfo, ReplicationLogEntry, SSTableInfo, StoreSnapshot,
} from '../engineClient';
import type { ClusterModel } from '../model/clusterModel';
import type { ReplicationLogStore } from '../model/replicationLog';
import type { ClusterPhase, ClusterSnapshot, HintView, NodeView, PartitionView, ReplicationEntryView, SSTableView, StoreView } from '../model/types';

export function phaseView(p: ClusterDescription['phase']): ClusterPhase {
  return p === 'empty' ? 'none' : p;
}

export function sstableView(t: SSTableInfo): SSTableView {
  return {
    id: t.id, level: t.level, file: t.file, minKey: t.minKey, maxKey: t.maxKey, minKeySalted: t.minKeySalted, maxKeySalted: t.maxKeySalted, entries: t.entries, tombstones: t.tombstones,
    sizeBytes: t.sizeBytes, bloomBits: t.bloomBits, newestWriteUnixMs: t.newestWriteUnixMs, minTs: t.minTs, maxTs: t.maxTs,
  };
}

export function storeView(s: StoreSnapshot): StoreView {
  return {
    memtableBytes: s.memtableBytes,
    memtableEntries: s.memtableEntries,
    immutableMemtables: s.immutableMemtables,
    walBytes: s.walBytes,
    sstables: s.sstables.map(sstableView),
    flushes: s.counters.flushes,
    compactions: s.counters.compactions,
  };
}

function statsPatch(s: NodeStats): Pick<NodeView, 'clock' | 'versionVector' | 'peers' | 'store' | 'logNextLsn' | 'coordination'> {
  const k = s.coordination;
  return {
    clock: s.clock,
    versionVector: { ...s.versionVector },
    peers: s.peers.map((p) => ({
      id: p.id, address: p.address, status: p.state, lastHeardUnixMs: p.lastHeardUnixMs,
      destination: p.destination, ackedLsn: p.ackedLsn, pendingOps: p.pendingOps,
    })),
    store: storeView(s.storage),
    logNextLsn: s.logNextLsn,
    coordination: k && {
      reads: k.reads, writes: k.writes, readRepairs: k.readRepairs,
      speculativeReads: k.speculativeReads, speculationsRefused: k.speculationsRefused, speculateAfterMs: k.speculateAfterMs,
      speculativeRetry: k.speculativeRetry,
    },
  };
}

export function nodeView(n: NodeInfo): NodeView {
  const base: NodeView = {
    id: n.id,
    address: n.address,
    pid: n.pid,
    status: n.state,
    reason: n.reason,
    startedAtUnixMs: n.startedAtUnixMs,
    statusSinceUnixMs: n.stateSinceUnixMs,
    dataDir: n.dataDir,
    logFile: n.logFile,
    clock: undefined,
    versionVector: {},
    peers: [],
    store: undefined,
    logNextLsn: 0,
  };
  return n.stats ? { ...base, ...statsPatch(n.stats) } : base;
}

/**
 * The partition map as rows. "Hot" marks a partition with more than twice the mean operations of
 * the partitions that had any (the engine's own threshold-based detection drives splits).
 */
export function partitionViews(map: PartitionMapInfo): PartitionView[] {
  return markedHot(map.partitions.map((p) => ({
    id: String(p.id),
    range: p.range,
    owner: p.owner,
    replicas: [...p.replicas],
    share: map.strategy === 'hash' ? p.share : undefined,
    mapVersion: map.version,
    ops: p.ops,
    hot: false,
  })));
}

/** The rows with fresh op counts (partition id -> ops; absent: none), hot marks recomputed. */
export function withOps(partitions: readonly PartitionView[], ops: ReadonlyMap<string, number>): PartitionView[] {
  return markedHot(partitions.map((p) => ({ ...p, ops: ops.get(p.id) ?? 0 })));
}

/** The count a partition is "hot" above: twice the mean of the partitions that had operations (with two or more of them). */
export function hotThreshold(partitions: readonly { ops: number }[]): number {
  const busy = partitions.filter((p) => p.ops > 0);
  return busy.length ? (2 * busy.reduce((n, p) => n + p.ops, 0)) / busy.length : 0;
}

function markedHot(rows: PartitionView[]): PartitionView[] {
  const threshold = hotThreshold(rows);
  const busy = rows.filter((p) => p.ops > 0).length;
  return rows.map((p) => ({ ...p, hot: busy > 1 && p.ops > threshold }));
}

export function hintViews(hints: readonly HintSummary[]): HintView[] {
  return hints.map((h) => ({ holder: h.holder, target: h.target, count: h.count, oldestUnixMs: h.oldestUnixMs, changes: h.changes }));
}

/** The spec a ClusterDescription carries (JSON), as the model keeps it. */
export function specView(json: string): Record<string, unknown> | undefined {
  if (!json) return undefined;
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function snapshotView(c: ClusterDescription): ClusterSnapshot {
  return {
    phase: phaseView(c.phase),
    phaseReason: '',
    controllerPid: c.controllerPid,
    controllerAddress: c.controllerAddress,
    dataDir: c.dataDir,
    spec: specView(c.specJson),
    nodes: c.nodes.map(nodeView).sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true })),
    partitions: c.partitionMap ? partitionViews(c.partitionMap) : [],
    hints: hintViews(c.hints ?? []),
    reportsPartitions: c.partitionMap !== undefined,
    reportsHints: c.hints !== undefined,
  };
}

export function entryView(node: string, e: ReplicationLogEntry): ReplicationEntryView {
  const acks: Record<string, boolean> = {};
  for (const a of e.acks) acks[a.peerId] = a.acked;
  return { node, lsn: e.lsn, opId: e.opId, origin: e.origin, key: e.key, getKey: e.getKey, ts: e.ts, kind: e.kind, valueBytes: e.valueBytes, acks };
}

/** Applies one Watch event to the model and the replication log. */
export function applyEvent(model: ClusterModel, log: ReplicationLogStore, event: ClusterEvent): void {
  switch (event.type) {
    case 'snapshot':
      model.replaceAll(snapshotView(event.cluster));
      for (const n of event.cluster.nodes) if (n.stats) log.noteNextLsn(n.id, n.stats.logNextLsn);
      return;
    case 'nodeState':
      model.upsertNode(nodeView(event.node));
      return;
    case 'stats':
      model.updateNode(event.nodeId, statsPatch(event.stats));
      log.noteNextLsn(event.nodeId, event.stats.logNextLsn);
      return;
    case 'storeChanged':
      model.setStore(event.nodeId, storeView(event.snapshot));
      return;
    case 'replicationAppended':
      log.append(event.entries.map((e) => entryView(event.nodeId, e)));
      return;
    case 'replicationAcknowledged':
      log.acknowledge(event.nodeId, event.cursors.map((c) => ({ peer: c.peerId, ackedLsn: c.ackedLsn })));
      return;
    case 'phase':
      model.setPhase(phaseView(event.phase), event.reason);
      return;
    case 'membership':
      model.retainNodes(event.nodeIds);
      return;
    case 'partitionMap':
      model.setPartitions(partitionViews(event.map));
      return;
    case 'hints':
      model.setHintsOf(event.nodeId, hintViews(event.hints));
      return;
    case 'topologyProgress':
      return; // shown by the command that started the change (withProgress)
  }
}
