// This node's Merkle trees: one per partition it replicates, over that partition's keys and the
// versions it stores. Without a partition map every node holds every key, so there is one tree
// over the whole store (partition 0 at map version 0): the one-partition case.
//
// Built by one scan of the store on start, then told each change of a stored version with the
// version it replaced (ObservedStore.onChanged), never rebuilt for a write. The trees keep no
// keys: the entries of the buckets a diff asks for come from the store (bucket-index.ts). A new
// partition map rebuilds only the partitions it affected: a tree whose partition kept its range
// and its place on this node is kept as it is; a partition whose range changed (split, merge) or
// that this node now replicates (rebalance, add/remove node) gets a tree from one scan; a
// partition this node no longer replicates loses its tree.
//
// A tree records live versions only, not tombstones. Compaction drops a tombstone that reaches
// the bottom level without any write passing here, and a tree that had recorded it, keeping no
// copy of it, could never take its digest out: the leaf would differ from a fresh build and from
// peers for good, and no diff could explain why. Compaction never changes a live version.
// Deletes still converge: a replica still holding the older value has that key in its tree, so
// the leaf differs, and bucket entries (read from the store, tombstones included) show the
// tombstone as the newer version. A replica that never had the key lacks the tombstone, as it
// would once compaction dropped it.

import { createHash } from 'node:crypto';
import { DEFAULT_DEPTH, DEFAULT_FANOUT, type MerkleEntry, MerkleError, MerkleTree } from '../../antientropy/merkle';
import { DEFAULT_SLICE, Slices, type SliceSize } from '../../event-loop';
import type { EntrySource } from '../../antientropy/merkle-diff';
import { type PartitionMap, preferenceList } from '../../partitioning';
import type { Store } from '../../storage';
import type { Entry } from '../../storage/types';
import { BucketIndex, type IndexedVersion } from './bucket-index';
import type { ObservedStore } from './observed-store';
import { encodeVersion, type VersionOf } from './tree';

/** A bucket index unused this long is dropped: a round's requests come well within it. */
const INDEX_IDLE_MS = 2000;
/**
 * An index that has tracked changes to more keys than it scanned (and to at least this many) is
 * rebuilt on its next request. Under load, peers' rounds can keep it in use for good, and the changes it
 * tracks meanwhile (one per write) would grow without bound; a rebuild costs a scan of the store,
 * so it waits until the changes weigh as much.
 */
const MIN_CHANGES_BEFORE_REBUILD = 100_000;


/** How stored keys fall into partitions (the node's PartitionState). */
export interface Placement {
  map(): PartitionMap | undefined;
  /** The partition a stored key is placed in under `map`. */
  partitionOf(map: PartitionMap, storedKey: Buffer): number;
}

/** What a map change did to the trees. */
export interface TreeChange {
  mapVersion: number;
  kept: number[];
  /** Partitions whose trees are being built (from `ready` on, they answer). */
  built: number[];
  dropped: number[];
  /**
   * The build's scan: milliseconds once every new tree is complete; undefined if a newer map or
   * close() stopped it first. Rejects if the store failed under it (buildFailure tells).
   */
  ready: Promise<number | undefined>;
}

/** The partitions `node` replicates under `map`, ascending. */
function replicated(map: PartitionMap, node: string): number[] {
  return map.partitions.filter((p) => preferenceList(map, p.id).includes(node)).map((p) => p.id).sort((a, b) => a - b);
}

function sameRange(a: PartitionMap, b: PartitionMap, pid: number): boolean {
  if (a.strategy !== b.strategy) return false;
  const i = a.indexOf(pid);
  const j = b.indexOf(pid);
  if (i < 0 || j < 0) return false;
  const p = a.partitions[i];
  const q = b.partitions[j];
  return p.start.equals(q.start) && (p.end === null ? q.end === null : q.end !== null && p.end.equals(q.end));
}

/** One partition's tree, answering for its buckets' entries from the store. */
export class PartitionTree extends MerkleTree implements EntrySource {
  constructor(private readonly entriesOf: (buckets: readonly number[]) => Promise<MerkleEntry[][]>) {
    super();
  }

  /** The keys and current versions in leaf buckets, each list sorted by key. */
  bucketEntries(buckets: readonly number[]): Promise<MerkleEntry[][]> {
    return this.entriesOf(buckets);
  }
}

export class PartitionTrees {
  private trees = new Map<number, PartitionTree>();
  /** Partitions whose trees a scan is still filling: they follow changes but answer nothing. */
  private pending = new Set<number>();
  /** Partitions whose build failed (the store failed under the scan), with why: they answer nothing until a map change or a restart rebuilds them. */
  private failed = new Map<number, string>();
  /** Bumped by each map change: a scan for an older map stops at its next slice. */
  private generation = 0;
  private scanning: Promise<unknown> = Promise.resolve();
  private map: PartitionMap | undefined;
  private builds = 0;
  private index: BucketIndex | undefined;
  /** The index being filled by a scan that yields to the event loop; changes meanwhile go to it too. */
  private filling: BucketIndex | undefined;
  private building: Promise<BucketIndex> | undefined;
  private indexTimer: NodeJS.Timeout | undefined;
  private readonly off: () => void;

  /** The build on start: resolves with the scan's milliseconds (undefined when a map change overtook it). */
  readonly initialBuild: Promise<number | undefined>;

  /**
   * Follows every change from now on, and builds the trees from a scan of the store in slices,
   * as a map change does (see follow): the node serves meanwhile (at a million keys the scan
   * takes seconds), and a tree being built answers nothing until it is complete. The
   * subscription and the scan's fixed view start in the same tick, so no write slips between.
   */
  constructor(
    private readonly store: Store,
    observed: ObservedStore,
    private readonly selfId: string,
    private readonly placement: Placement,
    private readonly versionOf: VersionOf = encodeVersion,
    private readonly scanSlice: SliceSize = DEFAULT_SLICE,
  ) {
    this.map = placement.map();
    this.off = observed.onChanged((key, before, after) => {
      const pid = this.partitionOfKey(key);
      if (pid === undefined) return;
      const tree = this.trees.get(pid)!;
      tree.change(key, this.recorded(before), this.recorded(after));
      (this.index ?? this.filling)?.change(pid, tree.bucketOf(key), key, before === undefined, after && this.indexed(after));
    });
    const pids = this.map ? replicated(this.map, selfId) : [0];
    this.trees = this.freshTrees(pids);
    this.pending = new Set(pids);
    this.initialBuild = this.scanIntoSlices(this.trees, ++this.generation);
    this.scanning = this.initialBuild;
  }

  /** Trees built from a scan since start (on start, then the partitions map changes affected). */
  get built(): number {
    return this.builds;
  }

  /** The map version the trees follow; 0 without a map. */
  get mapVersion(): number {
    return this.map?.version ?? 0;
  }

  get partitionMap(): PartitionMap | undefined {
    return this.map;
  }

  /** The tree of a partition this node replicates, once complete (see isBuilding, buildFailure). */
  tree(pid: number): PartitionTree | undefined {
    return this.pending.has(pid) || this.failed.has(pid) ? undefined : this.trees.get(pid);
  }

  /** Why the tree of `pid` could not be built after a map change, if it could not. */
  buildFailure(pid: number): string | undefined {
    return this.failed.get(pid);
  }

  /** Trees still being built (on start or after a map change). */
  get buildingCount(): number {
    return this.pending.size;
  }

  /** Whether the tree of `pid` is still being built (on start or after a map change). */
  isBuilding(pid: number): boolean {
    return this.pending.has(pid);
  }

  /** Resolves once no tree is being built (nor one started meanwhile). */
  async whenBuilt(): Promise<void> {
    for (let seen: Promise<unknown> | undefined; seen !== this.scanning;) {
      seen = this.scanning;
      await seen.catch(() => undefined);
    }
  }

  /** Partitions with a complete tree, ascending. */
  partitionIds(): number[] {
    return [...this.trees.keys()].filter((pid) => !this.pending.has(pid) && !this.failed.has(pid)).sort((a, b) => a - b);
  }

  /** Live keys over every complete tree (tombstones are not recorded). */
  get size(): number {
    let n = 0;
    for (const pid of this.partitionIds()) n += this.trees.get(pid)!.size;
    return n;
  }

  /** One tree's root; with several, SHA-1 over each (partition id, root) in id order. */
  digest(): Buffer {
    const ids = this.partitionIds();
    if (ids.length === 1) return this.trees.get(ids[0])!.root();
    const h = createHash('sha1');
    const id = Buffer.alloc(4);
    for (const pid of ids) {
      id.writeUInt32BE(pid);
      h.update(id).update(this.trees.get(pid)!.root());
    }
    return h.digest();
  }

  /** The partition of a stored key when this node keeps its tree. */
  partitionOfKey(key: Buffer): number | undefined {
    if (!this.map) return 0;
    const pid = this.placement.partitionOf(this.map, key);
    return this.trees.has(pid) ? pid : undefined;
  }

  /** Partitions both this node and `peer` replicate (every peer shares partition 0 without a map). */
  sharedWith(peer: string): number[] {
    const map = this.map;
    if (!map) return [0];
    return this.partitionIds().filter((pid) => preferenceList(map, pid).includes(peer));
  }

  /** The replicas of a partition under the current map (empty without one: every node). */
  replicasOf(pid: number): string[] {
    return this.map ? preferenceList(this.map, pid) : [];
  }

  /**
   * Follows a new map: keeps the trees it did not affect, builds the others from one scan of the
   * store in slices that yield to the event loop (done in one go it stopped the node for about
   * 25 µs a key, some 25 s at a million keys: peers would declare it down). A tree being built
   * answers nothing, and follows every change from the moment the scan's view is fixed: a leaf
   * is an XOR, so a change and the scanned version it replaced net out in any order.
   */
  follow(next: PartitionMap): TreeChange {
    const prev = this.map;
    const kept: number[] = [];
    const build: number[] = [];
    const trees = new Map<number, PartitionTree>();
    for (const pid of replicated(next, this.selfId)) {
      const t = this.trees.get(pid);
      if (t && prev && sameRange(prev, next, pid) && !this.pending.has(pid)) {
        trees.set(pid, t);
        kept.push(pid);
      } else {
        build.push(pid);
      }
    }
    const dropped = [...this.trees.keys()].filter((pid) => !trees.has(pid) && !build.includes(pid)).sort((a, b) => a - b);
    this.map = next;
    const fresh = this.freshTrees(build);
    for (const [pid, t] of fresh) trees.set(pid, t);
    this.trees = trees;
    this.pending = new Set(build);
    this.failed = new Map();
    this.dropIndex();
    const ready = this.scanIntoSlices(fresh, ++this.generation);
    this.scanning = ready;
    return { mapVersion: next.version, kept, built: build, dropped, ready };
  }

  private freshTrees(pids: readonly number[]): Map<number, PartitionTree> {
    return new Map(pids.map((pid) => [pid, new PartitionTree((buckets) => this.bucketEntries(pid, buckets))]));
  }

  /**
   * The scan that builds `fresh` (on start and after a map change; see follow): its view is
   * fixed before this returns its promise. Under hash partitioning a partition's keys are spread
   * over the whole key order, so one pass serves every partition being built.
   */
  private async scanIntoSlices(fresh: Map<number, PartitionTree>, generation: number): Promise<number | undefined> {
    if (fresh.size === 0) return 0;
    const started = Date.now();
    const scan = this.store.iterate();
    let next = scan.next();
    try {
      const slices = new Slices(this.scanSlice);
      while (!next.done) {
        this.addScanned(fresh, next.value);
        if (slices.due()) {
          await slices.next();
          if (generation !== this.generation) return undefined;
        }
        next = scan.next();
      }
    } catch (err) {
      // The store closing under a scan that close() or a newer map already abandoned.
      if (generation !== this.generation) return undefined;
      const why = (err as Error).message;
      for (const pid of fresh.keys()) this.failed.set(pid, why);
      this.pending = new Set();
      throw err;
    } finally {
      scan.return();
    }
    if (generation !== this.generation) return undefined;
    this.pending = new Set();
    this.builds += fresh.size;
    return Date.now() - started;
  }

  /** A scanned live version into the tree being built for its partition, if one is. */
  private addScanned(fresh: ReadonlyMap<number, PartitionTree>, e: Entry): void {
    fresh.get(this.map ? this.placement.partitionOf(this.map, e.key) : 0)?.change(e.key, undefined, this.versionOf(e));
  }

  /** What a stored version contributes to its tree: its version, nothing for a tombstone (see above). */
  private recorded(e: Entry | undefined): Buffer | undefined {
    return e === undefined || e.value === null ? undefined : this.versionOf(e);
  }

  private indexed(e: Entry): IndexedVersion {
    return { bytes: this.versionOf(e), tombstone: e.value === null };
  }

  /** The entries of buckets of partition `pid`, through the bucket index (built by one scan if there is none). */
  private async bucketEntries(pid: number, buckets: readonly number[]): Promise<MerkleEntry[][]> {
    if (this.index && this.index.changes > Math.max(MIN_CHANGES_BEFORE_REBUILD, this.index.scanned)) this.dropIndex();
    const index = this.index ?? (await (this.building ??= this.buildIndex()));
    this.indexTimer?.refresh();
    return index.entries(pid, buckets, (key) => this.store.peek(key) !== undefined);
  }

  /**
   * One scan of the store into a new index, a slice per event-loop turn: a node holding a
   * million keys spends seconds here, and done in one go it answered nothing meanwhile, so its
   * peers declared it down (and stopped waiting for it, and let the backlog to it grow). The
   * scan's view is fixed when it starts and the index follows every change from the same
   * moment, so what it adds later is overridden by what changed since (bucket-index.ts).
   */
  private async buildIndex(): Promise<BucketIndex> {
    const index = new BucketIndex(DEFAULT_FANOUT ** DEFAULT_DEPTH);
    const map = this.map;
    const scan = this.store.iterate({ includeTombstones: true });
    this.filling = index;
    try {
      const slices = new Slices(this.scanSlice);
      for (let next = scan.next(); !next.done; next = scan.next()) {
        const e = next.value;
        const p = map ? this.placement.partitionOf(map, e.key) : 0;
        const tree = this.trees.get(p);
        if (tree) index.add(p, tree.bucketOf(e.key), e.key, this.indexed(e));
        if (slices.due()) {
          await slices.next();
          if (this.filling !== index) throw new MerkleError('the bucket index was dropped while it was built (a new partition map, or the node is closing); the next round builds it again');
        }
      }
    } catch (err) {
      scan.return();
      if (this.filling === index) {
        this.filling = undefined;
        this.building = undefined;
      }
      throw err;
    }
    this.filling = undefined;
    this.building = undefined;
    this.index = index;
    this.indexTimer = setTimeout(() => this.dropIndex(), INDEX_IDLE_MS).unref();
    return index;
  }

  private dropIndex(): void {
    clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    this.index = undefined;
    this.filling = undefined;
    this.building = undefined;
  }

  close(): void {
    this.off();
    this.generation++;
    this.dropIndex();
  }
}
