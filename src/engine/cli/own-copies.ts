// What each replica of a key holds in its own copy (no quorum, no read repair), for `ringdb
// where`: the placement says where a key belongs, the copies show whether replication got there.

import { compareVersions, type ControllerClient, type Version } from '../client';
import { formatVersion, table } from './format';

/** A replica's own copy only waits this long: a hung node is shown as such, not waited for. */
const ASK_MS = 3_000;

export interface OwnCopy {
  node: string;
  /** 'value' | 'tombstone' | 'nothing', or why it was not read ('down', 'error: …'). */
  holds: string;
  version: Version | undefined;
  /** Holds the newest version any replica has. */
  newest: boolean;
}

export async function ownCopies(c: ControllerClient, key: string, replicas: readonly string[]): Promise<OwnCopy[]> {
  const states = new Map((await c.describe()).nodes.map((n) => [n.id, n.state]));
  const copies = await Promise.all(replicas.map(async (node): Promise<OwnCopy> => {
    const state = states.get(node) ?? 'unknown';
    if (state !== 'up' && state !== 'suspect') return { node, holds: state, version: undefined, newest: false };
    try {
      const client = await c.nodeClient(node);
      try {
        const r = await client.getOwnCopy(key, { timeoutMs: ASK_MS });
        return { node, holds: r.found ? 'value' : r.deleted ? 'tombstone' : 'nothing', version: r.version, newest: false };
      } finally {
        client.close();
      }
    } catch (err) {
      return { node, holds: `error: ${(err as Error).message}`, version: undefined, newest: false };
    }
  }));
  let best: Version | undefined;
  for (const copy of copies) if (copy.version && (!best || compareVersions(copy.version, best) > 0)) best = copy.version;
  for (const copy of copies) copy.newest = best !== undefined && copy.version !== undefined && compareVersions(copy.version, best) === 0;
  return copies;
}

/** The copies as rows under a heading; a replica behind the newest is marked stale, one without it missing. */
export function formatOwnCopies(key: string, copies: readonly OwnCopy[]): string {
  const anyVersion = copies.some((c) => c.newest);
  if (!anyVersion && copies.every((c) => c.holds === 'nothing')) {
    return `no replica holds ${JSON.stringify(key)} as a plain key (rows written with --clustering live under it: \`ringdb scan ${key}\`)`;
  }
  const verdict = (c: OwnCopy): string => {
    if (!anyVersion || (c.version === undefined && c.holds !== 'nothing')) return '';
    if (c.newest) return 'newest';
    return c.version ? 'stale' : 'missing';
  };
  const rows = copies.map((c) => [c.node, c.holds, c.version ? formatVersion(c.version) : '-', verdict(c)]);
  return `each replica's own copy (no quorum, no read repair):\n${table(['REPLICA', 'HOLDS', 'VERSION', ''], rows).replace(/^/gm, '  ')}`;
}
