// consistencyMode "vector" across real node processes: concurrent writes are kept as siblings on
// every node, a write naming the read context collapses them, siblings survive Merkle repair,
// replication to a node that was down and a restart, ordinary Get/Put/Delete/Scan behave as a
// Riak user expects, bad input is rejected and changes nothing, and under a partition map
// (N=2 of 3 nodes) a node that holds no copy forwards writes and merges R replicas' siblings.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { VectorClock } from '../../clock/vector-clock';
import { encodeSiblings, type StoredValue, type Version } from '../../clock/vector-clock-siblings';
import type { VectorGetResponse, VectorPutRequest } from '../../gen/ringdb/v1/convergence';
import { createPartitionMap, preferenceList } from '../../partitioning';
import { PeerState } from '../../gen/ringdb/v1/node';
import { unary } from '../../rpc';
import { partitionMapToProto } from '../../rpc/partition-map-proto';
import { spawnNode, waitFor } from '../test-harness';
import { call, restartWithLostFolder, startPair, stopPair, type Pair } from './test-pair';

const b = (s: string) => Buffer.from(s);
const EMPTY = Buffer.alloc(0);
const put = (key: string, value: string, context: Buffer = EMPTY, extra: Partial<VectorPutRequest> = {}): VectorPutRequest => ({
  key: b(key), value: b(value), deleted: false, context, w: 0, forwarded: false, ...extra,
});
const values = (r: VectorGetResponse) => r.siblings.map((s) => (s.deleted ? '<deleted>' : s.value.toString())).sort();
const isCode = (code: status, field: string | undefined, text: RegExp) => (err: ServiceError) =>
  err.code === code && (field === undefined || err.details.startsWith(`${field}:`)) && text.test(err.details);

async function kill(pair: Pair, i: number): Promise<void> {
  const { proc } = pair.nodes[i];
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

/** SIGKILL (if still running) and start again on the same folder and port, then rejoin the mesh. */
async function restart(pair: Pair, i: number): Promise<void> {
  const old = pair.nodes[i];
  await kill(pair, i);
  old.client.close();
  pair.nodes[i] = await spawnNode({ ...old.config, port: old.port, newMember: false }, path.join(pair.dir, `${old.id}.json`));
  const peers = pair.nodes.map((n) => ({ id: n.id, address: n.address }));
  const n = pair.nodes[i];
  await unary(n.client, n.client.updateMembership, { peers, topology: {} }, { token: pair.token, timeoutMs: 10_000 });
}

describe('vector consistency mode (real processes)', function () {
  this.timeout(120_000);
  let pair: Pair;
  const get = (i: number, key: string) => call(pair, i, (c) => c.vectorGet, { key: b(key), r: 0, direct: false });
  const everywhere = async (key: string, expected: string[]) => {
    for (let i = 0; i < pair.nodes.length; i++) if ((await get(i, key)).siblings.length !== expected.length || values(await get(i, key)).join() !== expected.join()) return false;
    return true;
  };

  before(async () => {
    // Only the stores hold these two sets: no op exists, so only Merkle anti-entropy can merge them.
    const version = (node: string, value: string): Version<StoredValue> => ({ value: b(value), dot: { node, counter: 1 }, context: VectorClock.EMPTY });
    const seeded = (node: string, value: string) => ({ key: b('seeded'), value: encodeSiblings([version(node, value)]), ts: 50, origin: node });
    pair = await startPair([[seeded('n1', 'from-n1')], [seeded('n2', 'from-n2')]], { antiEntropyIntervalMs: 300, consistencyMode: 'vector' });
  });
  after(async () => {
    if (pair) await stopPair(pair);
  });

  it('keeps writes raced on two nodes from the same context as siblings on both, and a write naming the context collapses them', async () => {
    const v0 = await call(pair, 0, (c) => c.vectorPut, put('k', 'v0'));
    await waitFor('v0 on both', () => everywhere('k', ['v0']));
    const read = await get(1, 'k');
    assert.deepEqual(read.siblings[0].clock, { n1: v0.dotCounter });
    const [a, c] = await Promise.all([
      call(pair, 0, (x) => x.vectorPut, put('k', 'a', read.context)),
      call(pair, 1, (x) => x.vectorPut, put('k', 'b', read.context)),
    ]);
    // Dot counters come from each node's Lamport clock: they grow per node, with gaps.
    assert.deepEqual([a.dotNode, c.dotNode], ['n1', 'n2']);
    assert.ok(a.dotCounter > v0.dotCounter && c.dotCounter >= 1);
    await waitFor('siblings a and b (v0 superseded) on both', () => everywhere('k', ['a', 'b']));
    const both = await get(0, 'k');
    assert.deepEqual(both.siblings.map((s) => s.clock), [{ n1: a.dotCounter }, { n1: v0.dotCounter, n2: c.dotCounter }]);
    assert.deepEqual(VectorClock.decode(both.context).clock.toJSON(), { n1: a.dotCounter, n2: c.dotCounter });

    const resolved = await call(pair, 1, (x) => x.vectorPut, put('k', 'ab', both.context));
    assert.equal(resolved.dotNode, 'n2');
    await waitFor('one sibling on both', () => everywhere('k', ['ab']));
  });

  it('adds a sibling for a write without context, and a delete with context is one tombstone sibling', async () => {
    await call(pair, 0, (c) => c.vectorPut, put('blind', 'one'));
    await waitFor('one on n2', () => everywhere('blind', ['one']));
    await call(pair, 1, (c) => c.vectorPut, put('blind', 'two'));
    await waitFor('two siblings on both', () => everywhere('blind', ['one', 'two']));
    const ctx = (await get(0, 'blind')).context;
    await call(pair, 0, (c) => c.vectorPut, put('blind', '', ctx, { deleted: true }));
    await waitFor('a tombstone on both', () => everywhere('blind', ['<deleted>']));
    const got = await unary(pair.nodes[1].client, pair.nodes[1].client.get, { key: b('blind') }, { token: pair.token });
    assert.equal(got.found, false);
    assert.equal(got.deleted, true);
  });

  it('Merkle anti-entropy merges sets only the stores held, and the roots agree afterwards', async () => {
    await waitFor('both seeded siblings on both', () => everywhere('seeded', ['from-n1', 'from-n2']));
    await waitFor('equal roots', async () => {
      const [x, y] = await Promise.all([0, 1].map((i) => call(pair, i, (c) => c.convergenceStats, {})));
      return x.merkleRoot.equals(y.merkleRoot);
    });
  });

  it('siblings written while a node was down reach it after its restart, and survive a restart', async () => {
    await kill(pair, 1);
    await call(pair, 0, (c) => c.vectorPut, put('offline', 'x'));
    await call(pair, 0, (c) => c.vectorPut, put('offline', 'y'));
    await restart(pair, 1);
    await waitFor('x and y on the restarted node', () => everywhere('offline', ['x', 'y']));
    await restart(pair, 0);
    await waitFor('x and y on both after n1 restarted', () => everywhere('offline', ['x', 'y']));
    assert.deepEqual(values(await get(0, 'k')), ['ab']);
    assert.deepEqual(values(await get(0, 'seeded')), ['from-n1', 'from-n2']);
  });

  it('ordinary Put adds a sibling, Get refuses several siblings and answers one, Scan points at VectorGet', async () => {
    const node = pair.nodes[0];
    const opts = { token: pair.token };
    await unary(node.client, node.client.put, { key: b('plain'), value: b('p1') }, opts);
    const one = await unary(node.client, node.client.get, { key: b('plain') }, opts);
    assert.equal(one.found, true);
    assert.equal(one.value.toString(), 'p1');
    await unary(node.client, node.client.put, { key: b('plain'), value: b('p2') }, opts);
    await assert.rejects(unary(node.client, node.client.get, { key: b('plain') }, opts),
      isCode(status.FAILED_PRECONDITION, undefined, /key has 2 siblings .*VectorGet .*ringdb siblings/));
    await assert.rejects(unary(node.client, node.client.scan, { start: EMPTY, end: EMPTY, limit: 0, continuationToken: EMPTY, includeTombstones: false }, opts),
      isCode(status.FAILED_PRECONDITION, undefined, /Scan is not served in consistencyMode "vector"/));
    const missing = await unary(node.client, node.client.get, { key: b('never') }, opts);
    assert.equal(missing.found, false);
  });

  it('rejects bad input naming the field, and changes nothing', async () => {
    const before = await get(0, 'k');
    const bad = [
      [put('', 'x'), 'key', /must be 1 to/],
      [put('k', 'x', EMPTY, { deleted: true }), 'value', /must be empty when deleted is true/],
      [put('k', 'x', b('not a clock')), 'context', /is not a causal context returned by VectorGet/],
      [put('k', 'x', Buffer.concat([before.context, b('!')])), 'context', /bytes after the encoded clock/],
      [put('k', 'x', EMPTY, { w: 2 }), 'w', /needs a partition map/],
    ] as const;
    for (const [req, field, text] of bad) await assert.rejects(call(pair, 0, (c) => c.vectorPut, req), isCode(status.INVALID_ARGUMENT, field, text));
    await assert.rejects(call(pair, 0, (c) => c.vectorGet, { key: EMPTY, r: 0, direct: false }), isCode(status.INVALID_ARGUMENT, 'key', /must be 1 to/));
    await assert.rejects(call(pair, 0, (c) => c.vectorGet, { key: b('k'), r: 2, direct: false }), isCode(status.INVALID_ARGUMENT, 'r', /needs a partition map/));
    assert.deepEqual(await get(0, 'k'), before);
  });

  it('refuses a write whose siblings would outgrow a stored value, and keeps the siblings it has', async () => {
    const nine = 'x'.repeat(9 * 1024 * 1024);
    await call(pair, 0, (c) => c.vectorPut, put('big', nine));
    await assert.rejects(call(pair, 0, (c) => c.vectorPut, put('big', nine)),
      isCode(status.FAILED_PRECONDITION, undefined, /siblings would take \d+ bytes, more than the 16777216 .*resolve them first/));
    assert.equal((await get(0, 'big')).siblings.length, 1);
  });
});

describe('vector consistency mode off (real process)', function () {
  this.timeout(60_000);
  let pair: Pair;
  before(async () => {
    pair = await startPair([[]], { antiEntropyIntervalMs: 60_000 });
  });
  after(async () => {
    if (pair) await stopPair(pair);
  });

  it('answers FAILED_PRECONDITION naming the mode', async () => {
    const text = /consistencyMode is "lww"; siblings and causal contexts need consistencyMode "vector"/;
    await assert.rejects(call(pair, 0, (c) => c.vectorGet, { key: b('k'), r: 0, direct: false }), isCode(status.FAILED_PRECONDITION, undefined, text));
    await assert.rejects(call(pair, 0, (c) => c.vectorPut, put('k', 'v')), isCode(status.FAILED_PRECONDITION, undefined, text));
  });
});

describe('vector consistency mode under a partition map (real processes, 3 nodes, N=2)', function () {
  this.timeout(120_000);
  let pair: Pair;
  let key = '';
  let repairKey = '';
  let batchKey = '';
  const outsider = 2;

  before(async () => {
    const ids = ['n1', 'n2', 'n3'];
    const map = createPartitionMap({ replicationFactor: 2, numPartitions: 8 }, ids);
    const heldBy = (prefix: string, replicas: string[]): string => {
      for (let i = 0; i < 10_000; i++) if ([...preferenceList(map, map.locate(b(`${prefix}${i}`)).id)].sort().join() === replicas.join()) return `${prefix}${i}`;
      throw new Error(`no ${prefix}<n> key is replicated by ${replicas.join(', ')}`);
    };
    key = heldBy('pk', ['n1', 'n2']);
    repairKey = heldBy('rk', ['n1', 'n2']);
    batchKey = heldBy('bk', ['n1', 'n2']);
    // The two replicas of repairKey disagree in their stores only: no op, no periodic round to merge them.
    const seeded = (node: string) => ({ key: b(repairKey), value: encodeSiblings([{ value: b(`from-${node}`), dot: { node, counter: 1 }, context: VectorClock.EMPTY }]), ts: 50, origin: node });
    pair = await startPair([[seeded('n1')], [seeded('n2')], []], { antiEntropyIntervalMs: 3_600_000, consistencyMode: 'vector', replicationFactor: 2, writeQuorum: 2, readQuorum: 2 });
    const addresses = pair.nodes.map((n) => ({ id: n.id, address: n.address }));
    for (const n of pair.nodes) await unary(n.client, n.client.updatePartitionMap, { map: partitionMapToProto(map, addresses) }, { token: pair.token });
  });
  after(async () => {
    if (pair) await stopPair(pair);
  });

  it('a node holding no copy forwards writes to a replica and merges R replicas\' siblings', async () => {
    const w1 = await call(pair, outsider, (c) => c.vectorPut, put(key, 'one'));
    const w2 = await call(pair, outsider, (c) => c.vectorPut, put(key, 'two'));
    assert.notEqual(w1.dotNode, 'n3');
    assert.equal(w1.replicas.length, 2, 'W = 2');
    assert.equal(w2.dotNode, w1.dotNode);
    assert.ok(w2.dotCounter > w1.dotCounter);
    const read = await call(pair, outsider, (c) => c.vectorGet, { key: b(key), r: 0, direct: false });
    assert.deepEqual(values(read), ['one', 'two']);
    assert.deepEqual([...read.replicas].sort(), ['n1', 'n2']);
    // The outsider stores nothing of the key.
    assert.equal((await call(pair, outsider, (c) => c.vectorGet, { key: b(key), r: 0, direct: true })).siblings.length, 0);
    await call(pair, outsider, (c) => c.vectorPut, put(key, 'both', read.context));
    for (const i of [0, 1]) assert.deepEqual(values(await call(pair, i, (c) => c.vectorGet, { key: b(key), r: 0, direct: true })), ['both']);
    const n3 = pair.nodes[outsider];
    const plain = await unary(n3.client, n3.client.get, { key: b(key) }, { token: pair.token });
    assert.equal(plain.value.toString(), 'both');
    await assert.rejects(call(pair, outsider, (c) => c.vectorGet, { key: b(key), r: 3, direct: false }), isCode(status.INVALID_ARGUMENT, 'r', /to 2 \(the replication factor\)/));
  });

  it('a BatchPut sent to a non-replica is coordinated per entry: the replicas hold the siblings, the receiver keeps no copy', async () => {
    const n3 = pair.nodes[outsider];
    await unary(n3.client, n3.client.batchPut, { entries: [{ key: b(batchKey), value: b('batched') }], forwarded: false }, { token: pair.token });
    for (const i of [0, 1]) assert.ok(values(await call(pair, i, (c) => c.vectorGet, { key: b(batchKey), r: 0, direct: true })).includes('batched'));
    assert.equal((await call(pair, outsider, (c) => c.vectorGet, { key: b(batchKey), r: 0, direct: true })).siblings.length, 0, 'no dot handed out or copy kept where the key is not replicated');
  });

  it('a read from a non-replica merges the replicas\' differing sets and repairs both', async () => {
    const direct = (i: number) => call(pair, i, (c) => c.vectorGet, { key: b(repairKey), r: 0, direct: true });
    assert.deepEqual([values(await direct(0)), values(await direct(1))], [['from-n1'], ['from-n2']]);
    const read = await call(pair, outsider, (c) => c.vectorGet, { key: b(repairKey), r: 0, direct: false });
    assert.deepEqual(values(read), ['from-n1', 'from-n2']);
    await waitFor('both replicas repaired', async () => values(await direct(0)).join() === 'from-n1,from-n2' && values(await direct(1)).join() === 'from-n1,from-n2');
    const n3 = pair.nodes[outsider];
    const stats = await unary(n3.client, n3.client.stats, {}, { token: pair.token });
    assert.equal(stats.stats?.partitioning?.readRepairs, 2);
  });

  it('a write while a replica is down is held as a hint; after the restart the replica merges it with the siblings it had', async () => {
    const direct = (i: number) => call(pair, i, (c) => c.vectorGet, { key: b(key), r: 0, direct: true });
    const owners = [0, 1].filter((i) => pair.nodes[i].id !== 'n3');
    const [alive, down] = owners;
    await kill(pair, down);
    await waitFor(`${pair.nodes[alive].id} sees ${pair.nodes[down].id} down`, async () => {
      const s = await unary(pair.nodes[alive].client, pair.nodes[alive].client.stats, {}, { token: pair.token });
      return s.stats?.peers.find((p) => p.id === pair.nodes[down].id)?.state === PeerState.PEER_STATE_DOWN;
    });
    const w = await call(pair, alive, (c) => c.vectorPut, put(key, 'while-down'));
    assert.deepEqual([...w.replicas].sort(), [pair.nodes[alive].id, 'n3'].sort(), 'n3 stood in for the down replica');
    const hints = await unary(pair.nodes[outsider].client, pair.nodes[outsider].client.listHints, { limit: 0 }, { token: pair.token });
    assert.deepEqual(hints.hints.map((h) => h.target), [pair.nodes[down].id]);
    // The substitute answers from its hint.
    assert.deepEqual(values(await direct(outsider)), ['while-down']);
    await restart(pair, down);
    await waitFor('the handoff merged the hinted sibling with the one the replica had', async () => values(await direct(down)).join() === 'both,while-down');
    assert.deepEqual(values(await direct(alive)), ['both', 'while-down']);
    const n3 = pair.nodes[outsider];
    await waitFor('the hint handed off', async () => (await unary(n3.client, n3.client.listHints, { limit: 0 }, { token: pair.token })).total === 0);
  });

  it('refuses a write whose replicas are all down, naming them, and keeps no hint (only a replica gives a dot)', async () => {
    const n3 = pair.nodes[outsider];
    for (const i of [0, 1]) await kill(pair, i);
    await waitFor('n3 sees both replicas down', async () => {
      const s = await unary(n3.client, n3.client.stats, {}, { token: pair.token });
      return ['n1', 'n2'].every((id) => s.stats?.peers.find((p) => p.id === id)?.state === PeerState.PEER_STATE_DOWN);
    });
    await assert.rejects(call(pair, outsider, (c) => c.vectorPut, put(key, 'nobody')),
      isCode(status.UNAVAILABLE, undefined, /^all 2 replicas of partition \d+ \((n1, n2|n2, n1)\) are down, and in vector mode only a replica can give a write its dot; nothing was written; restart one of them \(ringdb restart n[12]\) and retry$/));
    assert.equal((await unary(n3.client, n3.client.listHints, { limit: 0 }, { token: pair.token })).total, 0);
  });
});

describe('vector consistency mode and pull sync (real processes, ring n1 -> n2 -> n3 -> n1)', function () {
  this.timeout(120_000);
  let pair: Pair;
  const get = (i: number, key: string) => call(pair, i, (c) => c.vectorGet, { key: b(key), r: 0, direct: false });
  const ring = { n1: { nodeIds: ['n2'] }, n2: { nodeIds: ['n3'] }, n3: { nodeIds: ['n1'] } };
  const rejoin = async (i: number) => {
    const n = pair.nodes[i];
    const peers = pair.nodes.map((x) => ({ id: x.id, address: x.address }));
    await unary(n.client, n.client.updateMembership, { peers, topology: ring }, { token: pair.token, timeoutMs: 10_000 });
  };

  before(async () => {
    // No periodic rounds (Merkle or pull): only the pull sync a membership change starts can carry n1's op to n3.
    pair = await startPair([[], [], []], { antiEntropyIntervalMs: 3_600_000, consistencyMode: 'vector' });
    for (const i of [0, 1, 2]) await rejoin(i);
  });
  after(async () => {
    if (pair) await stopPair(pair);
  });

  it('n3 pulls n1\'s sibling from n1 while n2, its only path, is down, and keeps its own', async () => {
    await kill(pair, 1);
    // n1 would send around the dead hop straight to n3 (node.ts, destinations): told of n2 alone, it cannot.
    const n1 = pair.nodes[0];
    await unary(n1.client, n1.client.updateMembership, { peers: [0, 1].map((i) => ({ id: pair.nodes[i].id, address: pair.nodes[i].address })), topology: { n1: { nodeIds: ['n2'] }, n2: { nodeIds: ['n1'] } } }, { token: pair.token, timeoutMs: 10_000 });
    await call(pair, 0, (c) => c.vectorPut, put('pulled', 'from-n1'));
    await call(pair, 2, (c) => c.vectorPut, put('pulled', 'from-n3'));
    await waitFor('n1 has both (n3 ships to n1)', async () => values(await get(0, 'pulled')).join() === 'from-n1,from-n3');
    assert.deepEqual(values(await get(2, 'pulled')), ['from-n3']);
    await rejoin(2);
    await waitFor('n3 has both after pull sync', async () => values(await get(2, 'pulled')).join() === 'from-n1,from-n3');
  });
});

describe('vector consistency mode: a node that lost its folder (real processes)', function () {
  this.timeout(120_000);
  let pair: Pair;
  const get = (i: number, key: string) => call(pair, i, (c) => c.vectorGet, { key: b(key), r: 0, direct: false });

  before(async () => {
    pair = await startPair([[], []], { antiEntropyIntervalMs: 3_600_000, consistencyMode: 'vector' });
  });
  after(async () => {
    if (pair) await stopPair(pair);
  });

  it('draws its next dots past those its peers saw, so a write after the loss is not ignored as one they have', async () => {
    for (const v of ['one', 'two', 'three']) await call(pair, 0, (c) => c.vectorPut, put(`lost-${v}`, v));
    await waitFor('n2 has n1\'s writes', async () => values(await get(1, 'lost-three')).join() === 'three');
    await restartWithLostFolder(pair, 0);
    // A blind write: concurrent with n1's old version, so both stay as siblings, unless its dot repeats (n1, 1).
    await call(pair, 0, (c) => c.vectorPut, put('lost-one', 'after'));
    await waitFor('n2 keeps both siblings', async () => values(await get(1, 'lost-one')).join() === 'after,one');
  });
});
