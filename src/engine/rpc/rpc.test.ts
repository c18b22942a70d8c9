import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { type ClientReadableStream, status, type ServiceError, type UntypedHandleCall } from '@grpc/grpc-js';
import { NodeServiceClient, NodeServiceService, type NodeServiceServer } from '../gen/ringdb/v1/node';
import { InvalidArgumentError } from '../storage/errors';
import { MAX_MESSAGE_BYTES } from './channel';
import {
  answeredByServer, callOutcome, type CallOutcome, refusedBeforeSending, clientArgs, InvalidFieldError, openStream, readTokenFile, RpcError, startServer, toStatus, unary, unaryHandler, UnavailableError, type RunningServer,
} from './index';

const TOKEN = 'test-token-0123456789abcdef';

describe('rpc plumbing', () => {
  let server: RunningServer;
  let client: NodeServiceClient;
  let pings = 0;

  before(async () => {
    // Only Ping does anything; the other handlers answer UNIMPLEMENTED so the wrapper has all methods.
    const unimplemented: UntypedHandleCall = (_call: unknown, cb: (e: { code: status }) => void) => cb({ code: status.UNIMPLEMENTED });
    const impl = Object.fromEntries(Object.keys(NodeServiceService).map((k) => [k, unimplemented])) as unknown as NodeServiceServer;
    impl.ping = (call, cb) => {
      pings += 1;
      cb(null, { nodeId: 'n1', clock: call.request.clock + 1, seenOfSender: 0 });
    };
    impl.stats = unaryHandler(() => {
      throw new UnavailableError('w: only 2 of 3 nodes acknowledged n1:1 in time');
    });
    impl.get = unaryHandler(() => {
      throw new RpcError(status.DEADLINE_EXCEEDED, 'r: the quorum wait ended');
    });
    impl.flush = unaryHandler(() => new Promise((resolve) => setTimeout(() => resolve({ snapshot: undefined, written: [] }), 500)));
    server = await startServer('127.0.0.1', 0, TOKEN, [{ definition: NodeServiceService, implementation: impl }]);
    client = new NodeServiceClient(...clientArgs(`127.0.0.1:${server.port}`));
  });

  after(async () => {
    client.close();
    await server.stop();
  });

  it('serves a call that carries the token', async () => {
    const res = await unary(client, client.ping, { sender: 't', clock: 41 }, { token: TOKEN });
    assert.equal(res.clock, 42);
  });

  it('refuses a call without the token or with a wrong one, before the handler runs', async () => {
    const before = pings;
    for (const token of ['', 'wrong-token-0123456789abcdef']) {
      await assert.rejects(unary(client, client.ping, { sender: 't', clock: 1 }, { token }), (err: ServiceError) => {
        assert.equal(err.code, status.UNAUTHENTICATED);
        assert.match(err.details, /x-ringdb-token/);
        return true;
      });
    }
    assert.equal(pings, before);
  });

  it('refuses a message over the size limit with RESOURCE_EXHAUSTED, before the handler runs, and a RingDB client does not send one', async () => {
    const before = pings;
    const huge = { sender: 'x'.repeat(MAX_MESSAGE_BYTES + 1), clock: 1 };
    // A client without the send limit (not RingDB's), so the server's own limit is what refuses it.
    const [address, credentials, options] = clientArgs(`127.0.0.1:${server.port}`);
    const unlimited = new NodeServiceClient(address, credentials, { ...options, 'grpc.max_send_message_length': -1 });
    try {
      // Only the client's own refusal is known never to have left.
      const refusals: [NodeServiceClient, RegExp, boolean][] = [[unlimited, /received message larger than max/i, false], [client, /send message with a size larger than/i, true]];
      for (const [c, why, local] of refusals) {
        await assert.rejects(unary(c, c.ping, huge, { token: TOKEN }), (err: ServiceError) => {
          assert.equal(err.code, status.RESOURCE_EXHAUSTED);
          assert.match(err.details, why);
          assert.equal(refusedBeforeSending(err), local, err.details);
          return true;
        });
      }
    } finally {
      unlimited.close();
    }
    assert.equal(pings, before);
    assert.equal((await unary(client, client.ping, { sender: 't', clock: 1 }, { token: TOKEN })).clock, 2, 'the server still serves');
  });

  it('inherits a shorter parent deadline', async () => {
    const parent = { getDeadline: () => Date.now() - 1 };
    await assert.rejects(unary(client, client.ping, { sender: 't', clock: 1 }, { token: TOKEN, parent }), (err: ServiceError) => {
      assert.equal(err.code, status.DEADLINE_EXCEEDED);
      return true;
    });
  });

  it('tells a server\'s own error answer from a call that was sent and got none, and from one never sent', async () => {
    const outcome = async (call: Promise<unknown>, code: status): Promise<CallOutcome> => {
      const err = await call.then(() => assert.fail('the call was expected to fail'), (e: ServiceError) => e);
      assert.equal(err.code, code, err.details);
      assert.equal(answeredByServer(err), callOutcome(err) === 'answered');
      return callOutcome(err);
    };
    assert.equal(await outcome(unary(client, client.stats, {}, { token: TOKEN }), status.UNAVAILABLE), 'answered');
    assert.equal(await outcome(unary(client, client.get, { key: Buffer.from('k') }, { token: TOKEN }), status.DEADLINE_EXCEEDED), 'answered');
    assert.equal(await outcome(unary(client, client.ping, { sender: 't', clock: 1 }, { token: 'wrong-token-0123456789abcdef' }), status.UNAUTHENTICATED), 'answered');
    assert.equal(await outcome(unary(client, client.flush, {}, { token: TOKEN, timeoutMs: 100 }), status.DEADLINE_EXCEEDED), 'unknown');
    const nowhere = await startServer('127.0.0.1', 0, TOKEN, []);
    await nowhere.stop();
    const unreachable = new NodeServiceClient(...clientArgs(`127.0.0.1:${nowhere.port}`));
    // A port whose process never speaks (as a SIGSTOPped node's kernel accepts for it): the HTTP/2
    // handshake never completes, so grpc-js keeps the call waiting and sends nothing.
    const held: Socket[] = [];
    const mute = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const silent = new NodeServiceClient(...clientArgs(`127.0.0.1:${(mute.address() as AddressInfo).port}`));
    try {
      assert.equal(await outcome(unary(unreachable, unreachable.ping, { sender: 't', clock: 1 }, { token: TOKEN }), status.UNAVAILABLE), 'never-sent');
      assert.equal(await outcome(unary(silent, silent.ping, { sender: 't', clock: 1 }, { token: TOKEN, timeoutMs: 300 }), status.DEADLINE_EXCEEDED), 'never-sent');
    } finally {
      unreachable.close();
      silent.close();
      for (const socket of held) socket.destroy();
      mute.close();
    }
  });

  it('maps typed errors to status codes with the message kept', () => {
    const invalid = toStatus(new InvalidFieldError('key', 'must not be empty'));
    assert.deepEqual([invalid.code, invalid.details], [status.INVALID_ARGUMENT, 'key: must not be empty']);
    assert.equal(toStatus(new InvalidArgumentError('value too large')).code, status.INVALID_ARGUMENT);
    assert.equal(toStatus(new Error('boom')).code, status.INTERNAL);
  });

  it('reads a token file and rejects a malformed one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringdb-rpc-'));
    try {
      writeFileSync(join(dir, 'ok'), `${TOKEN}\n`);
      assert.equal(readTokenFile(join(dir, 'ok')), TOKEN);
      writeFileSync(join(dir, 'short'), 'abc');
      assert.throws(() => readTokenFile(join(dir, 'short')), /16 to 512 printable/);
      assert.throws(() => readTokenFile(join(dir, 'missing')), /cannot read token file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('server stop', () => {
  const unimplemented: UntypedHandleCall = (_call: unknown, cb: (e: { code: status }) => void) => cb({ code: status.UNIMPLEMENTED });
  /** A server whose WatchStore never ends (a subscription) and whose ExportRange ends when `finishExport` is called. */
  async function serve(): Promise<{ server: RunningServer; client: NodeServiceClient; finishExport: () => void }> {
    const impl = Object.fromEntries(Object.keys(NodeServiceService).map((k) => [k, unimplemented])) as unknown as NodeServiceServer;
    let finish: (() => void) | undefined;
    impl.watchStore = (call) => void call.write({ snapshot: undefined });
    impl.exportRange = (call) => {
      call.write({ entries: [] });
      finish = () => call.end();
    };
    const server = await startServer('127.0.0.1', 0, TOKEN, [{ definition: NodeServiceService, implementation: impl, subscriptions: ['watchStore'] }]);
    const client = new NodeServiceClient(...clientArgs(`127.0.0.1:${server.port}`));
    return { server, client, finishExport: () => finish?.() };
  }

  /** Resolves with the stream's end: 'ok' or its error status and details, once its first message came. */
  function follow(stream: ClientReadableStream<unknown>): { first: Promise<void>; end: Promise<string> } {
    const first = new Promise<void>((resolve) => stream.once('data', () => resolve()));
    const end = new Promise<string>((resolve) => {
      stream.on('data', () => undefined);
      stream.on('error', (err: ServiceError) => resolve(`${status[err.code]}: ${err.details}`));
      stream.on('end', () => resolve('ok'));
    });
    return { first, end };
  }

  it('ends a subscription with UNAVAILABLE rather than waiting out the grace period', async () => {
    const { server, client } = await serve();
    try {
      const watch = follow(openStream(client, client.watchStore, {}, { token: TOKEN }));
      await watch.first;
      // A grace period longer than the test's timeout: only ending the watch lets stop() finish.
      await server.stop(600_000);
      assert.equal(await watch.end, 'UNAVAILABLE: the server is shutting down');
    } finally {
      client.close();
    }
  });

  it('lets a stream that is not a subscription finish', async () => {
    const { server, client, finishExport } = await serve();
    try {
      const exported = follow(openStream(client, client.exportRange, { partitionIds: [], ranges: [], batchSize: 0 }, { token: TOKEN }));
      await exported.first;
      const stopped = server.stop(600_000);
      finishExport();
      assert.equal(await exported.end, 'ok');
      await stopped;
    } finally {
      client.close();
    }
  });

  it('refuses a subscription that names no served method', async () => {
    const impl = { ping: unimplemented } as unknown as NodeServiceServer;
    await assert.rejects(startServer('127.0.0.1', 0, TOKEN, [{ definition: NodeServiceService, implementation: impl, subscriptions: ['watchStore'] }]), /subscription must name/);
  });
});
