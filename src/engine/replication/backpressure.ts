// Admission control for local writes. Replication is asynchronous, so without it a client that
// writes faster than peers apply grows the unshipped backlog (and the replication lag) for as
// long as it writes: acknowledged throughput then says nothing about what the cluster sustains.
// A local write is admitted only while the largest backlog towards a live destination, plus the
// writes already admitted but not yet logged, stays within a bound; waiting writers are served
// in arrival order so a large batch is not starved by small ones. Destinations that are down do
// not count (a dead peer must not stop the survivors: that is what multi-leader is for). A peer
// that acknowledges slowly keeps writers waiting (that is the point), but one that stops
// acknowledging without being declared down yet must not stop writes either: when no
// destination made progress for `maxWaitMs`, the oldest writer is let in anyway.

export interface BackpressureOptions {
  /** Upper bound of (largest live backlog + admitted writes) in ops; 0 turns the gate off. */
  maxBacklogOps: number;
  /** With writers waiting and no acknowledgement for this long, the oldest is admitted anyway. */
  maxWaitMs: number;
}

export const DEFAULT_BACKPRESSURE: BackpressureOptions = { maxBacklogOps: 1000, maxWaitMs: 1000 };

export interface BackpressureCounters {
  /** Writes that had to wait for peers to catch up. */
  waits: number;
  /** Total time those writes waited, in milliseconds. */
  waitedMs: number;
  /** Writes admitted because no destination made progress for maxWaitMs. */
  timeouts: number;
}

interface Waiter {
  ops: number;
  since: number;
  admit: () => void;
}

export class Backpressure {
  readonly counters: BackpressureCounters = { waits: 0, waitedMs: 0, timeouts: 0 };
  private admitted = 0;
  private readonly queue: Waiter[] = [];
  private stallTimer: NodeJS.Timeout | undefined;

  /**
   * @param backlog the largest count of durable ops not yet acknowledged by a live destination;
   *   undefined when no destination is live (a node without peers, or all of them down): there
   *   is no backlog to bound then, and writes are not held back.
   */
  constructor(private readonly backlog: () => number | undefined, private readonly options: BackpressureOptions = DEFAULT_BACKPRESSURE) {}

  /** Admitted but not yet released writes, in ops. */
  get inFlight(): number {
    return this.admitted;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Resolves once `ops` more local ops may be written; the returned release must be called when
   * they are logged (their backlog is counted from then on) or failed.
   */
  async admit(ops: number): Promise<() => void> {
    // Counted as admitted synchronously (here or in release()), so one recheck cannot let in
    // more waiters than fit.
    if (this.queue.length > 0 || !this.fits(ops)) await this.wait(ops);
    else this.admitted += ops;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.admitted -= ops;
      this.recheck();
    };
  }

  /** A destination acknowledged ops: the backlog shrank and the peers are alive. */
  progress(): void {
    this.armStallTimer(true);
    this.recheck();
  }

  /** Admits whoever now fits (writes were released, or a peer went down). */
  recheck(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0].ops)) this.release(this.queue.shift() as Waiter, false);
    if (this.queue.length === 0) this.armStallTimer(false);
  }

  /** Admits everyone (the node is closing). */
  releaseAll(): void {
    for (const w of this.queue.splice(0)) this.release(w, false);
    this.armStallTimer(false);
  }

  private fits(ops: number): boolean {
    if (this.options.maxBacklogOps <= 0) return true;
    const backlog = this.backlog();
    if (backlog === undefined) return true;
    const used = this.admitted + backlog;
    // A batch larger than the bound still gets in once everything before it is acknowledged.
    return used + ops <= this.options.maxBacklogOps || used === 0;
  }

  private wait(ops: number): Promise<void> {
    this.counters.waits++;
    return new Promise((resolve) => {
      this.queue.push({ ops, since: Date.now(), admit: resolve });
      if (!this.stallTimer) this.armStallTimer(true);
    });
  }

  /** (Re)starts the no-progress timer while writers wait; stops it otherwise. */
  private armStallTimer(restart: boolean): void {
    if (this.stallTimer && !restart && this.queue.length > 0) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    if (this.queue.length === 0) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      const head = this.queue.shift();
      if (head) this.release(head, true);
      this.recheck();
      if (this.queue.length > 0) this.armStallTimer(true);
    }, this.options.maxWaitMs);
  }

  private release(w: Waiter, timedOut: boolean): void {
    this.admitted += w.ops;
    if (timedOut) this.counters.timeouts++;
    this.counters.waitedMs += Date.now() - w.since;
    w.admit();
  }
}
