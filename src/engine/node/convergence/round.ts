// One anti-entropy comparison of this node's trees with one peer's (the initiator's side), over
// the partitions both replicate: compare every shared partition's root in one call; for each
// that differs, descend level by level into differing subtrees only (findDivergentKeys), then,
// reading the versions in the peer's bucket entries, push the divergent keys this node holds the
// winner of and pull the others, in one ExchangeEntries call per chunk. Every call names the
// partition and the map version, so the peer refuses it if its map differs.

import { findDivergentKeys, type MerklePeer } from '../../antientropy/merkle-diff';
import { MerkleError, type MerkleEntry } from '../../antientropy/merkle';
import type { PartitionTree } from './partition-trees';
import { compareVersions, type Entry } from '../../storage/types';
import { fromWire, toWire, type PeerLink, type Scope, type Traffic } from './peer-link';
import { decodeVersion } from './tree';

/** Request limits both sides agree on (the service enforces them). */
export const MAX_SUMMARY_INDEXES = 65_536;
export const MAX_DIFF_BUCKETS = 4096;
export const MAX_EXCHANGE_KEYS = 10_000;
export const MAX_ROOTS = 65_536;
/** Keys per exchange call: bounds the size of one message when values are large. */
const EXCHANGE_CHUNK = 1000;

export interface PartitionRoundResult extends Traffic {
  partitionId: number;
  rangesCompared: number;
  bucketsCompared: number;
  keysSent: number;
  keysReceived: number;
}

export interface PeerRoundResult extends Traffic {
  peer: string;
  ok: boolean;
  error: string;
  rootsMatched: boolean;
  rangesCompared: number;
  bucketsCompared: number;
  keysSent: number;
  keysReceived: number;
  partitionsCompared: number;
  partitionsDiffering: number;
  /** One per differing partition. */
  partitions: PartitionRoundResult[];
}

export interface RoundDeps {
  selfId: string;
  /** The map version the trees follow now (0 = no map): a change ends the round. */
  mapVersion(): number;
  /** This node's tree of a partition, while it still keeps one. */
  tree(pid: number): PartitionTree | undefined;
  /** This node's stored version of a key, tombstones included. */
  read(key: Buffer): Entry | undefined;
  /** Applies versions received from the peer (Last-Write-Wins); resolves once stored. */
  apply(entries: Entry[]): Promise<void>;
}

export function emptyPeerResult(peer: string): PeerRoundResult {
  return {
    peer, ok: false, error: '', rootsMatched: false, rangesCompared: 0, bucketsCompared: 0, keysSent: 0, keysReceived: 0,
    bytesSent: 0, bytesReceived: 0, partitionsCompared: 0, partitionsDiffering: 0, partitions: [],
  };
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

/** Compares every partition in `pids` (shared by both sides) with `peer`. */
export async function compareWithPeer(deps: RoundDeps, peer: PeerLink, pids: readonly number[]): Promise<PeerRoundResult> {
  const r = emptyPeerResult(peer.id);
  const version = deps.mapVersion();
  const differing: { pid: number; root: Buffer }[] = [];
  for (const part of chunks(pids, MAX_ROOTS)) {
    const res = await peer.roots(version, part, r);
    if (res.roots.length !== part.length) throw new MerkleError(`${peer.id} answered ${res.roots.length} roots for ${part.length} partitions`);
    res.roots.forEach((root, i) => {
      const mine = deps.tree(part[i]);
      if (!mine) throw mapChanged(version, deps.mapVersion());
      if (res.fanout !== mine.fanout || res.depth !== mine.depth) {
        throw new MerkleError(`${peer.id}'s trees are ${res.fanout}^${res.depth}, this node's ${mine.fanout}^${mine.depth}: they cannot be compared`);
      }
      const theirs = Buffer.from(root.hash);
      if (!theirs.equals(mine.root())) differing.push({ pid: part[i], root: theirs });
    });
  }
  r.partitionsCompared = pids.length;
  r.rangesCompared = pids.length;
  r.partitionsDiffering = differing.length;
  for (const { pid, root } of differing) {
    const tree = deps.tree(pid);
    if (!tree || deps.mapVersion() !== version) throw mapChanged(version, deps.mapVersion());
    const p = await comparePartition(deps, peer, { partitionId: pid, mapVersion: version }, tree, root);
    r.partitions.push(p);
    r.rangesCompared += p.rangesCompared;
    r.bucketsCompared += p.bucketsCompared;
    r.keysSent += p.keysSent;
    r.keysReceived += p.keysReceived;
    r.bytesSent += p.bytesSent;
    r.bytesReceived += p.bytesReceived;
  }
  r.rootsMatched = differing.length === 0;
  r.ok = true;
  return r;
}

function mapChanged(was: number, now: number): MerkleError {
  return new MerkleError(`this node's partition map changed during the round (version ${was} to ${now}); the next round compares the new partitions`);
}

/** One differing partition: the descent below its (already fetched) root, then the exchange. */
async function comparePartition(deps: RoundDeps, peer: PeerLink, scope: Scope, tree: PartitionTree, theirRoot: Buffer): Promise<PartitionRoundResult> {
  const r: PartitionRoundResult = {
    partitionId: scope.partitionId, rangesCompared: 0, bucketsCompared: 0, keysSent: 0, keysReceived: 0, bytesSent: 0, bytesReceived: 0,
  };
  const remote: MerklePeer = {
    fanout: tree.fanout,
    depth: tree.depth,
    hashes: async (level, indexes) => {
      if (level === 0) return [theirRoot];
      const out: Buffer[] = [];
      for (const part of chunks(indexes, MAX_SUMMARY_INDEXES)) {
        const res = await peer.summary(scope, level, part, r);
        r.rangesCompared += part.length;
        out.push(...res.hashes.map((h) => Buffer.from(h)));
      }
      return out;
    },
    bucketEntries: async (buckets) => {
      const out: MerkleEntry[][] = [];
      for (const part of chunks(buckets, MAX_DIFF_BUCKETS)) {
        const res = await peer.diff(scope, part, r);
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
    const res = await peer.exchange(scope, { sender: deps.selfId, entries: push.map(toWire), want }, r);
    r.keysSent += push.length;
    r.keysReceived += res.entries.length;
    if (res.entries.length > 0) await deps.apply(res.entries.map(fromWire));
  }
  return r;
}
