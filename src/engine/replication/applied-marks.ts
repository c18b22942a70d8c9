// When this node had stored the ops it received, per origin: replication lag measured where it
// happens. A mark (origin, seq, time) says every op of `origin` up to `seq` was in this node's
// store by `time` (wall clock, ms since the epoch with a fraction: comparable with the origin's
// acknowledgement times on the same machine). Polling version vectors instead times each answer
// when it arrives, late by a poll interval and a round trip that is long on a busy machine.
// A fixed ring of the newest marks; per origin it remembers up to which seq marks were dropped,
// so a reader can tell a gap from "no mark yet".

import { Interner } from '../codec/interner';

export interface AppliedMark {
  seq: number;
  atUnixMs: number;
}

export interface AppliedMarksPage {
  marks: AppliedMark[];
  /** Marks after the asked seq were dropped from the ring: the list starts later than asked. */
  truncated: boolean;
  /** More marks follow the last one returned. */
  more: boolean;
}

export const DEFAULT_APPLIED_MARKS = 65_536;

export class AppliedMarks {
  private readonly origins = new Interner();
  private readonly originOf: Int32Array;
  private readonly seqOf: Float64Array;
  private readonly atOf: Float64Array;
  /** Marks recorded so far; the ring holds the newest `capacity` of them. */
  private count = 0;
  /** Per origin id, the highest seq of a mark the ring dropped. */
  private readonly droppedUpTo: number[] = [];

  constructor(
    readonly capacity = DEFAULT_APPLIED_MARKS,
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity is a positive integer, got ${capacity}`);
    this.originOf = new Int32Array(capacity);
    this.seqOf = new Float64Array(capacity);
    this.atOf = new Float64Array(capacity);
  }

  /** Every op of `origin` up to `seq` is stored here as of now. */
  record(origin: string, seq: number): void {
    const id = this.origins.id(origin);
    if (id === this.droppedUpTo.length) this.droppedUpTo.push(0);
    const slot = this.count % this.capacity;
    if (this.count >= this.capacity) {
      const dropped = this.originOf[slot];
      this.droppedUpTo[dropped] = Math.max(this.droppedUpTo[dropped], this.seqOf[slot]);
    }
    this.originOf[slot] = id;
    this.seqOf[slot] = seq;
    this.atOf[slot] = this.now();
    this.count++;
  }

  /** `origin`'s marks with seq > afterSeq, oldest first, at most `limit`. */
  after(origin: string, afterSeq: number, limit: number): AppliedMarksPage {
    const id = this.origins.find(origin);
    if (id === undefined) return { marks: [], truncated: false, more: false };
    const marks: AppliedMark[] = [];
    let more = false;
    for (let i = Math.max(0, this.count - this.capacity); i < this.count; i++) {
      const slot = i % this.capacity;
      if (this.originOf[slot] !== id || this.seqOf[slot] <= afterSeq) continue;
      if (marks.length === limit) {
        more = true;
        break;
      }
      marks.push({ seq: this.seqOf[slot], atUnixMs: this.atOf[slot] });
    }
    return { marks, truncated: this.droppedUpTo[id] > afterSeq, more };
  }
}
