// How long to wait on a node before asking another beside it: Cassandra's speculative_retry =
// '99p'. A fixed wait has to be long enough for a loaded machine's slowest healthy answers, so on
// an idle one a hung node held each read for all of it; the recent answers' 99th percentile
// follows the machine instead. Answers go into a log-scale histogram (4 buckets per doubling, so
// a quantile is at most 19 % over the true one, never under), kept in two halves of the window
// that take turns: the percentile covers between half a window and a whole one of answers.

export interface LatencyWindowOptions {
  /** The share of answers expected within the delay (0.99: wait as long as 99 in 100 take). */
  quantile: number;
  /** How far back answers count, in ms (each half of it is dropped in turn). */
  windowMs: number;
  /** Below this many answers in the window, the delay is ceilingMs: too few to know the tail. */
  minSamples: number;
  /** The shortest delay: below it a timer costs more than the wait it saves. */
  floorMs: number;
  /** The longest delay, and the delay before minSamples answers are in. */
  ceilingMs: number;
  /** A monotonic clock in ms (tests pass their own to cross windows without waiting). */
  now: () => number;
}

export const DEFAULT_LATENCY_WINDOW: LatencyWindowOptions = { quantile: 0.99, windowMs: 10_000, minSamples: 50, floorMs: 5, ceilingMs: 500, now: () => performance.now() };

/** Bucket 0 holds answers up to LOWEST_MS; bucket i up to LOWEST_MS * 2^(i / STEPS). */
const LOWEST_MS = 0.1;
const STEPS = 4;
/** Up to about 100 s; longer answers share the last bucket, whose bound is Infinity. */
const BUCKETS = 81;

/** The bucket of an answer that took `ms` (negative or non-numeric times count as instant). */
export function latencyBucket(ms: number): number {
  if (!(ms > LOWEST_MS)) return 0;
  let i = Math.min(Math.ceil(Math.log2(ms / LOWEST_MS) * STEPS), BUCKETS - 1);
  // The logarithm may land a hair to either side of a bound: the bucket is the first whose bound holds `ms`.
  if (bucketUpperMs(i) < ms) i++;
  else if (i > 0 && bucketUpperMs(i - 1) >= ms) i--;
  return i;
}

/** The longest answer bucket `i` holds. */
export function bucketUpperMs(i: number): number {
  return i >= BUCKETS - 1 ? Infinity : LOWEST_MS * 2 ** (i / STEPS);
}

interface Half {
  slot: number;
  count: number;
  counts: Uint32Array;
}

export class LatencyWindow {
  private readonly opts: LatencyWindowOptions;
  private readonly halves: [Half, Half];

  constructor(options: Partial<LatencyWindowOptions> = {}) {
    this.opts = { ...DEFAULT_LATENCY_WINDOW, ...options };
    const { quantile, windowMs, minSamples, floorMs, ceilingMs } = this.opts;
    if (!(quantile > 0 && quantile <= 1) || !(windowMs >= 2) || !Number.isInteger(minSamples) || minSamples < 1 || !(floorMs >= 0) || !(ceilingMs >= floorMs) || !Number.isFinite(ceilingMs)) {
      throw new RangeError(`latency window: quantile must be in (0, 1], windowMs at least 2, minSamples a whole number from 1, and 0 <= floorMs <= ceilingMs (finite); got ${JSON.stringify({ quantile, windowMs, minSamples, floorMs, ceilingMs })}`);
    }
    const half = (): Half => ({ slot: Number.NaN, count: 0, counts: new Uint32Array(BUCKETS) });
    this.halves = [half(), half()];
  }

  /** Counts an answer that took `ms`. */
  record(ms: number): void {
    const h = this.current();
    h.counts[latencyBucket(ms)]++;
    h.count++;
  }

  /** Answers in the window now. */
  get samples(): number {
    return this.live().reduce((n, h) => n + h.count, 0);
  }

  /** The quantile of the answers in the window (a bucket's bound, Infinity past the last), or undefined below minSamples. */
  quantileMs(): number | undefined {
    const live = this.live();
    const n = live.reduce((sum, h) => sum + h.count, 0);
    if (n < this.opts.minSamples) return undefined;
    // Less a hair: 0.56 x 100 is 56.00000000000001 in floating point, which would rank one answer too high.
    const rank = Math.max(1, Math.ceil(this.opts.quantile * n - 1e-9));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      for (const h of live) seen += h.counts[i];
      if (seen >= rank) return bucketUpperMs(i);
    }
    return Infinity;
  }

  /** How long to wait on a node before asking another: the quantile within [floorMs, ceilingMs], rounded up to a whole ms as timers count. */
  delayMs(): number {
    const q = this.quantileMs();
    return Math.ceil(q === undefined ? this.opts.ceilingMs : Math.min(this.opts.ceilingMs, Math.max(this.opts.floorMs, q)));
  }

  private slotNow(): number {
    const ms = this.opts.now();
    // A clock that gives no number keeps everything in one slot rather than failing the read.
    return Number.isFinite(ms) ? Math.floor(ms / (this.opts.windowMs / 2)) : 0;
  }

  /** The halves holding this slot's and the previous slot's answers. */
  private live(): Half[] {
    const slot = this.slotNow();
    return this.halves.filter((h) => h.slot === slot || h.slot === slot - 1);
  }

  private current(): Half {
    const slot = this.slotNow();
    const h = this.halves[((slot % 2) + 2) % 2];
    if (h.slot !== slot) {
      h.slot = slot;
      h.count = 0;
      h.counts.fill(0);
    }
    return h;
  }
}
