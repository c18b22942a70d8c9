// What CLI commands ask the running cluster about before they act: the consistency mode its spec
// runs in (and a key's CRDT type), and where a key lives.

import { RingDbError, type ClusterDescription, type ControllerClient, type KeyLocation } from '../client';

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
