// The anti-entropy diff protocol between two replicas' Merkle trees of the same range.
//
// Level by level, the local side asks the peer for the hashes of the children of the nodes that
// differed on the previous level (one MerkleSummary round trip per level), and descends only into
// children whose hashes differ. Identical subtrees are never opened, so the hashes exchanged grow
// with (differing keys × depth × fanout), not with the number of keys. The differing leaf
// buckets then go through diffEntries, which names the keys to send one way or the other.
//
//   level 0:  root ≠                         1 hash
//   level 1:  children of root: 2 of 16 ≠    16 hashes
//   level 2:  children of those 2            32 hashes … and so on to the leaves

import { HASH_BYTES, type MerkleEntry, MerkleError, type MerkleShape, type MerkleTree } from './merkle';

/** The peer's side: answers hashes of nodes of one level (the MerkleSummary RPC, or a local tree). */
export interface HashSource extends MerkleShape {
  hashes(level: number, indices: readonly number[]): readonly Buffer[] | Promise<readonly Buffer[]>;
}

export interface DiffStats {
  /** Round trips made (levels visited). */
  readonly rounds: number;
  /** Hashes received from the peer. */
  readonly hashesExchanged: number;
  /** Request and answer payload: 4 bytes per node index asked, HASH_BYTES per hash received. */
  readonly bytesExchanged: number;
}

export interface TreeDiff {
  /** Leaf buckets whose contents differ, ascending. */
  readonly buckets: number[];
  readonly stats: DiffStats;
}

/** Compares a local tree with a peer's, returning the differing leaf buckets. */
export async function diffTrees(local: MerkleTree, remote: HashSource): Promise<TreeDiff> {
  if (remote.fanout !== local.fanout || remote.depth !== local.depth) {
    throw new MerkleError(`trees of different shapes cannot be compared: local ${local.fanout}^${local.depth}, remote ${remote.fanout}^${remote.depth}`);
  }
  let rounds = 0;
  let hashes = 0;
  let asked = 0;
  let frontier = [0];
  for (let level = 0; level <= local.depth && frontier.length > 0; level++) {
    const theirs = await remote.hashes(level, frontier);
    rounds++;
    asked += frontier.length;
    hashes += theirs.length;
    if (theirs.length !== frontier.length) {
      throw new MerkleError(`the peer answered ${theirs.length} hashes for ${frontier.length} nodes at level ${level}`);
    }
    const differing = frontier.filter((index, i) => !local.hashAt(level, index).equals(theirs[i]));
    if (level === local.depth) return { buckets: differing, stats: { rounds, hashesExchanged: hashes, bytesExchanged: asked * 4 + hashes * HASH_BYTES } };
    frontier = differing.flatMap((index) => Array.from({ length: local.fanout }, (_, c) => index * local.fanout + c));
  }
  return { buckets: [], stats: { rounds, hashesExchanged: hashes, bytesExchanged: asked * 4 + hashes * HASH_BYTES } };
}

export interface KeyDifference {
  readonly key: Buffer;
  /** The local version hash, undefined when only the peer has the key. */
  readonly local?: Buffer;
  /** The peer's version hash, undefined when only this side has the key. */
  readonly remote?: Buffer;
}

/**
 * The keys of one bucket that differ between two replicas (missing on one side or with another
 * version). Which version wins is decided by the consistency mode when the values are exchanged.
 */
export function diffEntries(local: readonly MerkleEntry[], remote: readonly MerkleEntry[]): KeyDifference[] {
  const theirs = new Map(remote.map((e) => [e.key.toString('latin1'), e]));
  const out: KeyDifference[] = [];
  for (const mine of local) {
    const id = mine.key.toString('latin1');
    const other = theirs.get(id);
    theirs.delete(id);
    if (!other) out.push({ key: mine.key, local: mine.versionHash });
    else if (!other.versionHash.equals(mine.versionHash)) out.push({ key: mine.key, local: mine.versionHash, remote: other.versionHash });
  }
  for (const other of theirs.values()) out.push({ key: other.key, remote: other.versionHash });
  return out.sort((a, b) => Buffer.compare(a.key, b.key));
}

/**
 * The keys and versions of chosen leaf buckets, one list per bucket asked, in that order. A tree
 * keeps no keys, so they come from wherever the replica keeps its data (the MerkleDiff RPC for a
 * peer, the store for this node).
 */
export interface EntrySource {
  bucketEntries(buckets: readonly number[]): readonly (readonly MerkleEntry[])[] | Promise<readonly (readonly MerkleEntry[])[]>;
}

/** A peer in a repair round: its tree's hashes and the entries of chosen leaf buckets (MerkleDiff). */
export interface MerklePeer extends HashSource, EntrySource {}

export interface RepairStats extends DiffStats {
  /** Leaf buckets whose entries were fetched. */
  readonly bucketsCompared: number;
  /** Keys found missing or different on one side. */
  readonly keysDiffering: number;
}

/**
 * One anti-entropy comparison with a peer: the hash descent, then one round trip for the entries
 * of the differing buckets. Returns the keys to exchange; bytes count the hashes, the node
 * indices and, per fetched entry, a 4-byte key length, the key and its version hash.
 */
export async function findDivergentKeys(local: MerkleTree & EntrySource, peer: MerklePeer): Promise<{ keys: KeyDifference[]; stats: RepairStats }> {
  const { buckets, stats } = await diffTrees(local, peer);
  if (buckets.length === 0) return { keys: [], stats: { ...stats, bucketsCompared: 0, keysDiffering: 0 } };
  const theirs = await peer.bucketEntries(buckets);
  if (theirs.length !== buckets.length) throw new MerkleError(`the peer answered ${theirs.length} buckets for ${buckets.length} asked`);
  const mine = await local.bucketEntries(buckets);
  let entryBytes = 0;
  const keys = buckets.flatMap((_, i) => {
    for (const e of theirs[i]) entryBytes += 4 + e.key.length + e.versionHash.length;
    return diffEntries(mine[i], theirs[i]);
  });
  return {
    keys,
    stats: {
      rounds: stats.rounds + 1,
      hashesExchanged: stats.hashesExchanged,
      bytesExchanged: stats.bytesExchanged + buckets.length * 4 + entryBytes,
      bucketsCompared: buckets.length,
      keysDiffering: keys.length,
    },
  };
}
