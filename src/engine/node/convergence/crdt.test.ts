// consistencyMode "crdt" across real node processes: ops on two nodes merge on both (the seed
// spec's example: n1 adds 1, n2 adds 2, both read 3), an OR-Set's adds and removes converge,
// concurrent ops on one node never lose an update, and anti-entropy merges states that only
// the stores hold instead of letting one overwrite the other.
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { applyCrdtOp } from '../../crdt/registry';
import { CrdtOpKind, type CrdtUpdateRequest } from '../../gen/ringdb/v1/convergence';
import { unary } from '../../rpc';
import { waitFor } from '../test-harness';
import { call, restartWithLostFolder, startPair, stopPair, type Pair } from './test-pair';

const b = (s: string) => Buffer.from(s);
const op = (key: string, kind: CrdtOpKind, extra: Partial<CrdtUpdateRequest> = {}): CrdtUpdateRequest => ({ key: b(key), op: kind, by: 0, element: Buffer.alloc(0), ...extra });
const { CRDT_OP_KIND_INCREMENT: INCR, CRDT_OP_KIND_DECREMENT: DECR, CRDT_OP_KIND_ADD: ADD, CRDT_OP_KIND_REMOVE: REMOVE } = CrdtOpKind;

describe('crdt consistency mode (real processes)', function () {
  this.timeout(120_000);
  let pair: Pair;
  const value = async (i: number, key: string) => (await call(pair, i, (c) => c.crdtGet, { key: b(key) })).value!;
  const members = async (i: number, key: string) => (await value(i, key)).elements.map((e) => e.toString()).sort();

  before(async () => {
    // Only the stores know these: pull sync has no op to send, the Merkle rounds must merge them.
    const seeded = (replica: string, by: number) => ({ key: b('seeded'), value: applyCrdtOp('gcounter', undefined, { op: 'increment', by }, replica), ts: 50, origin: replica });
    // `junk`: a plain value stored before the key was named a CRDT (what a Put of one used to leave).
    const junk = { key: b('junk'), value: b('100'), ts: 40, origin: 'n1' };
    pair = await startPair([[seeded('n1', 5), junk], [seeded('n2', 7)]], {
      antiEntropyIntervalMs: 300, consistencyMode: 'crdt',
      crdt: { c: 'gcounter', likes: 'pncounter', tags: 'orset', seeded: 'gcounter', junk: 'gcounter', title: 'lwwregister' },
    });
  });
  after(async () => {
    if (pair) await stopPair(pair);
  });

  it('n1 adds 1, n2 adds 2: both read 3', async () => {
    const [r1, r2] = await Promise.all([
      call(pair, 0, (c) => c.crdtUpdate, op('c', INCR, { by: 1 })),
      call(pair, 1, (c) => c.crdtUpdate, op('c', INCR, { by: 2 })),
    ]);
    assert.equal(r1.value?.type, 'gcounter');
    assert.ok(r1.value?.count === 1 || r1.value?.count === 3);
    assert.ok(r2.value?.count === 2 || r2.value?.count === 3);
    await waitFor('3 on both', async () => (await value(0, 'c')).count === 3 && (await value(1, 'c')).count === 3);
  });

  it('never loses one of many concurrent ops on one node', async () => {
    await Promise.all(Array.from({ length: 20 }, () => call(pair, 0, (c) => c.crdtUpdate, op('likes', INCR))));
    await Promise.all(Array.from({ length: 5 }, () => call(pair, 1, (c) => c.crdtUpdate, op('likes', DECR, { by: 2 }))));
    await waitFor('10 likes on both', async () => (await value(0, 'likes')).count === 10 && (await value(1, 'likes')).count === 10);
  });

  it('converges an OR-Set\'s adds and removes made on different nodes', async () => {
    await call(pair, 0, (c) => c.crdtUpdate, op('tags', ADD, { element: b('red') }));
    await call(pair, 1, (c) => c.crdtUpdate, op('tags', ADD, { element: b('blue') }));
    await waitFor('both tags on both', async () => (await members(0, 'tags')).join() === 'blue,red' && (await members(1, 'tags')).join() === 'blue,red');
    await call(pair, 1, (c) => c.crdtUpdate, op('tags', REMOVE, { element: b('red') }));
    await waitFor('red removed on both', async () => (await members(0, 'tags')).join() === 'blue' && (await members(1, 'tags')).join() === 'blue');
  });

  it('anti-entropy merges states that only the stores hold (5 + 7 = 12 on both)', async () => {
    await waitFor('12 on both', async () => (await value(0, 'seeded')).count === 12 && (await value(1, 'seeded')).count === 12);
    await waitFor('equal roots', async () => {
      const [a, c] = await Promise.all([0, 1].map((i) => call(pair, i, (x) => x.merkleSummary, { level: 0, indexes: [0], partitionId: 0, mapVersion: 0 })));
      return a.hashes[0].equals(c.hashes[0]);
    });
  });

  it('rejects keys that are not CRDT keys and ops a type does not take, naming the field', async () => {
    const invalid = (field: string, text: RegExp) => (err: ServiceError) => err.code === status.INVALID_ARGUMENT && err.details.startsWith(`${field}:`) && text.test(err.details);
    await assert.rejects(call(pair, 0, (c) => c.crdtUpdate, op('plain', INCR)), invalid('key', /"plain" is not a CRDT key; CRDT keys: c, likes, tags, seeded, junk, title/));
    await assert.rejects(call(pair, 0, (c) => c.crdtGet, { key: b('plain') }), invalid('key', /not a CRDT key/));
    await assert.rejects(call(pair, 0, (c) => c.crdtUpdate, op('c', DECR)), invalid('op', /gcounter does not support "decrement"/));
    await assert.rejects(call(pair, 0, (c) => c.crdtUpdate, op('c', CrdtOpKind.CRDT_OP_KIND_UNSPECIFIED)), invalid('op', /must be INCREMENT/));
    assert.equal((await value(0, 'c')).count, 3);
  });

  it('refuses a Put or BatchPut of a CRDT key, naming its type and the ops to use, and stores nothing', async () => {
    const node = (i: number) => pair.nodes[i].client;
    const opts = { token: pair.token, timeoutMs: 30_000 };
    const invalid = (field: string, text: RegExp) => (err: ServiceError) => err.code === status.INVALID_ARGUMENT && err.details.startsWith(`${field}:`) && text.test(err.details);
    await assert.rejects(unary(node(0), node(0).put, { key: b('c'), value: b('100') }, opts),
      invalid('key', /"c" is a CRDT key of type gcounter .*nothing was written; change it with `ringdb incr c \[--by N\]` \(client API: crdtUpdate\(key, "increment"\)\), or reset it with `ringdb delete c`/));
    await assert.rejects(unary(node(1), node(1).put, { key: b('title'), value: b('hello') }, opts), invalid('key', /"title" is a CRDT key of type lwwregister .*`ringdb set title <value>`/));
    await assert.rejects(unary(node(1), node(1).put, { key: b('likes'), value: b('1') }, opts), invalid('key', /type pncounter .*`ringdb decr likes \[--by N\]`/));
    // The whole batch is refused: its plain entry is not written either.
    await assert.rejects(unary(node(0), node(0).batchPut, { entries: [{ key: b('plain-1'), value: b('v') }, { key: b('tags'), value: b('x') }] }, opts),
      invalid('entries[1].key', /"tags" is a CRDT key of type orset .*`ringdb sadd tags <element>`/));
    assert.equal((await unary(node(0), node(0).get, { key: b('plain-1') }, opts)).found, false);
    assert.equal((await value(0, 'c')).count, 3);
    assert.equal((await value(1, 'c')).count, 3);
    // Delete stays allowed: it resets the key.
    await unary(node(0), node(0).delete, { key: b('c') }, opts);
    await call(pair, 0, (c) => c.crdtUpdate, op('c', INCR, { by: 4 }));
    await waitFor('4 on both after the reset', async () => (await value(0, 'c')).count === 4 && (await value(1, 'c')).count === 4);
  });

  it('says a stored value that is no state of the key\'s type is damaged and how to reset it (FAILED_PRECONDITION)', async () => {
    const damaged = (err: ServiceError) => err.code === status.FAILED_PRECONDITION
      && /the stored value of "junk" is not a gcounter state \(.*format version 49.*\); .*`ringdb delete junk` resets it/.test(err.details);
    await assert.rejects(call(pair, 0, (c) => c.crdtGet, { key: b('junk') }), damaged);
    await assert.rejects(call(pair, 0, (c) => c.crdtUpdate, op('junk', INCR)), damaged);
    await unary(pair.nodes[0].client, pair.nodes[0].client.delete, { key: b('junk') }, { token: pair.token, timeoutMs: 30_000 });
    assert.equal((await call(pair, 0, (c) => c.crdtUpdate, op('junk', INCR))).value?.count, 1);
  });
});

describe('crdt consistency mode: a node that lost its folder (real processes)', function () {
  this.timeout(120_000);
  let pair: Pair;
  const count = async (i: number) => (await call(pair, i, (c) => c.crdtGet, { key: b('c') })).value!.count;

  before(async () => {
    pair = await startPair([[], []], { antiEntropyIntervalMs: 3_600_000, consistencyMode: 'crdt', crdt: { c: 'gcounter' } });
  });
  after(async () => {
    if (pair) await stopPair(pair);
  });

  it('counts an increment made after the loss on top of its own earlier ones', async () => {
    for (let i = 0; i < 5; i++) await call(pair, 0, (c) => c.crdtUpdate, op('c', INCR));
    await waitFor('5 on n2', async () => (await count(1)) === 5);
    await restartWithLostFolder(pair, 0);
    // Its own slot was 5 on n2; an increment from an empty state (1) would merge to max(5, 1) = 5.
    await call(pair, 0, (c) => c.crdtUpdate, op('c', INCR));
    await waitFor('6 on both', async () => (await count(0)) === 6 && (await count(1)) === 6);
  });
});
