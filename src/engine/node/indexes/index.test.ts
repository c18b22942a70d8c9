// Secondary indexes (indexFields) across real node processes: rebuilt from storage on start,
// kept current by puts, deletes and replicated ops, queried across the cluster from any node.
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { IndexKind } from '../../gen/ringdb/v1/convergence';
import { unary } from '../../rpc';
import { call, startPair, stopPair, type Pair } from '../convergence/test-pair';
import { waitFor } from '../test-harness';

const b = (s: string) => Buffer.from(s);
const doc = (o: object) => b(JSON.stringify(o));

describe('secondary indexes (real processes)', function () {
  this.timeout(120_000);
  let pair: Pair;
  const query = async (i: number, field: string, value: string, localOnly = false) =>
    (await call(pair, i, (c) => c.queryIndex, { field, value, localOnly, kind: IndexKind.INDEX_KIND_UNSPECIFIED })).keys.map((k) => k.toString());
  const put = (i: number, key: string, value: Buffer) =>
    unary(pair.nodes[i].client, pair.nodes[i].client.put, { key: b(key), value }, { token: pair.token, timeoutMs: 10_000 });

  before(async () => {
    // Each store holds a record the other lacks and anti-entropy is an hour away: a query must ask both nodes.
    pair = await startPair([
      [{ key: b('p1'), value: doc({ color: 'red', size: 3 }), ts: 1, origin: 'n1' }, { key: b('plain'), value: b('not json'), ts: 1, origin: 'n1' }],
      [{ key: b('p2'), value: doc({ color: 'red' }), ts: 1, origin: 'n2' }, { key: b('sized'), value: doc({ color: 7 }), ts: 1, origin: 'n2' }],
    ], { antiEntropyIntervalMs: 3_600_000, indexFields: ['color'] });
  });
  after(async () => {
    if (pair) await stopPair(pair);
  });

  it('rebuilds from storage on start and answers across the cluster from any node', async () => {
    assert.deepEqual(await query(0, 'color', 'red', true), ['p1']);
    assert.deepEqual(await query(1, 'color', 'red', true), ['p2']);
    assert.deepEqual(await query(0, 'color', 'red'), ['p1', 'p2']);
    assert.deepEqual(await query(1, 'color', 'red'), ['p1', 'p2']);
    assert.deepEqual(await query(0, 'color', '7'), ['sized'], 'numbers match by their JSON text');
  });

  it('follows puts, updates, deletes and replicated ops', async () => {
    await put(1, 'p3', doc({ color: 'red' }));
    await waitFor('p3 replicated into n1\'s index', async () => (await query(0, 'color', 'red', true)).includes('p3'));
    await put(0, 'p1', doc({ color: 'blue' }));
    await waitFor('p1 moved to blue on n2', async () => (await query(1, 'color', 'blue', true)).join() === 'p1');
    assert.deepEqual(await query(1, 'color', 'red'), ['p2', 'p3']);
    await unary(pair.nodes[0].client, pair.nodes[0].client.delete, { key: b('p3') }, { token: pair.token, timeoutMs: 10_000 });
    await waitFor('p3 gone from both', async () => (await query(0, 'color', 'red')).join() === 'p2' && !(await query(1, 'color', 'red', true)).includes('p3'));
  });

  it('stores a value that is not a JSON object and does not index it', async () => {
    await put(0, 'weird', b('{"color": "red"'));
    const got = await unary(pair.nodes[0].client, pair.nodes[0].client.get, { key: b('weird') }, { token: pair.token, timeoutMs: 10_000 });
    assert.equal(got.value.toString(), '{"color": "red"');
    assert.ok(!(await query(0, 'color', 'red')).includes('weird'));
  });

  it('rejects an unindexed field, naming it and the indexed ones', async () => {
    await assert.rejects(call(pair, 0, (c) => c.queryIndex, { field: 'size', value: '3', localOnly: false, kind: IndexKind.INDEX_KIND_UNSPECIFIED }),
      (err: ServiceError) => err.code === status.INVALID_ARGUMENT && err.details === 'field: "size" is not indexed; indexFields: color; globalIndexFields: none');
  });
});
