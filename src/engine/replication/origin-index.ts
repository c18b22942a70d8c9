// Where one origin's retained ops sit in the replication log: its seq firstSeq + i is at LSN
// lsnAt(i) with timestamp tsAt(i) (an origin's seqs are gap-free and its timestamps grow with
// them). Held in growable Float64Arrays rather than JS arrays so that opening a log can add a
// whole segment's worth of an origin's ops in one copy from its index file (segment-index.ts).

const INITIAL_CAPACITY = 1024;
/** Dropped entries are compacted away once this many sit before the first retained one. */
const COMPACT_AFTER = 4096;

export class OriginIndex {
  private lsns = new Float64Array(INITIAL_CAPACITY);
  private tss = new Float64Array(INITIAL_CAPACITY);
  private head = 0;
  private end = 0;

  /** @param firstSeq the seq of the first op added. */
  constructor(private first: number) {}

  /** The seq of the first retained op. */
  get firstSeq(): number {
    return this.first;
  }

  /** Retained ops. */
  get size(): number {
    return this.end - this.head;
  }

  /** The next seq of this origin, at `lsn`. */
  push(lsn: number, ts: number): void {
    if (this.end === this.lsns.length) this.grow(1);
    this.lsns[this.end] = lsn;
    this.tss[this.end++] = ts;
  }

  /** The next `lsns.length` seqs of this origin, in order. */
  pushAll(lsns: Float64Array, tss: Float64Array): void {
    if (this.end + lsns.length > this.lsns.length) this.grow(lsns.length);
    this.lsns.set(lsns, this.end);
    this.tss.set(tss, this.end);
    this.end += lsns.length;
  }

  /** Position (0 = first retained op) of the first op at or after `lsn`: binary search. */
  firstAtOrAfter(lsn: number): number {
    let lo = this.head;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lsns[mid] < lsn) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }

  /** LSN of the op at `position`. */
  lsnAt(position: number): number {
    return this.lsns[this.head + position];
  }

  /** Timestamp of the op at `position`. */
  tsAt(position: number): number {
    return this.tss[this.head + position];
  }

  /** The retained ops with an LSN in [fromLsn, toLsn): their first seq, LSNs and timestamps (copies). */
  range(fromLsn: number, toLsn: number): { firstSeq: number; lsns: Float64Array; tss: Float64Array } {
    const from = this.head + this.firstAtOrAfter(fromLsn);
    const to = this.head + this.firstAtOrAfter(toLsn);
    return { firstSeq: this.first + (from - this.head), lsns: this.lsns.slice(from, to), tss: this.tss.slice(from, to) };
  }

  /** LSN of op `seq` when it is retained. */
  lsnOf(seq: number): number | undefined {
    if (seq < this.first) return undefined;
    const at = this.head + (seq - this.first);
    return at < this.end ? this.lsns[at] : undefined;
  }

  /** The seq of the retained op with timestamp `ts`, if any: binary search. */
  seqOf(ts: number): number | undefined {
    let lo = this.head;
    let hi = this.end - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.tss[mid];
      if (t === ts) return this.first + (mid - this.head);
      if (t < ts) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Forgets the ops below `lsn` (their segments were deleted). */
  dropBelow(lsn: number): void {
    while (this.head < this.end && this.lsns[this.head] < lsn) {
      this.head++;
      this.first++;
    }
    if (this.head > COMPACT_AFTER) this.resize(Math.max(INITIAL_CAPACITY, this.size * 2));
  }

  private grow(more: number): void {
    let capacity = this.lsns.length * 2;
    while (capacity < this.end + more) capacity *= 2;
    this.resize(capacity);
  }

  /** New arrays of `capacity` holding the retained entries from position 0 (a catch-up burst's peak is not kept). */
  private resize(capacity: number): void {
    const lsns = new Float64Array(capacity);
    const tss = new Float64Array(capacity);
    lsns.set(this.lsns.subarray(this.head, this.end));
    tss.set(this.tss.subarray(this.head, this.end));
    this.lsns = lsns;
    this.tss = tss;
    this.end -= this.head;
    this.head = 0;
  }
}
