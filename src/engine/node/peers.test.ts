import assert from 'node:assert/strict';
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { NodeServiceService, OpKind, ReplicateRequest, type ReplicateResponse } from '../gen/ringdb/v1/node';
import { startServer, unaryHandler, type RunningServer } from '../rpc';
import { parseOpRecords, type LoggedOp } from '../replication/op-codec';
import { OpLog } from '../replication/op-log';
import { FaultFileSystem } from '../storage/fault-fs';
import { BatchEncoder, PeerSet } from './peers';
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

  const wire = ({ bytes }: { bytes: Buffer }) => ReplicateRequest.decode(bytes).ops.map((o) => `${o.origin}:${o.seq}:${o.kind}:${o.key}:${o.value}:${o.hintedFor ?? '-'}`);
  /** The window as one sender reads it: every read decodes new op objects. */
  const window = (): LoggedOp[] => log.read(0, 100);
  const shaped = (ops: readonly LoggedOp[], at: number, as: (op: LoggedOp) => ShippedOp): ShippedOp[] => ops.map((op, i) => (i === at ? as(op) : op));

  it('encodes a window once for every destination that gets it as is, though each read it anew', () => {
    const encoder = new BatchEncoder('n1');
    const a = window();
    const b = window();
    assert.notEqual(a[0], b[0], 'each read decodes its own ops');
    const first = encoder.encode(a);
    assert.equal(encoder.encode(b).bytes, first.bytes);
    assert.deepEqual(wire(first), [`n1:1:${PUT}:k0:v0:-`, `n1:2:${PUT}:k1:v1:-`, `n1:3:${PUT}:k2:v2:-`, `n1:4:${OpKind.OP_KIND_DELETE}:k3::-`, `n1:5:${PUT}:k4:v4:-`, `n1:6:${PUT}:k5:v5:-`]);
  });

  it('encodes anew when a destination gets an op as a skip or a hint, and shares that among destinations shaped alike', () => {
    const encoder = new BatchEncoder('n1');
    const plain = encoder.encode(window());
    const skipped = encoder.encode(shaped(window(), 2, skipOf));
    assert.notEqual(skipped.bytes, plain.bytes);
    assert.equal(wire(skipped)[2], `n1:3:${OpKind.OP_KIND_SKIP}:::-`);
    assert.equal(encoder.encode(shaped(window(), 2, skipOf)).bytes, skipped.bytes, 'a second destination with the same skip');
    const skippedElsewhere = encoder.encode(shaped(window(), 4, skipOf));
    assert.notEqual(skippedElsewhere.bytes, skipped.bytes, 'same length, a skip at another op');
    assert.equal(wire(skippedElsewhere)[4], `n1:5:${OpKind.OP_KIND_SKIP}:::-`);
    const hinted = encoder.encode(shaped(window(), 4, (op) => ({ ...op, hintedFor: 'n3' })));
    assert.notEqual(hinted.bytes, skippedElsewhere.bytes);
    assert.equal(wire(hinted)[4], `n1:5:${PUT}:k4:v4:n3`);
    assert.notEqual(encoder.encode(shaped(window(), 4, (op) => ({ ...op, hintedFor: 'n2' }))).bytes, hinted.bytes, 'a hint for another replica');
    assert.notEqual(encoder.encode(window().slice(1)).bytes, plain.bytes, 'a shorter window');
    assert.deepEqual(wire(encoder.encode(window())), wire(plain));
  });

  it('sends an unshaped window as its log records, read once for every destination, and shaped ones as ops', () => {
    const encoder = new BatchEncoder('n1');
    let reads = 0;
    const records = (ops: readonly LoggedOp[]) => () => {
      reads++;
      return log.records(ops);
    };
    const a = window();
    const raw = encoder.encode(a, records(a));
    assert.equal(raw.records, true);
    const request = ReplicateRequest.decode(raw.bytes);
    assert.equal(request.ops.length, 0);
    const parsed = parseOpRecords(request.records as Buffer, (problem) => assert.fail(problem));
    assert.deepEqual(parsed.ops.map((op) => `${op.origin}:${op.seq}:${op.ts}:${op.key}:${op.value}`), a.map((op) => `${op.origin}:${op.seq}:${op.ts}:${op.key}:${op.value}`));
    assert.deepEqual(parsed.encoded.sizes, a.map((op) => op.size));
    const b = window();
    assert.equal(encoder.encode(b, records(b)).bytes, raw.bytes, 'a second destination');
    assert.equal(reads, 1);
    const skipped = encoder.encode(shaped(window(), 1, skipOf));
    assert.equal(skipped.records, false);
    assert.equal(wire(skipped)[1], `n1:2:${OpKind.OP_KIND_SKIP}:::-`);
    const c = window();
    assert.equal(encoder.encode(c, records(c)).records, true, 'records again after a shaped batch');
    assert.equal(encoder.encode(window()).records, false, 'a destination that only reads ops never gets records');
    // Some of the batch: the records of every other op, gathered.
    const d = window().filter((op) => op.seq % 2 === 0);
    const partial = ReplicateRequest.decode(encoder.encode(d, records(d)).bytes).records as Buffer;
    assert.deepEqual(parseOpRecords(partial, (problem) => assert.fail(problem)).ops.map((op) => op.seq), [2, 4, 6]);
  });
});

describe('PeerSet.replicate', () => {
  const TOKEN = 'peers-test-token-0123456789';
  let log: OpLog;
  let server: RunningServer;
  /** What the fake peer received, and whether it acts as a build that does not know `records`. */
  const received: string[] = [];
  let knowsRecords = true;
  let peers: PeerSet;

  before(async () => {
    log = OpLog.open('/log', { fs: new FaultFileSystem(), sync: 'none' });
    log.append([1, 2, 3].map((seq) => ({ origin: 'n1', seq, ts: seq, key: Buffer.from(`k${seq}`), value: Buffer.from('v') })));
    const replicate = unaryHandler((call: ServerUnaryCall<ReplicateRequest, ReplicateResponse>): ReplicateResponse => {
      const { ops, records } = call.request;
      const seqs = records !== undefined && knowsRecords
        ? parseOpRecords(records, assert.fail).ops.map((op) => op.seq)
        : ops.map((op) => op.seq);
      received.push(`${records !== undefined && knowsRecords ? 'records' : 'ops'}:${seqs.join(',')}`);
      return { applied: seqs.length, duplicates: 0, buffered: 0, lastSeen: seqs.length > 0 ? { n1: Math.max(...seqs) } : {} };
    });
    server = await startServer('127.0.0.1', 0, TOKEN, [{ definition: NodeServiceService, implementation: { replicate } }]);
    peers = new PeerSet('n1', TOKEN, 60_000, () => 0);
    peers.update([{ id: 'n2', address: `127.0.0.1:${server.port}` }]);
  });
  after(async () => {
    peers.close();
    await server.stop();
    await log.close();
  });

  const send = (shape?: (ops: readonly LoggedOp[]) => readonly ShippedOp[]) => {
    const window = log.read(0, 100);
    peers.shape = shape && ((_dest, ops) => shape(ops as readonly LoggedOp[]));
    return peers.replicate('n2', window, () => log.records(window));
  };

  it('sends records while the window goes unshaped, ops once a shape changes it, and ops to a peer that ignored records', async () => {
    received.length = 0;
    knowsRecords = true;
    assert.deepEqual(await send(), { n1: 3 });
    assert.deepEqual(await send((ops) => ops), { n1: 3 }, 'a shape that hands back the window');
    assert.deepEqual(await send((ops) => ops.map((op) => (op.seq === 2 ? skipOf(op) : op))), { n1: 3 });
    assert.deepEqual(received, ['records:1,2,3', 'records:1,2,3', 'ops:1,2,3']);

    received.length = 0;
    knowsRecords = false;
    assert.deepEqual(await send(), { n1: 3 }, 'resent as ops');
    assert.deepEqual(await send(), { n1: 3 });
    assert.deepEqual(received, ['ops:', 'ops:1,2,3', 'ops:1,2,3']);
  });
});

describe('PeerSet heartbeats', () => {
  it('tells onDown listeners once when a peer that does not answer is declared down', async () => {
    const peers = new PeerSet('me', 'token', 10, () => 0);
    // Port 1 on loopback refuses connections: every ping fails at once.
    peers.update([{ id: 'gone', address: '127.0.0.1:1' }]);
    const downs: string[] = [];
    peers.onDown((id) => downs.push(id));
    peers.start();
    try {
      const until = Date.now() + 10_000;
      while (!downs.includes('gone') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(downs, ['gone']);
      assert.equal(peers.isUp('gone'), false);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(downs, ['gone'], 'more failed beats of a peer already down tell no one again');
    } finally {
      peers.close();
    }
  });
});
