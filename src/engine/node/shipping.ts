// Replication with a partition map, on the issue 3 pipeline. Each op still travels to every
// destination in its origin's seq order (so version vectors stay gap-free and exactly-once
// holds), but a destination that does not replicate the op's partition gets a *skip* in its
// place (OP_KIND_SKIP: origin, seq and ts, no key, no value), and a substitute the coordinator
// picked for a down replica gets the op tagged `hintedFor` (it keeps it as a hint).
//
// WriteAcks lets a coordinator wait for W: a destination acknowledged an op once its sender's
// cursor passed the op's LSN (the receiver's durable last_seen covers it), so the W-1 peer
// acknowledgements come from the same batched stream as all other replication.

import { isSkip, type Op } from '../replication/op-codec';
import type { PartitionState } from './partition-state';

/** An op as shipped to one destination: maybe a hint for another node. */
export type ShippedOp = Op & { readonly hintedFor?: string };

const EMPTY = Buffer.alloc(0);

/** Placements kept for a short while: a sender normally ships an op well within this. */
const HINT_PLACEMENT_TTL_MS = 5 * 60_000;

export class PartitionedShipping {
  /** op id -> destination -> the replica it stands in for. */
  private readonly hinted = new Map<string, { at: number; dests: Map<string, string> }>();
  private sweepAt = 0;

  constructor(private readonly partitions: PartitionState) {}

  /** Records, before the op is logged, which destinations get it as a hint and for whom. */
  recordHints(origin: string, seq: number, dests: ReadonlyMap<string, string>): void {
    if (dests.size === 0) return;
    const now = Date.now();
    this.hinted.set(`${origin}:${seq}`, { at: now, dests: new Map(dests) });
    if (now > this.sweepAt) {
      this.sweepAt = now + 10_000;
      for (const [id, h] of this.hinted) if (now - h.at > HINT_PLACEMENT_TTL_MS) this.hinted.delete(id);
    }
  }

  /**
   * What `dest` receives for a window of the log (PeerSet.shape): the window itself when `dest`
   * gets every op of it as logged (it replicates all their partitions, no hints), so the batch
   * can travel as the log's own records.
   */
  batchFor(dest: string, ops: readonly Op[]): readonly Op[] {
    if (this.hinted.size === 0 && this.partitions.replicatesAll(dest)) return ops;
    let shaped: Op[] | undefined;
    for (let i = 0; i < ops.length; i++) {
      const op = this.shape(dest, ops[i]);
      if (shaped === undefined && op !== ops[i]) shaped = ops.slice(0, i);
      shaped?.push(op);
    }
    return shaped ?? ops;
  }

  private shape(dest: string, op: Op): Op {
    if (isSkip(op)) return op;
    if (this.hinted.size > 0) {
      const hintedFor = this.hinted.get(`${op.origin}:${op.seq}`)?.dests.get(dest);
      if (hintedFor !== undefined) return { origin: op.origin, seq: op.seq, ts: op.ts, key: op.key, value: op.value, hintedFor } as ShippedOp;
    }
    return this.partitions.replicates(dest, op.key) ? op : skipOf(op);
  }
}

export function skipOf(op: Op): Op {
  return { origin: op.origin, seq: op.seq, ts: op.ts, key: EMPTY, value: null };
}

interface AckWaiter {
  lsn: number;
  /** The op's seq among this node's own: a peer that holds it acknowledged it, whoever sent it there. */
  seq: number;
  pending: Set<string>;
  acked: string[];
  need: number;
  resolve: (acked: string[]) => void;
  timer: NodeJS.Timeout;
}

/**
 * Waits for destinations to acknowledge one of this node's logged ops: their sender cursor moved
 * past it, or (a destination it reaches only through others, in a ring or star) their heartbeat
 * answer says they hold its seq.
 */
export class WriteAcks {
  private readonly waiters = new Set<AckWaiter>();
  /** Peer -> the highest own seq its last heartbeat answer said it holds. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly cursorOf: (dest: string) => number | undefined) {}

  /** Feed from RingNode.onCursor. */
  onCursor(peerId: string, ackedLsn: number): void {
    this.settle(peerId, (w) => ackedLsn > w.lsn);
  }

  /** Feed from PeerSet.onSeen. */
  onSeen(peerId: string, seq: number): void {
    if (seq <= (this.seen.get(peerId) ?? 0)) return;
    this.seen.set(peerId, seq);
    this.settle(peerId, (w) => seq >= w.seq);
  }

  /** Resolves with the destinations that acknowledged `op` once `need` did, or at the deadline with fewer. */
  wait(op: { lsn: number; seq: number }, dests: readonly string[], need: number, timeoutMs: number): Promise<string[]> {
    const acked = dests.filter((d) => (this.cursorOf(d) ?? 0) > op.lsn || (this.seen.get(d) ?? 0) >= op.seq);
    if (acked.length >= need) return Promise.resolve(acked.slice(0, Math.max(need, acked.length)));
    return new Promise((resolve) => {
      const w: AckWaiter = {
        lsn: op.lsn, seq: op.seq, pending: new Set(dests.filter((d) => !acked.includes(d))), acked, need, resolve,
        timer: setTimeout(() => this.finish(w), timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  private settle(peerId: string, holds: (w: AckWaiter) => boolean): void {
    for (const w of this.waiters) {
      if (holds(w) && w.pending.delete(peerId)) {
        w.acked.push(peerId);
        if (w.acked.length >= w.need) this.finish(w);
      }
    }
  }

  private finish(w: AckWaiter): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
    w.resolve(w.acked);
  }
}
