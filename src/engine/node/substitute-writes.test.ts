// Writes kept only as hints, against a substitute served over real gRPC in this process: a
// StoreHints call that ends without the substitute's answer may have stored the hints, so it is
// resent (a hint the substitute holds is not added twice) and counts once that is answered; when
// it cannot be settled in time the error says the outcome on that node is unknown, not that it
// failed. A refusal the substitute answered is a failure and is not resent, and so is a call to a
// substitute that could not be reached (nothing listens on its port): it never left, so nothing
// was stored. Hints sent in chunks count chunk by chunk.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { status, type ServiceError, type UntypedHandleCall } from '@grpc/grpc-js';
import { NodeServiceClient, NodeServiceService, type NodeServiceServer } from '../gen/ringdb/v1/node';
import { clientArgs, InvalidFieldError, startServer, unaryHandler, type RunningServer } from '../rpc';
import { NodeFileSystem } from '../storage';
import { HintStore } from './hints';
import { MAX_MESSAGE_BYTES } from '../rpc';
import { MAX_STORE_HINTS, STORE_HINTS_CHUNK_BYTES, storeHintChunks, SubstituteWrites, type SubstituteHost } from './substitute-writes';

const TOKEN = 'test-token-0123456789abcdef';
const NO_DEADLINE = { getDeadline: () => Number.POSITIVE_INFINITY };

describe('substitute writes: StoreHints outcomes (gRPC substitute in process)', () => {
  let server: RunningServer;
  let client: NodeServiceClient;
  let dir: string;
  let hints: HintStore;
  /** How the substitute n2 answers StoreHints: late for new hints, never, or with a refusal. */
  let mode: 'late' | 'silent' | 'refuse';
  const held = new Set<string>();
  let calls = 0;
  const pending: NodeJS.Timeout[] = [];
  let seq = 0;

  const host: SubstituteHost = {
    config: { id: 'n1' },
    reserveOwnSeqs: async (count) => {
      seq += count;
      return { firstSeq: seq - count + 1, firstTs: 1000 + seq };
    },
    peers: { client: (id) => (id === 'n3' ? unreachable : id === 'n4' ? chunked : client), callToken: TOKEN },
  };
  /** n3: a client of a port nothing listens on, new for each test (a channel's failed connection is remembered). */
  let unreachable: NodeServiceClient;
  /** n4: a substitute of its own test that stops serving after its first StoreHints. */
  let chunked: NodeServiceClient;
  let closedPort = 0;
  const write = (budgetMs: number, holder = 'n2') => new SubstituteWrites(host, hints, () => true)
    .write([{ stored: Buffer.from('k'), value: Buffer.from('v'), pid: 3 }], [[{ node: holder, hintedFor: 'n9' }]], 1, NO_DEADLINE, budgetMs);

  before(async () => {
    const unimplemented: UntypedHandleCall = (_call: unknown, cb: (e: { code: status }) => void) => cb({ code: status.UNIMPLEMENTED });
    const impl = Object.fromEntries(Object.keys(NodeServiceService).map((k) => [k, unimplemented])) as unknown as NodeServiceServer;
    impl.storeHints = (call, cb) => {
      calls++;
      const ids = call.request.hints.map((h) => h.opId);
      // A hung substitute answers nothing, not even a resend of hints it holds.
      if (mode === 'silent') {
        for (const id of ids) held.add(id);
        return;
      }
      if (ids.every((id) => held.has(id))) {
        cb(null, { stored: 0 });
        return;
      }
      if (mode === 'refuse') {
        unaryHandler(() => {
          throw new InvalidFieldError('hints', 'refused by this test');
        })(call, cb);
        return;
      }
      for (const id of ids) held.add(id);
      // Stored, then answered too late.
      pending.push(setTimeout(() => cb(null, { stored: ids.length }), 3000));
    };
    server = await startServer('127.0.0.1', 0, TOKEN, [{ definition: NodeServiceService, implementation: impl }]);
    client = new NodeServiceClient(...clientArgs(`127.0.0.1:${server.port}`));
    dir = mkdtempSync(path.join(tmpdir(), 'ringdb-substitute-'));
    hints = HintStore.open(new NodeFileSystem(), dir);
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
  });

  beforeEach(() => {
    calls = 0;
    held.clear();
    unreachable = new NodeServiceClient(...clientArgs(`127.0.0.1:${closedPort}`));
  });

  afterEach(() => {
    unreachable.close();
  });

  after(async () => {
    for (const t of pending) clearTimeout(t);
    client.close();
    await server.stop(100);
    await hints.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts a substitute whose answer came too late once a resend finds the hint stored', async () => {
    mode = 'late';
    const [written] = await write(1000);
    assert.deepEqual(written.holders, ['n2']);
    assert.deepEqual(written.hinted, { n9: 'n2' });
    assert.equal(calls, 2, 'the first call, then the resend the substitute answered at once');
  });

  it('says the outcome on a substitute that never answers is unknown, not that it failed', async () => {
    mode = 'silent';
    const err = await write(600).then(() => assert.fail('the write was expected to be UNAVAILABLE'), (e: ServiceError) => e);
    assert.equal(err.code, status.UNAVAILABLE);
    assert.match(err.message, /^w: 1 of 1 writes whose replicas are all down were kept as hints by fewer than 1 nodes known to hold them \(n1:\d+; /, err.message);
    assert.match(err.message, /n2: outcome unknown: StoreHints ended without n2's answer \(DEADLINE_EXCEEDED: [^)]*\) and asking again failed too \(DEADLINE_EXCEEDED: [^)]*\); n2 may hold the hints, and then hands them over when a replica returns\)/, err.message);
    assert.equal(calls, 2);
    assert.ok(held.size === 1, 'the substitute did store it');
  });

  it('says a substitute that could not be reached did not store the hints, and does not ask it again', async () => {
    const err = await write(1000, 'n3').then(() => assert.fail('the write was expected to be UNAVAILABLE'), (e: ServiceError) => e);
    assert.equal(err.code, status.UNAVAILABLE);
    // grpc-js fails a call it could not connect for with UNAVAILABLE "No connection established. Last error: … ECONNREFUSED …".
    assert.match(err.message, /\(n1:\d+; n3: not stored: n3 could not be reached \(UNAVAILABLE: No connection established\. Last error: [^;]*ECONNREFUSED[^;]*\)\); /, err.message);
    assert.doesNotMatch(err.message, /outcome unknown|asking again/);
  });

  it('says the same when the wait ran out before a connection was made', async () => {
    // 1 ms: gone before the new channel connects, so grpc-js reports the deadline while "waiting
    // for name resolution" or "Waiting for LB pick" (or, had the refusal come first, the same
    // UNAVAILABLE as above): the call never left.
    const err = await write(1, 'n3').then(() => assert.fail('the write was expected to be UNAVAILABLE'), (e: ServiceError) => e);
    assert.match(err.message, /n3: not stored: n3 could not be reached \((DEADLINE_EXCEEDED: Deadline exceeded after [^)]*(?:Waiting for LB pick|waiting for name resolution)|UNAVAILABLE: No connection established[^;]*)\)\); /, err.message);
    assert.doesNotMatch(err.message, /outcome unknown/);
  });

  it('reports a refusal the substitute answered as such, without resending', async () => {
    mode = 'refuse';
    const err = await write(1000).then(() => assert.fail('the write was expected to be UNAVAILABLE'), (e: ServiceError) => e);
    assert.match(err.message, /n2: refused: INVALID_ARGUMENT: hints: refused by this test/, err.message);
    assert.equal(calls, 1);
  });

  it('counts the hints of the chunks a substitute stored when a later chunk could not reach it, and names the rest', async () => {
    const unimplemented: UntypedHandleCall = (_call: unknown, cb: (e: { code: status }) => void) => cb({ code: status.UNIMPLEMENTED });
    const impl = Object.fromEntries(Object.keys(NodeServiceService).map((k) => [k, unimplemented])) as unknown as NodeServiceServer;
    let stored = 0;
    let stopping: Promise<void> | undefined;
    impl.storeHints = (call, cb) => {
      stored += call.request.hints.length;
      // Stop listening and tell the client (GOAWAY) before answering: the next chunk finds no connection.
      stopping ??= n4.stop(5000);
      cb(null, { stored: call.request.hints.length });
    };
    const n4: RunningServer = await startServer('127.0.0.1', 0, TOKEN, [{ definition: NodeServiceService, implementation: impl }]);
    chunked = new NodeServiceClient(...clientArgs(`127.0.0.1:${n4.port}`));
    try {
      const count = MAX_STORE_HINTS + 1;
      const orphans = Array.from({ length: count }, (_, i) => ({ stored: Buffer.from(`k${i}`), value: Buffer.from('v'), pid: 3 }));
      const err = await new SubstituteWrites(host, hints, () => true)
        .write(orphans, orphans.map(() => [{ node: 'n4', hintedFor: 'n9' }]), 1, NO_DEADLINE, 10_000)
        .then(() => assert.fail('the write was expected to be UNAVAILABLE'), (e: ServiceError) => e);
      assert.equal(stored, MAX_STORE_HINTS, 'the first chunk was stored');
      assert.equal(err.code, status.UNAVAILABLE);
      // Only the write whose hint was in the chunk that never left is short of W=1.
      assert.match(err.message, /^w: 1 of 10001 writes whose replicas are all down were kept as hints by fewer than 1 nodes known to hold them \(n1:\d+; /, err.message);
      assert.match(err.message, /n4: 10000 of 10001 hints stored \(StoreHints takes at most 10000 hints or 16 MiB a call\), then hint 10001: not stored: n4 could not be reached \(UNAVAILABLE: No connection established[^;]*\)\); /, err.message);
    } finally {
      chunked.close();
      await (stopping ?? n4.stop(100));
    }
  });
  it('sends hints over the message limit in calls under it, and counts them all', async () => {
    const unimplemented: UntypedHandleCall = (_call: unknown, cb: (e: { code: status }) => void) => cb({ code: status.UNIMPLEMENTED });
    const impl = Object.fromEntries(Object.keys(NodeServiceService).map((k) => [k, unimplemented])) as unknown as NodeServiceServer;
    const perCall: number[] = [];
    impl.storeHints = (call, cb) => {
      perCall.push(call.request.hints.length);
      cb(null, { stored: call.request.hints.length });
    };
    const n4: RunningServer = await startServer('127.0.0.1', 0, TOKEN, [{ definition: NodeServiceService, implementation: impl }]);
    chunked = new NodeServiceClient(...clientArgs(`127.0.0.1:${n4.port}`));
    try {
      // 18 MiB of values for one holder: one call would be refused by the client before it left.
      const orphans = Array.from({ length: 18 }, (_, i) => ({ stored: Buffer.from(`big${i}`), value: Buffer.alloc(1024 * 1024, i), pid: 3 }));
      assert.ok(orphans.length * 1024 * 1024 > MAX_MESSAGE_BYTES);
      await new SubstituteWrites(host, hints, () => true)
        .write(orphans, orphans.map(() => [{ node: 'n4', hintedFor: 'n9' }]), 1, NO_DEADLINE, 10_000);
      assert.deepEqual(perCall, [15, 3], 'two calls, each under the limit');
    } finally {
      chunked.close();
      await n4.stop(100);
    }
  });

  it('reports a hint too large to send as refused, without resending it', async () => {
    mode = 'late';
    // Larger than any one write can be (a value is at most 16 MiB): only the client's limit stops it.
    const err = await new SubstituteWrites(host, hints, () => true)
      .write([{ stored: Buffer.from('huge'), value: Buffer.alloc(MAX_MESSAGE_BYTES + 1), pid: 3 }], [[{ node: 'n2', hintedFor: 'n9' }]], 1, NO_DEADLINE, 5_000)
      .then(() => assert.fail('the write was expected to be UNAVAILABLE'), (e: ServiceError) => e);
    assert.equal(calls, 0, 'nothing reached the substitute');
    assert.match(err.message, /n2: refused: RESOURCE_EXHAUSTED: Attempted to send message with a size larger than \d+\)/, err.message);
  });

  it('cuts hints into calls by count and by bytes, a hint over the byte budget alone', () => {
    const hint = (i: number, valueBytes: number) => ({ target: 'n9', opId: `n1:${i}`, entry: { key: Buffer.from(`k${i}`), value: Buffer.alloc(valueBytes), deleted: false, version: undefined } });
    const sizes = (hs: ReturnType<typeof hint>[]) => storeHintChunks(hs).map((c) => c.length);
    assert.deepEqual(sizes(Array.from({ length: 2 * MAX_STORE_HINTS + 1 }, (_, i) => hint(i, 1))), [MAX_STORE_HINTS, MAX_STORE_HINTS, 1]);
    const half = Math.floor(STORE_HINTS_CHUNK_BYTES / 2);
    assert.deepEqual(sizes([hint(1, half), hint(2, half), hint(3, 10)]), [1, 2], 'the second half-budget hint does not fit beside the first');
    assert.deepEqual(sizes([hint(1, 10), hint(2, STORE_HINTS_CHUNK_BYTES + 1), hint(3, 10)]), [1, 1, 1]);
    assert.deepEqual(sizes([]), []);
    for (const c of storeHintChunks(Array.from({ length: 40 }, (_, i) => hint(i, 1024 * 1024)))) {
      assert.ok(c.reduce((n, h) => n + h.entry.value.length, 0) <= STORE_HINTS_CHUNK_BYTES);
    }
  });
});
