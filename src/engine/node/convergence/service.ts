// ConvergenceService: each handler validates its request (naming the bad field and what is
// accepted) before anything changes, then calls the node's Convergence.

import { IndexKind, type ConvergenceEntry, type ConvergenceServiceServer, type PeerRound } from '../../gen/ringdb/v1/convergence';
import { DEFAULT_DEPTH, DEFAULT_FANOUT } from '../../antientropy/merkle';
import { InvalidFieldError, PreconditionError, UnavailableError, unaryHandler } from '../../rpc';
import { checkKey, checkNodeId, checkValue } from '../validate';
import type { Convergence } from './convergence';
import { DEFAULT_READ_PAGE, type GlobalIndex, MAX_READ_PAGE } from '../indexes/global-index';
import { checkQuery, queryIndex } from '../indexes/query';
import type { SecondaryIndexes } from '../indexes/secondary';
import type { CrdtHandlers } from './crdt-service';
import type { VectorHandlers } from './vector-service';
import { fromWire, toWire } from './peer-link';
import type { PartitionTree, PartitionTrees } from './partition-trees';
import { MAX_DIFF_BUCKETS, MAX_EXCHANGE_KEYS, MAX_ROOTS, MAX_SUMMARY_INDEXES } from './round';


function checkCount(field: string, n: number, min: number, max: number): void {
  if (n < min || n > max) throw new InvalidFieldError(field, `must hold ${min} to ${max} items, got ${n}`);
}

function checkEntry(field: string, e: ConvergenceEntry): void {
  checkKey(`${field}.key`, e.key);
  checkValue(`${field}.value`, e.value);
  if (e.deleted && e.value.length > 0) throw new InvalidFieldError(`${field}.value`, 'must be empty for a tombstone (deleted = true)');
  if (!Number.isSafeInteger(e.ts) || e.ts < 1) throw new InvalidFieldError(`${field}.ts`, `must be a Lamport timestamp from 1 to 2^53-1, got ${e.ts}`);
  checkNodeId(`${field}.origin`, e.origin);
}

/** FAILED_PRECONDITION unless the caller's map version is this node's: trees of two maps cover different ranges. */
function checkMapVersion(trees: PartitionTrees, mapVersion: number): void {
  if (mapVersion !== trees.mapVersion) {
    throw new PreconditionError(`map_version ${mapVersion} is not this node's partition map version ${trees.mapVersion}${trees.mapVersion === 0 ? ' (it has no map)' : ''}: trees of different maps are not compared`);
  }
}

/** The tree a request names (partition_id at map_version), or the error saying why there is none. */
function treeFor(trees: PartitionTrees, partitionId: number, mapVersion: number, field = 'partition_id'): PartitionTree {
  checkMapVersion(trees, mapVersion);
  const map = trees.partitionMap;
  if (!map && partitionId !== 0) throw new InvalidFieldError(field, `must be 0: this node has no partition map, so one tree covers every key; got ${partitionId}`);
  if (map && map.indexOf(partitionId) < 0) throw new InvalidFieldError(field, `no partition ${partitionId} in partition map version ${map.version}`);
  if (trees.isBuilding(partitionId)) throw new UnavailableError(`the Merkle tree of partition ${partitionId} is still being built after a partition map change; a later round compares it`);
  const failure = trees.buildFailure(partitionId);
  if (failure !== undefined) {
    throw new UnavailableError(`the Merkle tree of partition ${partitionId} could not be built after the last partition map change (${failure}); the next map change or a restart of this node rebuilds it`);
  }
  const tree = trees.tree(partitionId);
  if (!tree) throw new PreconditionError(`this node does not replicate partition ${partitionId} (its replicas: ${trees.replicasOf(partitionId).join(', ')})`);
  return tree;
}

/** Waits while a map change is building the tree of one of `pids`: they answer once complete (the caller's deadline bounds the wait). */
async function built(trees: PartitionTrees, pids: readonly number[]): Promise<void> {
  if (pids.some((pid) => trees.isBuilding(pid))) await trees.whenBuilt();
}

export function convergenceService(conv: Convergence, crdt: CrdtHandlers, indexes: SecondaryIndexes, vector: VectorHandlers, global: GlobalIndex): ConvergenceServiceServer {
  const trees = conv.trees;
  return {
    merkleRoots: unaryHandler(async (call) => {
      const { mapVersion, partitionIds } = call.request;
      checkMapVersion(trees, mapVersion);
      checkCount('partition_ids', partitionIds.length, 0, MAX_ROOTS);
      const pids = partitionIds.length > 0 ? partitionIds : trees.partitionIds();
      await built(trees, pids);
      const roots = pids.map((pid, i) => {
        const tree = treeFor(trees, pid, mapVersion, `partition_ids[${i}]`);
        return { partitionId: pid, hash: tree.root(), keys: tree.size };
      });
      return { fanout: DEFAULT_FANOUT, depth: DEFAULT_DEPTH, mapVersion: trees.mapVersion, roots };
    }),

    merkleSummary: unaryHandler(async (call) => {
      await built(trees, [call.request.partitionId]);
      const { level, indexes } = call.request;
      const tree = treeFor(trees, call.request.partitionId, call.request.mapVersion);
      if (level > tree.depth) throw new InvalidFieldError('level', `must be 0 (the root) to ${tree.depth} (the leaf buckets), got ${level}`);
      checkCount('indexes', indexes.length, 1, MAX_SUMMARY_INDEXES);
      const width = tree.fanout ** level;
      indexes.forEach((i, n) => {
        if (i >= width) throw new InvalidFieldError(`indexes[${n}]`, `must be 0 to ${width - 1} at level ${level}, got ${i}`);
      });
      return { fanout: tree.fanout, depth: tree.depth, hashes: tree.hashes(level, indexes), keys: tree.size };
    }),

    merkleDiff: unaryHandler(async (call) => {
      await built(trees, [call.request.partitionId]);
      const { buckets } = call.request;
      const tree = treeFor(trees, call.request.partitionId, call.request.mapVersion);
      checkCount('buckets', buckets.length, 1, MAX_DIFF_BUCKETS);
      buckets.forEach((b, n) => {
        if (b >= tree.leafCount) throw new InvalidFieldError(`buckets[${n}]`, `must be a leaf bucket 0 to ${tree.leafCount - 1}, got ${b}`);
      });
      const entries = await tree.bucketEntries(buckets);
      return { buckets: buckets.map((bucket, i) => ({ bucket, entries: entries[i] })) };
    }),

    exchangeEntries: unaryHandler(async (call) => {
      await built(trees, [call.request.partitionId]);
      const { sender, entries, want } = call.request;
      checkNodeId('sender', sender);
      checkCount('entries', entries.length, 0, MAX_EXCHANGE_KEYS);
      checkCount('want', want.length, 0, MAX_EXCHANGE_KEYS);
      entries.forEach((e, i) => checkEntry(`entries[${i}]`, e));
      want.forEach((k, i) => checkKey(`want[${i}]`, k));
      // Only keys of the named partition cross: a node is never sent, nor asked for, keys of a
      // partition it does not replicate.
      const { partitionId, mapVersion } = call.request;
      treeFor(trees, partitionId, mapVersion);
      const inPartition = (field: string, key: Uint8Array) => {
        const pid = trees.partitionOfKey(Buffer.from(key));
        if (pid !== partitionId) throw new InvalidFieldError(field, `is not a key of partition ${partitionId} (map version ${mapVersion})`);
      };
      entries.forEach((e, i) => inPartition(`entries[${i}].key`, e.key));
      want.forEach((k, i) => inPartition(`want[${i}]`, k));
      // Read before applying: the sender asked for the versions that made this node differ.
      const found: ConvergenceEntry[] = [];
      for (const key of want) {
        const e = conv.read(key);
        if (e) found.push(toWire(e));
      }
      const applied = await conv.applyPushed(entries.map(fromWire));
      return { entries: found, applied };
    }),

    repair: unaryHandler(async (call) => {
      const known = conv.knownPeers();
      call.request.peers.forEach((p, i) => {
        checkNodeId(`peers[${i}]`, p);
        if (!known.includes(p)) throw new InvalidFieldError(`peers[${i}]`, `${JSON.stringify(p)} is not a peer of ${conv.nodeId}; peers: ${known.join(', ') || 'none'}`);
      });
      const report = await conv.repair(call.request.peers);
      return { nodeId: report.nodeId, peers: report.peers satisfies PeerRound[], durationMs: report.durationMs };
    }),

    convergenceStats: unaryHandler(() => {
      const cache = conv.cacheStats();
      return {
        nodeId: conv.nodeId,
        ...conv.counters,
        merkleKeys: trees.size,
        merkleRoot: trees.digest(),
        mapVersion: trees.mapVersion,
        merkleTrees: trees.partitionIds().length,
        treesBuilt: trees.built,
        treesBuilding: trees.buildingCount,
        cacheHits: cache.hits,
        cacheMisses: cache.misses,
        cacheEntries: cache.entries,
        cacheInvalidations: cache.invalidations,
        cacheStaleFillsDropped: cache.staleFillsDropped,
        globalIndex: global.stats(),
      };
    }),

    crdtUpdate: unaryHandler((call) => crdt.update(call.request)),
    crdtGet: unaryHandler((call) => crdt.get(call.request.key)),

    queryIndex: unaryHandler((call) => queryIndex(conv.nodeId, indexes, global, () => conv.upPeerLinks(), call.request, call)),
    readGlobalIndex: unaryHandler((call) => {
      const { field, value, after, limit } = call.request;
      checkQuery(indexes, global, { field, value, localOnly: false, kind: IndexKind.INDEX_KIND_GLOBAL });
      if (after.length > 0) checkKey('after', after);
      if (limit > MAX_READ_PAGE) throw new InvalidFieldError('limit', `must be 0 (${DEFAULT_READ_PAGE}) to ${MAX_READ_PAGE}, got ${limit}`);
      const page = global.readPage(field, value, after, limit || DEFAULT_READ_PAGE);
      return { entries: page.hits.map((h) => ({ key: h.primaryKey, value: Buffer.alloc(0), deleted: h.deleted, ts: h.ts, origin: h.origin })), more: page.more };
    }),

    vectorGet: unaryHandler((call) => vector.get(call.request, call)),
    vectorPut: unaryHandler((call) => vector.put(call.request, call)),
  };
}
