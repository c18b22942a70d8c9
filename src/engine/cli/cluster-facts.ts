// What CLI commands ask the running cluster about before they act: the consistency mode its spec
// runs in (and a key's CRDT type), and where a key lives.

import { RingDbError, type ClusterDescription, type ControllerClient, type KeyLocation, type PartitionMapInfo } from '../client';
import { quorumOverrideProblem } from '../partitioning';
import type { Parsed } from './args';

export interface SpecModes {
  consistencyMode: string | undefined;
  /** Entries of each node's read cache (0: off). */
  cacheSize: number;
  /** The key's CRDT type when the spec runs in consistencyMode "crdt" and names it. */
  crdtTypeOf(key: string): string | undefined;
}

/** The modes of a described cluster's spec (none when it runs no spec). */
export function specModes(described: Pick<ClusterDescription, 'specJson'>): SpecModes {
  const spec = (described.specJson ? JSON.parse(described.specJson) : {}) as { consistencyMode?: string; crdt?: Record<string, string> | null; cacheSize?: number };
  return {
    consistencyMode: spec.consistencyMode,
    cacheSize: spec.cacheSize ?? 0,
    crdtTypeOf: (key) => (spec.consistencyMode === 'crdt' && spec.crdt && Object.prototype.hasOwnProperty.call(spec.crdt, key) ? spec.crdt[key] : undefined),
  };
}

/** Where `key` lives by the partition map; undefined without one (a topology cluster: every node holds every key). */
export async function placementOf(c: ControllerClient, key: string): Promise<KeyLocation | undefined> {
  try {
    return await c.whereIs(key);
  } catch (err) {
    if (err instanceof RingDbError && err.code === 'failed-precondition') return undefined;
    throw err;
  }
}

/**
 * --w or --r, judged as the nodes judge a request's own W or R (1 to N, or unset for the
 * configured value), so 0 gets the same words as a value above N: on the wire 0 means unset.
 */
export function quorumArg(p: Parsed, name: 'w' | 'r', map: PartitionMapInfo): number | undefined {
  const v = p.options.get(name);
  if (typeof v !== 'number') return undefined;
  const n = Math.min(map.replicationFactor, map.nodeIds.length);
  const problem = quorumOverrideProblem(v, name === 'w' ? map.writeQuorum : map.readQuorum, n);
  if (problem) throw new RingDbError('invalid-argument', `${name}: ${problem}`);
  return v;
}
