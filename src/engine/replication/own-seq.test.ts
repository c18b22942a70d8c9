// settleOwnSeq over real replicas, logs and stores (an in-memory file system); the transport is
// the peer's own FetchUpdates answer (collectUpdates) without gRPC, which the real-process test
// in node/lost-folder.test.ts adds.
import assert from 'node:assert/strict';
import { Store } from '../storage';
import { FaultFileSystem } from '../storage/fault-fs';
import { collectUpdates } from './anti-entropy';
import { isSkip, type Op } from './op-codec';
import { OpLog, type OpLogOptions } from './op-log';
import { settleOwnSeq } from './own-seq';
import { Replica } from './replica';
import type { ReplicationTransport } from './transport';

interface Side {
  replica: Replica;
  log: OpLog;
  store: Store;
}

async function open(id: string, log: Partial<OpLogOptions> = {}): Promise<Side> {
  const fs = new FaultFileSystem();
  const store = await Store.open('/data/store', { fs, sync: 'none', autoCompact: false });
  const opLog = OpLog.open('/data/replication_log', { fs, sync: 'none', syncIntervalMs: 0, ...log });
  return { replica: new Replica(id, store, opLog, () => store.flushedLogMark), log: opLog, store };
}

/** What `peer` answers to FetchUpdates (service.ts), asked `down` times in vain first. */
function transportTo(peers: Record<string, Side>, down: Record<string, number> = {}): ReplicationTransport & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    replicate: () => Promise.reject(new Error('settleOwnSeq only pulls')),
    fetchUpdates: async (peerId, lastSeen, limit, skipOrigins) => {
      asked.push(peerId);
      if ((down[peerId] ?? 0) > 0) {
        down[peerId]--;
        throw new Error(`${peerId} is not up`);
      }
      const p = peers[peerId];
      const { ops, more } = collectUpdates(p.log, lastSeen, limit, p.replica.storeDurableLsn, new Set(skipOrigins));
      return { ops, more, lastSeen: p.log.versionVector(), clock: p.replica.clock.now() };
    },
  };
}

/** `count` ops that `origin` wrote earlier, at timestamps 1..count. */
function writtenBy(origin: string, count: number, from = 1): Op[] {
  return Array.from({ length: count }, (_, i) => ({ origin, seq: from + i, ts: from + i, key: Buffer.from(`${origin}-${from + i}`), value: Buffer.from('v') }));
}

describe('settleOwnSeq (a node that starts with an empty log)', () => {
  it('takes back its own ops a peer retains, and its next write follows them with a timestamp past the peer\'s clock', async () => {
    const peer = await open('p');
    await peer.replica.applyRemote(writtenBy('me', 50));
    await peer.replica.writeLocal([{ key: Buffer.from('later'), value: Buffer.from('x') }]);
    const me = await open('me');
    const report = await settleOwnSeq({ selfId: 'me', replica: me.replica, log: me.log, transport: transportTo({ p: peer }), peers: () => ['p'], waitMs: 1000, retryMs: 5 });
    assert.deepEqual(report, { heard: ['p'], unheard: [], floor: 50, fetched: 50, retired: 0 });
    const next = await me.replica.writeLocal([{ key: Buffer.from('new'), value: Buffer.from('y') }]);
    assert.equal(next.firstSeq, 51);
    assert.ok(next.firstTs > peer.replica.clock.now(), `ts ${next.firstTs} beats the peer's clock ${peer.replica.clock.now()}`);
    // Its own old ops are back with their data, not only their seqs.
    assert.equal((await me.store.get(Buffer.from('me-7')))?.value?.toString(), 'v');
  });

  it('retires the seqs whose ops no peer retains any more, so its next write does not reuse one', async () => {
    // Small segments and no retention: the peer drops what everyone has acknowledged.
    const peer = await open('p', { segmentBytes: 512, retainBytes: 0 });
    await peer.replica.applyRemote(writtenBy('me', 40));
    for (let i = 0; i < 20; i++) await peer.replica.writeLocal([{ key: Buffer.from(`p-${i}`), value: Buffer.alloc(64, 1) }]);
    // Without fsyncs a full segment is closed once the thread pool has flushed it.
    for (let i = 0; i < 100 && peer.log.lsnOf('me', 1) !== undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      peer.log.release(peer.log.nextLsn);
    }
    assert.equal(peer.log.lsnOf('me', 1), undefined, 'the peer no longer retains me:1');
    const me = await open('me');
    const report = await settleOwnSeq({ selfId: 'me', replica: me.replica, log: me.log, transport: transportTo({ p: peer }), peers: () => ['p'], waitMs: 1000, retryMs: 5 });
    assert.equal(report.floor, 40);
    assert.equal(report.fetched + report.retired, 40);
    assert.ok(report.retired > 0, 'some seqs were retired');
    assert.equal(me.log.lastSeen('me'), 40);
    const own = me.log.read(0, 1000).filter((op) => op.origin === 'me');
    assert.deepEqual(own.map((op) => op.seq), Array.from({ length: 40 }, (_, i) => i + 1));
    assert.ok(own.slice(0, report.retired).every(isSkip), 'the retired seqs are skips (they store nothing)');
    assert.ok(own.every((op, i) => i === 0 || op.ts > own[i - 1].ts), 'timestamps rise with seqs');
    assert.equal((await me.replica.writeLocal([{ key: Buffer.from('new'), value: Buffer.from('y') }])).firstSeq, 41);
  });

  it('takes back ops that one peer holds where another holds only a placeholder (partitioned mode), and retires only the seqs no peer holds', async () => {
    // a holds me:1..5 and 7..10, b only me:6 and 11; both hold placeholders (skips) for the rest; nobody holds me:12.
    const placeholder = (seq: number): Op => ({ origin: 'me', seq, ts: seq, key: Buffer.alloc(0), value: null });
    const a = await open('a');
    const b = await open('b');
    const ops = writtenBy('me', 12);
    await a.replica.applyRemote(ops.map((op) => (op.seq === 6 || op.seq >= 11 ? placeholder(op.seq) : op)));
    await b.replica.applyRemote(ops.map((op) => (op.seq === 6 || op.seq === 11 ? op : placeholder(op.seq))));
    const me = await open('me');
    const report = await settleOwnSeq({ selfId: 'me', replica: me.replica, log: me.log, transport: transportTo({ a, b }), peers: () => ['a', 'b'], waitMs: 1000, retryMs: 5 });
    assert.deepEqual([report.floor, report.fetched, report.retired], [12, 11, 1]);
    const own = me.log.read(0, 100).filter((op) => op.origin === 'me');
    assert.deepEqual(own.filter(isSkip).map((op) => op.seq), [12]);
    for (const seq of [1, 6, 8, 11]) assert.equal((await me.store.get(Buffer.from(`me-${seq}`)))?.value?.toString(), 'v', `me-${seq} is back`);
  });

  it('takes the highest seq any peer logged, waits for a slow peer, and gives up on one that keeps failing once another answered', async () => {
    const ahead = await open('a');
    const behind = await open('b');
    const silent = await open('s');
    await ahead.replica.applyRemote(writtenBy('me', 30));
    await behind.replica.applyRemote(writtenBy('me', 10));
    const me = await open('me');
    const transport = transportTo({ a: ahead, b: behind, s: silent }, { a: 2, s: Number.POSITIVE_INFINITY });
    const report = await settleOwnSeq({ selfId: 'me', replica: me.replica, log: me.log, transport, peers: () => ['a', 'b', 's'], waitMs: 60_000, retryMs: 5 });
    assert.deepEqual([report.heard.sort(), report.unheard, report.floor, report.fetched + report.retired], [['a', 'b'], ['s'], 30, 30]);
    // a failed twice and was waited for; s was given up after three failures, long before waitMs.
    assert.equal(transport.asked.filter((p) => p === 's').length, 3);
    assert.equal(me.log.lastSeen('me'), 30);
  });

  it('keeps asking while no peer has answered, past its wait', async () => {
    const peer = await open('p');
    await peer.replica.applyRemote(writtenBy('me', 5));
    const me = await open('me');
    const transport = transportTo({ p: peer }, { p: 30 });
    const report = await settleOwnSeq({ selfId: 'me', replica: me.replica, log: me.log, transport, peers: () => ['p'], waitMs: 10, retryMs: 5 });
    assert.equal(transport.asked.filter((p) => p === 'p').length >= 31, true, 'asked until the peer answered');
    assert.deepEqual([report.heard, report.floor, me.log.lastSeen('me')], [['p'], 5, 5]);
  });

  it('ends at once when the node has no peers left (it closed)', async () => {
    const me = await open('me');
    const report = await settleOwnSeq({ selfId: 'me', replica: me.replica, log: me.log, transport: transportTo({}), peers: () => [], waitMs: 60_000 });
    assert.deepEqual(report, { heard: [], unheard: [], floor: 0, fetched: 0, retired: 0 });
  });
});

describe('pull sync past a reserved seq', () => {
  it('serves a seq reserved for a write kept only as hints, so the origin\'s later ops can be pulled; a retired seq still stops the answer', async () => {
    const x = await open('x');
    await x.replica.writeLocal([{ key: Buffer.from('a'), value: Buffer.from('1') }]);
    await x.replica.reserveOwnSeqs(1);
    await x.replica.writeLocal([{ key: Buffer.from('b'), value: Buffer.from('2') }]);
    const served = collectUpdates(x.log, {}, 100, x.replica.storeDurableLsn);
    assert.deepEqual(served.ops.map((op) => [op.seq, isSkip(op)]), [[1, false], [2, true], [3, false]]);
    const asker = await open('y');
    await asker.replica.applyRemote(served.ops);
    assert.equal(asker.log.lastSeen('x'), 3, 'the asker holds x:3 and everything before it');
    assert.equal(asker.store.get(Buffer.from('b'))?.value?.toString(), '2');

    // A retired seq (its op lost here, maybe held by a silent peer) still ends the answer there.
    const z = await open('z');
    await z.replica.writeLocal([{ key: Buffer.from('c'), value: Buffer.from('3') }]);
    await z.replica.retireOwnSeqs(2);
    await z.replica.writeLocal([{ key: Buffer.from('d'), value: Buffer.from('4') }]);
    assert.deepEqual(collectUpdates(z.log, {}, 100, z.replica.storeDurableLsn).ops.map((op) => op.seq), [1]);
  });
});
