// What each replica of a key holds in its own copy (no quorum, no read repair), for `ringdb
// where`: the placement says where a key belongs, the copies show whether replication got there.

import { compareVersions, RingDbError, type ControllerClient, type Version } from '../client';
import { specModes } from './cluster-facts';
import { formatVersion, table } from './format';

/** A replica's own copy only waits this long: a hung node is shown as such, not waited for. */
export const OWN_COPY_ASK_MS = 3_000;

export interface OwnCopy {
  node: string;
  /** 'value' | 'tombstone' | 'nothing' | 'siblings' (vector mode), or why it was not read: the node's state, or 'error'. */
  holds: string;
  version: Version | undefined;
  /** What went wrong when holds is 'error'. */
  error?: string;
  /** Holds the newest version any replica that answered has. */
  newest: boolean;
  /**
   * 'newest' | 'newest heard' (a replica did not answer) | 'stale' | 'missing', or '' when
   * versions say nothing (not read, no version anywhere, or a CRDT, whose states merge).
   */
  verdict: string;
}

export interface OwnCopies {
  copies: OwnCopy[];
  /** A CRDT key's replicas merge states: their LWW versions do not say which is ahead. */
  crdtType: string | undefined;
}

const ANSWERS = new Set(['value', 'tombstone', 'nothing']);

export async function ownCopies(c: ControllerClient, key: string, replicas: readonly string[]): Promise<OwnCopies> {
  const described = await c.describe();
  const states = new Map(described.nodes.map((n) => [n.id, n.state]));
  const spec = specModes(described);
  const crdtType = spec.crdtTypeOf(key);
  const copies = await Promise.all(replicas.map(async (node): Promise<OwnCopy> => {
    const state = states.get(node) ?? 'unknown';
    if (state !== 'up' && state !== 'suspect') return { node, holds: state, version: undefined, newest: false, verdict: '' };
    try {
      const client = await c.nodeClient(node);
      try {
        const r = await client.getOwnCopy(key, { timeoutMs: OWN_COPY_ASK_MS });
        return { node, holds: r.found ? 'value' : r.deleted ? 'tombstone' : 'nothing', version: r.version, newest: false, verdict: '' };
      } finally {
        client.close();
      }
    } catch (err) {
      // Vector mode refuses a one-value read of a key with siblings: an answer, not a failure.
      if (spec.consistencyMode === 'vector' && err instanceof RingDbError && err.code === 'failed-precondition') {
        return { node, holds: 'siblings', version: undefined, newest: false, verdict: '' };
      }
      return { node, holds: 'error', error: (err as Error).message, version: undefined, newest: false, verdict: '' };
    }
  }));
  return judged({ copies, crdtType });
}

/** Sets each copy's newest and verdict from the versions and answers of all of them. */
export function judged(own: OwnCopies): OwnCopies {
  const { copies, crdtType } = own;
  let best: Version | undefined;
  for (const copy of copies) if (copy.version && (!best || compareVersions(copy.version, best) > 0)) best = copy.version;
  for (const copy of copies) copy.newest = best !== undefined && copy.version !== undefined && compareVersions(copy.version, best) === 0;
  const allHeard = copies.every((c) => ANSWERS.has(c.holds));
  for (const copy of copies) copy.verdict = verdictOf(copy, best !== undefined && crdtType === undefined, allHeard);
  return own;
}

/** A copy's place among the answers; `ordered`: some answer has a version, and versions order them (not a CRDT). */
function verdictOf(c: OwnCopy, ordered: boolean, allHeard: boolean): string {
  if (!ordered || !ANSWERS.has(c.holds)) return '';
  if (c.newest) return allHeard ? 'newest' : 'newest heard';
  return c.version ? 'stale' : 'missing';
}

/**
 * The copies as rows under a heading; a replica behind the newest is marked stale, one without it
 * missing, and "newest" is only "newest heard" while a replica did not answer.
 */
export function formatOwnCopies(key: string, { copies, crdtType }: OwnCopies): string {
  const anyVersion = copies.some((c) => c.newest);
  if (!anyVersion && copies.every((c) => c.holds === 'nothing')) {
    if (crdtType) return `no replica holds ${JSON.stringify(key)} yet (a CRDT: ${crdtType})`;
    return `no replica holds ${JSON.stringify(key)} as a plain key (rows written with --clustering live under it: \`ringdb scan ${key}\`)`;
  }
  const rows = copies.map((c) => [c.node, c.holds === 'error' ? `error: ${c.error ?? ''}` : c.holds, c.version ? formatVersion(c.version) : '-', c.verdict]);
  const note = crdtType
    ? `\n  ${key} is a CRDT (${crdtType}): replicas merge states, so their versions do not say which is ahead; \`ringdb get ${key} --node <id>\` reads a node's merged value`
    : copies.some((c) => c.holds === 'siblings') ? `\n  siblings: concurrent versions (consistencyMode "vector"); \`ringdb siblings ${key}\` reads them` : '';
  return `each replica's own copy (no quorum, no read repair):\n${table(['REPLICA', 'HOLDS', 'VERSION', ''], rows).replace(/^/gm, '  ')}${note}`;
}
