// Human-facing views of a map, shared by `ringdb ring`, `ringdb where <key>`, the controller's
// Describe and the extension's tree: one place decides how partitions and keys are shown, so
// the CLI and the editor never disagree.

import { describePosition, ringFraction } from './keyspace';
import type { Partition, PartitionMap } from './partition-map';
import { preferenceList } from './placement';
import { readKeysFor, saltBuckets } from './salting';

export interface RingRow {
  readonly partition: number;
  /** "[start, end)" with tokens shortened for hash maps and keys as text for range maps. */
  readonly range: string;
  readonly owner: string;
  readonly replicas: readonly string[];
  /** Share of the hash ring (hash maps only): how much of the data to expect here. */
  readonly share?: number;
}

/** One row per partition in ring order: the `ring` command's table. */
export function ringTable(map: PartitionMap): RingRow[] {
  return map.partitions.map((p) => ({
    partition: p.id,
    range: rangeText(map, p),
    owner: p.owner,
    replicas: preferenceList(map, p.id),
    ...(map.strategy === 'hash' ? { share: ringFraction(p.start, p.end) } : {}),
  }));
}

export interface KeyPlacement {
  readonly partition: number;
  readonly range: string;
  /** The key's position: its token (hex) for hash maps, the key (hex) for range maps. */
  readonly position: string;
  /** The partition's first position (hex, inclusive) and end (hex, exclusive; null = the end of the space), unshortened. */
  readonly startHex: string;
  readonly endHex: string | null;
  readonly replicas: readonly string[];
  /** Buckets the key is salted over (0 = not salted) and every key a read probes. */
  readonly saltBuckets: number;
  readonly readKeys: readonly Buffer[];
}

/** Where a partition key lives: the `where <key>` command. */
export function where(map: PartitionMap, partitionKey: Buffer): KeyPlacement {
  const p = map.locate(partitionKey);
  return {
    partition: p.id,
    range: rangeText(map, p),
    position: map.positionOf(partitionKey).toString('hex'),
    startHex: p.start.toString('hex'),
    endHex: p.end === null ? null : p.end.toString('hex'),
    replicas: preferenceList(map, p.id),
    saltBuckets: saltBuckets(map, partitionKey),
    readKeys: readKeysFor(map, partitionKey),
  };
}

function rangeText(map: PartitionMap, p: Partition): string {
  return `[${describePosition(map.strategy, p.start)}, ${describePosition(map.strategy, p.end)})`;
}
