import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { LatencyRecorder, percentile, summarize } from './stats';

describe('bench: stats', () => {
  it('nearest-rank percentiles are observed samples, ordered, with p0 = min and p100 = max', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => {
        const sorted = Float64Array.from(xs).sort();
        const s = summarize(xs);
        assert.equal(percentile(sorted, 0), s.min);
        assert.equal(percentile(sorted, 100), s.max);
        assert.ok(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
        for (const v of [s.p50, s.p90, s.p99]) assert.ok(xs.includes(v));
        // At least p% of the samples are <= the p-th percentile, and fewer are strictly below it.
        const below = xs.filter((x) => x < s.p90).length;
        assert.ok(xs.filter((x) => x <= s.p90).length >= 0.9 * xs.length && below < 0.9 * xs.length);
      }),
    );
  });

  it('matches textbook values and records without a fixed capacity', () => {
    assert.equal(percentile([15, 20, 35, 40, 50], 30), 20);
    assert.equal(percentile([15, 20, 35, 40, 50], 40), 20);
    assert.equal(percentile([15, 20, 35, 40, 50], 50), 35);
    const r = new LatencyRecorder();
    for (let i = 1; i <= 5000; i++) r.record(i);
    const s = r.summary();
    assert.equal(s.count, 5000);
    assert.equal(s.p50, 2500);
    assert.equal(s.p99, 4950);
    assert.equal(summarize([]).count, 0);
    assert.throws(() => percentile([1], 101), /from 0 to 100/);
  });
});
