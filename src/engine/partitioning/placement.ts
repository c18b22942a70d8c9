// Which nodes hold a partition: the preference list (Dynamo §4.3) and its sloppy-quorum variant.
//
//   ring order from partition p:  p.owner, owner of p+1, owner of p+2, … (wrapping), skipping
//   nodes already listed, then nodes that own no partition (in join order).
//
//   N = 3, partitions  P0:A  P1:A  P2:B  P3:C  P4:A
//   preference list of P1 = [A, B, C]   (P2's B, P3's C; P4's A is a repeat)
//
// The owner comes first, so it coordinates when it is up; the next distinct nodes are the
// replicas. Nodes beyond the first N, in the same order, are the substitutes a sloppy quorum
// uses when replicas are down; each substitute carries `hintedFor`, the replica it stands in
// for, so it can hand the write back when that replica returns (hinted handoff).

import type { PartitionMap } from './partition-map';

export interface Placement {
  readonly node: string;
  /** Set when `node` stands in for a down replica: the write is a hint to deliver to this node. */
  readonly hintedFor?: string;
}

// Maps are immutable, so a partition's walk never changes: computed once per map and partition,
// a coordinator's per-request placement is a lookup.
const walks = new WeakMap<PartitionMap, Map<number, readonly string[]>>();

/** Every node once, in ring order from the partition `pid` (see above). */
export function ringWalk(map: PartitionMap, pid: number): string[] {
  let perMap = walks.get(map);
  if (!perMap) walks.set(map, (perMap = new Map()));
  let walk = perMap.get(pid);
  if (!walk) perMap.set(pid, (walk = computeWalk(map, pid)));
  return [...walk];
}

function computeWalk(map: PartitionMap, pid: number): readonly string[] {
  const start = map.indexOf(pid);
  if (start < 0) map.partition(pid); // throws the "no partition" error naming pid
  const seen = new Set<string>();
  const order: string[] = [];
  const total = map.partitions.length;
  for (let step = 0; step < total && order.length < map.nodes.length; step++) {
    const owner = map.partitions[(start + step) % total].owner;
    if (!seen.has(owner)) {
      seen.add(owner);
      order.push(owner);
    }
  }
  for (const node of map.nodes) if (!seen.has(node)) order.push(node);
  return Object.freeze(order);
}

/**
 * The N distinct nodes that hold partition `pid`, owner first. N defaults to the map's
 * replication factor and is capped by the node count (after a removeNode a cluster may have fewer
 * nodes than N; placement then uses them all).
 */
export function preferenceList(map: PartitionMap, pid: number, n: number = map.replicationFactor): string[] {
  return ringWalk(map, pid).slice(0, Math.max(1, n));
}

/** The preference list of the partition holding a partition key. */
export function replicasOf(map: PartitionMap, partitionKey: Buffer, n: number = map.replicationFactor): string[] {
  return preferenceList(map, map.locate(partitionKey).id, n);
}

/**
 * Sloppy quorum: up to N healthy nodes for a write to `pid`. Up replicas keep their place; each
 * down replica is replaced by the next healthy node past the first N in ring order, tagged with
 * `hintedFor`. Fewer than N entries come back when fewer than N nodes are up; the coordinator
 * compares that with W (or R).
 */
export function sloppyPreferenceList(
  map: PartitionMap,
  pid: number,
  isUp: (node: string) => boolean,
  n: number = map.replicationFactor,
): Placement[] {
  const walk = ringWalk(map, pid);
  const intended = walk.slice(0, Math.max(1, n));
  const spares = walk.slice(intended.length).filter((node) => isUp(node));
  const out: Placement[] = [];
  for (const node of intended) {
    if (isUp(node)) {
      out.push({ node });
      continue;
    }
    const substitute = spares.shift();
    if (substitute !== undefined) out.push({ node: substitute, hintedFor: node });
  }
  return out;
}

/**
 * Nodes to ask for a read, in the order to ask them: healthy replicas first, then healthy
 * substitutes, so a reader can keep asking until R answers arrive.
 */
export function readCandidates(map: PartitionMap, pid: number, isUp: (node: string) => boolean): string[] {
  return ringWalk(map, pid).filter((node) => isUp(node));
}
