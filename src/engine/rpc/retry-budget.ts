// A cap on extra requests: speculative reads on the nodes and hedged Gets in the driver. One is
// worth it when a single node is slow; when every node is slow (a machine so loaded that reads
// take longer than the threshold) each read would go out twice and double the load that made
// them slow. As Finagle's retry budget: the extra requests of the last `windowSeconds` whole
// seconds (the current one included) may be `percent` of the requests made in them, plus a
// reserve of `minPerSecond` x `windowSeconds` so that a quiet caller can still get past a hung
// node for its few reads. Every request counts, whether or not it could have had an extra one.

export interface RetryBudgetOptions {
  /** Extra requests allowed per request made (0.1: one in ten). */
  percent: number;
  /** Extra requests allowed per second of the window whatever the traffic. */
  minPerSecond: number;
  windowSeconds: number;
  /** A monotonic clock, in ms (tests pass their own to cross seconds without waiting). */
  now: () => number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = { percent: 0.1, minPerSecond: 10, windowSeconds: 10, now: () => performance.now() };
const MAX_WINDOW_SECONDS = 600;

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
    const { percent, minPerSecond, windowSeconds } = this.opts;
    if (!(percent >= 0) || !(minPerSecond >= 0) || !Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > MAX_WINDOW_SECONDS) {
      throw new RangeError(`retry budget: percent and minPerSecond must be 0 or more and windowSeconds a whole number from 1 to ${MAX_WINDOW_SECONDS}; got ${JSON.stringify({ percent, minPerSecond, windowSeconds })}`);
    }
    this.buckets = Array.from({ length: this.opts.windowSeconds }, () => ({ second: Number.NaN, requests: 0, extra: 0 }));
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
      if (b.second > now.second - this.opts.windowSeconds && b.second <= now.second) {
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
    const ms = this.opts.now();
    // A clock that gives no number counts everything in one second rather than failing the read.
    const second = Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
    const w = this.opts.windowSeconds;
    const b = this.buckets[((second % w) + w) % w];
    if (b.second !== second) {
      b.second = second;
      b.requests = 0;
      b.extra = 0;
    }
    return b;
  }
}
