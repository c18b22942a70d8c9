// LatencyWindow against a model that keeps every answer: with time moving forward, its quantile is
// the bound of the bucket holding the true nearest-rank quantile of the answers of this half of
// the window and the one before; its delay is that, clamped, or the ceiling with too few answers.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bucketUpperMs, LatencyWindow, latencyBucket } from './latency-window';

type Step = { kind: 'answer'; ms: number } | { kind: 'wait'; ms: number } | { kind: 'ask' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.double({ min: 0, max: 5, noNaN: true }), fc.double({ min: 0, max: 200_000, noNaN: true })).map((ms): Step => ({ kind: 'answer', ms })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((ms): Step => ({ kind: 'wait', ms })) },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'ask' }) },
);

describe('LatencyWindow', () => {
  it('puts every time in the first bucket whose bound holds it (property)', () => {
    fc.assert(fc.property(fc.double({ min: -1, max: 1e6, noNaN: true }), (ms) => {
      const b = latencyBucket(ms);
      assert.ok(bucketUpperMs(b) >= ms, `${ms} ms over its bucket ${b}'s bound ${bucketUpperMs(b)}`);
      if (b > 0) assert.ok(bucketUpperMs(b - 1) < ms, `${ms} ms fits bucket ${b - 1} below its own ${b}`);
    }), { numRuns: 2000 });
    for (let i = 0; i < 80; i++) assert.equal(latencyBucket(bucketUpperMs(i)), i, `bucket ${i}'s own bound`);
    assert.ok(bucketUpperMs(1) / bucketUpperMs(0) < 1.19, 'a quantile is at most 19 % over the true one');
  });

  it('gives the bucket bound of the window\'s true quantile, or the ceiling below minSamples (property)', () => {
    fc.assert(fc.property(
      fc.array(stepArb, { maxLength: 300 }),
      fc.constantFrom(0.5, 0.56, 0.9, 0.99, 0.999, 1),
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 2, max: 8000 }),
      fc.integer({ min: -20_000, max: 20_000 }),
      (steps, quantile, minSamples, windowMs, start) => {
        let now = start;
        const floorMs = 5;
        const ceilingMs = 500;
        const w = new LatencyWindow({ quantile, minSamples, windowMs, floorMs, ceilingMs, now: () => now });
        const answers: { at: number; ms: number }[] = [];
        const slot = (t: number) => Math.floor(t / (windowMs / 2));
        for (const step of steps) {
          if (step.kind === 'wait') now += step.ms;
          else if (step.kind === 'answer') {
            w.record(step.ms);
            answers.push({ at: now, ms: step.ms });
          } else {
            const live = answers.filter((a) => slot(a.at) >= slot(now) - 1).map((a) => a.ms).sort((a, b) => a - b);
            assert.equal(w.samples, live.length);
            // The nearest rank in whole numbers: per mille x count, rounded up.
            const rank = Math.ceil((Math.round(quantile * 1000) * live.length) / 1000);
            const expected = live.length < minSamples ? undefined : bucketUpperMs(latencyBucket(live[rank - 1]));
            assert.equal(w.quantileMs(), expected, `at ${now} ms over ${live.length} answers`);
            assert.equal(w.delayMs(), Math.ceil(expected === undefined ? ceilingMs : Math.min(ceilingMs, Math.max(floorMs, expected))));
          }
        }
      },
    ), { numRuns: 500 });
  });

  it('by default waits 500 ms until 50 answers are in, then about as long as 99 in 100 of them took', () => {
    let now = 0;
    const w = new LatencyWindow({ now: () => now });
    for (let i = 0; i < 49; i++) w.record(2);
    assert.equal(w.delayMs(), 500, 'too few answers to know the tail');
    w.record(2);
    assert.ok(w.delayMs() === 5, `fast answers: the 5 ms floor, got ${w.delayMs()}`);
    for (let i = 0; i < 50; i++) w.record(i === 0 ? 5000 : 30);
    const d = w.delayMs();
    assert.ok(d >= 30 && d <= Math.ceil(30 * 1.19), `1 slow answer in 100 is past the 99th percentile: about 30 ms, got ${d}`);
    w.record(5000);
    assert.equal(w.delayMs(), 500, '2 slow in 101: the ceiling');
    now += 10_000;
    assert.equal(w.delayMs(), 500, 'a window later, none of them count');
    assert.equal(w.samples, 0);
  });

  it('ranks by the exact product: the 56th percentile of 100 answers is the 56th, though 0.56 x 100 is 56.00000000000001 in floating point', () => {
    const w = new LatencyWindow({ quantile: 0.56, minSamples: 1, now: () => 0 });
    for (let i = 0; i < 100; i++) w.record(i < 56 ? 1 : 100);
    assert.equal(w.quantileMs(), bucketUpperMs(latencyBucket(1)));
  });

  it('drops what a clock gone back left behind, and takes a clock that gives no number', () => {
    let now = 50_000;
    const w = new LatencyWindow({ minSamples: 1, windowMs: 1000, now: () => now });
    w.record(400);
    assert.equal(w.quantileMs(), bucketUpperMs(latencyBucket(400)));
    now = 1_000;
    assert.equal(w.quantileMs(), undefined, 'an answer from slot 100 is not within slots 1 and 2');
    w.record(1);
    assert.equal(w.samples, 1);
    now = Number.NaN;
    w.record(3);
    assert.equal(typeof w.delayMs(), 'number');
  });

  it('refuses settings it cannot work with, naming them', () => {
    assert.throws(() => new LatencyWindow({ quantile: 0 }), /^RangeError: latency window: quantile must be in \(0, 1\], windowMs at least 2, minSamples a whole number from 1, and 0 <= floorMs <= ceilingMs \(finite\); got \{"quantile":0,"windowMs":10000,"minSamples":50,"floorMs":5,"ceilingMs":500\}$/);
    assert.throws(() => new LatencyWindow({ floorMs: 600 }), /"floorMs":600,"ceilingMs":500/);
    assert.throws(() => new LatencyWindow({ ceilingMs: Infinity }), /"ceilingMs":null/);
    assert.throws(() => new LatencyWindow({ minSamples: 0.5 }), /"minSamples":0.5/);
    assert.throws(() => new LatencyWindow({ windowMs: Number.NaN }), /"windowMs":null/);
  });
});
