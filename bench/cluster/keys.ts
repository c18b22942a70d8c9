// Which key a request uses: unique keys (every put a new key, issue 3), or indexes drawn from a
// fixed key space, uniformly or with Zipf skew (issue 4's hot keys). Draws are seeded so two
// runs, and two systems in one run, see the same key sequence.

import { SeededRandom, ZipfGenerator } from '../lib/zipf';

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

/** Maps the i-th request to a key index (its key is keyOf(prefix, index)). */
export type KeyPicker = (i: number) => number;

export function keyPicker(d: KeyDist, seed = 42): KeyPicker {
  if (d.kind === 'unique') return (i) => i;
  const random = new SeededRandom(seed);
  if (d.kind === 'uniform') return () => random.int(d.keys);
  // Rank 0 is the hottest; ranks are scattered over the key space so hot keys land on
  // different partitions, as real hot keys do.
  const zipf = new ZipfGenerator(d.keys, d.theta, random);
  return () => (zipf.next() * 2654435761) % d.keys;
}
