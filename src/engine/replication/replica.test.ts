import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { Store } from '../storage';
import { FaultFileSystem } from '../storage/fault-fs';
import { compareVersions } from '../storage/types';
import type { Op } from './op-codec';
import { OpLog } from './op-log';
import { Replica } from './replica';

const KEYS = ['a', 'b', 'c', 'd'];

async function openReplica(fs: FaultFileSystem, id = 'me', storeSliceOps?: number): Promise<{ replica: Replica; log: OpLog; store: Store }> {
  const store = await Store.open('/data/store', { fs, sync: 'none', autoCompact: false });
  const log = OpLog.open('/data/replication_log', { fs, sync: 'none', syncIntervalMs: 0 });
  return { replica: new Replica(id, store, log, () => store.flushedLogMark, undefined, storeSliceOps), log, store };
}

/** A replica over a store that refuses every write while `refuse.now` is set (as a closing store does). */
async function openFlaky(): Promise<{ store: Store; log: OpLog; replica: Replica; refuse: { now: boolean } }> {
  const fs = new FaultFileSystem();
  const store = await Store.open('/data/store', { fs, sync: 'none', autoCompact: false });
  const log = OpLog.open('/data/replication_log', { fs, sync: 'none', syncIntervalMs: 0 });
  const refuse = { now: false };
  const flaky = {
    write: (ops: Parameters<Store['write']>[0], options: Parameters<Store['write']>[1]) =>
      (refuse.now ? Promise.reject(new Error('the store is closing')) : store.write(ops, options)),
  };
  return { store, log, replica: new Replica('me', flaky, log, () => store.flushedLogMark), refuse };
}

/**
 * Gap-free ops of three origins over a few keys. Each origin's timestamps grow with its seqs
 * (its Lamport clock ticks); across origins they collide often, so ties are broken by origin.
 */
const opsArb = fc.array(fc.record({ origin: fc.constantFrom('x', 'y', 'z'), key: fc.constantFrom(...KEYS), step: fc.integer({ min: 1, max: 3 }), del: fc.boolean() }), { minLength: 1, maxLength: 40 })
  .map((draws) => {
    const seq = new Map<string, number>();
    const ts = new Map<string, number>();
    return draws.map((d, i): Op => {
      const s = (seq.get(d.origin) ?? 0) + 1;
      const t = (ts.get(d.origin) ?? 0) + d.step;
      seq.set(d.origin, s);
      ts.set(d.origin, t);
      return { origin: d.origin, seq: s, ts: t, key: Buffer.from(d.key), value: d.del ? null : Buffer.from(`v${i}`) };
    });
  });

/** A delivery schedule: every op at least once, in any order, some repeated, cut into batches. */
const deliveryArb = opsArb.chain((ops) => fc.tuple(
  fc.constant(ops),
  fc.shuffledSubarray([...ops, ...ops], { minLength: ops.length * 2, maxLength: ops.length * 2 }),
  fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 10 }),
));

describe('replica', () => {
  it('applies every op exactly once, per origin in seq order, whatever the delivery order and duplicates; state is the LWW winner', async () => {
    await fc.assert(fc.asyncProperty(deliveryArb, async ([ops, schedule, sizes]) => {
      const fs = new FaultFileSystem();
      const { replica, log, store } = await openReplica(fs);
      let at = 0;
      let applied = 0;
      let duplicates = 0;
      for (let i = 0; at < schedule.length; i++) {
        const batch = schedule.slice(at, at + sizes[i % sizes.length]);
        at += batch.length;
        const r = await replica.applyRemote(batch);
        applied += r.applied;
        duplicates += r.duplicates;
        for (const op of batch) assert.equal(r.lastSeen[op.origin], log.lastSeen(op.origin), 'reported last_seen is the durable one');
      }
      assert.equal(applied, ops.length, 'each op applied once');
      assert.equal(log.nextLsn, ops.length, 'each op logged once');
      assert.ok(duplicates >= ops.length, 'every second delivery was dropped as a duplicate');
      assert.equal(replica.waitingOps, 0);
      const logged = log.read(0, 1000);
      for (const origin of ['x', 'y', 'z']) {
        const seqs = logged.filter((o) => o.origin === origin).map((o) => o.seq);
        assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${origin} applied in seq order`);
      }
      for (const key of KEYS) {
        const candidates = ops.filter((o) => o.key.toString() === key);
        const stored = store.get(Buffer.from(key));
        if (candidates.length === 0) {
          assert.equal(stored, undefined);
          continue;
        }
        const winner = candidates.reduce((w, o) => (compareVersions(o, w) > 0 ? o : w));
        assert.deepEqual([stored?.ts, stored?.origin, stored?.value?.toString() ?? null], [winner.ts, winner.origin, winner.value?.toString() ?? null], `key ${key}`);
      }
      assert.ok(replica.clock.now() >= Math.max(...ops.map((o) => o.ts)), 'the clock observed every received timestamp');
      await log.close();
      await store.close();
    }), { numRuns: 80 });
  });

  it('gives local writes gap-free seqs that continue after a reopen, and timestamps that beat everything seen', async () => {
    await fc.assert(fc.asyncProperty(opsArb, fc.array(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 10 }), async (remote, localKeys) => {
      const fs = new FaultFileSystem();
      let { replica, log, store } = await openReplica(fs);
      await replica.applyRemote(remote);
      const first = await replica.writeLocal(localKeys.slice(0, 3).map((k) => ({ key: Buffer.from(k), value: Buffer.from('local') })));
      assert.equal(first.firstSeq, 1);
      await log.close();
      await store.close();
      ({ replica, log, store } = await openReplica(fs));
      for (const k of localKeys) {
        const before = log.lastSeen('me');
        const r = await replica.writeLocal([{ key: Buffer.from(k), value: null }]);
        assert.equal(r.firstSeq, before + 1);
        const stored = store.get(Buffer.from(k));
        assert.deepEqual([stored?.origin, stored?.value], ['me', null], 'a local write wins over every version the node has seen');
      }
      assert.equal(log.lastSeen('me'), Math.min(3, localKeys.length) + localKeys.length);
      await log.close();
      await store.close();
    }), { numRuns: 40 });
  });

  it('replays from the saved storeReplayLsn every op a crash took from the store, whatever reached it out of log order or before the log was durable', async () => {
    type Step =
      | { kind: 'local'; keys: string[] }
      | { kind: 'remote'; origin: string; keys: string[]; ts: number }
      | { kind: 'flush' | 'tick' | 'micro' | 'settle' | 'save' }
      | { kind: 'cut'; fresh: boolean };
    const keys = fc.array(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 4 });
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('local' as const), keys }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('remote' as const), origin: fc.constantFrom('x', 'y'), keys, ts: fc.integer({ min: 1, max: 60 }) }) },
      { weight: 3, arbitrary: fc.constantFrom({ kind: 'flush' as const }, { kind: 'tick' as const }, { kind: 'micro' as const }, { kind: 'settle' as const }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'save' as const }) },
      // A fresh cut first waits for every write and saves the replay point: the riskiest point to replay from.
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), fresh: fc.boolean() }) },
    );
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 50 }), async (steps) => {
      const fs = new FaultFileSystem();
      const open = async () => {
        // No compaction: a dropped tombstone would let a replayed older op back in.
        const store = await Store.open('/data/store', { fs, sync: 'always', memtableBytes: 1024, compaction: { l0Trigger: 1_000_000 } });
        const log = OpLog.open('/data/replication_log', { fs, sync: 'always', syncIntervalMs: 0 });
        // Slices of 2: batches of up to 4 ops are stored over several event-loop turns.
        return { store, log, replica: new Replica('me', store, log, () => store.flushedLogMark, undefined, 2) };
      };
      let node = await open();
      let pending: Promise<unknown>[] = [];
      /** The replay point as the node's state file holds it: saved now and then, stale after a cut until the next save. */
      let saved = 0;
      const seqs = new Map<string, number>();
      const lastTs = new Map<string, number>();
      const issued = new Set<string>();
      const version = (e: { key: Buffer; ts: number; origin: string }) => `${e.key.toString()}/${e.ts}/${e.origin}`;
      const check = (where: string) => {
        // Every op the log holds is in the store, or beaten there; the store may also keep a
        // received op the log lost (it comes again: a replay of it is the same op).
        for (const op of node.log.read(0, 100_000)) {
          const stored = node.store.get(op.key);
          assert.ok(stored !== undefined && compareVersions(stored, op) >= 0, `${where}: ${version(op)} (lsn ${op.lsn}) is missing from the store`);
          assert.ok(issued.has(version(stored)), `${where}: ${version(stored)} was never written`);
        }
      };
      for (const [i, s] of steps.entries()) {
        if (s.kind === 'local') {
          const muts = s.keys.map((k) => ({ key: Buffer.from(k), value: Buffer.from(`me${i}`) }));
          const ts = node.replica.clock.now();
          muts.forEach((m, j) => issued.add(`${m.key.toString()}/${ts + j + 1}/me`));
          pending.push(node.replica.writeLocal(muts));
        } else if (s.kind === 'remote') {
          // An origin's timestamps grow with its seqs.
          const ts = Math.max(s.ts, (lastTs.get(s.origin) ?? 0) + 1);
          const ops = s.keys.map((k, j): Op => ({ origin: s.origin, seq: (seqs.get(s.origin) ?? 0) + j + 1, ts: ts + j, key: Buffer.from(k), value: Buffer.from(`${s.origin}${i}`) }));
          seqs.set(s.origin, (seqs.get(s.origin) ?? 0) + ops.length);
          lastTs.set(s.origin, ts + ops.length - 1);
          for (const op of ops) issued.add(version(op));
          pending.push(node.replica.applyRemote(ops));
        } else if (s.kind === 'flush') {
          pending.push(node.store.flush());
        } else if (s.kind === 'tick') {
          await new Promise((resolve) => setImmediate(resolve));
        } else if (s.kind === 'micro') {
          // Lets a flush finish while the log's fsync (a macrotask) is still pending.
          for (let n = 0; n < 50; n++) await Promise.resolve();
        } else if (s.kind === 'settle') {
          await Promise.all(pending);
          pending = [];
        } else if (s.kind === 'save') {
          saved = node.replica.storeReplayLsn;
        } else if (s.kind === 'cut') {
          if (s.fresh) {
            await Promise.all(pending);
            saved = node.replica.storeReplayLsn;
          }
          // The power fails with writes in flight: the disk keeps what was fsynced.
          fs.crashAfter(0);
          await Promise.allSettled(pending);
          pending = [];
          fs.crash();
          node = await open();
          await node.replica.replayIntoStore(saved);
          check(`cut at step ${i}, replayed from ${saved}`);
          // Received ops the log lost come again from their origin.
          for (const origin of seqs.keys()) seqs.set(origin, node.log.lastSeen(origin));
        }
        // A replay point past the log's durable end would, after a power cut, skip the ops that
        // then take those LSNs again.
        assert.ok(node.replica.storeReplayLsn <= node.log.durableLsn, `step ${i}: replay point ${node.replica.storeReplayLsn} is past the durable log (${node.log.durableLsn})`);
      }
      await Promise.all(pending);
      check('end');
      await node.log.close();
      await node.store.close();
    }), {
      numRuns: 300,
      examples: [
        // A local op waiting for the log's fsync while a received one after it is flushed.
        [[{ kind: 'local', keys: ['a'] }, { kind: 'remote', origin: 'x', keys: ['c'], ts: 1 }, { kind: 'flush' }, { kind: 'settle' }, { kind: 'save' }, { kind: 'cut', fresh: false }]],
        // A received op flushed before the log's fsync, a cut that loses it from the log, a local op
        // logged at its LSN and acknowledged, then a cut before the next save.
        [[
          { kind: 'remote', origin: 'x', keys: ['a'], ts: 1 }, { kind: 'flush' }, { kind: 'micro' }, { kind: 'save' }, { kind: 'cut', fresh: false },
          { kind: 'local', keys: ['b'] }, { kind: 'tick' }, { kind: 'tick' }, { kind: 'cut', fresh: false },
        ]],
      ],
    });
  });

  it('keeps the replay point before a batch the store refused, however far later marks move', async () => {
    const { store, log, replica, refuse } = await openFlaky();
    await replica.writeLocal([{ key: Buffer.from('a'), value: Buffer.from('1') }]);
    refuse.now = true;
    const refusedAt = log.nextLsn;
    await assert.rejects(replica.writeLocal([{ key: Buffer.from('b'), value: Buffer.from('2') }]), /closing/);
    refuse.now = false;
    await replica.writeLocal([{ key: Buffer.from('c'), value: Buffer.from('3') }]);
    await store.flush();
    assert.ok(store.flushedLogMark > refusedAt, 'the later batch carried a mark past the refused one');
    assert.equal(replica.storeReplayLsn, refusedAt, 'a restart replays the logged op the store never got');
    await log.close();
    await store.close();
  });

  it('stores a big batch in slices: a batch received meanwhile goes through before it ends, and no flush counts the big one stored early', async () => {
    const { replica, log, store } = await openReplica(new FaultFileSystem(), 'me', 100);
    const key = (i: number) => Buffer.from(`k${String(i).padStart(4, '0')}`);
    const bigStart = log.nextLsn;
    const big = replica.writeLocal(Array.from({ length: 1000 }, (_, i) => ({ key: key(i), value: Buffer.from('v') })));
    await new Promise((resolve) => setImmediate(resolve));
    const remote = await replica.applyRemote([{ origin: 'x', seq: 1, ts: 1, key: Buffer.from('remote'), value: Buffer.from('r') }]);
    assert.equal(remote.applied, 1);
    assert.equal(store.get(Buffer.from('remote'))?.value?.toString(), 'r');
    assert.ok(store.get(key(0)) !== undefined, 'the first slice is stored');
    assert.equal(store.get(key(999)), undefined, 'the last slice is not yet');
    const flushing = store.flush();
    await flushing;
    assert.ok(replica.storeReplayLsn <= bigStart, `replay point ${replica.storeReplayLsn} passed the big batch at ${bigStart} before it was all stored`);
    await big;
    for (let i = 0; i < 1000; i++) assert.ok(store.get(key(i)) !== undefined, `k${i}`);
    await store.flush();
    assert.equal(replica.storeReplayLsn, log.nextLsn);
    await log.close();
    await store.close();
  });

  it('marks when received ops were stored, and never marks a seq while an earlier batch of its origin is still being stored', async () => {
    const { replica, log, store } = await openReplica(new FaultFileSystem(), 'me', 100);
    const ops = (from: number, count: number, origin = 'x'): Op[] =>
      Array.from({ length: count }, (_, i) => ({ origin, seq: from + i, ts: from + i, key: Buffer.from(`${origin}${from + i}`), value: Buffer.from('v') }));
    const before = performance.timeOrigin + performance.now();
    const big = replica.applyRemote(ops(1, 1000));
    await new Promise((resolve) => setImmediate(resolve));
    await replica.applyRemote([...ops(1001, 10), ...ops(1, 3, 'y')]);
    assert.deepEqual(replica.appliedMarks.after('x', 0, 10).marks, [], 'x:1001-1010 are stored, x:1-1000 not yet');
    assert.deepEqual(replica.appliedMarks.after('y', 0, 10).marks.map((m) => m.seq), [3]);
    await big;
    const [mark] = replica.appliedMarks.after('x', 0, 10).marks;
    assert.equal(mark.seq, 1010, 'one mark covers both batches once the first is stored');
    assert.ok(mark.atUnixMs >= before && mark.atUnixMs <= performance.timeOrigin + performance.now());
    await replica.writeLocal([{ key: Buffer.from('local'), value: Buffer.from('l') }]);
    assert.deepEqual(replica.appliedMarks.after('me', 0, 10).marks, [], 'local writes are not marks');
    await log.close();
    await store.close();
  });

  it('reports a received batch as durably applied while other origins\' batches are still being stored, never past an unfinished one of its own origin', async () => {
    const { replica, log, store } = await openReplica(new FaultFileSystem(), 'me', 100);
    const ops = (from: number, count: number, origin: string): Op[] =>
      Array.from({ length: count }, (_, i) => ({ origin, seq: from + i, ts: from + i, key: Buffer.from(`${origin}${from + i}`), value: Buffer.from('v') }));
    const local = replica.writeLocal(Array.from({ length: 1000 }, (_, i) => ({ key: Buffer.from(`local${i}`), value: Buffer.from('l') })));
    const bigX = replica.applyRemote(ops(1, 1000, 'x'));
    await new Promise((resolve) => setImmediate(resolve));
    // A sender told "not yet" resends the batch after a backoff: each answer must cover what it stored.
    const y = await replica.applyRemote(ops(1, 5, 'y'));
    assert.ok(replica.storeDurableLsn < log.nextLsn, 'the local batch and x\'s are still being stored');
    assert.deepEqual(y.lastSeen, { y: 5 }, 'y:1-5 are logged and stored though the local batch and x\'s are not done');
    const moreX = await replica.applyRemote(ops(1001, 10, 'x'));
    assert.deepEqual(moreX.lastSeen, { x: 0 }, 'x:1001-1010 are stored, x:1-1000 not yet: last_seen may not jump the gap');
    assert.deepEqual((await bigX).lastSeen, { x: 1010 }, 'both x batches once the first is done');
    await local;
    assert.equal(replica.storeDurableLsn, log.nextLsn);
    await log.close();
    await store.close();
  });

  it('records no applied mark past a batch of its origin the store refused, and keeps marking the other origins', async () => {
    const { store, log, replica, refuse } = await openFlaky();
    const op = (origin: string, seq: number): Op => ({ origin, seq, ts: seq, key: Buffer.from(`${origin}${seq}`), value: Buffer.from('v') });
    await replica.applyRemote([op('x', 1), op('y', 1)]);
    refuse.now = true;
    await assert.rejects(replica.applyRemote([op('x', 2)]), /closing/);
    refuse.now = false;
    await replica.applyRemote([op('x', 3), op('y', 2)]);
    assert.deepEqual(replica.appliedMarks.after('x', 0, 10).marks.map((m) => m.seq), [1], 'x:3 is stored, x:2 is not: no mark may claim both');
    assert.deepEqual(replica.appliedMarks.after('y', 0, 10).marks.map((m) => m.seq), [1, 2], 'other origins keep their marks');
    assert.equal(replica.durableLastSeen('x'), 1, 'x:2 was logged but not stored: last_seen reported to senders stays before it');
    assert.equal(replica.durableLastSeen('y'), 2, 'other origins keep advancing');
    await log.close();
    await store.close();
  });

  it('re-applies logged ops the store lost in a crash', async () => {
    const fs = new FaultFileSystem();
    const { replica, log } = await openReplica(fs);
    // The log is closed (synced), the store ('none') is not: a crash loses the store's copy.
    await replica.writeLocal([{ key: Buffer.from('a'), value: Buffer.from('1') }, { key: Buffer.from('b'), value: Buffer.from('2') }]);
    await log.close();
    fs.crash();
    const reopened = await openReplica(fs);
    assert.equal(reopened.store.get(Buffer.from('a')), undefined, 'the store lost the unsynced writes');
    assert.equal(await reopened.replica.replayIntoStore(0), 2);
    assert.equal(reopened.store.get(Buffer.from('b'))?.value?.toString(), '2');
    await reopened.log.close();
    await reopened.store.close();
  });
});
