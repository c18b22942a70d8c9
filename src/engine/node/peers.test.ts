import assert from 'node:assert/strict';
import { OpKind, ReplicateRequest } from '../gen/ringdb/v1/node';
import type { LoggedOp } from '../replication/op-codec';
import { OpLog } from '../replication/op-log';
import { FaultFileSystem } from '../storage/fault-fs';
import { BatchEncoder } from './peers';
import { skipOf, type ShippedOp } from './shipping';

const PUT = OpKind.OP_KIND_PUT;

describe('BatchEncoder', () => {
  let log: OpLog;
  before(() => {
    log = OpLog.open('/log', { fs: new FaultFileSystem(), sync: 'none' });
    log.append(Array.from({ length: 6 }, (_, i) => ({
      origin: 'n1', seq: i + 1, ts: 10 + i, key: Buffer.from(`k${i}`), value: i === 3 ? null : Buffer.from(`v${i}`),
    })));
  });
  after(() => log.close());

  const wire = (bytes: Buffer) => ReplicateRequest.decode(bytes).ops.map((o) => `${o.origin}:${o.seq}:${o.kind}:${o.key}:${o.value}:${o.hintedFor ?? '-'}`);
  /** The window as one sender reads it: every read decodes new op objects. */
  const window = (): LoggedOp[] => log.read(0, 100);
  const shaped = (ops: readonly LoggedOp[], at: number, as: (op: LoggedOp) => ShippedOp): ShippedOp[] => ops.map((op, i) => (i === at ? as(op) : op));

  it('encodes a window once for every destination that gets it as is, though each read it anew', () => {
    const encoder = new BatchEncoder('n1');
    const a = window();
    const b = window();
    assert.notEqual(a[0], b[0], 'each read decodes its own ops');
    const bytes = encoder.encode(a);
    assert.equal(encoder.encode(b), bytes);
    assert.deepEqual(wire(bytes), [`n1:1:${PUT}:k0:v0:-`, `n1:2:${PUT}:k1:v1:-`, `n1:3:${PUT}:k2:v2:-`, `n1:4:${OpKind.OP_KIND_DELETE}:k3::-`, `n1:5:${PUT}:k4:v4:-`, `n1:6:${PUT}:k5:v5:-`]);
  });

  it('encodes anew when a destination gets an op as a skip or a hint, and shares that among destinations shaped alike', () => {
    const encoder = new BatchEncoder('n1');
    const plain = encoder.encode(window());
    const skipped = encoder.encode(shaped(window(), 2, skipOf));
    assert.notEqual(skipped, plain);
    assert.equal(wire(skipped)[2], `n1:3:${OpKind.OP_KIND_SKIP}:::-`);
    assert.equal(encoder.encode(shaped(window(), 2, skipOf)), skipped, 'a second destination with the same skip');
    const skippedElsewhere = encoder.encode(shaped(window(), 4, skipOf));
    assert.notEqual(skippedElsewhere, skipped, 'same length, a skip at another op');
    assert.equal(wire(skippedElsewhere)[4], `n1:5:${OpKind.OP_KIND_SKIP}:::-`);
    const hinted = encoder.encode(shaped(window(), 4, (op) => ({ ...op, hintedFor: 'n3' })));
    assert.notEqual(hinted, skippedElsewhere);
    assert.equal(wire(hinted)[4], `n1:5:${PUT}:k4:v4:n3`);
    assert.notEqual(encoder.encode(shaped(window(), 4, (op) => ({ ...op, hintedFor: 'n2' }))), hinted, 'a hint for another replica');
    assert.notEqual(encoder.encode(window().slice(1)), plain, 'a shorter window');
    assert.deepEqual(wire(encoder.encode(window())), wire(plain));
  });
});
