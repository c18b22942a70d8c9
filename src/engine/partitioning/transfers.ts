// From two versions of the map to the data streams a change needs, replicas included.
//
// An ownership move (topology.ts) says who coordinates a range; with N > 1 the data a node must
// receive is decided by preference lists instead: a node that is a replica of some range in the
// new map but was not in the old one must be streamed that range, and a node that stops being a
// replica may drop it once the new replicas have it. Ranges are compared piecewise, so this also
// covers splits and merges whose partition boundaries differ between the two maps.
//
//   before  |---- P1: [A,B,C] ----|---- P2: [B,C,A] ----|
//   after   |-- P1: [A,B,C] --|-- P7: [D,A,B] --|- P2 -|
//                             ^ D receives this piece (from A, B or C), C releases it

import { InvalidArgumentError } from './errors';
import { comparePositions } from './keyspace';
import type { PartitionMap } from './partition-map';
import { preferenceList } from './placement';
import type { KeyRange } from './topology';

export interface DataTransfer {
  /** The partition in the new map that the range belongs to. */
  readonly partition: number;
  readonly range: KeyRange;
  /** The node that must receive the range. */
  readonly to: string;
  /** Nodes that held it under the old map, best source first (the old owner leads). */
  readonly sources: readonly string[];
}

export interface DataRelease {
  readonly partition: number;
  readonly range: KeyRange;
  /** A node that is no longer a replica of the range and may delete it after the transfers. */
  readonly node: string;
}

export interface TransferPlan {
  readonly transfers: readonly DataTransfer[];
  readonly releases: readonly DataRelease[];
}

/** The streams that take every replica from `before`'s placement to `after`'s. */
export function planTransfers(before: PartitionMap, after: PartitionMap): TransferPlan {
  if (before.strategy !== after.strategy) {
    throw new InvalidArgumentError('after', `a ${after.strategy} map cannot follow a ${before.strategy} map: they share no key space`);
  }
  const transfers: DataTransfer[] = [];
  const releases: DataRelease[] = [];
  const oldLists = new Map<number, string[]>();
  const newLists = new Map<number, string[]>();
  const listOf = (map: PartitionMap, cache: Map<number, string[]>, pid: number): string[] => {
    let list = cache.get(pid);
    if (!list) cache.set(pid, (list = preferenceList(map, pid)));
    return list;
  };
  // Both partition lists are sorted and cover the same space: walk them together, one overlap
  // piece at a time.
  let i = 0;
  let j = 0;
  while (i < before.partitions.length && j < after.partitions.length) {
    const b = before.partitions[i];
    const a = after.partitions[j];
    const start = Buffer.compare(a.start, b.start) >= 0 ? a.start : b.start;
    const end = comparePositions(a.end, b.end) <= 0 ? a.end : b.end;
    const range = { start, end };
    const was = listOf(before, oldLists, b.id);
    const now = listOf(after, newLists, a.id);
    for (const node of now) if (!was.includes(node)) transfers.push({ partition: a.id, range, to: node, sources: was });
    for (const node of was) if (!now.includes(node)) releases.push({ partition: a.id, range, node });
    const cmp = comparePositions(a.end, b.end);
    if (cmp <= 0) j++;
    if (cmp >= 0) i++;
  }
  return { transfers, releases };
}
