// A split key checked the way the engine checks it (partitioning's splitPartition), from the map
// the client already has: lets the editor refuse a key outside the partition while it is typed.
import { positionOf } from '../partitioning/keyspace';
import type { PartitionInfo, PartitionMapInfo } from './types';

/** The key's position (hex) and whether a split of `p` there leaves both halves non-empty. */
export function splitKeyPosition(
  strategy: PartitionMapInfo['strategy'],
  p: Pick<PartitionInfo, 'startHex' | 'endHex'>,
  splitKey: string | Uint8Array,
): { positionHex: string; inside: boolean } {
  const position = positionOf(strategy, typeof splitKey === 'string' ? Buffer.from(splitKey, 'utf8') : Buffer.from(splitKey));
  // On the start itself is refused too: the lower half would be empty.
  const afterStart = Buffer.compare(Buffer.from(p.startHex, 'hex'), position) < 0;
  const beforeEnd = p.endHex === null || Buffer.compare(position, Buffer.from(p.endHex, 'hex')) < 0;
  return { positionHex: position.toString('hex'), inside: afterStart && beforeEnd };
}
