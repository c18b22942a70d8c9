// Latency statistics for the benchmarks' JSON output: percentiles by the nearest-rank method
// (every reported value is a latency that was actually observed), plus throughput.

export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** The p-th percentile (0..100) of ascending samples, nearest-rank: the smallest sample with at least p% at or below it. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile is from 0 to 100, got ${p}`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  if (sorted.length === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    min: sorted[0],
    mean: sum / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1],
  };
}

/** Collects latencies (milliseconds) into a growable typed array: no per-sample allocation. */
export class LatencyRecorder {
  private samples = new Float64Array(1024);
  private n = 0;

  record(ms: number): void {
    if (this.n === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    return summarize(this.samples.subarray(0, this.n));
  }
}

/** Operations per second, rounded for the report. */
export function opsPerSecond(ops: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.round((ops * 1000) / elapsedMs) : 0;
}
