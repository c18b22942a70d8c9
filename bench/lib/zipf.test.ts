import { strict as assert } from 'node:assert';
import { SeededRandom, ZipfGenerator } from './zipf';

describe('bench: zipf', () => {
  it('repeats the same sequence for the same seed', () => {
    const a = new ZipfGenerator(1000, 0.99, new SeededRandom(7));
    const b = new ZipfGenerator(1000, 0.99, new SeededRandom(7));
    const c = new ZipfGenerator(1000, 0.99, new SeededRandom(8));
    const seq = (g: ZipfGenerator): number[] => Array.from({ length: 50 }, () => g.next());
    const sa = seq(a);
    assert.deepEqual(sa, seq(b));
    assert.notDeepEqual(sa, seq(c));
  });

  it('draws ranks in range with Zipf frequencies (rank 0 about 2^s times rank 1)', () => {
    const g = new ZipfGenerator(100, 1, new SeededRandom(3));
    const counts = new Array<number>(100).fill(0);
    const draws = 200_000;
    for (let i = 0; i < draws; i++) counts[g.next()]++;
    for (const r of [0, 1, 4, 9]) {
      const expected = g.probability(r) * draws;
      assert.ok(Math.abs(counts[r] - expected) < 5 * Math.sqrt(expected), `rank ${r}: ${counts[r]} vs ${expected.toFixed(0)}`);
    }
    assert.ok(counts[0] / counts[1] > 1.8 && counts[0] / counts[1] < 2.2);
  });

  it('exponent 0 is uniform; bad parameters are rejected', () => {
    const g = new ZipfGenerator(4, 0);
    assert.ok(Math.abs(g.probability(3) - 0.25) < 1e-12);
    assert.throws(() => new ZipfGenerator(0), /items is an integer/);
    assert.throws(() => new ZipfGenerator(10, -1), /exponent/);
    assert.throws(() => new SeededRandom(0.5), /seed is an integer/);
  });
});
