import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { Store } from '../storage';
import { FaultFileSystem } from '../storage/fault-fs';
import { compareVersions } from '../storage/types';
import type { Op } from './op-codec';
import { OpLog } from './op-log';
import { Replica } from './replica';

const KEYS = ['a', 'b', 'c', 'd'];

async function openReplica(fs: FaultFileSystem, id = 'me'): Promise<{ replica: Replica; log: OpLog; store: Store }> {
  const store = await Store.open('/data/store', { fs, sync: 'none', autoCompact: false });
  const log = OpLog.open('/data/replication_log', { fs, sync: 'none', syncIntervalMs: 0 });
  return { replica: new Replica(id, store, log, () => store.flushedLogMark), log, store };
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
