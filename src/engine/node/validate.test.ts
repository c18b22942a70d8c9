// checkRecordOps must refuse exactly what checkOps refuses of the same ops as protocol ops, with
// the same message: Replicate applies the same rules whichever form a batch travels in.
import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import type { Op } from '../replication/op-codec';
import { MAX_VALUE_BYTES } from '../rpc';
import { MAX_KEY_BYTES } from '../storage/types';
import { toProtoOp } from './convert';
import { checkOps, checkRecordOps } from './validate';

const OVERSIZED_KEY = Buffer.alloc(MAX_KEY_BYTES + 1, 0x6b);
const OVERSIZED_VALUE = Buffer.alloc(MAX_VALUE_BYTES + 1, 0x76);

const opArb: fc.Arbitrary<Op> = fc.record({
  origin: fc.constantFrom('n1', 'node-2', 'bad id', '', 'n1'),
  seq: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER, 2 ** 53)),
  ts: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.constantFrom(0, -3, 2.5, 2 ** 53)),
  key: fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a)), fc.constant(OVERSIZED_KEY)),
  value: fc.oneof(fc.constant(null), fc.constant(Buffer.alloc(0)), fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a)), fc.constant(OVERSIZED_VALUE)),
});

function refusal(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('checkRecordOps', () => {
  it('refuses the same ops as checkOps does as protocol ops, with the same message', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 6 }), fc.integer({ min: 1, max: 8 }), (ops, maxOps) => {
        const expected = refusal(() => checkOps('records', ops.map(toProtoOp), maxOps));
        assert.equal(refusal(() => checkRecordOps('records', ops, maxOps)), expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('passes a valid batch of puts, deletes and skips', () => {
    const ops: Op[] = [
      { origin: 'n1', seq: 1, ts: 5, key: Buffer.from('k'), value: Buffer.from('v') },
      { origin: 'n1', seq: 2, ts: 6, key: Buffer.from('k'), value: null },
      { origin: 'n2', seq: 9, ts: 7, key: Buffer.alloc(0), value: null },
    ];
    assert.equal(refusal(() => checkRecordOps('records', ops)), undefined);
  });
});
