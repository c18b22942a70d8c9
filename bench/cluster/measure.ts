// Measuring one workload: a closed loop that keeps a fixed number of requests in flight, bounded
// by a request count and a wall-clock time, recording every request's latency. Time comes from
// performance.now() so the load loop and the replication-lag poller share one clock.

import { performance } from 'node:perf_hooks';

/** Latencies in ms, stored in a growable typed array (hundreds of thousands per run). */
export class Latencies {
  private data = new Float64Array(1 << 14);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentiles (p in 0..100), rounded to 0.01 ms; null when empty. */
  percentiles(ps: readonly number[]): Record<string, number | null> {
    const sorted = this.data.slice(0, this.n).sort();
    const out: Record<string, number | null> = {};
    for (const p of ps) {
      const rank = Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1));
      out[`p${p}`] = this.n === 0 ? null : round2(sorted[rank]);
    }
    return out;
  }

  max(): number | null {
    let m = -Infinity;
    for (let i = 0; i < this.n; i++) if (this.data[i] > m) m = this.data[i];
    return this.n === 0 ? null : round2(m);
  }
}

export function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

export interface LoopOptions {
  /** Requests kept in flight. */
  inFlight: number;
  /** Stop issuing after this many requests... */
  maxRequests: number;
  /** ...or after this long, whichever comes first. */
  maxMs: number;
  /** Stop after this many failed requests (the first few errors are kept for the report). */
  maxErrors?: number;
}

export interface LoopResult {
  requests: number;
  errors: number;
  firstErrors: string[];
  elapsedMs: number;
  latencies: Latencies;
  /** performance.now() when the last successful request completed. */
  lastAckAt: number;
  startedAt: number;
}

/**
 * Runs `request(i, slot)` with `inFlight` concurrent slots until a bound is reached; every slot
 * issues its next request when its previous one completes. `request` resolves on success.
 */
export async function closedLoop(opts: LoopOptions, request: (i: number, slot: number) => Promise<void>): Promise<LoopResult> {
  const latencies = new Latencies();
  const maxErrors = opts.maxErrors ?? 100;
  const firstErrors: string[] = [];
  let issued = 0;
  let errors = 0;
  let lastAckAt = 0;
  const startedAt = performance.now();
  const deadline = startedAt + opts.maxMs;
  const more = (): boolean => issued < opts.maxRequests && errors < maxErrors && performance.now() < deadline;

  const slot = async (s: number): Promise<void> => {
    while (more()) {
      const i = issued++;
      const t0 = performance.now();
      try {
        await request(i, s);
        const t1 = performance.now();
        latencies.add(t1 - t0);
        lastAckAt = t1;
      } catch (err) {
        errors++;
        if (firstErrors.length < 5) firstErrors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, (_, s) => slot(s)));
  return { requests: latencies.count, errors, firstErrors, elapsedMs: performance.now() - startedAt, latencies, lastAckAt, startedAt };
}

/** murmur3's 32-bit finalizer: scrambles the counter so keys arrive in random order. */
function mix32(i: number): number {
  let h = i >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A unique 16-byte key: `prefix` (1 char), 8 hex digits of a hash of `i`, then `i` in 7 hex digits. */
export function keyOf(prefix: string, i: number): Buffer {
  if (i >= 0x10000000) throw new RangeError(`key index ${i} is beyond the 2^28 keys a 16-byte key encodes`);
  return Buffer.from(prefix.slice(0, 1) + mix32(i).toString(16).padStart(8, '0') + i.toString(16).padStart(7, '0'), 'latin1');
}

/** A 100-byte value; the first 8 bytes carry `i` so values differ. */
export function valueOf(i: number, bytes = 100): Buffer {
  const v = Buffer.alloc(bytes, 0x61);
  v.writeDoubleBE(i, 0);
  return v;
}
