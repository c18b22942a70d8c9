import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { decodeSegmentIndex, encodeSegmentIndex, type SegmentIndex } from './segment-index';

/** An index as a closed segment gives it: its LSNs dealt out to origins, each origin's in order. */
const indexArb = fc.record({
  startLsn: fc.integer({ min: 0, max: 2 ** 40 }),
  owners: fc.array(fc.constantFrom('n1', 'n2', 'node-three', 'ü-node'), { maxLength: 300 }),
  segmentBytes: fc.integer({ min: 1, max: 2 ** 30 }),
  headerMaxTs: fc.integer({ min: 0, max: 2 ** 50 }),
  headerLastSeen: fc.dictionary(fc.constantFrom('n1', 'n2', 'gone'), fc.integer({ min: 1, max: 2 ** 40 })),
}).map(({ startLsn, owners, segmentBytes, headerMaxTs, headerLastSeen }): SegmentIndex => {
  const runs = new Map<string, { lsns: number[]; tss: number[] }>();
  owners.forEach((origin, i) => {
    const run = runs.get(origin) ?? { lsns: [], tss: [] };
    run.lsns.push(startLsn + i);
    run.tss.push(headerMaxTs + i + 1);
    runs.set(origin, run);
  });
  return {
    startLsn, opCount: owners.length, segmentBytes, headerMaxTs, headerLastSeen: { ...headerLastSeen },
    runs: [...runs].map(([origin, r]) => ({ origin, firstSeq: (headerLastSeen[origin] ?? 0) + 1, lsns: Float64Array.from(r.lsns), tss: Float64Array.from(r.tss) })),
  };
});

const sample = (): SegmentIndex => fc.sample(indexArb.filter((i) => i.opCount > 2), { numRuns: 1, seed: 7 })[0];

describe('segment index', () => {
  it('decodes what it encodes', () => {
    fc.assert(fc.property(indexArb, (index) => {
      const decoded = decodeSegmentIndex(encodeSegmentIndex(index));
      assert.notEqual(typeof decoded, 'string', String(decoded));
      // Runs come back in the origin table's order.
      const byOrigin = (i: SegmentIndex) => ({ ...i, runs: [...i.runs].sort((a, b) => a.origin.localeCompare(b.origin)) });
      assert.deepEqual(byOrigin(decoded as SegmentIndex), byOrigin(index));
    }), { numRuns: 200 });
  });

  it('gives a reason instead of an index for another version, a wrong length, a torn origin table, or LSNs out of order or outside the segment', () => {
    const index = sample();
    const good = encodeSegmentIndex(index);
    const changed = (edit: (buf: Buffer) => void): Buffer => {
      const buf = Buffer.from(good);
      edit(buf);
      return buf;
    };
    assert.match(decodeSegmentIndex(changed((b) => b.writeUInt8(1, 0))) as string, /version 1/);
    assert.match(decodeSegmentIndex(changed((b) => b.writeDoubleLE(index.opCount + 1, 9))) as string, /disagree with/);
    assert.match(decodeSegmentIndex(good.subarray(0, good.length - 8)) as string, /disagree with/);
    assert.match(decodeSegmentIndex(good.subarray(0, 40)) as string, /runs past the end|disagree with/);
    assert.match(decodeSegmentIndex(good.subarray(0, 10)) as string, /shorter than an index header/);

    const swapped = { ...index, runs: index.runs.map((r, i) => (i === 0 ? { ...r, lsns: Float64Array.from(r.lsns).reverse() } : r)) };
    if (index.runs[0].lsns.length > 1) assert.match(decodeSegmentIndex(encodeSegmentIndex(swapped)) as string, /out of order or outside the segment/);
    const outside = { ...index, runs: index.runs.map((r, i) => (i === 0 ? { ...r, lsns: r.lsns.map((lsn) => lsn + index.opCount) } : r)) };
    assert.match(decodeSegmentIndex(encodeSegmentIndex(outside)) as string, /out of order or outside the segment/);
    const below = { ...index, runs: index.runs.map((r, i) => (i === 0 ? { ...r, lsns: r.lsns.map((lsn) => lsn - index.opCount - index.startLsn) } : r)) };
    assert.match(decodeSegmentIndex(encodeSegmentIndex(below)) as string, /out of order or outside the segment/);
  });
});
