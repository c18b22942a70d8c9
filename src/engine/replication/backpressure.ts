// Admission control for local writes. Replication is asynchronous, so without it a client that
// writes faster than peers apply grows the unshipped backlog (and the replication lag) for as
// long as it writes: acknowledged throughput then says nothing about what the cluster sustains.
// A local write is admitted only while the largest backlog towards a live destination, plus the
// writes already admitted but not yet logged, stays within a bound; waiting writers are served
// in arrival order so a large batch is not starved by small ones. Destinations that are down do
// not count (a dead peer must not stop the survivors: that is what multi-leader is for), and a
// writer never waits longer than `maxWaitMs`, so a peer that hangs without being declared down
// yet costs latency, not availability.

export interface BackpressureOptions {
  /** Upper bound of (largest live backlog + admitted writes) in ops; 0 turns the gate off. */
  maxBacklogOps: number;
  /** Longest a writer waits before it is admitted anyway. */
  maxWaitMs: number;
}

export const DEFAULT_BACKPRESSURE: BackpressureOptions = { maxBacklogOps: 2000, maxWaitMs: 1000 };

export interface BackpressureCounters {
  /** Writes that had to wait for peers to catch up. */
  waits: number;
  /** Total time those writes waited, in milliseconds. */
  waitedMs: number;
  /** Writes admitted because they had waited maxWaitMs. */
  timeouts: number;
}

interface Waiter {
  ops: number;
  since: number;
  timer: NodeJS.Timeout | undefined;
  admit: () => void;
}

export class Backpressure {
  readonly counters: BackpressureCounters = { waits: 0, waitedMs: 0, timeouts: 0 };
  private admitted = 0;
  private readonly queue: Waiter[] = [];

  /** @param backlog the largest count of durable ops not yet acknowledged by a live destination. */
  constructor(private readonly backlog: () => number, private readonly options: BackpressureOptions = DEFAULT_BACKPRESSURE) {}

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

  /** Backlogs shrank or a peer went down: admit whoever now fits. */
  recheck(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0].ops)) this.release(this.queue.shift() as Waiter, false);
  }

  /** Admits everyone (the node is closing). */
  releaseAll(): void {
    for (const w of this.queue.splice(0)) this.release(w, false);
  }

  private fits(ops: number): boolean {
    if (this.options.maxBacklogOps <= 0) return true;
    const used = this.admitted + this.backlog();
    // A batch larger than the bound still gets in once everything before it is acknowledged.
    return used + ops <= this.options.maxBacklogOps || used === 0;
  }

  private wait(ops: number): Promise<void> {
    this.counters.waits++;
    return new Promise((resolve) => {
      const waiter: Waiter = { ops, since: Date.now(), timer: undefined, admit: resolve };
      waiter.timer = setTimeout(() => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.release(this.queue.splice(i, 1)[0], true);
      }, this.options.maxWaitMs);
      this.queue.push(waiter);
    });
  }

  private release(w: Waiter, timedOut: boolean): void {
    clearTimeout(w.timer);
    this.admitted += w.ops;
    if (timedOut) this.counters.timeouts++;
    this.counters.waitedMs += Date.now() - w.since;
    w.admit();
  }
}
