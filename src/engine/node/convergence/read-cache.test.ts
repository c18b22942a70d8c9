// The read cache (cacheSize) across real node processes: it serves repeated reads, and it never
// returns a version the node has already superseded, whichever path superseded it — a write
// replicated from another node, a local write, an anti-entropy repair.
import assert from 'node:assert/strict';
import { unary } from '../../rpc';
import { waitFor } from '../test-harness';
import { call, startPair, stopPair, type Pair } from './test-pair';

const b = (s: string) => Buffer.from(s);

describe('read cache (real processes)', function () {
  this.timeout(120_000);
  let pair: Pair;
  const put = (i: number, key: string, value: string) =>
    unary(pair.nodes[i].client, pair.nodes[i].client.put, { key: b(key), value: b(value) }, { token: pair.token, timeoutMs: 10_000 });
  const read = async (i: number, key: string) => {
    const r = await unary(pair.nodes[i].client, pair.nodes[i].client.get, { key: b(key) }, { token: pair.token, timeoutMs: 10_000 });
    return r.found ? r.value.toString() : undefined;
  };
  const stats = (i: number) => call(pair, i, (c) => c.convergenceStats, {});

  before(async () => {
    // 'repaired' is newer on n1 than on n2 in the stores only: only a repair brings it to n2.
    pair = await startPair([
      [{ key: b('repaired'), value: b('new'), ts: 20, origin: 'n1' }],
      [{ key: b('repaired'), value: b('old'), ts: 10, origin: 'n2' }],
    ], { antiEntropyIntervalMs: 3_600_000, cacheSize: 1000 });
  });
  after(async () => {
    if (pair) await stopPair(pair);
  });

  it('serves repeated reads from the cache', async () => {
    await put(1, 'hot', 'v');
    const before = await stats(1);
    for (let i = 0; i < 10; i++) assert.equal(await read(1, 'hot'), 'v');
    const after = await stats(1);
    assert.ok(after.cacheHits - before.cacheHits >= 9, `hits ${before.cacheHits} -> ${after.cacheHits}`);
    assert.ok(after.cacheEntries >= 1);
  });

  it('never returns a version superseded by a write replicated from another node', async () => {
    await put(0, 'k', 'v1');
    await waitFor('v1 on n2', async () => (await read(1, 'k')) === 'v1');
    for (let i = 0; i < 5; i++) assert.equal(await read(1, 'k'), 'v1');
    const hitsBefore = (await stats(1)).cacheHits;
    await put(0, 'k', 'v2');
    // With a cache that missed the replicated op, n2 would answer v1 forever.
    await waitFor('v2 on n2', async () => (await read(1, 'k')) === 'v2');
    for (let i = 0; i < 20; i++) assert.equal(await read(1, 'k'), 'v2', 'once superseded, never again');
    const s = await stats(1);
    assert.ok(s.cacheHits > hitsBefore);
    assert.ok(s.cacheInvalidations >= 2);
  });

  it('never returns a version superseded by a local write', async () => {
    for (let i = 0; i < 10; i++) {
      await put(1, 'mine', `v${i}`);
      assert.equal(await read(1, 'mine'), `v${i}`);
      assert.equal(await read(1, 'mine'), `v${i}`);
    }
  });

  it('never returns a version superseded by an anti-entropy repair', async () => {
    assert.equal(await read(1, 'repaired'), 'old');
    assert.equal(await read(1, 'repaired'), 'old');
    const report = await call(pair, 1, (c) => c.repair, { peers: ['n1'] });
    assert.equal(report.peers[0].ok, true, report.peers[0].error);
    assert.equal(await read(1, 'repaired'), 'new');
  });
});
