// A cap on extra requests: speculative reads on the nodes and hedged Gets in the driver. One is
// worth it when a single node is slow; when every node is slow (a machine so loaded that reads
// take longer than the threshold) each read would go out twice and double the load that made
// them slow. As Finagle's retry budget: the extra requests of the last `windowSeconds` may be
// `percent` of the requests made in them, plus `minPerSecond` each second so that a quiet caller
// can still get past a hung node for its few reads.

export interface RetryBudgetOptions {
  /** Extra requests allowed per request made (0.1: one in ten). */
  percent: number;
  /** Extra requests allowed per second of the window whatever the traffic. */
  minPerSecond: number;
  windowSeconds: number;
  /** The clock, in ms (tests pass their own to cross seconds without waiting). */
  now: () => number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = { percent: 0.1, minPerSecond: 10, windowSeconds: 10, now: Date.now };

interface Bucket {
  second: number;
  requests: number;
  extra: number;
}

export class RetryBudget {
  /** Extra requests made, and those the budget refused (the caller waited on the slow node instead). */
  readonly counters = { extra: 0, refused: 0 };
  private readonly buckets: Bucket[];
  private readonly opts: RetryBudgetOptions;

  constructor(options: Partial<RetryBudgetOptions> = {}) {
    this.opts = { ...DEFAULT_RETRY_BUDGET, ...options };
    if (!(this.opts.percent >= 0) || !(this.opts.minPerSecond >= 0) || !Number.isInteger(this.opts.windowSeconds) || this.opts.windowSeconds < 1) {
      throw new RangeError(`retry budget: percent and minPerSecond must be 0 or more and windowSeconds a whole number of 1 or more; got ${JSON.stringify({ percent: this.opts.percent, minPerSecond: this.opts.minPerSecond, windowSeconds: this.opts.windowSeconds })}`);
    }
    this.buckets = Array.from({ length: this.opts.windowSeconds }, () => ({ second: -1, requests: 0, extra: 0 }));
  }

  /** Counts a request that could be sent again (each read, whether or not it ever is). */
  request(): void {
    this.current().requests++;
  }

  /** True, and counted, when one more extra request fits the budget. */
  tryExtra(): boolean {
    const now = this.current();
    let requests = 0;
    let extra = 0;
    for (const b of this.buckets) {
      if (b.second > now.second - this.opts.windowSeconds) {
        requests += b.requests;
        extra += b.extra;
      }
    }
    if (extra + 1 > this.opts.minPerSecond * this.opts.windowSeconds + this.opts.percent * requests) {
      this.counters.refused++;
      return false;
    }
    now.extra++;
    this.counters.extra++;
    return true;
  }

  private current(): Bucket {
    const second = Math.floor(this.opts.now() / 1000);
    const b = this.buckets[second % this.opts.windowSeconds];
    if (b.second !== second) {
      b.second = second;
      b.requests = 0;
      b.extra = 0;
    }
    return b;
  }
}
