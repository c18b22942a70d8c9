// Which key a request uses: unique keys (every put a new key, issue 3), or indexes drawn from a
// fixed key space, uniformly or with Zipf skew (issue 4's hot keys). Draws are seeded so two
// runs, and two systems in one run, see the same key sequence.

export type KeyDist =
  | { kind: 'unique' }
  | { kind: 'uniform'; keys: number }
  | { kind: 'zipf'; keys: number; theta: number };

export function describeKeys(d: KeyDist): string {
  switch (d.kind) {
    case 'unique': return 'unique keys';
    case 'uniform': return `uniform over ${d.keys} keys`;
    case 'zipf': return `zipf(theta=${d.theta}) over ${d.keys} keys`;
  }
}

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Maps the i-th request to a key index (its key is keyOf(prefix, index)). */
export type KeyPicker = (i: number) => number;

export function keyPicker(d: KeyDist, seed = 42): KeyPicker {
  if (d.kind === 'unique') return (i) => i;
  const random = rng(seed);
  if (d.kind === 'uniform') return () => Math.floor(random() * d.keys);
  // Inverse-CDF sampling over a precomputed cumulative distribution: P(rank k) ~ 1 / k^theta.
  // Rank 0 is the hottest; ranks are scattered over the key space so hot keys land on
  // different partitions, as real hot keys do.
  const cdf = new Float64Array(d.keys);
  let sum = 0;
  for (let k = 0; k < d.keys; k++) {
    sum += 1 / Math.pow(k + 1, d.theta);
    cdf[k] = sum;
  }
  for (let k = 0; k < d.keys; k++) cdf[k] /= sum;
  const scatter = (rank: number): number => (rank * 2654435761) % d.keys;
  return () => {
    const u = random();
    let lo = 0;
    let hi = d.keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] >= u) hi = mid;
      else lo = mid + 1;
    }
    return scatter(lo);
  };
}
