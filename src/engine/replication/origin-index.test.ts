import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { OriginIndex } from './origin-index';

/** Steps on one origin's index: single ops, whole runs (as open adds them), and drops (as release does). */
const stepArb = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), gap: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('pushAll' as const), count: fc.integer({ min: 0, max: 3000 }), gap: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('drop' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
);

describe('origin index', () => {
  it('answers as a plain list of its retained ops through growth, whole runs, drops and compaction', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(stepArb, { maxLength: 30 }), (firstSeq, steps) => {
      const index = new OriginIndex(firstSeq);
      // The model: every op ever added, and how many of them were dropped.
      const model: { seq: number; lsn: number; ts: number }[] = [];
      let dropped = 0;
      let lsn = 0;
      const add = (gap: number) => {
        lsn += gap;
        const op = { seq: firstSeq + model.length, lsn, ts: lsn * 2 + 1 };
        model.push(op);
        return op;
      };
      for (const step of steps) {
        if (step.kind === 'push') {
          const op = add(step.gap);
          index.push(op.lsn, op.ts);
        } else if (step.kind === 'pushAll') {
          const ops = Array.from({ length: step.count }, () => add(step.gap));
          index.pushAll(Float64Array.from(ops, (o) => o.lsn), Float64Array.from(ops, (o) => o.ts));
        } else {
          const below = Math.floor(lsn * step.fraction);
          index.dropBelow(below);
          while (dropped < model.length && model[dropped].lsn < below) dropped++;
        }
      }
      const retained = model.slice(dropped);
      assert.equal(index.size, retained.length);
      assert.equal(index.firstSeq, retained.length > 0 ? retained[0].seq : firstSeq + model.length);
      const probes = [...model.filter((_, i) => i % 97 === 0 || i === dropped || i === model.length - 1), { seq: firstSeq + model.length, lsn: lsn + 1, ts: lsn * 2 + 3 }];
      for (const op of probes) {
        const kept = retained.some((r) => r.seq === op.seq);
        assert.equal(index.lsnOf(op.seq), kept ? op.lsn : undefined, `lsnOf ${op.seq}`);
        assert.equal(index.seqOf(op.ts), kept ? op.seq : undefined, `seqOf ${op.ts}`);
        const position = retained.filter((r) => r.lsn < op.lsn).length;
        assert.equal(index.firstAtOrAfter(op.lsn), position, `firstAtOrAfter ${op.lsn}`);
        if (position < retained.length) assert.equal(index.lsnAt(position), retained[position].lsn);
      }
      const from = retained.length > 0 ? retained[Math.floor(retained.length / 3)].lsn : 0;
      const to = lsn - Math.floor(lsn / 4);
      const inRange = retained.filter((r) => r.lsn >= from && r.lsn < to);
      const range = index.range(from, to);
      assert.deepEqual([...range.lsns], inRange.map((r) => r.lsn));
      assert.deepEqual([...range.tss], inRange.map((r) => r.ts));
      if (inRange.length > 0) assert.equal(range.firstSeq, inRange[0].seq);
    }), { numRuns: 150 });
  });
});
