// One anti-entropy comparison of this node's tree with one peer's (the initiator's side): compare
// roots; if they differ, descend level by level into differing subtrees only (findDivergentKeys),
// then, reading the versions in the peer's bucket entries, push the divergent keys this node
// holds the winner of and pull the others, in one ExchangeEntries call per chunk.

import { findDivergentKeys, type MerklePeer } from '../../antientropy/merkle-diff';
import { MerkleError, type MerkleEntry, type MerkleTree } from '../../antientropy/merkle';
import { compareVersions, type Entry } from '../../storage/types';
import { fromWire, toWire, type PeerLink, type Traffic } from './peer-link';
import { decodeVersion } from './tree';

/** Request limits both sides agree on (the service enforces them). */
export const MAX_SUMMARY_INDEXES = 65_536;
export const MAX_DIFF_BUCKETS = 4096;
export const MAX_EXCHANGE_KEYS = 10_000;
/** Keys per exchange call: bounds the size of one message when values are large. */
const EXCHANGE_CHUNK = 1000;

export interface PeerRoundResult extends Traffic {
  peer: string;
  ok: boolean;
  error: string;
  rootsMatched: boolean;
  rangesCompared: number;
  bucketsCompared: number;
  keysSent: number;
  keysReceived: number;
}

export interface RoundDeps {
  selfId: string;
  tree: MerkleTree;
  /** This node's stored version of a key, tombstones included. */
  read(key: Buffer): Entry | undefined;
  /** Applies versions received from the peer (Last-Write-Wins); resolves once stored. */
  apply(entries: Entry[]): Promise<void>;
}

/**
 * Which side holds the winning version of a divergent key; 'both' for CRDT states, which merge.
 * A version the peer encoded in a way this node cannot read is fetched rather than trusted: the
 * store's LWW still decides.
 */
function newerSide(local: Buffer | undefined, remote: Buffer | undefined): 'local' | 'remote' | 'both' {
  if (remote === undefined) return 'local';
  if (local === undefined) return 'remote';
  const theirs = decodeVersion(remote);
  const mine = decodeVersion(local);
  if (theirs === 'mergeable' || mine === 'mergeable') return 'both';
  if (!theirs || !mine) return 'remote';
  return compareVersions(mine, theirs) >= 0 ? 'local' : 'remote';
}

function chunks<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

export async function compareWithPeer(deps: RoundDeps, peer: PeerLink): Promise<PeerRoundResult> {
  const { tree } = deps;
  const r: PeerRoundResult = {
    peer: peer.id, ok: false, error: '', rootsMatched: false, rangesCompared: 1, bucketsCompared: 0,
    keysSent: 0, keysReceived: 0, bytesSent: 0, bytesReceived: 0,
  };
  const top = await peer.summary(0, [0], r);
  if (top.fanout !== tree.fanout || top.depth !== tree.depth) {
    throw new MerkleError(`${peer.id}'s tree is ${top.fanout}^${top.depth}, this node's ${tree.fanout}^${tree.depth}: they cannot be compared`);
  }
  const theirRoot = Buffer.from(top.hashes[0] ?? Buffer.alloc(0));
  if (theirRoot.equals(tree.root())) {
    r.rootsMatched = true;
    r.ok = true;
    return r;
  }
  const remote: MerklePeer = {
    fanout: tree.fanout,
    depth: tree.depth,
    // The root was just fetched: the descent starts from it without asking again.
    hashes: async (level, indexes) => {
      if (level === 0) return [theirRoot];
      const out: Buffer[] = [];
      for (const part of chunks(indexes, MAX_SUMMARY_INDEXES)) {
        const res = await peer.summary(level, part, r);
        r.rangesCompared += part.length;
        out.push(...res.hashes.map((h) => Buffer.from(h)));
      }
      return out;
    },
    bucketEntries: async (buckets) => {
      const out: MerkleEntry[][] = [];
      for (const part of chunks(buckets, MAX_DIFF_BUCKETS)) {
        const res = await peer.diff(part, r);
        for (const b of res.buckets) out.push(b.entries.map((e) => ({ key: Buffer.from(e.key), versionHash: Buffer.from(e.versionHash) })));
      }
      return out;
    },
  };
  const { keys, stats } = await findDivergentKeys(tree, remote);
  r.bucketsCompared = stats.bucketsCompared;
  for (const part of chunks(keys, EXCHANGE_CHUNK)) {
    const push: Entry[] = [];
    const want: Buffer[] = [];
    for (const k of part) {
      const winner = newerSide(k.local, k.remote);
      if (winner !== 'local') want.push(k.key);
      if (winner !== 'remote') {
        const e = deps.read(k.key);
        if (e) push.push(e);
      }
    }
    const res = await peer.exchange({ sender: deps.selfId, entries: push.map(toWire), want }, r);
    r.keysSent += push.length;
    r.keysReceived += res.entries.length;
    if (res.entries.length > 0) await deps.apply(res.entries.map(fromWire));
  }
  r.ok = true;
  return r;
}
