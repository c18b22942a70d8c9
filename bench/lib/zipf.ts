// Workload generators for the cluster benchmarks: a seeded PRNG, so two runs (and the peer
// system in the same run) see the same key sequence, and a Zipf sampler for skewed ("hot key")
// workloads like YCSB's.

/** mulberry32: tiny, fast, and good enough for choosing keys; seeded, so runs are repeatable. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed is an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

export const MAX_ZIPF_ITEMS = 10_000_000;

/**
 * Zipf-distributed ranks in [0, n): rank r is drawn with probability proportional to
 * 1 / (r + 1)^exponent, so rank 0 is the hottest. The cumulative distribution is precomputed
 * (8 bytes per item) and sampled by binary search: exact for any exponent, O(log n) per draw.
 * YCSB's default skew is exponent 0.99.
 */
export class ZipfGenerator {
  private readonly cdf: Float64Array;

  constructor(
    readonly items: number,
    readonly exponent = 0.99,
    private readonly random: SeededRandom = new SeededRandom(1),
  ) {
    if (!Number.isSafeInteger(items) || items < 1 || items > MAX_ZIPF_ITEMS) {
      throw new RangeError(`items is an integer from 1 to ${MAX_ZIPF_ITEMS}, got ${items}`);
    }
    if (!(exponent >= 0) || !Number.isFinite(exponent)) throw new RangeError(`exponent is a finite number >= 0, got ${exponent}`);
    this.cdf = new Float64Array(items);
    let total = 0;
    for (let r = 0; r < items; r++) this.cdf[r] = total += 1 / (r + 1) ** exponent;
    for (let r = 0; r < items; r++) this.cdf[r] /= total;
  }

  /** Probability of rank r. */
  probability(rank: number): number {
    return rank === 0 ? this.cdf[0] : this.cdf[rank] - this.cdf[rank - 1];
  }

  /** The next rank. */
  next(): number {
    const u = this.random.next();
    let lo = 0;
    let hi = this.items - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
