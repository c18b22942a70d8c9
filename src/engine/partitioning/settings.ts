// The cluster spec's placement settings, validated once at start: replication factor and
// quorums, the strategy, and the initial partition map. Values come from JSON, so every field is
// `unknown` here and every error names the setting and what is accepted.

import { InvalidSettingError } from './errors';
import { buildTokens, describePosition, describeRange, equalSlices, minPosition, type Strategy, STRATEGIES, successorNode } from './keyspace';
import { type Partition, PartitionMap } from './partition-map';

export interface QuorumSettings {
  /** N: replicas per partition. */
  readonly replicationFactor: number;
  /** W: acknowledgements a write waits for. */
  readonly writeQuorum: number;
  /** R: answers a read waits for. */
  readonly readQuorum: number;
}

/** The spec fields this module reads (names as in .ringdb/cluster.json). */
export interface PlacementSpec {
  readonly replicationFactor?: unknown;
  readonly writeQuorum?: unknown;
  readonly readQuorum?: unknown;
  readonly partitionStrategy?: unknown;
  readonly partitionsPerNode?: unknown;
  readonly numPartitions?: unknown;
  readonly keyRanges?: unknown;
}

/**
 * Why `v` is refused as one request's own W or R, or undefined when it is accepted: 1 to `n` (the
 * replication factor, at most the nodes there are), or unset for `configured`. 0 is "unset" on
 * the wire, so a node never sees it as a value; a CLI that lets a person type it refuses it here,
 * in the node's words.
 */
export function quorumOverrideProblem(v: number, configured: number, n: number): string | undefined {
  if (Number.isInteger(v) && v >= 1 && v <= n) return undefined;
  return `must be 1 to ${n} (the replication factor), or unset for the configured ${Math.min(configured, n)}; got ${v}`;
}

export const DEFAULT_REPLICATION_FACTOR = 3;
export const DEFAULT_QUORUM = 2;
export const DEFAULT_PARTITIONS_PER_NODE = 8;
export const DEFAULT_NUM_PARTITIONS = 128;
const MAX_PARTITIONS = 65_536;
const MAX_PARTITIONS_PER_NODE = 1024;

function integerSetting(raw: unknown, setting: string, min: number, max: number, fallback: number): number {
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
    throw new InvalidSettingError(setting, `${JSON.stringify(raw)} is not accepted; expected an integer from ${min} to ${max}`);
  }
  return raw;
}

/**
 * N, W and R. Defaults are 3/2/2, each capped by what is possible (N by the node count, W and R
 * by N) so a one-node development cluster just works; explicit values are never capped silently.
 */
export function resolveQuorum(spec: PlacementSpec, nodeCount: number): QuorumSettings {
  if (!Number.isSafeInteger(nodeCount) || nodeCount < 1) throw new InvalidSettingError('nodes', `a cluster has at least one node, got ${nodeCount}`);
  const n = spec.replicationFactor;
  if (typeof n === 'number' && Number.isInteger(n) && n > nodeCount) {
    throw new InvalidSettingError('replicationFactor', `${n} replicas need ${n} nodes but the cluster has ${nodeCount}; accepted: 1 to ${nodeCount}`);
  }
  const replicationFactor = integerSetting(n, 'replicationFactor', 1, nodeCount, Math.min(DEFAULT_REPLICATION_FACTOR, nodeCount));
  const quorum = (raw: unknown, setting: string): number => {
    if (typeof raw === 'number' && Number.isInteger(raw) && raw > replicationFactor) {
      throw new InvalidSettingError(setting, `${raw} is more than replicationFactor ${replicationFactor}; accepted: 1 to ${replicationFactor}`);
    }
    return integerSetting(raw, setting, 1, replicationFactor, Math.min(DEFAULT_QUORUM, replicationFactor));
  };
  return { replicationFactor, writeQuorum: quorum(spec.writeQuorum, 'writeQuorum'), readQuorum: quorum(spec.readQuorum, 'readQuorum') };
}

export function parseStrategy(raw: unknown): Strategy {
  if (raw === undefined || raw === null) return 'hash';
  if (typeof raw !== 'string' || !(STRATEGIES as readonly string[]).includes(raw)) {
    throw new InvalidSettingError('partitionStrategy', `${JSON.stringify(raw)} is not a strategy; accepted: ${STRATEGIES.map((s) => `"${s}"`).join(', ')}`);
  }
  return raw as Strategy;
}

/** Validates the whole placement part of a spec and builds version 1 of the partition map. */
export function createPartitionMap(spec: PlacementSpec, nodeIds: readonly string[]): PartitionMap {
  const ids = new Set<string>();
  nodeIds.forEach((id, i) => {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidSettingError(`nodes[${i}]`, 'a node id is a non-empty string');
    if (ids.has(id)) throw new InvalidSettingError(`nodes[${i}]`, `node id "${id}" is used twice`);
    ids.add(id);
  });
  const { replicationFactor } = resolveQuorum(spec, nodeIds.length);
  const strategy = parseStrategy(spec.partitionStrategy);
  if (strategy === 'range') {
    if (spec.keyRanges === undefined || spec.keyRanges === null) {
      throw new InvalidSettingError('keyRanges', 'partitionStrategy "range" needs keyRanges: [{ "start": "", "end": "m", "node": 0 }, { "start": "m", "end": null, "node": 1 }]');
    }
    const partitions = parseKeyRanges(spec.keyRanges, nodeIds);
    return PartitionMap.of({ version: 1, strategy, replicationFactor, tokensPerNode: 0, nodes: nodeIds, tokens: [], partitions, nextId: partitions.length, saltedKeys: new Map() });
  }
  if (spec.keyRanges !== undefined && spec.keyRanges !== null) {
    throw new InvalidSettingError('keyRanges', 'only applies to partitionStrategy "range"; set it to null or use "range"');
  }
  const tokensPerNode = integerSetting(spec.partitionsPerNode, 'partitionsPerNode', 1, MAX_PARTITIONS_PER_NODE, DEFAULT_PARTITIONS_PER_NODE);
  const numPartitions = integerSetting(spec.numPartitions, 'numPartitions', 1, MAX_PARTITIONS, DEFAULT_NUM_PARTITIONS);
  const tokens = buildTokens(nodeIds, tokensPerNode);
  const starts = equalSlices(numPartitions);
  const partitions: Partition[] = starts.map((start, id) => ({
    id,
    start,
    end: id + 1 < starts.length ? starts[id + 1] : null,
    owner: successorNode(tokens, start),
  }));
  return PartitionMap.of({ version: 1, strategy, replicationFactor, tokensPerNode, nodes: nodeIds, tokens, partitions, nextId: numPartitions, saltedKeys: new Map() });
}

interface ParsedRange {
  readonly index: number;
  readonly start: Buffer;
  readonly end: Buffer | null;
  readonly owner: string;
}

/**
 * keyRanges: [{ start, end, node }] with start/end as strings (UTF-8 partition keys; "" or null
 * start = beginning, null end = end of the key space) and node as an index into the node list or
 * a node id. The ranges, in any order, must cover the whole key space once: no gap, no overlap.
 */
export function parseKeyRanges(raw: unknown, nodeIds: readonly string[]): Partition[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new InvalidSettingError('keyRanges', 'expected a non-empty array of { start, end, node }');
  const ranges: ParsedRange[] = raw.map((entry: unknown, index) => {
    const at = `keyRanges[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new InvalidSettingError(at, 'expected an object { start, end, node }');
    const e = entry as Record<string, unknown>;
    const bound = (v: unknown, name: string): Buffer | null => {
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string') throw new InvalidSettingError(`${at}.${name}`, `expected a string key or null, got ${JSON.stringify(v)}`);
      return Buffer.from(v, 'utf8');
    };
    const start = bound(e.start, 'start') ?? minPosition('range');
    const end = bound(e.end, 'end');
    if (end !== null && Buffer.compare(start, end) >= 0) {
      throw new InvalidSettingError(at, `start must sort before end, got ${describeRange('range', start, end)}`);
    }
    return { index, start, end, owner: resolveNode(e.node, `${at}.node`, nodeIds) };
  });
  const sorted = [...ranges].sort((a, b) => Buffer.compare(a.start, b.start) || a.index - b.index);
  const label = (r: ParsedRange): string => `keyRanges[${r.index}] ${describeRange('range', r.start, r.end)}`;
  if (sorted[0].start.length !== 0) {
    throw new InvalidSettingError('keyRanges', `keys before ${label(sorted[0])} have no owner; the first range starts at "" (or null)`);
  }
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    const cmp = prev.end === null ? 1 : Buffer.compare(cur.start, prev.end);
    if (cmp < 0 || prev.end === null) throw new InvalidSettingError(`keyRanges[${cur.index}]`, `${describeRange('range', cur.start, cur.end)} overlaps ${label(prev)}`);
    if (cmp > 0) {
      throw new InvalidSettingError(`keyRanges[${cur.index}]`, `leaves a gap after ${label(prev)}: keys in ${describeRange('range', prev.end, cur.start)} have no owner`);
    }
  }
  const last = sorted[sorted.length - 1];
  if (last.end !== null) {
    throw new InvalidSettingError(`keyRanges[${last.index}]`, `keys from ${describePosition('range', last.end)} on have no owner; the last range ends at null`);
  }
  return sorted.map((r, id) => ({ id, start: r.start, end: r.end, owner: r.owner }));
}

function resolveNode(raw: unknown, setting: string, nodeIds: readonly string[]): string {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw < nodeIds.length) return nodeIds[raw];
  if (typeof raw === 'string' && nodeIds.includes(raw)) return raw;
  throw new InvalidSettingError(setting, `${JSON.stringify(raw)} is not a node; accepted: an index from 0 to ${nodeIds.length - 1} or one of ${nodeIds.map((n) => `"${n}"`).join(', ')}`);
}
