// The one door every version takes into a node's store: local writes and replicated ops (through
// the replica), pull sync, hinted handoff and anti-entropy repairs. Whatever keeps a view derived
// from the store (the Merkle tree, the read cache, indexes) subscribes here, so no write path can
// change a key behind its back.

import type { ChangeReport, Store, WriteOptions } from '../../storage';
import { CorruptionError } from '../../storage/errors';
import { PURGE_ORIGIN, type Entry } from '../../storage/types';
import type { ReplicaStore } from '../../replication/replica';
import { ReadCache } from '../read-cache';

/** Called with the ops about to be written, synchronously before the store sees them. */
export type WritingListener = (ops: readonly Entry[]) => void;
/** Called with the ops that won Last-Write-Wins, once the store has them (in write order). */
export type AppliedListener = (entries: readonly Entry[]) => void;

/**
 * Called for each key whose stored version a write or a purge changed, with the version it held
 * before and holds after (undefined: none, or purged), synchronously as the store takes the batch
 * (Store.write and Store.purge change the memtable before they return). A view that must equal
 * the store at every instant and keeps no copy of the keys (the Merkle trees) follows this: it
 * sees each change once, even when a scan of the store runs between the write and its fsync.
 */
export type ChangeListener = (key: Buffer, before: Entry | undefined, after: Entry | undefined) => void;

/** Rewrites a batch before it is stored (crdt mode merges states); undefined drops an op. */
export type Resolver = (ops: readonly Entry[]) => (Entry | undefined)[];

export class ObservedStore implements ReplicaStore {
  private readonly writing = new Set<WritingListener>();
  private readonly applied = new Set<AppliedListener>();
  private readonly changed = new Set<ChangeListener>();
  private readonly damaged = new Set<(err: CorruptionError) => void>();
  private resolver: Resolver | undefined;
  /** Off until enableCache: readers pay nothing for it then. */
  cache = new ReadCache(0);

  constructor(readonly store: Store) {}

  /** Turns on the read cache (`cacheSize` entries); every write through here invalidates its keys first. */
  enableCache(maxEntries: number): void {
    if (maxEntries <= 0) return;
    const cache = new ReadCache(maxEntries);
    this.cache = cache;
    this.onWriting((ops) => cache.invalidate(ops));
  }

  /** The stored version of `key` (tombstones included), through the read cache when it is on. */
  get(key: Buffer): Entry | undefined {
    return this.cache.get(key, (k) => this.store.get(k));
  }

  /**
   * A writing listener runs before the memtable changes and in the same tick, so a reader that
   * runs after it (reads are synchronous) sees the new version: the read cache invalidates here.
   */
  onWriting(listener: WritingListener): () => void {
    this.writing.add(listener);
    return () => void this.writing.delete(listener);
  }

  /**
   * Called when a write finds a damaged file (the Last-Write-Wins lookup reads the tables). The
   * write fails, but the replication log may already hold it, and every resend would fail the
   * same way: the node must not go on answering as if it could store (see node/main.ts).
   */
  onDamage(listener: (err: CorruptionError) => void): () => void {
    this.damaged.add(listener);
    return () => void this.damaged.delete(listener);
  }

  private watchDamage<T>(work: Promise<T>): Promise<T> {
    return work.catch((err: unknown) => {
      if (err instanceof CorruptionError) for (const l of this.damaged) l(err);
      throw err;
    });
  }

  onApplied(listener: AppliedListener): () => void {
    this.applied.add(listener);
    return () => void this.applied.delete(listener);
  }

  /** Change listeners cost no lookup of their own: Store.write reports the version each op replaced. */
  onChanged(listener: ChangeListener): () => void {
    this.changed.add(listener);
    return () => void this.changed.delete(listener);
  }

  /** Set once by the consistency mode that needs it; applies to every later write. */
  resolveWith(resolver: Resolver): void {
    this.resolver = resolver;
  }

  /**
   * Removes keys from this node's store alone (a range it no longer replicates; Store.purge): not
   * a delete, nothing is logged or replicated. Listeners see each removal as a purge marker
   * (isPurgeMarker: value null, ts 0), so a view drops the key rather than recording a version.
   */
  async purge(keys: readonly Buffer[]): Promise<number> {
    const markers = keys.map((key): Entry => ({ key, value: null, ts: 0, origin: PURGE_ORIGIN }));
    for (const l of this.writing) l(markers);
    const removed = this.store.purge(keys, this.changed.size > 0 ? this.reportChange : undefined);
    return this.applyPurge(this.watchDamage(removed));
  }

  private async applyPurge(purged: Promise<Entry[]>): Promise<number> {
    const removed = await purged;
    if (removed.length > 0) for (const l of this.applied) l(removed);
    return removed.length;
  }

  /** `logged` passes to Store.write, which must be called before this returns (the replica's log marks rely on it). */
  async write(input: Entry[], logged?: WriteOptions): Promise<boolean[]> {
    const resolved = this.resolver?.(input);
    const ops = resolved ? resolved.filter((op): op is Entry => op !== undefined) : input;
    for (const l of this.writing) l(ops);
    // A resolver stores merged states the replication log does not hold: those need the WAL.
    const options = logged && resolved ? { ...logged, rewritten: true } : logged;
    const writing = ops.length > 0 ? this.store.write(ops, options, this.changed.size > 0 ? this.reportChange : undefined) : undefined;
    const written = writing ? await this.watchDamage(writing) : [];
    // Results line up with the input: a dropped op counts as one that lost.
    let next = 0;
    const results = resolved ? resolved.map((op) => (op === undefined ? false : written[next++])) : written;
    if (this.applied.size > 0) {
      // The store resolves writes in the order they were made, so listeners see versions of a
      // key in the order the store accepted them and end on the stored one.
      const won = ops.filter((_, i) => written[i]);
      if (won.length > 0) for (const l of this.applied) l(won);
    }
    return results;
  }

  private readonly reportChange: ChangeReport = (key, before, after) => {
    for (const l of this.changed) l(key, before, after);
  };
}
