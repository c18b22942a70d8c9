// Merkle anti-entropy across real node processes. The replicas are made to diverge the way a
// replication log cannot repair: their stores are written before the nodes start (as after a
// restore from an old backup or a lost disk), so their version vectors agree and pull sync has
// nothing to send; only the Merkle comparison finds the differing keys.
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { unary } from '../../rpc';
import type { Entry } from '../../storage/types';
import { waitFor } from '../test-harness';
import { call, startPair, stopPair, type Pair } from './test-pair';

const b = (s: string) => Buffer.from(s);
const KEYS = 100_000;
const keyOf = (i: number) => b(`key-${String(i).padStart(6, '0')}`);
const valueOf = (i: number) => b(`value-of-key-${String(i).padStart(6, '0')}`);

/** The one tree of a node without a partition map. */
const whole = { partitionId: 0, mapVersion: 0 };
const root = async (pair: Pair, i: number) => (await call(pair, i, (c) => c.merkleSummary, { level: 0, indexes: [0], ...whole })).hashes[0];
/** The stored version of `key` on node i (tombstones too), read through ExchangeEntries. */
async function stored(pair: Pair, i: number, key: Buffer): Promise<{ value: string | null } | undefined> {
  const res = await call(pair, i, (c) => c.exchangeEntries, { sender: 'tester', entries: [], want: [key], ...whole });
  const e = res.entries[0];
  return e && { value: e.deleted ? null : e.value.toString() };
}

function base(count: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ key: keyOf(i), value: valueOf(i), ts: 1 + i, origin: 'seed' }));
}

async function rejects(p: Promise<unknown>, field: string): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => err.code === status.INVALID_ARGUMENT && err.details.includes(field));
}

describe('Merkle anti-entropy (real processes)', function () {
  this.timeout(180_000);

  describe('two replicas of 100,000 keys differing in 10', () => {
    let pair: Pair;
    const fullBytes = base(KEYS).reduce((n, e) => n + e.key.length + (e.value?.length ?? 0) + 8 + e.origin.length, 0);
    before(async () => {
      const fresh = (i: number, origin: string): Entry => ({ key: keyOf(i), value: b(`fresh-${origin}-${i}`), ts: 1_000_000, origin });
      const n1 = [...base(KEYS), fresh(0, 'n1'), fresh(1, 'n1'), fresh(2, 'n1'), fresh(3, 'n1'), { key: b('only-on-n1'), value: b('x'), ts: 5, origin: 'n1' }];
      const n2 = [...base(KEYS), fresh(4, 'n2'), fresh(5, 'n2'), fresh(6, 'n2'), fresh(7, 'n2'), { key: keyOf(8), value: null, ts: 1_000_000, origin: 'n2' }];
      // Periodic rounds are an hour apart: the one round in this test is the Repair.
      pair = await startPair([n1, n2], { antiEntropyIntervalMs: 3_600_000 });
    });
    after(async () => {
      if (pair) await stopPair(pair);
    });

    it('converges in one Repair round exchanging only the 10 keys, with bytes far below a full copy', async () => {
      assert.notDeepEqual(await root(pair, 0), await root(pair, 1));
      const report = await call(pair, 0, (c) => c.repair, { peers: [] });
      assert.equal(report.peers.length, 1);
      const r = report.peers[0];
      assert.equal(r.ok, true, r.error);
      assert.equal(r.peer, 'n2');
      assert.equal(r.keysSent, 5, 'n1 pushes its 4 newer keys and the key only it has');
      assert.equal(r.keysReceived, 5, 'n1 pulls n2\'s 4 newer keys and its tombstone');
      assert.equal(r.keysSent + r.keysReceived, 10, 'each divergent key moved once, one way');
      assert.ok(r.bucketsCompared >= 1 && r.bucketsCompared <= 10, `buckets compared: ${r.bucketsCompared}`);
      const bytes = r.bytesSent + r.bytesReceived;
      // ~341 hashes on the descent, ≤10 leaf buckets of ~24 (key, version) pairs, 10 entries.
      assert.ok(bytes < 64 * 1024, `exchanged ${bytes} bytes`);
      assert.ok(bytes < fullBytes / 50, `exchanged ${bytes} bytes against ${fullBytes} for a full copy`);

      assert.deepEqual(await root(pair, 0), await root(pair, 1), 'equal roots: all 100,001 keys agree');
      for (const i of [0, 1]) {
        assert.deepEqual(await stored(pair, i, keyOf(0)), { value: 'fresh-n1-0' });
        assert.deepEqual(await stored(pair, i, keyOf(7)), { value: 'fresh-n2-7' });
        assert.deepEqual(await stored(pair, i, b('only-on-n1')), { value: 'x' });
        assert.deepEqual(await stored(pair, i, keyOf(8)), { value: null }, 'the tombstone won');
        assert.deepEqual(await stored(pair, i, keyOf(9)), { value: valueOf(9).toString() });
      }
      const s1 = await call(pair, 0, (c) => c.convergenceStats, {});
      const s2 = await call(pair, 1, (c) => c.convergenceStats, {});
      assert.equal(s1.rounds, 1);
      assert.equal(s1.keysSent, 5);
      assert.equal(s1.keysReceived, 5);
      assert.equal(s1.bytesSent + s1.bytesReceived, bytes);
      assert.equal(s2.keysRepairedByPeers, 5);
      assert.equal(s1.merkleKeys, KEYS, 'live keys: one more than seeded, one deleted (trees do not record tombstones)');
      assert.deepEqual(s1.merkleRoot, s2.merkleRoot);
    });

    it('a second round finds equal roots and exchanges nothing', async () => {
      const report = await call(pair, 1, (c) => c.repair, { peers: ['n1'] });
      const r = report.peers[0];
      assert.equal(r.ok, true, r.error);
      assert.equal(r.rootsMatched, true);
      assert.equal(r.keysSent + r.keysReceived, 0);
      assert.equal(r.rangesCompared, 1);
    });

    it('keeps the tree current as writes arrive (no rebuild): a new write changes the root the same way on both', async () => {
      await unary(pair.nodes[0].client, pair.nodes[0].client.batchPut, { entries: [{ key: b('after'), value: b('v') }] }, { token: pair.token, timeoutMs: 10_000 });
      await waitFor('the write replicated and both roots equal', async () => (await stored(pair, 1, b('after'))) !== undefined && (await root(pair, 0)).equals(await root(pair, 1)));
      const s = await call(pair, 1, (c) => c.convergenceStats, {});
      assert.equal(s.merkleKeys, KEYS + 1);
    });

    it('rejects bad requests naming the field, changing nothing', async () => {
      await rejects(call(pair, 0, (c) => c.merkleSummary, { level: 9, indexes: [0], ...whole }), 'level');
      await rejects(call(pair, 0, (c) => c.merkleSummary, { level: 1, indexes: [16], ...whole }), 'indexes[0]');
      await rejects(call(pair, 0, (c) => c.merkleSummary, { level: 1, indexes: [], ...whole }), 'indexes');
      await rejects(call(pair, 0, (c) => c.merkleDiff, { buckets: [4096], ...whole }), 'buckets[0]');
      await rejects(call(pair, 0, (c) => c.repair, { peers: ['n9'] }), 'peers[0]');
      const bad = { key: b('injected'), value: b('v'), deleted: false, ts: 7, origin: 'no spaces allowed' };
      await rejects(call(pair, 0, (c) => c.exchangeEntries, { sender: 'n2', entries: [bad], want: [], ...whole }), 'entries[0].origin');
      await rejects(call(pair, 0, (c) => c.exchangeEntries, { sender: 'n2', entries: [{ ...bad, origin: 'n2', ts: 0 }], want: [], ...whole }), 'entries[0].ts');
      await rejects(call(pair, 0, (c) => c.exchangeEntries, { sender: 'n2', entries: [], want: [Buffer.alloc(0)], ...whole }), 'want[0]');
      assert.equal(await stored(pair, 0, b('injected')), undefined);
      await assert.rejects(call(pair, 0, (c) => c.crdtGet, { key: b('likes') }),
        (err: ServiceError) => err.code === status.FAILED_PRECONDITION && /consistencyMode is "lww"/.test(err.details));
    });
  });

  it('periodic rounds converge replicas without being asked', async () => {
    const pair = await startPair([
      [...base(1000), { key: keyOf(3), value: b('newer'), ts: 10_000, origin: 'n1' }],
      [...base(1000), { key: b('extra'), value: b('e'), ts: 3, origin: 'n2' }],
    ], { antiEntropyIntervalMs: 200 });
    try {
      await waitFor('equal roots', async () => (await root(pair, 0)).equals(await root(pair, 1)));
      assert.deepEqual(await stored(pair, 1, keyOf(3)), { value: 'newer' });
      assert.deepEqual(await stored(pair, 0, b('extra')), { value: 'e' });
      const s = await call(pair, 0, (c) => c.convergenceStats, {});
      assert.ok(s.rounds >= 1);
    } finally {
      await stopPair(pair);
    }
  });
});
