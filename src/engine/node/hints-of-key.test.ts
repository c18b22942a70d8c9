// ListHints by key on a real node process holding more hints than one listing returns: the key's
// own hints, stored after 11,000 hints of other keys, are found by key (a listing capped at
// 10,000, oldest first, never reached them), the counts and total are the key's, and a bad key is
// refused naming the field.
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { HintToStore } from '../gen/ringdb/v1/node';
import { NodeClient } from '../client/node-client';
import { MAX_STORE_HINTS } from './substitute-writes';
import { TestCluster } from './test-harness';

const OTHERS = 11_000;

describe('ListHints by key (real processes, a node holding over 10,000 hints)', function () {
  this.timeout(120_000);
  let c: TestCluster;

  const hint = (key: string, seq: number): HintToStore => ({
    target: 'n2', opId: `n1:${seq}`, entry: { key: Buffer.from(key), value: Buffer.from(`v${seq}`), deleted: false, version: { ts: seq, origin: 'n1', opId: '' } },
  });

  before(async () => {
    c = await TestCluster.start(2, { heartbeatIntervalMs: 100 });
    // Hints for a member that is down wait for it: none is handed over during the test.
    await c.kill('n2');
    const others = Array.from({ length: OTHERS }, (_, i) => hint(`other-${i}`, i + 1));
    for (let i = 0; i < others.length; i += MAX_STORE_HINTS) {
      await c.call('n1', (x) => x.storeHints, { hints: others.slice(i, i + MAX_STORE_HINTS) });
    }
    await c.call('n1', (x) => x.storeHints, { hints: [hint('crowded', OTHERS + 1), hint('crowded', OTHERS + 2)] });
  });
  after(async () => {
    await c?.stop();
  });

  it('lists the hints of one key, however many hints of other keys are older', async () => {
    const all = await c.call('n1', (x) => x.listHints, { limit: 10_000 });
    assert.equal(all.total, OTHERS + 2);
    assert.ok(all.hints.every((h) => h.key.toString() !== 'crowded'), 'the capped listing of every key stops before the key\'s hints');

    const res = await c.call('n1', (x) => x.listHints, { limit: 0, key: Buffer.from('crowded') });
    assert.deepEqual(res.hints.map((h) => [h.key.toString(), h.target, h.opId]), [['crowded', 'n2', `n1:${OTHERS + 1}`], ['crowded', 'n2', `n1:${OTHERS + 2}`]]);
    assert.equal(res.total, 2);
    assert.deepEqual(res.counts, [{ target: 'n2', count: 2 }]);
    assert.equal((await c.call('n1', (x) => x.listHints, { limit: 0, key: Buffer.from('never-hinted') })).total, 0);

    const { address } = c.node('n1');
    const client = new NodeClient({ address, token: c.token, nodeId: 'n1' });
    try {
      const held = await client.listHints({ key: 'crowded' });
      assert.deepEqual(held.map((h) => h.opId), [`n1:${OTHERS + 1}`, `n1:${OTHERS + 2}`]);
    } finally {
      client.close();
    }
  });

  it('lists a target\'s newest hints first, however many older ones it keeps (the Hints view\'s key rows)', async () => {
    const res = await c.call('n1', (x) => x.listHints, { limit: 3, target: 'n2', newestFirst: true });
    assert.deepEqual(res.hints.map((h) => h.opId), [`n1:${OTHERS + 2}`, `n1:${OTHERS + 1}`, `n1:${OTHERS}`]);
    assert.equal(res.total, OTHERS + 2);
    assert.deepEqual(res.counts, [{ target: 'n2', count: OTHERS + 2 }]);
    const none = await c.call('n1', (x) => x.listHints, { limit: 3, target: 'n9', newestFirst: true });
    assert.deepEqual([none.hints.length, none.total, none.counts], [0, 0, []]);
    await assert.rejects(c.call('n1', (x) => x.listHints, { limit: 1, target: 'not a node' }), (err: ServiceError) => {
      assert.equal(err.code, status.INVALID_ARGUMENT, `${err.code}: ${err.details}`);
      assert.match(err.details, /^target: must be a node id matching .*, got "not a node"$/);
      return true;
    });
    const { address } = c.node('n1');
    const client = new NodeClient({ address, token: c.token, nodeId: 'n1' });
    try {
      assert.deepEqual((await client.listHints({ target: 'n2', newestFirst: true, limit: 2 })).map((h) => h.key.toString()), ['crowded', 'crowded']);
    } finally {
      client.close();
    }
  });

  it('refuses an empty or oversized key, saying what is accepted', async () => {
    for (const [key, got] of [[Buffer.alloc(0), 'an empty key'], [Buffer.alloc(65_537, 1), '65537']] as const) {
      await assert.rejects(c.call('n1', (x) => x.listHints, { limit: 0, key }), (err: ServiceError) => {
        assert.equal(err.code, status.INVALID_ARGUMENT, `${err.code}: ${err.details}`);
        assert.equal(err.details, `key: must be 1 to 65536 bytes, got ${got}`);
        return true;
      });
    }
  });
});
