// Generated control messages of the partitioning features -> the client API's plain types.

import { keyText } from '../codec/bytes-text';
import type * as ctl from '../gen/ringdb/v1/control';
import type {
  HintSummary, HotKeyInfo, KeyLocation, MoveSummary, PartitionEvent, PartitionMapInfo, TopologyProgressInfo,
} from './types';

type Base = { seq: number; atUnixMs: number };

export function mapInfoFromProto(m: ctl.PartitionMapInfo): PartitionMapInfo {
  return {
    version: m.version,
    strategy: m.strategy === 'range' ? 'range' : 'hash',
    replicationFactor: m.replicationFactor,
    writeQuorum: m.writeQuorum,
    readQuorum: m.readQuorum,
    enableForwarding: m.enableForwarding,
    loadBalanceReads: m.loadBalanceReads,
    nodeIds: [...m.nodeIds],
    partitions: m.partitions.map((p) => ({
      id: p.id, range: p.range, startHex: p.startHex, endHex: p.endIsOpen ? null : p.endHex,
      owner: p.owner, replicas: [...p.replicas], share: p.share, ops: p.ops,
    })),
    saltedKeys: m.saltedKeys.map((s) => ({ key: keyText(s.key), keyHex: Buffer.from(s.key).toString('hex'), buckets: s.buckets })),
    mapJson: m.mapJson,
  };
}

export const hintsFromProto = (hs: ctl.HintSummary[]): HintSummary[] =>
  hs.map((h) => ({ holder: h.holder, target: h.target, count: h.count, oldestUnixMs: h.oldestUnixMs, changes: h.changes }));

export function movesFromProto(m: ctl.MoveSummary | undefined): MoveSummary {
  return { movedPartitions: m?.movedPartitions ?? 0, transfers: m?.transfers ?? 0, entries: m?.entries ?? 0 };
}

export function locationFromProto(w: ctl.WhereIsResponse): KeyLocation {
  return {
    partitionId: w.partitionId,
    range: w.range,
    positionHex: w.positionHex,
    startHex: w.startHex,
    endHex: w.endIsOpen ? null : w.endHex,
    replicas: [...w.replicas],
    saltBuckets: w.saltBuckets,
    variants: w.readKeys.slice(1).map((k, i) => ({ keyHex: Buffer.from(k).toString('hex'), partitionId: w.variantPartitionIds[i] ?? 0 })),
    mapVersion: w.mapVersion,
  };
}

export function hotKeyFromProto(k: ctl.HotKey): HotKeyInfo {
  return { key: keyText(k.key), keyHex: Buffer.from(k.key).toString('hex'), count: k.count, error: k.error };
}

function progress(p: ctl.TopologyProgress): TopologyProgressInfo {
  return { operation: p.operation, stage: p.stage, done: p.done, total: p.total, entries: p.entries, detail: p.detail };
}

/** The partitioning events of a Watch message; undefined for every other kind. */
export function partitionEventFromProto(base: Base, e: ctl.WatchResponse['event']): PartitionEvent | undefined {
  switch (e?.$case) {
    case 'partitionMap': return e.value.map ? { ...base, type: 'partitionMap', map: mapInfoFromProto(e.value.map), reason: e.value.reason } : undefined;
    case 'topologyProgress': return { ...base, type: 'topologyProgress', ...progress(e.value) };
    case 'hints': return { ...base, type: 'hints', nodeId: e.value.nodeId, hints: hintsFromProto(e.value.hints) };
    default: return undefined;
  }
}
