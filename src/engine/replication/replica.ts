// The replica: the one place where ops enter this node, locally or from peers. It enforces the
// invariants of issue 3: a local write ticks the Lamport clock and gets the next gap-free seq;
// every received op advances the clock; an origin's ops are applied in seq order exactly once
// (an op ahead of a missing predecessor waits in a bounded buffer, a replayed one is dropped);
// the store applies Last-Write-Wins by (ts, origin). An op is logged (replication log) and
// stored before anyone is told it happened. The log is the store's write-ahead log for these
// ops: they reach the store's memtable only, and the log keeps them until the store has
// flushed them to tables (storeReplayLsn); a restart replays the log from there.

import { LamportClock } from '../clock/lamport';
import { yieldToEventLoop } from '../event-loop';
import type { WriteOptions } from '../storage';
import type { Entry } from '../storage/types';
import { AppliedMarks } from './applied-marks';
import type { OpLog } from './op-log';
import { isSkip, type EncodedOps, type LoggedOp, type Op } from './op-codec';

/** What the replica needs of the store. */
export interface ReplicaStore {
  /** Without `logged`, the write is durable in the store itself once the promise resolves. */
  write(ops: Entry[], logged?: WriteOptions): Promise<boolean[]>;
}

/** Ops of a local batch stored per event-loop turn (see storeBatch). */
const DEFAULT_STORE_SLICE_OPS = 256;
const REMOTE_SLICE_FACTOR = 4;
const RETIRE_BATCH_OPS = 4096;
/** A skip's key: empty (op-codec's isSkip). */
const EMPTY_KEY = Buffer.alloc(0);
/**
 * A reserved seq's skip carries an empty value instead of none (anti-entropy.ts, isReservedSkip):
 * no op exists anywhere behind it, so pull sync may serve it, unlike a retired seq's skip.
 */
const RESERVED = Buffer.alloc(0);

export interface Mutation {
  key: Buffer;
  /** null = delete */
  value: Buffer | null;
}

export interface LocalWriteResult {
  origin: string;
  firstSeq: number;
  firstTs: number;
  count: number;
}

export interface ApplyResult {
  applied: number;
  duplicates: number;
  buffered: number;
  /** Received ops that lost LWW against a newer stored version. */
  stale: number;
  /** Durably applied last_seen of each origin in the batch. */
  lastSeen: Record<string, number>;
}

export interface ReplicaCounters {
  localPuts: number;
  localDeletes: number;
  replicatedApplied: number;
  replicatedDuplicates: number;
  replicatedBuffered: number;
  replicatedStale: number;
}

/**
 * A batch written to log and store. Batches complete out of order; storeDurableLsn advances in
 * log order, each origin's durable last_seen in the order of that origin's batches.
 */
interface Batch {
  startLsn: number;
  endLsn: number;
  ops: Op[];
  /** Handed to the store (its memtable holds it). */
  stored: boolean;
  /** Durable in the log and stored. */
  done: boolean;
  /** Every op of it is in the store (set after its last slice). */
  complete: boolean;
  /** Each origin's last seq in the batch. */
  lastSeqs: Map<string, number>;
}

/** Per origin, batches in log order with the origin's last seq in each. */
type OriginQueues = Map<string, { batch: Batch; seq: number }[]>;

function enqueue(queues: OriginQueues, origin: string, batch: Batch, seq: number): void {
  let queue = queues.get(origin);
  if (!queue) queues.set(origin, (queue = []));
  queue.push({ batch, seq });
}

/**
 * Drops the finished batches at the head of `origin`'s queue and returns the last seq they
 * cover: batches of one origin may finish out of order, and no seq may be claimed while an
 * earlier batch of its origin is still going.
 */
function takeFinished(queues: OriginQueues, origin: string, finished: (batch: Batch) => boolean): number | undefined {
  const queue = queues.get(origin);
  if (!queue) return undefined;
  let seq: number | undefined;
  while (queue.length > 0 && finished(queue[0].batch)) seq = (queue.shift() as { seq: number }).seq;
  if (queue.length === 0) queues.delete(origin);
  return seq;
}

/** Each origin's last seq in `ops` (an origin's seqs rise through a batch). */
function lastSeqsOf(ops: readonly Op[]): Map<string, number> {
  const last = new Map<string, number>();
  if (ops.length === 0) return last;
  let origin = ops[0].origin;
  for (let i = 1; i < ops.length; i++) {
    if (ops[i].origin === origin) continue;
    last.set(origin, ops[i - 1].seq);
    origin = ops[i].origin;
  }
  last.set(origin, ops[ops.length - 1].seq);
  return last;
}

export class Replica {
  readonly clock: LamportClock;
  readonly counters: ReplicaCounters = {
    localPuts: 0, localDeletes: 0, replicatedApplied: 0, replicatedDuplicates: 0, replicatedBuffered: 0, replicatedStale: 0,
  };
  /** When received ops were stored here (replication lag as the replica sees it). */
  readonly appliedMarks = new AppliedMarks();
  /** Per origin, received batches not yet marked, in log order, with the origin's last seq in each. */
  private readonly unmarked: OriginQueues = new Map();
  /** Origins a refused batch left without marks (see stopMarks). */
  private readonly unmarkable = new Set<string>();
  /** origin -> seq -> op: received ahead of a missing predecessor. */
  private readonly waiting = new Map<string, Map<number, Op>>();
  private waitingCount = 0;
  private readonly batches: Batch[] = [];
  /** Batches not yet handed to the store, and the ones after them, in LSN order. */
  private readonly unstored: Batch[] = [];
  /** Every batch below this LSN has been handed to the store. */
  private storedUpTo: number;
  private storeDurable: number;
  /** Ops below this LSN were in the log when it opened: replayIntoStore stores them through the store's WAL. */
  private readonly openedAt: number;
  /** The first LSN of a batch the store refused: the mark handed over may pass it, the replay point must not. */
  private refusedFrom = Number.POSITIVE_INFINITY;
  private readonly durableSeen: Map<string, number>;
  /** Per origin, batches not yet done, in log order, with the origin's last seq in each. */
  private readonly undone: OriginQueues = new Map();

  /** `flushedLogMark` reads the store's Store.flushedLogMark. */
  constructor(
    readonly nodeId: string,
    private readonly store: ReplicaStore,
    private readonly log: OpLog,
    private readonly flushedLogMark: () => number,
    private readonly maxWaitingOps = 100_000,
    private readonly storeSliceOps = DEFAULT_STORE_SLICE_OPS,
  ) {
    this.clock = new LamportClock(log.highestTs);
    this.storeDurable = log.nextLsn;
    this.storedUpTo = log.nextLsn;
    this.openedAt = log.nextLsn;
    this.durableSeen = new Map(Object.entries(log.versionVector()));
  }

  /**
   * All ops below this LSN are durable in the log and in the store (a crash loses none: the
   * restart replays the log into the store before serving), so they may be served to others.
   */
  get storeDurableLsn(): number {
    return this.storeDurable;
  }

  /**
   * Ops from this LSN on may be missing from the store's own files after a crash: a restart
   * re-applies from here. Never past the log's durable end: a received op is stored before the
   * log's fsync and may be flushed first, and after a power cut the LSNs the log lost are taken
   * again by new ops, which a replay point past them would skip.
   */
  get storeReplayLsn(): number {
    return Math.min(Math.max(this.openedAt, this.flushedLogMark()), this.log.durableLsn, this.refusedFrom);
  }

  get waitingOps(): number {
    return this.waitingCount;
  }

  /**
   * last_seen of `origin` counting only durably applied ops: every op of the origin up to it is
   * durable in the log and stored. It moves per origin, so a local batch or another origin's
   * still being stored does not hold it back; a sender not told that its batch was applied
   * resends it after a backoff (under load that was a quarter of all replication traffic).
   */
  durableLastSeen(origin: string): number {
    return this.durableSeen.get(origin) ?? 0;
  }

  /**
   * Re-applies logged ops from `fromLsn` to the store (through its WAL: they are durable there
   * once this resolves): after a crash the store lacks the logged ops it had not flushed to
   * tables. LWW makes re-applying an op already stored a no-op.
   */
  async replayIntoStore(fromLsn: number): Promise<number> {
    let lsn = fromLsn;
    let replayed = 0;
    for (;;) {
      const ops = this.log.read(lsn, 4096);
      if (ops.length === 0) break;
      await this.store.write(ops.filter((op) => !isSkip(op)) as LoggedOp[]);
      replayed += ops.length;
      lsn = ops[ops.length - 1].lsn + 1;
    }
    return replayed;
  }

  /** Accepts writes made on this node; resolves once they are durable in the log and in the store's memtable. */
  async writeLocal(mutations: readonly Mutation[]): Promise<LocalWriteResult> {
    const firstSeq = this.log.lastSeen(this.nodeId) + 1;
    const ops: Op[] = new Array(mutations.length);
    let firstTs = 0;
    for (let i = 0; i < mutations.length; i++) {
      const ts = this.clock.tick();
      if (i === 0) firstTs = ts;
      const m = mutations[i];
      ops[i] = { origin: this.nodeId, seq: firstSeq + i, ts, key: m.key, value: m.value };
      if (m.value === null) this.counters.localDeletes++;
      else this.counters.localPuts++;
    }
    await this.persist(ops, true);
    return { origin: this.nodeId, firstSeq, firstTs, count: ops.length };
  }

  /**
   * Logs skips for `count` new own seqs and returns the first seq and timestamp (the others follow
   * one by one): op ids and versions for writes this node coordinates but may not store, because
   * it keeps them only as hints for replicas that are all down (node/substitute-writes.ts).
   */
  async reserveOwnSeqs(count: number): Promise<LocalWriteResult> {
    const firstSeq = this.log.lastSeen(this.nodeId) + 1;
    const ops: Op[] = new Array(count);
    let firstTs = 0;
    for (let i = 0; i < count; i++) {
      const ts = this.clock.tick();
      if (i === 0) firstTs = ts;
      ops[i] = { origin: this.nodeId, seq: firstSeq + i, ts, key: EMPTY_KEY, value: RESERVED };
    }
    await this.persist(ops, true);
    return { origin: this.nodeId, firstSeq, firstTs, count };
  }

  /**
   * Logs skips for this node's own seqs up to `upTo`: seqs its peers saw it use but whose ops it
   * no longer has and cannot get back (own-seq.ts). Skips advance the version vector and store
   * nothing, so the next local write gets seq upTo + 1. Returns how many seqs were retired.
   */
  async retireOwnSeqs(upTo: number): Promise<number> {
    let retired = 0;
    // The next seq is read again for every batch: an own op a peer sends back meanwhile takes one.
    for (let seq = this.log.lastSeen(this.nodeId) + 1; seq <= upTo; seq = this.log.lastSeen(this.nodeId) + 1) {
      const count = Math.min(RETIRE_BATCH_OPS, upTo - seq + 1);
      const ops: Op[] = new Array(count);
      for (let i = 0; i < count; i++) ops[i] = { origin: this.nodeId, seq: seq + i, ts: this.clock.tick(), key: EMPTY_KEY, value: null };
      await this.persist(ops, true);
      retired += count;
    }
    return retired;
  }

  /**
   * Applies ops received from a peer (Replicate or FetchUpdates), each exactly once, per origin
   * in seq order. `encoded` holds the records of exactly `ops`: when every op is accepted, in
   * the order received, the log writes them as they are instead of encoding the ops again.
   */
  async applyRemote(ops: readonly Op[], encoded?: EncodedOps): Promise<ApplyResult> {
    const accepted: Op[] = [];
    const due = new Map<string, number>();
    let duplicates = 0;
    let buffered = 0;
    for (const op of ops) {
      this.clock.observe(op.ts);
      let next = due.get(op.origin) ?? this.log.lastSeen(op.origin) + 1;
      if (op.seq < next) {
        duplicates++;
        continue;
      }
      if (op.seq > next) {
        const held = this.hold(op);
        if (held === 'held') buffered++;
        else if (held === 'duplicate') duplicates++;
        continue;
      }
      accepted.push(op);
      next++;
      const held = this.waiting.get(op.origin);
      while (held?.has(next)) {
        accepted.push(held.get(next) as Op);
        held.delete(next);
        this.waitingCount--;
        next++;
      }
      due.set(op.origin, next);
    }
    for (const origin of due.keys()) this.dropPassed(origin, (due.get(origin) as number) - 1);
    this.counters.replicatedDuplicates += duplicates;
    this.counters.replicatedBuffered += buffered;
    let stale = 0;
    if (accepted.length > 0) {
      const verbatim = encoded !== undefined && accepted.length === ops.length && accepted.every((op, i) => op === ops[i]);
      const applied = await this.persist(accepted, false, verbatim ? encoded : undefined);
      for (const a of applied) if (!a) stale++;
      this.counters.replicatedApplied += accepted.length;
      this.counters.replicatedStale += stale;
    }
    const lastSeen: Record<string, number> = {};
    for (const op of ops) lastSeen[op.origin] = this.durableLastSeen(op.origin);
    return { applied: accepted.length, duplicates, buffered, stale, lastSeen };
  }

  private hold(op: Op): 'held' | 'duplicate' | 'full' {
    let held = this.waiting.get(op.origin);
    if (held?.has(op.seq)) return 'duplicate';
    // Dropped, not lost: it was not acknowledged, so its sender resends it.
    if (this.waitingCount >= this.maxWaitingOps) return 'full';
    if (!held) this.waiting.set(op.origin, (held = new Map()));
    // Copied: a received op's key and value may be views of its whole request, which a held op would keep alive.
    held.set(op.seq, { origin: op.origin, seq: op.seq, ts: op.ts, key: Buffer.from(op.key), value: op.value && Buffer.from(op.value) });
    this.waitingCount++;
    return 'held';
  }

  private dropPassed(origin: string, upTo: number): void {
    const held = this.waiting.get(origin);
    if (!held) return;
    for (const seq of held.keys()) {
      if (seq <= upTo) {
        held.delete(seq);
        this.waitingCount--;
      }
    }
    if (held.size === 0) this.waiting.delete(origin);
  }

  /**
   * Logs and stores `ops`. A local write reaches the store only once the log holds it durably:
   * were the store to keep a local op the log lost (a power cut between the store flushing it
   * and the log's fsync), the restarted node would hand out that seq and timestamp again and
   * the store would refuse the new write as equal to the orphan; nor may a reader or a repair
   * see it before it is durable. A received op has no such hazard (a replay is the same op), so
   * it is stored at once. Local batches thus reach the store out of LSN order.
   */
  private async persist(ops: Op[], logFirst: boolean, encoded?: EncodedOps): Promise<boolean[]> {
    const { firstLsn, durable } = this.log.append(ops, encoded);
    const batch: Batch = { startLsn: firstLsn, endLsn: this.log.nextLsn, ops, stored: false, done: false, complete: false, lastSeqs: lastSeqsOf(ops) };
    this.batches.push(batch);
    this.unstored.push(batch);
    for (const [origin, seq] of batch.lastSeqs) enqueue(this.undone, origin, batch, seq);
    let applied: boolean[];
    if (logFirst) {
      await durable;
      applied = await this.storeBatch(batch, true);
    } else {
      const origins = this.awaitMarks(batch);
      [, applied] = await Promise.all([durable, this.storeBatch(batch, false).then((a) => {
        this.mark(batch, origins);
        return a;
      }, (err: unknown) => {
        this.stopMarks(origins);
        throw err;
      })]);
    }
    batch.done = true;
    this.advanceDurable(batch);
    return applied;
  }

  /** Queues a received batch for its applied marks; returns its origins. */
  private awaitMarks(batch: Batch): string[] {
    for (const [origin, seq] of batch.lastSeqs) if (!this.unmarkable.has(origin)) enqueue(this.unmarked, origin, batch, seq);
    return [...batch.lastSeqs.keys()];
  }

  /**
   * The store refused a batch of these origins (it is closing or failed): no later mark could
   * say every earlier op is stored, so none is recorded for them again, and nothing is queued.
   */
  private stopMarks(origins: readonly string[]): void {
    for (const origin of origins) {
      this.unmarkable.add(origin);
      this.unmarked.delete(origin);
    }
  }

  /**
   * `batch` is all stored: marks each of its origins up to the last seq whose batches are all
   * stored (batches of one origin store in slices side by side and may finish out of order).
   */
  private mark(batch: Batch, origins: readonly string[]): void {
    batch.complete = true;
    for (const origin of origins) {
      const seq = takeFinished(this.unmarked, origin, (b) => b.complete);
      if (seq !== undefined) this.appliedMarks.record(origin, seq);
    }
  }

  /**
   * Hands `batch` to the store, storeSliceOps ops per event-loop turn, and with its last slice
   * the LSN below which every batch has now been handed over: the store writes its memtable
   * before returning, so batches handed over earlier sit in the same memtable or an older one
   * and are flushed no later than this one. A batch is marked handed over only once all of it
   * is, so a batch that finished while this one was still going cannot carry the mark past it.
   * Why slices: storing 1,000 ops takes 10-20 ms, and a Replicate from a peer (or a read)
   * arriving meanwhile would wait all of it; each slice lets queued requests in. Received
   * batches go in slices REMOTE_SLICE_FACTOR times larger: a batch waits a whole event-loop
   * round per slice, and how soon it is all stored is the replication lag; a client's write
   * has no such clock on it once it is durable in the log.
   */
  private async storeBatch(batch: Batch, local: boolean): Promise<boolean[]> {
    // Skips are logged (they advance the version vector) but have nothing to store.
    const ops = batch.ops.some(isSkip) ? batch.ops.filter((op) => !isSkip(op)) : batch.ops;
    const applied: boolean[] = [];
    const size = local ? this.storeSliceOps : this.storeSliceOps * REMOTE_SLICE_FACTOR;
    const slices = Math.max(1, Math.ceil(ops.length / size));
    try {
      for (let i = 0; i < slices; i++) {
        const slice = slices === 1 ? ops : ops.slice(i * size, (i + 1) * size);
        const last = i === slices - 1;
        if (last) {
          batch.stored = true;
          while (this.unstored.length > 0 && this.unstored[0].stored) this.storedUpTo = (this.unstored.shift() as Batch).endLsn;
        }
        for (const a of await this.store.write(slice, { logMark: this.storedUpTo })) applied.push(a);
        if (!last) await yieldToEventLoop();
      }
    } catch (err) {
      // Logged but not stored (the store closed or failed): a restart must replay it, and the
      // replay point stays before it though later batches' marks pass it.
      batch.stored = true;
      this.refusedFrom = Math.min(this.refusedFrom, batch.startLsn);
      throw err;
    }
    return applied;
  }

  /** `done` finished: storeDurableLsn moves in log order, each of its origins' last_seen in that origin's. */
  private advanceDurable(done: Batch): void {
    while (this.batches.length > 0 && this.batches[0].done) this.storeDurable = (this.batches.shift() as Batch).endLsn;
    for (const origin of done.lastSeqs.keys()) {
      const seq = takeFinished(this.undone, origin, (b) => b.done);
      if (seq !== undefined) this.durableSeen.set(origin, seq);
    }
  }
}
