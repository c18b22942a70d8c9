// Partitioning on real node processes (5 nodes, N=3, W=2, R=2): sloppy quorum with hints that
// are handed off after a restart, read repair, NotOwner with forwarding off, forwarding on,
// partition scans with paging, export + ingest with versions intact, older maps ignored, hot-key
// salting, bad arguments on every new RPC, BatchPut coordination, shaped FetchUpdates, DropRanges,
// and a write racing a map change.
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { encodeCompositeKey, partitionKeyOf, tryDecodeCompositeKey } from '../codec/composite-key';
import { placementKeyOf } from '../codec/stored-key';
import { OpKind, PeerState, type ExportRangeRequest, type NodeServiceClient, type StoredEntry } from '../gen/ringdb/v1/node';
import { createPartitionMap, markHotKey, preferenceList, removeNode, saltedKey, splitPartition, type PartitionMap } from '../partitioning';
import { openStream, unary, type UnaryMethod } from '../rpc';
import { notOwnerOf } from '../rpc/not-owner';
import { partitionMapToProto } from '../rpc/partition-map-proto';
import { TestCluster, waitFor } from './test-harness';

const b = (s: string) => Buffer.from(s);
const EMPTY = Buffer.alloc(0);
const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];

describe('partitioned nodes (real processes, 5 nodes, N=3 W=2 R=2)', function () {
  this.timeout(120_000);
  let c: TestCluster;
  let map: PartitionMap;
  /** Nodes with forwarding on (one is restarted with it off). */
  let forwarding = IDS;

  const send = (m: PartitionMap, id: string) => c.call(id, (x) => x.updatePartitionMap, {
    map: partitionMapToProto(m, [...c.nodes.values()].map((n) => ({ id: n.id, address: n.address }))),
  });
  const replicasOf = (pk: string) => preferenceList(map, map.locate(b(pk)).id);
  const stats = async (id: string) => (await c.call(id, (x) => x.stats, {})).stats!;
  const direct = (id: string, key: Buffer) => c.call(id, (x) => x.get, { key, direct: true });

  before(async () => {
    // Anti-entropy off: the stale-replica test needs a replica to stay stale until the read.
    c = await TestCluster.start(5, { heartbeatIntervalMs: 100, antiEntropyIntervalMs: 3_600_000 });
    map = createPartitionMap({ replicationFactor: 3, numPartitions: 16 }, IDS);
    for (const id of IDS) assert.equal((await send(map, id)).accepted, true);
  });
  after(async () => {
    await c?.stop();
  });

  it('keeps writing through a killed replica (sloppy quorum); the substitute holds a hint until the replica is back', async () => {
    const pk = 'sloppy-key';
    const [owner, victim] = replicasOf(pk);
    await c.kill(victim);
    await waitFor(`${owner} sees ${victim} down`, async () => (await stats(owner)).peers.find((p) => p.id === victim)?.state === PeerState.PEER_STATE_DOWN);
    const res = await c.call(owner, (x) => x.put, { key: EMPTY, value: b('while-down'), partitionKey: b(pk) });
    const substitute = res.hinted[victim];
    assert.ok(substitute, `a substitute stood in for ${victim}: ${JSON.stringify(res)}`);
    assert.ok(!replicasOf(pk).includes(substitute));
    assert.ok(res.replicas.length >= 2, 'W = 2 acknowledged');
    const listed = await c.call(substitute, (x) => x.listHints, { limit: 0 });
    const hint = listed.hints.find((h) => h.opId === res.version!.opId);
    assert.ok(hint, JSON.stringify(listed));
    assert.equal(hint.target, victim);
    assert.deepEqual(hint.key, encodeCompositeKey(b(pk)));
    assert.ok(listed.counts.some((x) => x.target === victim && x.count >= 1));
    assert.ok((await stats(substitute)).partitioning!.hintedWrites >= 1);
    // A read with a replica down still gathers R answers.
    assert.equal((await c.call(owner, (x) => x.get, { key: EMPTY, partitionKey: b(pk) })).value.toString(), 'while-down');

    await c.restart(victim);
    await waitFor('hint handed off and removed', async () => (await c.call(substitute, (x) => x.listHints, { limit: 0 })).hints.every((h) => h.target !== victim));
    await waitFor(`${victim} has the write`, async () => (await direct(victim, encodeCompositeKey(b(pk)))).value.toString() === 'while-down');
    assert.ok((await stats(substitute)).partitioning!.hintsDelivered >= 1);
  });

  it('repairs a stale replica on read', async () => {
    const pk = 'repair-key';
    const key = encodeCompositeKey(b(pk));
    const [a, b2, stale] = replicasOf(pk);
    await c.call(a, (x) => x.put, { key: EMPTY, value: b('old'), partitionKey: b(pk) });
    await waitFor('all replicas have the old value', async () => (await direct(stale, key)).value.toString() === 'old');
    // A newer version only on two replicas (IngestEntries does not replicate).
    const newer: StoredEntry = { key, value: b('new'), deleted: false, version: { ts: 9_000_000_000, origin: 'n1', opId: '' } };
    for (const id of [a, b2]) await c.call(id, (x) => x.ingestEntries, { entries: [newer] });
    const before = (await stats(a)).partitioning!.readRepairs;
    const got = await c.call(a, (x) => x.get, { key: EMPTY, partitionKey: b(pk), r: 3 });
    assert.equal(got.value.toString(), 'new');
    assert.equal(got.version!.ts, 9_000_000_000);
    assert.deepEqual([...got.replicas].sort(), [a, b2, stale].sort());
    assert.ok((await stats(a)).partitioning!.readRepairs > before);
    await waitFor('the stale replica was repaired', async () => (await direct(stale, key)).value.toString() === 'new');
  });

  it('asks the third replica when one it asked hangs, instead of waiting out that call (speculative read)', async () => {
    const pk = 'speculative-key';
    const key = encodeCompositeKey(b(pk));
    const [hung, other, third] = replicasOf(pk);
    // Not a replica: it asks the first two replicas of the preference list.
    const coordinator = IDS.find((id) => !replicasOf(pk).includes(id))!;
    // A replica the coordinator still holds for down (the first test restarts one, and the
    // coordinator's channel to it may still be backing off) is not asked: a speculative ask goes to
    // the replicas it reads from, and this read would have only the hung one and one other.
    await waitFor(`${coordinator} sees every replica up`, async () => {
      const peers = (await stats(coordinator)).peers;
      return replicasOf(pk).every((id) => peers.find((p) => p.id === id)?.state === PeerState.PEER_STATE_UP);
    });
    await c.call(coordinator, (x) => x.put, { key: EMPTY, value: b('v'), partitionKey: b(pk), w: 3 });
    const speculated = async () => (await stats(coordinator)).partitioning!.speculativeReads;
    // Two replicas' answers a read, 120 in all: the coordinator times them instead of waiting 500 ms
    // (their 99th percentile is the second slowest: one answer slowed by a loaded machine is let off).
    const { client: reader } = c.node(coordinator);
    for (let i = 0; i < 60; i++) await unary(reader, reader.get, { key: EMPTY, partitionKey: b(pk) }, { token: c.token, timeoutMs: 3000 });
    const waits = (await stats(coordinator)).partitioning!.speculateAfterMs;
    assert.ok(waits >= 5 && waits < 500, `the replicas' answers' 99th percentile on loopback, got ${waits} ms`);
    // After the reads above, any of which may have speculated once the wait came down.
    const before = await speculated();
    c.node(hung).proc.kill('SIGSTOP');
    try {
      // Its Get to the hung replica ends only at the read's own 3 s deadline: an answer means the
      // read did not wait for it (the third replica was asked after speculateAfterMs).
      const { client } = c.node(coordinator);
      const got = await unary(client, client.get, { key: EMPTY, partitionKey: b(pk) }, { token: c.token, timeoutMs: 3000 });
      assert.equal(got.value.toString(), 'v');
      assert.deepEqual([...got.replicas].sort(), [other, third].sort(), `answered by the two that answer, not ${hung}`);
      assert.equal(await speculated(), before + 1, 'one speculative ask, counted in Stats');
    } finally {
      c.node(hung).proc.kill('SIGCONT');
    }
    await waitFor(`${coordinator} sees ${hung} up`, async () => (await stats(coordinator)).peers.find((p) => p.id === hung)?.state === PeerState.PEER_STATE_UP);
    assert.equal((await direct(hung, key)).value.toString(), 'v');
  });

  it('never asks a replica beside a hung one with speculativeRetry "none", and waits a fixed time with "40ms"', async () => {
    const pk = 'speculative-key';
    const [hung] = replicasOf(pk);
    const coordinator = IDS.find((id) => !replicasOf(pk).includes(id))!;
    const restartWith = async (speculativeRetry: string) => {
      const n = c.node(coordinator);
      n.config = { ...n.config, speculativeRetry };
      await c.kill(coordinator);
      await c.restart(coordinator);
      await waitFor(`${coordinator} sees every replica up`, async () => {
        const peers = (await stats(coordinator)).peers;
        return replicasOf(pk).every((id) => peers.find((p) => p.id === id)?.state === PeerState.PEER_STATE_UP);
      });
    };
    try {
      await restartWith('none');
      const off = (await stats(coordinator)).partitioning!;
      assert.deepEqual([off.speculativeRetry, off.speculateAfterMs], ['none', 0]);
      c.node(hung).proc.kill('SIGSTOP');
      try {
        // The hung replica's Get never answers: with no speculation the read waits for it until this 3 s deadline.
        const { client } = c.node(coordinator);
        await assert.rejects(unary(client, client.get, { key: EMPTY, partitionKey: b(pk) }, { token: c.token, timeoutMs: 3000 }),
          (err: ServiceError) => err.code === status.DEADLINE_EXCEEDED);
        assert.deepEqual([(await stats(coordinator)).partitioning!.speculativeReads, (await stats(coordinator)).partitioning!.speculationsRefused], [0, 0]);
      } finally {
        c.node(hung).proc.kill('SIGCONT');
      }
      await restartWith('40ms');
      const fixed = (await stats(coordinator)).partitioning!;
      assert.deepEqual([fixed.speculativeRetry, fixed.speculateAfterMs], ['40ms', 40]);
    } finally {
      await restartWith('99p');
    }
  });

  it('forwards to a replica when forwarding is on, and answers NotOwner with the owner and map version when it is off', async () => {
    const pk = 'owned-elsewhere';
    const outsider = IDS.find((id) => !replicasOf(pk).includes(id))!;
    forwarding = IDS.filter((id) => id !== outsider);
    const before = (await stats(outsider)).partitioning!.forwardedOps;
    const put = await c.call(outsider, (x) => x.put, { key: EMPTY, value: b('fwd'), partitionKey: b(pk) });
    assert.ok(replicasOf(pk).includes(put.replicas[0]), 'a replica coordinated the write');
    assert.equal((await stats(outsider)).partitioning!.forwardedOps, before + 1);

    const n = c.node(outsider);
    n.config = { ...n.config, enableForwarding: false };
    await c.kill(outsider);
    await c.restart(outsider);
    const owner = map.locate(b(pk)).owner;
    await assert.rejects(c.call(outsider, (x) => x.put, { key: EMPTY, value: b('x'), partitionKey: b(pk) }), (err: ServiceError) => {
      assert.equal(err.code, status.FAILED_PRECONDITION);
      const d = notOwnerOf(err);
      assert.ok(d, 'NotOwner detail in the trailing metadata');
      assert.equal(d.ownerId, owner);
      assert.equal(d.ownerAddress, c.node(owner).address);
      assert.equal(d.mapVersion, map.version);
      assert.deepEqual(d.replicas, replicasOf(pk));
      return true;
    });
    await assert.rejects(c.call(outsider, (x) => x.get, { key: EMPTY, partitionKey: b(pk) }), (err: ServiceError) => notOwnerOf(err)?.ownerId === owner);
    assert.ok((await stats(outsider)).partitioning!.notOwnerAnswers >= 2);
    assert.equal((await stats(outsider)).partitioning!.mapVersion, map.version, 'the map survived the restart');
  });

  it('BatchPut coordinates each entry like Put: W per entry, forwarding where on, NotOwner before any write where off', async () => {
    const outsider = IDS.find((id) => !forwarding.includes(id))!;
    const via = forwarding[0];
    // Composite-encoded keys, as a driver sends rows (the export test below reads every stored key so).
    const entries = Array.from({ length: 16 }, (_, i) => ({ key: encodeCompositeKey(b(`batch-pk-${i}`)), value: b(`bv${i}`) }));
    const forwardedBefore = (await stats(via)).partitioning!.forwardedOps;
    const res = await c.call(via, (x) => x.batchPut, { entries });
    assert.equal(res.count, 16);
    assert.equal(res.origin, '', 'entries of partitions elsewhere got op ids on other nodes');
    assert.ok((await stats(via)).partitioning!.forwardedOps > forwardedBefore, 'entries this node does not replicate were forwarded');
    // W = 2: when BatchPut returns, every entry is on at least two of its own replicas; another node
    // holds it only as a hint (a replica that looked down on a loaded machine got a substitute).
    for (const e of entries) {
      const holders = [];
      for (const id of IDS) if ((await direct(id, e.key)).found) holders.push(id);
      const replicas = replicasOf(partitionKeyOf(e.key).toString());
      assert.ok(holders.filter((h) => replicas.includes(h)).length >= 2, `${e.key} on ${holders.join(',')} (replicas ${replicas.join(',')})`);
      for (const h of holders.filter((id) => !replicas.includes(id))) {
        const hints = await c.call(h, (x) => x.listHints, { limit: 0 });
        // A hint handed off between the two calls is gone from both: only a stored copy stays.
        const hinted = hints.hints.some((x) => x.key.equals(e.key)) || !(await direct(h, e.key)).found;
        assert.ok(hinted, `${h} holds ${e.key} without being a replica or holding a hint`);
      }
    }
    // Forwarding off: a batch with one entry elsewhere is refused whole.
    const mine = Array.from({ length: 200 }, (_, i) => `own-${i}`).filter((k) => replicasOf(k).includes(outsider)).slice(0, 3);
    const foreign = Array.from({ length: 200 }, (_, i) => `far-${i}`).find((k) => !replicasOf(k).includes(outsider))!;
    const seqBefore = (await stats(outsider)).seq;
    await assert.rejects(c.call(outsider, (x) => x.batchPut, { entries: [...mine, foreign].map((k) => ({ key: encodeCompositeKey(b(k)), value: b('x') })) }),
      (err: ServiceError) => err.code === status.FAILED_PRECONDITION && notOwnerOf(err)?.ownerId === map.locate(b(foreign)).owner);
    assert.equal((await stats(outsider)).seq, seqBefore, 'nothing was written');
    const own = await c.call(outsider, (x) => x.batchPut, { entries: mine.map((k) => ({ key: encodeCompositeKey(b(k)), value: b('o') })) });
    assert.deepEqual([own.origin, own.count], [outsider, mine.length], 'a batch of its own partitions is one local batch');
  });

  it('serves FetchUpdates shaped for the requester: ops of partitions it does not replicate come as skips', async () => {
    const requester = 'n2';
    const res = await c.call('n1', (x) => x.fetchUpdates, { requester, lastSeen: {}, limit: 10_000, skipOrigins: [] });
    const withKey = res.ops.filter((op) => op.kind !== OpKind.OP_KIND_SKIP);
    const skips = res.ops.filter((op) => op.kind === OpKind.OP_KIND_SKIP);
    assert.ok(withKey.length > 0 && skips.length > 0, `${withKey.length} ops and ${skips.length} skips`);
    const foreign = withKey.filter((op) => !preferenceList(map, map.locate(placementKeyOf(op.key)).id).includes(requester));
    assert.deepEqual(foreign.map((op) => `${op.origin}:${op.seq}`), [], `${requester} pulled no op of a partition it does not replicate`);
    assert.ok(skips.every((op) => op.key.length === 0 && op.value.length === 0), 'a skip carries no key or value');
    // The seqs stay gap-free per origin, so the requester's version vector can advance.
    const byOrigin = new Map<string, number[]>();
    for (const op of res.ops) byOrigin.set(op.origin, [...(byOrigin.get(op.origin) ?? []), op.seq]);
    for (const [origin, seqs] of byOrigin) assert.ok(seqs.every((q, i) => i === 0 || q === seqs[i - 1] + 1), `${origin} seqs without gaps`);
  });

  it('DropRanges purges only keys the node does not replicate, and refuses a plan made for another map version', async () => {
    const key = encodeCompositeKey(b('drop-me'));
    const replicas = replicasOf('drop-me');
    const outsider = IDS.find((id) => !replicas.includes(id))!;
    // A copy on a non-replica, as an old replica keeps after a move.
    const entry: StoredEntry = { key, value: b('old copy'), deleted: false, version: { ts: 5, origin: 'n1', opId: '' } };
    await c.call(outsider, (x) => x.ingestEntries, { entries: [entry] });
    await c.call(replicas[0], (x) => x.ingestEntries, { entries: [entry] });
    const whole = [{ start: Buffer.alloc(20), end: EMPTY, endIsOpen: true }];
    await assert.rejects(c.call(outsider, (x) => x.dropRanges, { mapVersion: map.version + 1, ranges: whole }),
      (err: ServiceError) => err.code === status.FAILED_PRECONDITION && /map_version/.test(err.details));
    await assert.rejects(c.call(outsider, (x) => x.dropRanges, { mapVersion: map.version, ranges: [] }),
      (err: ServiceError) => err.code === status.INVALID_ARGUMENT && err.details.startsWith('ranges: '));
    assert.equal((await direct(outsider, key)).found, true, 'a refused drop changes nothing');
    const dropped = await c.call(outsider, (x) => x.dropRanges, { mapVersion: map.version, ranges: whole });
    assert.ok(dropped.dropped >= 1 && dropped.kept > 0, JSON.stringify(dropped));
    assert.equal((await direct(outsider, key)).found, false);
    assert.equal((await c.call(outsider, (x) => x.scan, { start: key, end: EMPTY, limit: 1, continuationToken: EMPTY, includeTombstones: true })).entries.some((e) => e.key.equals(key)), false);
    // The replica drops nothing it replicates, and the key stays readable through the cluster.
    const kept = await c.call(replicas[0], (x) => x.dropRanges, { mapVersion: map.version, ranges: whole });
    assert.equal(kept.dropped, 0);
    assert.equal((await direct(replicas[0], key)).value.toString(), 'old copy');
  });

  it('scans one partition in clustering order with paging and clustering bounds', async () => {
    const pk = b('user-42');
    const coordinator = replicasOf('user-42')[0];
    const cks = Array.from({ length: 25 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    for (const ck of [...cks].reverse()) await c.call(coordinator, (x) => x.put, { key: EMPTY, value: b(`v-${ck}`), partitionKey: pk, clusteringKey: b(ck) });
    await c.call(coordinator, (x) => x.put, { key: EMPTY, value: b('other'), partitionKey: b('user-43'), clusteringKey: b('c00') });
    const seen: string[] = [];
    let token: Buffer = EMPTY;
    let pages = 0;
    do {
      // Pages come from different coordinators (the replicas: another test turned forwarding off on a non-replica).
      const res = await c.call(replicasOf('user-42')[pages % 3], (x) => x.scan, { start: EMPTY, end: EMPTY, limit: 10, continuationToken: token, includeTombstones: false, partitionKey: pk });
      seen.push(...res.entries.map((e) => e.value.toString()));
      token = res.continuationToken;
      pages++;
    } while (token.length > 0);
    assert.deepEqual(seen, cks.map((ck) => `v-${ck}`));
    assert.ok(pages >= 3);
    const bounded = await c.call(coordinator, (x) => x.scan, {
      start: EMPTY, end: EMPTY, limit: 0, continuationToken: EMPTY, includeTombstones: false, partitionKey: pk, clusteringStart: b('c05'), clusteringEnd: b('c15'),
    });
    assert.deepEqual(bounded.entries.map((e) => e.value.toString()), cks.slice(5, 15).map((ck) => `v-${ck}`));
  });

  it('exports a partition (versions and tombstones intact) and ingests it elsewhere, idempotently', async () => {
    const pk = b('user-42');
    const pid = map.locate(pk).id;
    const [source] = replicasOf('user-42');
    await c.call(source, (x) => x.delete, { key: EMPTY, partitionKey: pk, clusteringKey: b('c24') });
    const exported: StoredEntry[] = [];
    const { client } = c.node(source);
    await new Promise<void>((resolve, reject) => {
      const s = openStream(client, client.exportRange, { partitionIds: [pid], ranges: [], batchSize: 7 } satisfies ExportRangeRequest, { token: c.token });
      s.on('data', (m: { entries: StoredEntry[] }) => exported.push(...m.entries));
      s.on('end', resolve);
      s.on('error', reject);
    });
    const ours = exported.filter((e) => partitionKeyOf(e.key).equals(pk));
    assert.equal(ours.length, 25, `${ours.length} rows of user-42 among ${exported.length} exported: ${ours.map((e) => e.key.toString('hex')).join(" ")}`);
    assert.ok(ours.some((e) => e.deleted), 'the tombstone travels too');
    assert.ok(exported.every((e) => map.locate(partitionKeyOf(e.key)).id === pid), 'only the asked partition');
    const target = IDS.find((id) => !replicasOf('user-42').includes(id))!;
    // Anti-entropy may already have copied some rows there; what matters is that every entry lands once.
    const first = await c.call(target, (x) => x.ingestEntries, { entries: exported });
    assert.equal(first.applied + first.stale, exported.length);
    const again = await c.call(target, (x) => x.ingestEntries, { entries: exported });
    assert.deepEqual([again.applied, again.stale], [0, exported.length]);
    for (const e of ours.slice(0, 3)) {
      const g = await direct(target, e.key);
      assert.deepEqual([g.version!.ts, g.version!.origin, g.value.toString()], [e.version!.ts, e.version!.origin, e.value.toString()]);
    }
  });

  it('spreads writes of a salted hot key over its buckets, reads the newest, and ignores an older map', async () => {
    const salted = markHotKey(map, b('hot'), 4);
    for (const id of IDS) assert.equal((await send(salted, id)).accepted, true);
    for (const id of IDS) assert.deepEqual(await send(map, id), { accepted: false, version: salted.version });
    map = salted;
    for (let i = 0; i < 8; i++) await c.call(forwarding[i % forwarding.length], (x) => x.put, { key: EMPTY, value: b(`hot-${i}`), partitionKey: b('hot') });
    const got = await c.call(forwarding[0], (x) => x.get, { key: EMPTY, partitionKey: b('hot') });
    assert.equal(got.value.toString(), 'hot-7');
    let used = 0;
    for (let bucket = 0; bucket < 4; bucket++) {
      const variant = saltedKey(b('hot'), bucket);
      const holder = preferenceList(map, map.locate(variant).id)[0];
      if ((await direct(holder, encodeCompositeKey(variant))).found) used++;
    }
    assert.ok(used >= 2, `writes landed on ${used} of 4 buckets`);
    // Each coordinator counts what it coordinated: the variants' writes and the read of the key.
    const hot = await Promise.all(IDS.map((id) => c.call(id, (x) => x.getHotspots, { limit: 0 })));
    assert.ok(hot.reduce((n, h) => n + h.totalOps, 0) >= 9);
    assert.ok(hot.some((h) => h.partitions.length > 0 && h.keys.length > 0));
    for (const id of IDS) await c.call(id, (x) => x.resetMetrics, {});
    for (const id of IDS) assert.equal((await c.call(id, (x) => x.getHotspots, { limit: 0 })).totalOps, 0);
  });

  it('forgets the hotspot counts of a partition a split changed, and keeps the others', async () => {
    for (const id of IDS) await c.call(id, (x) => x.resetMetrics, {});
    const keys = ['hs-a', 'hs-b', 'hs-c', 'hs-d', 'hs-e', 'hs-f'];
    for (const k of keys) await c.call('n1', (x) => x.put, { key: EMPTY, value: b('v'), partitionKey: b(k) });
    const counted = new Map((await c.call('n1', (x) => x.getHotspots, { limit: 0 })).partitions.map((p) => [p.id, Number(p.ops)]));
    assert.ok(counted.size >= 2, `counts on ${counted.size} partitions`);
    const [target] = [...counted.keys()];
    const next = splitPartition(map, target).map;
    for (const id of IDS) assert.equal((await send(next, id)).accepted, true);
    map = next;
    const after = new Map((await c.call('n1', (x) => x.getHotspots, { limit: 0 })).partitions.map((p) => [p.id, Number(p.ops)]));
    assert.equal(after.has(target), false, `partition ${target} was split: its count described its old range`);
    for (const [pid, ops] of counted) if (pid !== target) assert.equal(after.get(pid), ops, `partition ${pid} kept its count`);
  });

  it('scans every row of a hot partition key, written before and after it was marked hot, newest version of each, page by page', async () => {
    const pk = b('orders');
    const put = (i: number, ck: string, v: string) => c.call(forwarding[i % forwarding.length], (x) => x.put, { key: EMPTY, value: b(v), partitionKey: pk, clusteringKey: b(ck) });
    const ck = (i: number) => `c${String(i).padStart(2, '0')}`;
    for (let i = 0; i < 10; i++) await put(i, ck(i), `row${i}`);
    const salted = markHotKey(map, pk, 3);
    for (const id of IDS) assert.equal((await send(salted, id)).accepted, true);
    map = salted;
    for (let i = 10; i < 20; i++) await put(i, ck(i), `row${i}`);
    await put(1, ck(5), 'row5-new');
    const expected = Array.from({ length: 20 }, (_, i) => `${ck(i)}=${i === 5 ? 'row5-new' : `row${i}`}`);
    const rows = (entries: { key: Buffer; value: Buffer }[]) => entries.map((e) => {
      const d = tryDecodeCompositeKey(e.key);
      assert.ok(d && d.partitionKey.equals(pk), 'rows carry the key itself, not a salted variant');
      return `${d.clusteringKey?.toString()}=${e.value.toString()}`;
    });
    const request = { start: EMPTY, end: EMPTY, limit: 0, continuationToken: EMPTY, includeTombstones: false, partitionKey: pk };
    const all = await c.call(forwarding[0], (x) => x.scan, request);
    assert.deepEqual(rows(all.entries), expected);
    const paged: string[] = [];
    let token: Buffer = EMPTY;
    for (let pages = 0; pages < 20; pages++) {
      const page = await c.call(forwarding[1 % forwarding.length], (x) => x.scan, { ...request, limit: 7, continuationToken: token });
      paged.push(...rows(page.entries));
      token = page.continuationToken;
      if (token.length === 0) break;
    }
    assert.deepEqual(paged, expected);
  });

  it('rejects bad arguments on every new RPC with INVALID_ARGUMENT naming the field, changing nothing', async () => {
    const id = 'n1';
    const observable = async () => {
      const s = await stats(id);
      const scan = await c.call(id, (x) => x.scan, { start: EMPTY, end: EMPTY, limit: 0, continuationToken: EMPTY, includeTombstones: true });
      return JSON.stringify({ seq: s.seq, map: s.partitioning!.mapVersion, rows: scan.entries.length, hints: s.partitioning!.hintsHeld });
    };
    const before = await observable();
    const rejects = async <Req, Res>(method: (x: NodeServiceClient) => UnaryMethod<Req, Res>, request: Req, field: string) => {
      await assert.rejects(c.call(id, method, request), (err: ServiceError) => {
        assert.equal(err.code, status.INVALID_ARGUMENT, `${err.code}: ${err.details}`);
        assert.ok(err.details.startsWith(`${field}: `), err.details);
        return true;
      });
    };
    const proto = partitionMapToProto(map);
    await rejects((x) => x.updatePartitionMap, { map: undefined }, 'map');
    await rejects((x) => x.updatePartitionMap, { map: { ...proto, version: proto.version + 5, partitions: proto.partitions.map((p, i) => (i === 0 ? { ...p, owner: 'n9' } : p)) } }, 'map.partitions[0].owner');
    await rejects((x) => x.updatePartitionMap, { map: { ...proto, version: proto.version + 5, strategy: 0 } }, 'map.strategy');
    await rejects((x) => x.put, { key: b('raw'), value: b('v'), partitionKey: b('pk') }, 'key');
    await rejects((x) => x.put, { key: EMPTY, value: b('v'), partitionKey: b('pk'), w: 4 }, 'w');
    await rejects((x) => x.put, { key: EMPTY, value: b('v'), clusteringKey: b('ck') }, 'clustering_key');
    await rejects((x) => x.get, { key: EMPTY, partitionKey: b('pk'), r: 9 }, 'r');
    await rejects((x) => x.get, { key: EMPTY, partitionKey: EMPTY }, 'partition_key');
    await rejects((x) => x.delete, { key: EMPTY, partitionKey: Buffer.from([0xff, 0x53, 0, 1, 65]) }, 'partition_key');
    const scan = { start: EMPTY, end: EMPTY, limit: 0, continuationToken: EMPTY, includeTombstones: false, partitionKey: b('pk') };
    await rejects((x) => x.scan, { ...scan, start: b('a') }, 'start');
    await rejects((x) => x.scan, { ...scan, continuationToken: encodeCompositeKey(b('other'), b('x')) }, 'continuation_token');
    await rejects((x) => x.scan, { ...scan, clusteringStart: b('m'), clusteringEnd: b('a') }, 'clustering_end');
    await rejects((x) => x.listHints, { limit: 10_001 }, 'limit');
    await rejects((x) => x.ingestEntries, { entries: [] }, 'entries');
    await rejects((x) => x.ingestEntries, { entries: [{ key: b('k'), value: b('v'), deleted: false, version: undefined }] }, 'entries[0].version');
    await rejects((x) => x.ingestEntries, { entries: [{ key: b('k'), value: b('v'), deleted: false, version: { ts: 5, origin: 'bad id', opId: '' } }] }, 'entries[0].version.origin');
    await rejects((x) => x.ingestEntries, { entries: [{ key: b('k'), value: b('v'), deleted: true, version: { ts: 5, origin: 'n1', opId: '' } }] }, 'entries[0].value');
    await rejects((x) => x.getHotspots, { limit: 1001 }, 'limit');
    for (const [req, field] of [
      [{ partitionIds: [], ranges: [], batchSize: 0 }, 'partition_ids'],
      [{ partitionIds: [9999], ranges: [], batchSize: 0 }, 'partition_ids[0]'],
      [{ partitionIds: [], ranges: [{ start: b('z'), end: b('a'), endIsOpen: false }], batchSize: 0 }, 'ranges[0].end'],
      [{ partitionIds: [0], ranges: [], batchSize: 10_001 }, 'batch_size'],
    ] as [ExportRangeRequest, string][]) {
      const { client } = c.node(id);
      await assert.rejects(new Promise((resolve, reject) => {
        const s = openStream(client, client.exportRange, req, { token: c.token });
        s.on('data', () => undefined);
        s.on('end', resolve);
        s.on('error', reject);
      }), (err: ServiceError) => err.code === status.INVALID_ARGUMENT && err.details.startsWith(`${field}: `));
    }
    assert.equal(await observable(), before);
  });

  // Last: it leaves one node on a newer map than the others.
  it('sends a write that raced a map change to its new replicas before acknowledging it', async () => {
    // A key whose partition gains a replica d when replica `slow` leaves the map, its coordinator staying a replica.
    const found = Array.from({ length: 500 }, (_, i) => `race-${i}`).map((pk) => {
      const [a, b2, slow] = replicasOf(pk);
      const next = removeNode(map, slow).map;
      const now = preferenceList(next, next.locate(b(pk)).id);
      return { pk, a, b2, slow, next, d: now.find((n) => !replicasOf(pk).includes(n)), keeps: now.includes(a) };
    }).find((x) => x.d !== undefined && x.keeps);
    assert.ok(found, 'some key gains a replica');
    const { pk, a, slow, next, d } = found;
    const key = encodeCompositeKey(b(pk));
    // W = 3 and one replica frozen: the write stays in flight, already shipped to d as a skip
    // (d is no replica under the map it was placed by), while the map changes under it.
    c.node(slow).proc.kill('SIGSTOP');
    let put: Promise<unknown>;
    try {
      put = c.call(a, (x) => x.put, { key: EMPTY, value: b('raced'), partitionKey: b(pk), w: 3 });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await send(next, a)).accepted, true);
    } finally {
      c.node(slow).proc.kill('SIGCONT');
    }
    await put;
    assert.equal((await direct(d as string, key)).value.toString(), 'raced', `new replica ${d} has the write when it is acknowledged`);
  });
});
