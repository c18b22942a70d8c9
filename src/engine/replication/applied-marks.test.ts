import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AppliedMarks } from './applied-marks';

describe('applied marks', () => {
  it('returns an origin\'s marks after a seq, oldest first, paged, and says when the ring dropped some that were asked for', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.constantFrom('n1', 'n2', 'n3'), fc.integer({ min: 1, max: 5 })), { maxLength: 80 }),
        fc.constantFrom('n1', 'n2', 'n4'),
        fc.nat(60),
        fc.integer({ min: 1, max: 10 }),
        (capacity, steps, origin, afterSeq, limit) => {
          let clock = 0;
          const marks = new AppliedMarks(capacity, () => ++clock);
          const seqs = new Map<string, number>();
          const all: { origin: string; seq: number; at: number }[] = [];
          for (const [o, step] of steps) {
            const seq = (seqs.get(o) ?? 0) + step;
            seqs.set(o, seq);
            marks.record(o, seq);
            all.push({ origin: o, seq, at: clock });
          }
          const kept = all.slice(Math.max(0, all.length - capacity));
          const wanted = kept.filter((m) => m.origin === origin && m.seq > afterSeq);
          const page = marks.after(origin, afterSeq, limit);
          assert.deepEqual(page.marks, wanted.slice(0, limit).map((m) => ({ seq: m.seq, atUnixMs: m.at })));
          assert.equal(page.more, wanted.length > limit);
          const dropped = all.slice(0, Math.max(0, all.length - capacity)).filter((m) => m.origin === origin && m.seq > afterSeq);
          assert.equal(page.truncated, dropped.length > 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects a capacity that is not a positive integer', () => {
    assert.throws(() => new AppliedMarks(0), /positive integer/);
    assert.throws(() => new AppliedMarks(1.5), /positive integer/);
  });
});
