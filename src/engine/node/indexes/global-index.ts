// Global indexes (`globalIndexFields`): the entries of (field, value) live in one partition,
// chosen by hashing (field, value) like any partition key (global-keys.ts), so a lookup reads that
// partition's replicas instead of asking every node.
//
// An entry "k has f = v" is stored under the version (ts, origin) of the data version of k it was
// derived from, never under a fresh timestamp. Its state is then the newest of all the facts ever
// derived about it, whoever derived them and in whatever order they arrive:
//  - a data version V of k with f = v yields a put of (f, v, k) at V;
//  - a data version V that replaces one with f = u (u != v, or a delete) yields a removal of
//    (f, u, k) at V.
// The LWW winner W of k is the newest version of k, so the put derived from it beats every other
// fact about (f, W.f, k). Every replica derives the removals of the versions it replaces, so a
// node that put (f, u, k) at V removes it at a newer version once it stores one without u: an
// entry for a value k no longer has survives only when its deriver never stored a newer version
// (it crashed with the removal undelivered, or gave the range up), or the removal was dropped
// from a full outbox (counted in entries_dropped). A lookup checks each hit
// against the data and removes such an entry at the data's version, which only beats facts older
// than that version, so a removal never hides a newer put. Delivering a fact twice, late or out of
// order changes nothing, so entries are shipped with retries and no ordering (global-outbox.ts).
//
// Who derives puts: the key's primary replica (the first of its preference list), or the first
// replica not known to be down while the ones before it are (a stand-in); a duplicate from a
// second maintainer is harmless. Facts come from every version entering the store (local writes,
// replicated ops, pull sync, repairs, handoffs, data moves): a maintainer's from ObservedStore's
// writing listener, comparing each version with the stored one it replaces, read synchronously
// before the store applies the batch; the other replicas' removals from its change listener, which
// reports the version the store replaced. Without a partition map every node derives the facts
// for every key into its own store.
// The outbox is in memory: facts a node derived and had not delivered die with it, and facts of
// writes it alone was expected to derive were never derived elsewhere. When the heartbeat marks
// a node down, every replica it shares partitions with re-derives the puts of those partitions'
// keys (takeOver); until then, and for keys only the down node holds, a lookup says it may be
// incomplete by naming the down node in `unreachable`.
//
// Entries go to the replicas of their partition directly with their version (IngestEntries, as
// read repair and hinted handoff do), not through the replication log, which would give them a
// fresh timestamp. On start a node re-derives the puts of every key it is primary replica for.

import { status, type ServiceError } from '@grpc/grpc-js';
import { keyText } from '../../codec/bytes-text';
import { keyAfter } from '../../codec/composite-key';
import type { GlobalIndexStats, QueryIndexResponse, ReadGlobalIndexResponse } from '../../gen/ringdb/v1/convergence';
import { IndexKind } from '../../gen/ringdb/v1/convergence';
import { isSaltedKey, preferenceList } from '../../partitioning';
import { describeError, type ParentCall, UnavailableError } from '../../rpc';
import type { Store } from '../../storage';
import { compareVersions, type Entry, isPurgeMarker, MAX_KEY_BYTES } from '../../storage/types';
import type { ObservedStore } from '../convergence/observed-store';
import type { Logger } from '../logger';
import type { PartitionState } from '../partition-state';
import { askQuorum } from '../quorum-read';
import { decodeIndexEntryKey, indexEntryKey, indexEntryRange, isReservedKey, RESERVED_RANGE } from './global-keys';
import { IndexOutbox } from './global-outbox';
import { indexedValues } from './json-fields';

const REBUILD_PAGE = 1000;
/** The rebuild waits while this many entries are queued for reachable replicas. */
const REBUILD_BACKLOG = 20_000;
const MAX_QUEUED_PER_REPLICA = 500_000;
export const DEFAULT_READ_PAGE = 1000;
export const MAX_READ_PAGE = 10_000;
/** Hits checked against the data at once. */
const VERIFY_PARALLEL = 16;

/** A data version as a quorum read saw it (value null = a delete). */
export interface DataVersion {
  value: Buffer | null;
  ts: number;
  origin: string;
}

export interface GlobalIndexDeps {
  nodeId: string;
  fields: readonly string[];
  store: Store;
  observed: ObservedStore;
  partitions: PartitionState;
  readQuorum: number;
  isDown: (node: string) => boolean;
  /** Applies entries (with their versions) on a peer: IngestEntries. */
  ingest: (node: string, entries: Entry[]) => Promise<void>;
  /** A peer's page of entries of (field, value): ReadGlobalIndex. */
  readRemote: (node: string, field: string, value: string, after: Buffer, limit: number) => Promise<ReadGlobalIndexResponse>;
  /** The newest version of a primary key among R of its replicas; undefined when never written. */
  readData: (key: Buffer, call: ParentCall) => Promise<DataVersion | undefined>;
  logger: Logger;
}

/** One entry as read: the primary key and the version of the fact. */
export interface Hit {
  primaryKey: Buffer;
  deleted: boolean;
  ts: number;
  origin: string;
}

export class GlobalIndex {
  readonly counters = { lookups: 0, partitionReads: 0, entriesDerived: 0, staleDropped: 0, rebuiltKeys: 0, readRepairs: 0, tooLong: 0 };
  private readonly outbox: IndexOutbox;
  private readonly fieldSet: ReadonlySet<string>;
  private closed = false;

  constructor(private readonly deps: GlobalIndexDeps) {
    this.fieldSet = new Set(deps.fields);
    this.outbox = new IndexOutbox({
      deliver: (dest, entries) => (dest === deps.nodeId ? deps.observed.write(entries).then(() => undefined) : deps.ingest(dest, entries)),
      reachable: (dest) => dest === deps.nodeId || !deps.isDown(dest),
      onError: (dest, err) => deps.logger.debug(`global index entries for ${dest} not delivered (retrying): ${describeError(err)}`),
      permanent: (err) => (err as Partial<ServiceError>).code === status.INVALID_ARGUMENT,
      maxPerDestination: MAX_QUEUED_PER_REPLICA,
    });
    if (deps.fields.length === 0) return;
    // Subscribed for the node's lifetime, like the store it follows.
    deps.observed.onWriting((ops) => {
      try {
        this.derive(ops);
      } catch (err) {
        deps.logger.error(`global index: deriving entries failed: ${describeError(err)}`);
      }
    });
    deps.observed.onChanged((key, before, after) => {
      try {
        this.deriveRemovals(key, before, after);
      } catch (err) {
        deps.logger.error(`global index: deriving removals failed: ${describeError(err)}`);
      }
    });
  }

  get fields(): readonly string[] {
    return this.deps.fields;
  }

  isIndexed(field: string): boolean {
    return this.fieldSet.has(field);
  }

  stats(): GlobalIndexStats {
    const o = this.outbox.counters;
    return {
      lookups: this.counters.lookups, partitionReads: this.counters.partitionReads, entriesDerived: this.counters.entriesDerived,
      entriesDelivered: o.delivered, entriesPending: this.outbox.pending, deliveryFailures: o.failures, entriesDropped: o.dropped,
      staleDropped: this.counters.staleDropped, rebuiltKeys: this.counters.rebuiltKeys, readRepairs: this.counters.readRepairs, tooLong: this.counters.tooLong,
    };
  }

  close(): void {
    this.closed = true;
    this.outbox.close();
  }

  // ---- maintenance ----------------------------------------------------------------------

  /** Facts for a batch about to be stored: each op that beats the version it replaces. */
  private derive(ops: readonly Entry[]): void {
    const inBatch = new Map<string, Entry>();
    for (const op of ops) {
      // A purge (a range this node gave up) is not a new version: the key's replicas keep deriving.
      if (isPurgeMarker(op) || isReservedKey(op.key) || isSaltedKey(op.key) || !this.maintains(op.key)) continue;
      const id = op.key.toString('latin1');
      const before = inBatch.get(id) ?? this.deps.store.get(op.key);
      if (before && compareVersions(op, before) <= 0) continue;
      inBatch.set(id, op);
      this.emit(facts(this.deps.fields, op.key, before, op, () => this.counters.tooLong++));
    }
  }

  /**
   * A replica that is not maintaining `key` still removes the values a new version replaces. It
   * may have put them itself (standing in while the replicas before it were down, or re-deriving
   * in takeOver), and the maintainer, having seen the newer version first, never replaced them:
   * without this such an entry outlived the data until a lookup met it. The store reports the
   * version it replaced, so this costs no lookup; puts stay with the maintainer.
   */
  private deriveRemovals(key: Buffer, before: Entry | undefined, after: Entry | undefined): void {
    if (!before || !after || isPurgeMarker(after) || isReservedKey(key) || isSaltedKey(key) || this.maintains(key)) return;
    this.emit(removals(this.deps.fields, key, before, after, () => this.counters.tooLong++));
  }

  /** This node derives a key's facts when no replica before it in the preference list is up. */
  private maintains(key: Buffer): boolean {
    const map = this.deps.partitions.map;
    if (!map) return true;
    for (const r of preferenceList(map, this.deps.partitions.partitionOf(map, key))) {
      if (r === this.deps.nodeId) return true;
      if (!this.deps.isDown(r)) return false;
    }
    return false;
  }

  private isPrimary(key: Buffer): boolean {
    const map = this.deps.partitions.map;
    return !map || preferenceList(map, this.deps.partitions.partitionOf(map, key))[0] === this.deps.nodeId;
  }

  /** The replicas of an entry's partition (this node alone without a map). */
  private replicasOf(entryKey: Buffer): string[] {
    const map = this.deps.partitions.map;
    return map ? preferenceList(map, this.deps.partitions.partitionOf(map, entryKey)) : [this.deps.nodeId];
  }

  private emit(entries: Entry[]): void {
    if (entries.length === 0) return;
    this.counters.entriesDerived += entries.length;
    const byDest = new Map<string, Entry[]>();
    for (const e of entries) {
      for (const dest of this.replicasOf(e.key)) {
        let list = byDest.get(dest);
        if (!list) byDest.set(dest, (list = []));
        list.push(e);
      }
    }
    for (const [dest, list] of byDest) this.outbox.add(dest, list);
  }

  /**
   * Re-derives the entries of every live key this node is primary replica for (after a restart,
   * or when globalIndexFields gained a field). Idempotent: an entry that exists already is the
   * same version and the store keeps it as it is.
   */
  async rebuild(): Promise<void> {
    await this.rederive((key) => this.isPrimary(key), () => this.counters.rebuiltKeys++);
  }

  /**
   * `peer` was marked down. Facts it derived may have died in its in-memory outbox, and facts of
   * writes it alone was expected to derive (this node stood behind it) were never derived here:
   * re-derives the puts of every live key of the partitions both replicate. Every up replica does
   * it, because the one that took over maintenance may lack a write the other acknowledged.
   * One scan of the store, paced by the outbox like the rebuild; duplicates are the same versions.
   */
  async takeOver(peer: string): Promise<void> {
    const map = this.deps.partitions.map;
    if (!map || peer === this.deps.nodeId || !map.nodes.includes(peer)) return;
    const started = Date.now();
    let keys = 0;
    await this.rederive((key) => {
      const replicas = preferenceList(map, this.deps.partitions.partitionOf(map, key));
      return replicas.includes(peer) && replicas.includes(this.deps.nodeId);
    }, () => keys++);
    if (keys > 0) this.deps.logger.info(`global index: ${peer} is down; re-derived the entries of ${keys} keys it replicates (${Date.now() - started} ms)`);
  }

  /** Emits the puts of every live stored key `select` picks, a page at a time. */
  private async rederive(select: (key: Buffer) => boolean, counted: () => void): Promise<void> {
    if (this.deps.fields.length === 0) return;
    for (const [start, end] of [[undefined, RESERVED_RANGE.start], [RESERVED_RANGE.end, undefined]] as const) {
      let from: Buffer | undefined = start;
      for (;;) {
        if (this.closed) return;
        const page = this.deps.store.scan({ start: from, end, limit: REBUILD_PAGE });
        for (const e of page) {
          if (isSaltedKey(e.key) || !select(e.key)) continue;
          counted();
          this.emit(facts(this.deps.fields, e.key, undefined, e, () => this.counters.tooLong++));
        }
        if (page.length < REBUILD_PAGE) break;
        from = keyAfter(page[page.length - 1].key);
        await this.outbox.drainedBelow(REBUILD_BACKLOG);
      }
    }
  }

  // ---- reads ----------------------------------------------------------------------------

  /** This node's stored entries of (field, value) after `after`, tombstones included. */
  readPage(field: string, value: string, after: Buffer, limit: number): { hits: Hit[]; more: boolean } {
    this.counters.partitionReads++;
    const range = indexEntryRange(field, value);
    const start = after.length > 0 ? keyAfter(indexEntryKey(field, value, after)) : range.start;
    const rows = this.deps.store.scan({ start, end: range.end, limit: limit + 1, includeTombstones: true });
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const hits: Hit[] = [];
    for (const e of rows) {
      const ref = decodeIndexEntryKey(e.key);
      if (ref) hits.push({ primaryKey: ref.primaryKey, deleted: e.value === null, ts: e.ts, origin: e.origin });
    }
    return { hits, more };
  }

  /**
   * Keys whose newest value has `field` = `value`: the entries of the one partition holding
   * (field, value), read from R of its replicas (newest per key), each live one checked against
   * the data. Replicas that lacked an entry get it; entries the data contradicts are removed.
   */
  async lookup(field: string, value: string, call: ParentCall): Promise<QueryIndexResponse> {
    this.counters.lookups++;
    const self = this.deps.nodeId;
    const range = indexEntryRange(field, value);
    const map = this.deps.partitions.map;
    const pid = map ? this.deps.partitions.partitionOf(map, range.start) : 0;
    const replicas = this.replicasOf(range.start);
    const r = Math.max(1, Math.min(this.deps.readQuorum, replicas.length));
    // This node first when it is a replica (no hop), then the replicas that are up, then the rest.
    const down = (id: string) => id !== self && this.deps.isDown(id);
    const candidates = [...replicas.filter((id) => id === self), ...replicas.filter((id) => id !== self && !down(id)), ...replicas.filter(down)];
    const { answers, failures: unreachable } = await askQuorum(candidates, r, async (id) => ({ node: id, hits: await this.readAll(id, field, value) }));
    if (answers.length === 0) {
      throw new UnavailableError(`global index partition ${pid} of ${field}=${JSON.stringify(value)}: none of its replicas (${replicas.join(', ')}) answered; ${unreachable.join('; ')}`);
    }
    // Entries of keys written just before a node went down may have died in its outbox (the
    // other replicas re-derive them once the heartbeat marks it down: takeOver), and a key only
    // that node holds is not found at all: the answer says it may be incomplete.
    for (const id of map?.nodes ?? []) {
      if (down(id)) unreachable.push(`${id}: down; keys whose only copies are there, or written just before it went down, may be missing`);
    }
    const newest = this.mergeAndRepair(field, value, answers);
    const live = [...newest.values()].filter((h) => !h.deleted);
    const keys: Buffer[] = [];
    let dropped = 0;
    let at = 0;
    const check = async (): Promise<void> => {
      while (at < live.length) {
        const h = live[at++];
        let data: DataVersion | undefined;
        try {
          data = await this.deps.readData(h.primaryKey, call);
        } catch (err) {
          unreachable.push(`checking ${keyText(h.primaryKey)}: ${describeError(err)}`);
          continue;
        }
        if (data && data.value !== null && indexedValues(data.value, [field]).get(field) === value) keys.push(h.primaryKey);
        else if (data && compareVersions(data, h) > 0) {
          // Removed at the data's version: it beats only facts older than what was read.
          dropped++;
          this.emit([{ key: indexEntryKey(field, value, h.primaryKey), value: null, ts: data.ts, origin: data.origin }]);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(VERIFY_PARALLEL, live.length) }, check));
    this.counters.staleDropped += dropped;
    keys.sort(Buffer.compare);
    return { keys, nodes: answers.map((a) => a.node), unreachable, kind: IndexKind.INDEX_KIND_GLOBAL, partitionId: pid, staleDropped: dropped };
  }

  private async readAll(node: string, field: string, value: string): Promise<Hit[]> {
    const out: Hit[] = [];
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      let page: { hits: Hit[]; more: boolean };
      if (node === this.deps.nodeId) page = this.readPage(field, value, after, DEFAULT_READ_PAGE);
      else {
        const res = await this.deps.readRemote(node, field, value, after, DEFAULT_READ_PAGE);
        page = { hits: res.entries.map((e) => ({ primaryKey: Buffer.from(e.key), deleted: e.deleted, ts: e.ts, origin: e.origin })), more: res.more };
      }
      out.push(...page.hits);
      if (!page.more || page.hits.length === 0) return out;
      after = page.hits[page.hits.length - 1].primaryKey;
    }
  }

  /** Newest entry per primary key over the answers; each answering replica that lacked it is sent it. */
  private mergeAndRepair(field: string, value: string, answers: { node: string; hits: Hit[] }[]): Map<string, Hit> {
    const newest = new Map<string, Hit>();
    for (const a of answers) {
      for (const h of a.hits) {
        const id = h.primaryKey.toString('latin1');
        const have = newest.get(id);
        if (!have || compareVersions(h, have) > 0) newest.set(id, h);
      }
    }
    if (answers.length < 2) return newest;
    for (const a of answers) {
      const mine = new Map(a.hits.map((h) => [h.primaryKey.toString('latin1'), h]));
      const missing: Entry[] = [];
      for (const [id, h] of newest) {
        const m = mine.get(id);
        if (!m || compareVersions(h, m) > 0) missing.push({ key: indexEntryKey(field, value, h.primaryKey), value: h.deleted ? null : EMPTY, ts: h.ts, origin: h.origin });
      }
      if (missing.length === 0) continue;
      this.counters.readRepairs += missing.length;
      this.outbox.add(a.node, missing);
    }
    return newest;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The entries one data version `after` of `key` implies, given the version `before` it replaces:
 * a put of each indexed value it has, a removal of each indexed value `before` had and it lacks;
 * all at `after`'s version.
 */
export function facts(fields: readonly string[], key: Buffer, before: Entry | undefined, after: Entry, tooLong: () => void): Entry[] {
  const now = indexedValues(after.value, fields);
  const out = before ? removed(key, indexedValues(before.value, fields), after, now, tooLong) : [];
  for (const [field, v] of now) {
    const put = fact(field, v, key, after, true, tooLong);
    if (put) out.push(put);
  }
  return out;
}

/** The removals alone of facts(): each indexed value `before` had and `after` lacks. */
export function removals(fields: readonly string[], key: Buffer, before: Entry | undefined, after: Entry, tooLong: () => void): Entry[] {
  if (!before) return [];
  // Most replaced versions had no indexed value (a tombstone, a new field): `after` is not parsed then.
  const was = indexedValues(before.value, fields);
  return was.size === 0 ? [] : removed(key, was, after, indexedValues(after.value, fields), tooLong);
}

/** Removals of the values in `was` (the replaced version's) that `now` (the new one's) lacks. */
function removed(key: Buffer, was: Map<string, string>, after: Entry, now: Map<string, string>, tooLong: () => void): Entry[] {
  const out: Entry[] = [];
  for (const [field, old] of was) {
    if (now.get(field) === old) continue;
    const removal = fact(field, old, key, after, false, tooLong);
    if (removal) out.push(removal);
  }
  return out;
}

function fact(field: string, value: string, key: Buffer, version: Entry, live: boolean, tooLong: () => void): Entry | undefined {
  const entryKey = indexEntryKey(field, value, key);
  if (entryKey.length > MAX_KEY_BYTES) {
    tooLong();
    return undefined;
  }
  return { key: entryKey, value: live ? EMPTY : null, ts: version.ts, origin: version.origin };
}
