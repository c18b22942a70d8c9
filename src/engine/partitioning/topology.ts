// Topology changes as pure functions: each takes a map and returns the next map (version + 1)
// with the ownership moves it implies. The input map is never modified, and bad arguments throw
// InvalidArgumentError before anything is computed, so a failed command changes nothing.
// Moves are ownership changes; transfers.ts turns two maps into the replica data streams.

import { InvalidArgumentError } from './errors';
import { buildTokens, describePosition, inRange, midToken, sortTokens, successorNode } from './keyspace';
import type { Partition, PartitionMap } from './partition-map';

export interface KeyRange {
  readonly start: Buffer;
  /** null = end of the key space. */
  readonly end: Buffer | null;
}

/** Partition `partition`'s data in `range` must move from node `from` to node `to`. */
export interface PartitionMove {
  readonly partition: number;
  readonly range: KeyRange;
  readonly from: string;
  readonly to: string;
}

export interface TopologyChange {
  /** The new map; the input map itself when the operation had nothing to change. */
  readonly map: PartitionMap;
  readonly moves: readonly PartitionMove[];
}

export interface SplitOptions {
  /**
   * The partition key that becomes the first key of the new upper partition. For hash maps its
   * token is the split point (so the key and everything hashing above it move up).
   */
  readonly splitKey?: Buffer;
  /**
   * Partition keys sampled from the partition; without splitKey the split point is their median,
   * so both halves hold about the same number of keys. Keys outside the partition are ignored.
   */
  readonly sampleKeys?: readonly Buffer[];
}

function moveOf(p: Partition, to: string): PartitionMove {
  return { partition: p.id, range: { start: p.start, end: p.end }, from: p.owner, to };
}

/** Splits partition `pid` at a key (or the median of sample keys, or for hash maps the middle token). */
export function splitPartition(map: PartitionMap, pid: number, options: SplitOptions = {}): TopologyChange {
  const index = map.indexOf(pid);
  const p = map.partition(pid, 'pid');
  const at = splitPoint(map, p, options);
  const lower: Partition = { ...p, end: at };
  const upper: Partition = { id: map.nextId, start: at, end: p.end, owner: p.owner };
  const partitions = [...map.partitions.slice(0, index), lower, upper, ...map.partitions.slice(index + 1)];
  // Both halves stay on the owner: a split moves no data. Rebalance afterwards to spread them.
  return { map: map.next({ partitions, nextId: map.nextId + 1 }), moves: [] };
}

function splitPoint(map: PartitionMap, p: Partition, options: SplitOptions): Buffer {
  const inside = (position: Buffer): boolean => Buffer.compare(p.start, position) < 0 && inRange(position, p.start, p.end);
  if (options.splitKey !== undefined) {
    if (!Buffer.isBuffer(options.splitKey)) throw new InvalidArgumentError('splitKey', 'a split key is bytes (a partition key)');
    const position = map.positionOf(options.splitKey);
    if (!inside(position)) {
      const hashed = map.strategy === 'hash' ? ` (it hashes to ${describePosition('hash', position)})` : '';
      throw new InvalidArgumentError(
        'splitKey',
        `${describePosition('range', options.splitKey)}${hashed} is not inside ${map.describe(p)}; it must sort after the partition's start and before its end`,
      );
    }
    return position;
  }
  const positions = [...new Set((options.sampleKeys ?? []).map((k) => map.positionOf(k).toString('hex')))]
    .map((h) => Buffer.from(h, 'hex'))
    .filter((pos) => inRange(pos, p.start, p.end))
    .sort(Buffer.compare);
  // The median of the distinct positions; index >= 1, so it lies strictly above the start.
  if (positions.length >= 2) return positions[positions.length >> 1];
  const middle = map.strategy === 'hash' ? midToken(p.start, p.end) : null;
  if (middle) return middle;
  throw new InvalidArgumentError(
    'splitKey',
    map.strategy === 'range'
      ? `${map.describe(p)} has fewer than 2 distinct sample keys, so there is no median; pass a splitKey`
      : `${map.describe(p)} is a single token wide and cannot be split`,
  );
}

/** Merges two adjacent partitions into one, keeping the lower one's id and owner. */
export function mergePartitions(map: PartitionMap, pid1: number, pid2: number): TopologyChange {
  const a = map.partition(pid1, 'pid1');
  const b = map.partition(pid2, 'pid2');
  if (pid1 === pid2) throw new InvalidArgumentError('pid2', `cannot merge partition ${pid1} with itself`);
  const ia = map.indexOf(pid1);
  const ib = map.indexOf(pid2);
  if (Math.abs(ia - ib) !== 1) {
    const neighbours = [map.partitions[ia - 1]?.id, map.partitions[ia + 1]?.id].filter((id) => id !== undefined);
    throw new InvalidArgumentError(
      'pid2',
      `${map.describe(b)} is not adjacent to ${map.describe(a)}; only neighbouring ranges merge (partition ${pid1}'s neighbours: ${neighbours.join(' and ')})`,
    );
  }
  const [lower, upper] = ia < ib ? [a, b] : [b, a];
  const merged: Partition = { id: lower.id, start: lower.start, end: upper.end, owner: lower.owner };
  const at = Math.min(ia, ib);
  const partitions = [...map.partitions.slice(0, at), merged, ...map.partitions.slice(at + 2)];
  const moves = upper.owner === lower.owner ? [] : [{ ...moveOf(upper, lower.owner), partition: lower.id }];
  return { map: map.next({ partitions }), moves };
}

/**
 * Evens out ownership: afterwards partition counts per node differ by at most one, with the
 * fewest possible moves (the nodes that already own the most keep the larger quotas, and only
 * partitions above a node's quota move).
 */
export function rebalance(map: PartitionMap): TopologyChange {
  const counts = map.ownershipCounts();
  const order = new Map(map.nodes.map((n, i) => [n, i]));
  const byLoad = [...map.nodes].sort((x, y) => (counts.get(y) ?? 0) - (counts.get(x) ?? 0) || (order.get(x) ?? 0) - (order.get(y) ?? 0));
  const base = Math.floor(map.partitions.length / map.nodes.length);
  const extra = map.partitions.length % map.nodes.length;
  const quota = new Map(byLoad.map((n, i) => [n, base + (i < extra ? 1 : 0)]));

  // Over-quota nodes give up their last partitions in ring order; under-quota nodes take them.
  const released: Partition[] = [];
  for (const node of map.nodes) {
    const excess = (counts.get(node) ?? 0) - (quota.get(node) ?? 0);
    if (excess > 0) released.push(...map.partitionsOf(node).slice(-excess));
  }
  if (released.length === 0) return { map, moves: [] };
  released.sort((x, y) => map.indexOf(x.id) - map.indexOf(y.id));
  const newOwner = new Map<number, string>();
  for (const node of map.nodes) {
    for (let missing = (quota.get(node) ?? 0) - (counts.get(node) ?? 0); missing > 0; missing--) {
      const p = released.shift();
      if (p) newOwner.set(p.id, node);
    }
  }
  return reassign(map, newOwner, {});
}

/** Applies owner changes (pid -> node) plus other field changes as one new map version. */
function reassign(map: PartitionMap, newOwner: ReadonlyMap<number, string>, changes: Parameters<PartitionMap['next']>[0]): TopologyChange {
  const moves: PartitionMove[] = [];
  const partitions = map.partitions.map((p) => {
    const to = newOwner.get(p.id);
    if (to === undefined || to === p.owner) return p;
    moves.push(moveOf(p, to));
    return { ...p, owner: to };
  });
  return { map: map.next({ ...changes, partitions }), moves };
}

function checkNodeId(nodeId: unknown): asserts nodeId is string {
  if (typeof nodeId !== 'string' || nodeId.length === 0) throw new InvalidArgumentError('nodeId', `a node id is a non-empty string, got ${JSON.stringify(nodeId)}`);
}

/**
 * Adds a node. Hash maps: the node's vnode tokens join the ring and it takes exactly the
 * partitions its tokens now claim (about 1/N of the ring, all moving to it, none between old
 * nodes). Range maps: it takes partitions from the most loaded nodes until it owns its share.
 */
export function addNode(map: PartitionMap, nodeId: string): TopologyChange {
  checkNodeId(nodeId);
  if (map.nodes.includes(nodeId)) throw new InvalidArgumentError('nodeId', `node "${nodeId}" is already in the map (nodes: ${map.nodes.join(', ')})`);
  const nodes = [...map.nodes, nodeId];
  const newOwner = new Map<number, string>();
  const counts = map.ownershipCounts();
  const share = Math.floor(map.partitions.length / nodes.length);
  if (map.strategy === 'hash') {
    // The partitions the new tokens claim, but no owner is left below its fair share: after a
    // Rebalance owners no longer follow the tokens, and a node whose few partitions the new
    // tokens happened to claim was stripped of all of them while it ran.
    const tokens = sortTokens([...map.tokens, ...buildTokens([nodeId], map.tokensPerNode)]);
    for (const p of map.partitions) {
      if (successorNode(tokens, p.start) !== nodeId) continue;
      const left = counts.get(p.owner) ?? 0;
      if (left <= share) continue;
      counts.set(p.owner, left - 1);
      newOwner.set(p.id, nodeId);
    }
    return reassign(map, newOwner, { nodes, tokens });
  }
  const owned = new Map(map.nodes.map((n) => [n, map.partitionsOf(n)]));
  for (let taken = 0; taken < share; taken++) {
    const donor = map.nodes.reduce((best, n) => ((counts.get(n) ?? 0) > (counts.get(best) ?? 0) ? n : best));
    const p = owned.get(donor)?.pop();
    if (!p) break;
    counts.set(donor, (counts.get(donor) ?? 0) - 1);
    newOwner.set(p.id, nodeId);
  }
  return reassign(map, newOwner, { nodes });
}

/**
 * Removes a node, handing over everything it owns. Hash maps: each of its partitions goes to the
 * node of the next remaining token clockwise, which spreads them over the cluster. Range maps:
 * each goes to the currently least loaded remaining node.
 */
export function removeNode(map: PartitionMap, nodeId: string): TopologyChange {
  checkNodeId(nodeId);
  if (!map.nodes.includes(nodeId)) throw new InvalidArgumentError('nodeId', `node "${nodeId}" is not in the map (nodes: ${map.nodes.join(', ')})`);
  if (map.nodes.length === 1) throw new InvalidArgumentError('nodeId', `"${nodeId}" is the only node; a cluster keeps at least one`);
  const nodes = map.nodes.filter((n) => n !== nodeId);
  const newOwner = new Map<number, string>();
  if (map.strategy === 'hash') {
    const tokens = map.tokens.filter((t) => t.node !== nodeId);
    for (const p of map.partitionsOf(nodeId)) newOwner.set(p.id, successorNode(tokens, p.start));
    return reassign(map, newOwner, { nodes, tokens });
  }
  const counts = map.ownershipCounts();
  for (const p of map.partitionsOf(nodeId)) {
    const to = nodes.reduce((best, n) => ((counts.get(n) ?? 0) < (counts.get(best) ?? 0) ? n : best));
    counts.set(to, (counts.get(to) ?? 0) + 1);
    newOwner.set(p.id, to);
  }
  return reassign(map, newOwner, { nodes });
}

export interface HotSplitResult extends TopologyChange {
  /** Partitions that were split (each gained an upper half with a new id). */
  readonly split: readonly number[];
  /** Hot partitions that could not be split, with the reason (e.g. too few distinct keys). */
  readonly skipped: readonly { readonly partition: number; readonly reason: string }[];
}

/**
 * CheckHotPartitions: splits every partition reported hot (HotspotMetrics.getHotPartitions) at
 * the median of its sample keys. One unsplittable partition does not stop the others; it is
 * reported in `skipped`. Each split is its own map version, so the version rises by `split.length`.
 */
export function splitHotPartitions(
  map: PartitionMap,
  hot: readonly { readonly partition: number }[],
  sampleKeysOf: (pid: number) => readonly Buffer[] = () => [],
): HotSplitResult {
  let current = map;
  const split: number[] = [];
  const skipped: { partition: number; reason: string }[] = [];
  for (const { partition } of hot) {
    try {
      current = splitPartition(current, partition, { sampleKeys: sampleKeysOf(partition) }).map;
      split.push(partition);
    } catch (e) {
      if (!(e instanceof InvalidArgumentError)) throw e;
      skipped.push({ partition, reason: e.message });
    }
  }
  return { map: current, moves: [], split, skipped };
}
