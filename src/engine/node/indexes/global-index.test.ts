// Global indexes (globalIndexFields) across real node processes: 5 nodes with N=3 and a 3-node
// cluster replicating everything. Lookups read one partition's replicas; updates, deletes and
// concurrent writes converge to the LWW winner; a restart rebuilds; bad input is refused.
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { IndexKind } from '../../gen/ringdb/v1/convergence';
import { PeerState, type StoredEntry } from '../../gen/ringdb/v1/node';
import { preferenceList } from '../../partitioning';
import { waitFor } from '../test-harness';
import { indexEntryKey, indexPartitionKey } from './global-keys';
import { Nodes } from './test-nodes';

const b = (s: string) => Buffer.from(s);
const doc = (o: object) => b(JSON.stringify(o));
const CONVERGE_MS = 20_000;

const rejectsWith = (p: Promise<unknown>, code: status, details: RegExp) =>
  assert.rejects(p, (err: ServiceError) => {
    assert.equal(err.code, code, err.details);
    assert.match(err.details, details);
    return true;
  });

describe('global indexes (real processes)', function () {
  this.timeout(180_000);

  describe('5 nodes, N=3 W=2 R=2', () => {
    let c: Nodes;
    before(async () => {
      c = await Nodes.start(5, 3, { globalIndexFields: ['color'], indexFields: ['size'] });
    });
    after(async () => {
      await c?.stop();
    });

    it('finds keys by reading the one partition of (field, value) from R of its replicas, not every node', async () => {
      const red = ['apple', 'cherry', 'rose', 'ruby'];
      for (const [i, k] of red.entries()) await c.put(c.ids()[i], k, doc({ color: 'red', n: i }));
      await c.put('n5', 'sky', doc({ color: 'blue' }));
      await waitFor('every red key indexed', async () => (await c.keys('n1', 'color', 'red')).join() === red.join(), CONVERGE_MS);

      const replicas = c.indexReplicas('color', 'red');
      const outsider = c.ids().find((id) => !replicas.includes(id)) as string;
      const before = await c.partitionReads();
      const r = await c.query(outsider, 'color', 'red');
      const after = await c.partitionReads();
      assert.equal(r.kind, IndexKind.INDEX_KIND_GLOBAL);
      assert.equal(r.partitionId, c.map.locate(indexPartitionKey('color', 'red')).id);
      assert.deepEqual(r.keys.map((k) => k.toString()), red);
      assert.equal(r.nodes.length, 2, 'R = 2 replicas answered');
      for (const id of r.nodes) assert.ok(replicas.includes(id), `${id} replicates the partition (${replicas.join(', ')})`);
      const asked = c.ids().filter((id) => (after.get(id) as number) > (before.get(id) as number));
      assert.deepEqual(asked.sort(), [...r.nodes].sort(), 'only the answering replicas served a partition read');
      assert.ok(!asked.includes(outsider));
      assert.deepEqual(await c.keys(replicas[0], 'color', 'blue'), ['sky']);
    });

    it('moves a key to its new value\'s entry on an update and removes it on a delete, in the stored entries too', async () => {
      await c.put('n2', 'car', doc({ color: 'green' }));
      await waitFor('car under green', async () => (await c.keys('n3', 'color', 'green')).includes('car'), CONVERGE_MS);
      await c.put('n4', 'car', doc({ color: 'yellow', doors: 3 }));
      await waitFor('car moved to yellow', async () => (await c.keys('n1', 'color', 'yellow')).join() === 'car', CONVERGE_MS);
      assert.deepEqual(await c.keys('n5', 'color', 'green'), []);
      // The old entry is removed where it is stored, not only filtered by the lookup.
      await waitFor('green entry deleted on every replica', async () => (await c.storedEntries('color', 'green', 'car')).every((s) => s === 'deleted'), CONVERGE_MS);

      await c.call('n3', (x) => x.delete, { key: b('car') });
      await waitFor('car gone from yellow', async () => (await c.keys('n2', 'color', 'yellow')).length === 0, CONVERGE_MS);
      await waitFor('yellow entry deleted on every replica', async () => (await c.storedEntries('color', 'yellow', 'car')).every((s) => s === 'deleted'), CONVERGE_MS);
    });

    it('converges after concurrent writes of the same keys on two replicas to the LWW winner', async () => {
      const keys = Array.from({ length: 8 }, (_, i) => `race-${i}`);
      await Promise.all(keys.map((k) => {
        const [a, bb] = preferenceList(c.map, c.map.locate(b(k)).id);
        return Promise.all([c.put(a, k, doc({ color: 'amber' }), 1), c.put(bb, k, doc({ color: 'teal' }), 1)]);
      }));
      // Poll the stored entries (no lookups, so nothing is repaired on the way): each key ends
      // live under its winner's value on every index replica and not live under the other.
      await waitFor('index entries match the LWW winners', async () => {
        for (const k of keys) {
          const got = await c.call('n1', (x) => x.get, { key: b(k), r: 3 }).catch(() => undefined);
          if (!got) return false;
          const winner = (JSON.parse(got.value.toString()) as { color: string }).color;
          const loser = winner === 'amber' ? 'teal' : 'amber';
          if (!(await c.storedEntries('color', winner, k)).every((s) => s === 'live')) return false;
          if ((await c.storedEntries('color', loser, k)).some((s) => s === 'live')) return false;
        }
        return true;
      }, CONVERGE_MS);
      const amber = await c.keys('n3', 'color', 'amber');
      const teal = await c.keys('n4', 'color', 'teal');
      assert.deepEqual([...amber, ...teal].sort(), [...keys].sort(), 'each key under exactly one value');
      for (const k of amber) assert.equal(JSON.parse((await c.call('n5', (x) => x.get, { key: b(k) })).value.toString()).color, 'amber');
      for (const k of teal) assert.equal(JSON.parse((await c.call('n5', (x) => x.get, { key: b(k) })).value.toString()).color, 'teal');
    });

    it('removes an entry the data contradicts when a lookup meets it', async () => {
      await c.put('n1', 'boat', doc({ color: 'white' }));
      await waitFor('boat under white', async () => (await c.keys('n1', 'color', 'white')).includes('boat'), CONVERGE_MS);
      // An entry left behind (as by a maintainer that never saw the change), older than the data.
      const stale: StoredEntry = { key: indexEntryKey('color', 'violet', b('boat')), value: Buffer.alloc(0), deleted: false, version: { ts: 1, origin: 'n1', opId: '' } };
      for (const id of c.indexReplicas('color', 'violet')) await c.call(id, (x) => x.ingestEntries, { entries: [stale] });
      assert.ok((await c.storedEntries('color', 'violet', 'boat')).every((s) => s === 'live'));
      // A lookup whose check of the hit failed (a busy replica) leaves it for the next one.
      let dropped = 0;
      await waitFor('a lookup drops the stale entry', async () => {
        const r = await c.query('n2', 'color', 'violet');
        assert.deepEqual(r.keys, []);
        dropped += r.staleDropped;
        return dropped === 1;
      }, CONVERGE_MS);
      await waitFor('the stale entry deleted', async () => (await c.storedEntries('color', 'violet', 'boat')).every((s) => s === 'deleted'), CONVERGE_MS);
    });

    it('stores a value that is not a JSON object and does not index it; keeps the reserved keys out of clients\' reach', async () => {
      await c.put('n1', 'weird', b('{"color": "red"'));
      await c.put('n1', 'list', doc([{ color: 'red' }]));
      assert.equal((await c.call('n2', (x) => x.get, { key: b('weird') })).value.toString(), '{"color": "red"');
      assert.ok(!(await c.keys('n3', 'color', 'red')).some((k) => k === 'weird' || k === 'list'));

      const reserved = indexEntryKey('color', 'red', b('apple'));
      await rejectsWith(c.call('n1', (x) => x.put, { key: reserved, value: b('x') }), status.INVALID_ARGUMENT, /^key: starts with 0xff 0x49, which is reserved for global index entries$/);
      await rejectsWith(c.call('n1', (x) => x.put, { key: Buffer.alloc(0), partitionKey: Buffer.from([0xff, 0x49, 0x41]), value: b('x') }), status.INVALID_ARGUMENT, /^partition_key: starts with 0xff 0x49/);
      await rejectsWith(c.call('n1', (x) => x.batchPut, { entries: [{ key: b('fine'), value: b('1') }, { key: reserved, value: b('x') }] }), status.INVALID_ARGUMENT, /^entries\[1\]\.key: starts with 0xff 0x49/);
      await rejectsWith(c.call('n1', (x) => x.get, { key: reserved }), status.INVALID_ARGUMENT, /reserved for global index entries/);
      assert.equal((await c.call('n1', (x) => x.get, { key: b('fine') })).found, false, 'the refused batch wrote nothing');
      // A raw scan of a replica that stores entries lists client keys only.
      const holder = c.indexReplicas('color', 'red')[0];
      const all = await c.call(holder, (x) => x.scan, { start: Buffer.alloc(0), end: Buffer.alloc(0), limit: 10_000, continuationToken: Buffer.alloc(0), includeTombstones: true });
      assert.ok(all.entries.length > 0);
      assert.ok(all.entries.every((e) => !(e.key[0] === 0xff && e.key[1] === 0x49)), 'no index entry in a client scan');
    });

    it('refuses bad queries, naming the field and the indexed ones', async () => {
      await rejectsWith(c.query('n1', 'weight', '3'), status.INVALID_ARGUMENT, /^field: "weight" is not indexed; indexFields: size; globalIndexFields: color$/);
      await rejectsWith(c.query('n1', 'size', '3', IndexKind.INDEX_KIND_GLOBAL), status.INVALID_ARGUMENT, /^field: "size" has no global index; indexFields: size; globalIndexFields: color$/);
      await rejectsWith(c.query('n1', 'color', 'red', IndexKind.INDEX_KIND_SECONDARY), status.INVALID_ARGUMENT, /^field: "color" has no secondary index/);
      await rejectsWith(c.callConv('n1', (x) => x.queryIndex, { field: 'color', value: 'red', localOnly: true, kind: IndexKind.INDEX_KIND_GLOBAL }), status.INVALID_ARGUMENT, /^local_only: applies to secondary indexes only/);
      await rejectsWith(c.query('n1', 'color', 'x'.repeat(4097)), status.INVALID_ARGUMENT, /^value: must be at most 4096 characters \(longer field values are not indexed\), got 4097$/);
      await rejectsWith(c.callConv('n1', (x) => x.readGlobalIndex, { field: 'size', value: '3', after: Buffer.alloc(0), limit: 0 }), status.INVALID_ARGUMENT, /^field: "size" has no global index/);
      await rejectsWith(c.callConv('n1', (x) => x.readGlobalIndex, { field: 'color', value: 'red', after: Buffer.alloc(0), limit: 10_001 }), status.INVALID_ARGUMENT, /^limit: must be 0 \(1000\) to 10000, got 10001$/);
      // The secondary index still answers its own field.
      await c.put('n2', 'box', doc({ size: 3 }));
      await waitFor('box under size 3', async () => (await c.query('n1', 'size', '3')).keys.map(String).includes('box'), CONVERGE_MS);
      assert.equal((await c.query('n1', 'size', '3')).kind, IndexKind.INDEX_KIND_SECONDARY);
    });
  });

  describe('3 nodes, every node a replica (N=3)', () => {
    let c: Nodes;
    before(async () => {
      // No global index at first: it is added to a running cluster's data by restarting the nodes.
      c = await Nodes.start(3, 3, {});
    });
    after(async () => {
      await c?.stop();
    });

    it('rebuilds on start: a field added to globalIndexFields indexes the keys already stored', async () => {
      const keys = Array.from({ length: 30 }, (_, i) => `doc-${String(i).padStart(2, '0')}`);
      for (const [i, k] of keys.entries()) await c.put(c.ids()[i % 3], k, doc({ color: i % 2 ? 'odd' : 'even' }));
      await c.put('n1', 'gone', doc({ color: 'even' }));
      await c.call('n1', (x) => x.delete, { key: b('gone') });
      for (const id of c.ids()) {
        await c.kill(id);
        await c.restart(id, { globalIndexFields: ['color'] });
      }
      const even = keys.filter((_, i) => i % 2 === 0);
      await waitFor('the stored keys indexed after the restart', async () => (await c.keys('n2', 'color', 'even')).join() === even.join(), CONVERGE_MS);
      assert.equal((await c.keys('n3', 'color', 'odd')).length, 15);
      let rebuilt = 0;
      for (const id of c.ids()) rebuilt += (await c.callConv(id, (x) => x.convergenceStats, {})).globalIndex?.rebuiltKeys ?? 0;
      assert.equal(rebuilt, keys.length, 'each live key re-derived once, by its primary replica');
    });

    it('converges after concurrent writes of one key on two nodes', async () => {
      for (let round = 0; round < 4; round++) {
        const k = `duel-${round}`;
        await Promise.all([c.put('n1', k, doc({ color: 'cyan' }), 1), c.put('n2', k, doc({ color: 'magenta' }), 1)]);
        await waitFor(`${k} under its winner only`, async () => {
          const winner = (JSON.parse((await c.call('n3', (x) => x.get, { key: b(k), r: 3 })).value.toString()) as { color: string }).color;
          const loser = winner === 'cyan' ? 'magenta' : 'cyan';
          return (await c.storedEntries('color', winner, k)).every((s) => s === 'live') && !(await c.storedEntries('color', loser, k)).includes('live');
        }, CONVERGE_MS);
      }
      const cyan = await c.keys('n1', 'color', 'cyan');
      const magenta = await c.keys('n2', 'color', 'magenta');
      assert.deepEqual([...cyan, ...magenta].sort(), ['duel-0', 'duel-1', 'duel-2', 'duel-3']);
    });

    it('keeps indexing while the primary replica of a key is down (the next replica takes over)', async () => {
      const k = 'handover';
      const [primary, second] = preferenceList(c.map, c.map.locate(b(k)).id);
      await c.put(second, k, doc({ color: 'lime' }));
      await waitFor('handover under lime', async () => (await c.keys(second, 'color', 'lime')).includes(k), CONVERGE_MS);
      await c.kill(primary);
      await waitFor(`${second} sees ${primary} down`, async () =>
        (await c.call(second, (x) => x.stats, {})).stats?.peers.find((p) => p.id === primary)?.state === PeerState.PEER_STATE_DOWN);
      await c.put(second, k, doc({ color: 'olive' }));
      await waitFor('handover moved to olive with the primary down', async () => (await c.keys(second, 'color', 'olive')).includes(k), CONVERGE_MS);
      assert.ok(!(await c.keys(second, 'color', 'lime')).includes(k));
      await c.restart(primary);
      await waitFor('the restarted primary answers the same', async () => (await c.keys(primary, 'color', 'olive')).includes(k), CONVERGE_MS);
    });

    // Found by an exploratory test: a kill -9 of the primary during writes lost the entries in its
    // in-memory outbox, and lookups missed those keys, saying nothing, until it restarted. A frozen
    // primary that never saw the write is the same case, made deterministic: nobody derived it.
    it('finds a key whose primary froze before the write reached it, and names that node while it is down', async () => {
      const k = 'frozen-primary';
      const [primary, second, third] = preferenceList(c.map, c.map.locate(b(k)).id);
      const stats = (id: string) => c.call(id, (x) => x.stats, {});
      await waitFor('every node up', async () => (await stats(second)).stats?.peers.every((p) => p.state === PeerState.PEER_STATE_UP) ?? false, CONVERGE_MS);
      c.node(primary).proc.kill('SIGSTOP');
      try {
        // W=2 on the other two: they store it before the heartbeat says the primary is down, so
        // neither derives its entry at write time.
        await c.put(second, k, doc({ color: 'teal' }));
        await waitFor(`${second} and ${third} see ${primary} down`, async () => {
          for (const id of [second, third]) if ((await stats(id)).stats?.peers.find((p) => p.id === primary)?.state !== PeerState.PEER_STATE_DOWN) return false;
          return true;
        }, CONVERGE_MS);
        await waitFor(`${k} found under teal with ${primary} down`, async () => (await c.keys(third, 'color', 'teal')).includes(k), CONVERGE_MS);
        const r = await c.query(second, 'color', 'teal');
        assert.ok(r.unreachable.some((u) => u.startsWith(`${primary}: down`)), `the answer names ${primary}: ${JSON.stringify(r.unreachable)}`);
      } finally {
        c.node(primary).proc.kill('SIGCONT');
      }
      await waitFor(`${primary} up again`, async () => (await stats(second)).stats?.peers.find((p) => p.id === primary)?.state === PeerState.PEER_STATE_UP, CONVERGE_MS);
      assert.deepEqual((await c.query(second, 'color', 'teal')).unreachable, []);
    });

    // Seen as a rare failure of the two-node duel below: a node that stood in for a primary it
    // thought down put an entry, then stored the newer version once the primary was back, as a
    // replica that no longer maintained the key. The primary saw the newer version first, so
    // nobody removed the old value's entry, and only a lookup would have.
    it('a stand-in that put an entry removes it when it later stores a newer value, with no lookup', async () => {
      const k = 'stood-in';
      const [primary, second] = preferenceList(c.map, c.map.locate(b(k)).id);
      const peerState = async (of: string) => (await c.call(second, (x) => x.stats, {})).stats?.peers.find((p) => p.id === of)?.state;
      // Versions far past every node's clock: ingested versions, not writes, so each reaches only the node named.
      const ingest = (id: string, color: string, ts: number) =>
        c.call(id, (x) => x.ingestEntries, { entries: [{ key: b(k), value: doc({ color }), deleted: false, version: { ts, origin: primary, opId: '' } }] });
      const entries = (color: string, nodes?: string[]) => c.storedEntries('color', color, k, nodes);
      await ingest(primary, 'magenta', 90_000_002);
      await waitFor('the newer value indexed by the primary', async () => (await entries('magenta')).every((s) => s === 'live'), CONVERGE_MS);

      c.node(primary).proc.kill('SIGSTOP');
      try {
        await waitFor(`${second} sees ${primary} down`, async () => (await peerState(primary)) === PeerState.PEER_STATE_DOWN, CONVERGE_MS);
        await ingest(second, 'cyan', 90_000_001);
        const upReplicas = c.indexReplicas('color', 'cyan').filter((id) => id !== primary);
        await waitFor(`${second} standing in put the older value's entry`, async () => (await entries('cyan', upReplicas)).every((s) => s === 'live'), CONVERGE_MS);
      } finally {
        c.node(primary).proc.kill('SIGCONT');
      }
      await waitFor(`${second} sees ${primary} up`, async () => (await peerState(primary)) === PeerState.PEER_STATE_UP, CONVERGE_MS);
      await ingest(second, 'magenta', 90_000_002);
      await waitFor('the older value\'s entry removed on every index replica', async () => (await entries('cyan')).every((s) => s === 'deleted'), CONVERGE_MS);
      assert.ok((await entries('magenta')).every((s) => s === 'live'));
    });
  });
});
