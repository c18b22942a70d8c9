// Real node processes on real ports: convergence, LWW, deletes, exactly-once application,
// crash recovery, topologies. No part is simulated.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { OpKind, PeerState, type NodeServiceClient, type Op } from '../gen/ringdb/v1/node';
import { readStateFile } from '../replication/state-file';
import type { UnaryMethod } from '../rpc';
import { NodeFileSystem } from '../storage';
import { TestCluster, waitFor } from './test-harness';

const b = (s: string) => Buffer.from(s);
type Method<Req, Res> = (c: NodeServiceClient) => UnaryMethod<Req, Res>;
const put: Method<{ key: Buffer; value: Buffer }, { version?: { ts: number; origin: string; opId: string } }> = (c) => c.put;

/** Every live key (tombstones too when asked) on `id`, as key -> value string (null = deleted). */
async function dump(c: TestCluster, id: string, includeTombstones = false): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  let token: Buffer = Buffer.alloc(0);
  do {
    const res = await c.call(id, (x) => x.scan, { start: Buffer.alloc(0), end: Buffer.alloc(0), limit: 10_000, continuationToken: token, includeTombstones });
    for (const e of res.entries) out.set(e.key.toString(), e.deleted ? null : e.value.toString());
    token = res.continuationToken;
  } while (token.length > 0);
  return out;
}

async function converged(c: TestCluster, ids: string[], includeTombstones = false): Promise<boolean> {
  const dumps = await Promise.all(ids.map((id) => dump(c, id, includeTombstones)));
  const first = JSON.stringify([...dumps[0]]);
  return dumps.every((d) => JSON.stringify([...d]) === first);
}

describe('node cluster (real processes)', function () {
  this.timeout(90_000);

  describe('full mesh of 3', () => {
    let c: TestCluster;
    before(async () => {
      c = await TestCluster.start(3);
    });
    after(async () => {
      await c?.stop();
    });

    it('converges writes made on every node', async () => {
      const ids = ['n1', 'n2', 'n3'];
      await Promise.all(ids.flatMap((id) => Array.from({ length: 20 }, (_, i) => c.call(id, put, { key: b(`w-${id}-${i}`), value: b(`${id}:${i}`) }))));
      await c.call('n2', (x) => x.batchPut, { entries: Array.from({ length: 500 }, (_, i) => ({ key: b(`batch-${i}`), value: b(`v${i}`) })) });
      await waitFor('all writes everywhere', async () => (await dump(c, 'n1')).size === 560 && (await converged(c, ids)));
      const n3 = await dump(c, 'n3');
      assert.equal(n3.get('w-n1-7'), 'n1:7');
      assert.equal(n3.get('batch-499'), 'v499');
    });

    it('converges concurrent writes to one key on the LWW winner, with its version', async () => {
      const [r1, r2] = await Promise.all([
        c.call('n1', put, { key: b('contested'), value: b('from-n1') }),
        c.call('n2', put, { key: b('contested'), value: b('from-n2') }),
      ]);
      const v1 = r1.version!;
      const v2 = r2.version!;
      const winner = v1.ts > v2.ts || (v1.ts === v2.ts && v1.origin > v2.origin) ? { v: v1, value: 'from-n1' } : { v: v2, value: 'from-n2' };
      for (const id of ['n1', 'n2', 'n3']) {
        await waitFor(`winner on ${id}`, async () => {
          const g = await c.call(id, (x) => x.get, { key: b('contested') });
          return g.value.toString() === winner.value && g.version?.opId === winner.v.opId && g.version.ts === winner.v.ts;
        });
      }
    });

    it('converges deletes as tombstones that beat the older value', async () => {
      await c.call('n1', put, { key: b('doomed'), value: b('x') });
      await waitFor('doomed on n3', async () => (await c.call('n3', (x) => x.get, { key: b('doomed') })).found);
      const del = await c.call('n3', (x) => x.delete, { key: b('doomed') });
      for (const id of ['n1', 'n2', 'n3']) {
        await waitFor(`delete on ${id}`, async () => {
          const g = await c.call(id, (x) => x.get, { key: b('doomed') });
          return !g.found && g.deleted && g.version?.opId === del.version?.opId;
        });
      }
      assert.ok(await converged(c, ['n1', 'n2', 'n3'], true));
    });

    it('applies duplicate and out-of-order Replicate deliveries exactly once, in seq order', async () => {
      // Ops of an origin that is not a member ("x9"), delivered 3, 1, 2, 1, 3: seq 3 waits for 2.
      const op = (seq: number, value: string): Op => ({ origin: 'x9', seq, ts: 1_000_000 + seq, kind: OpKind.OP_KIND_PUT, key: b('ooo'), value: b(value) });
      const send = (ops: Op[]) => c.call('n1', (x) => x.replicate, { sender: 'x9', ops });
      const before = (await c.call('n1', (x) => x.stats, {})).stats!.counters!;
      let r = await send([op(3, 'third')]);
      assert.deepEqual([r.applied, r.buffered, r.lastSeen.x9], [0, 1, 0]);
      assert.equal((await c.call('n1', (x) => x.get, { key: b('ooo') })).found, false, 'an op ahead of its predecessor must not be applied');
      r = await send([op(1, 'first')]);
      assert.deepEqual([r.applied, r.lastSeen.x9], [1, 1]);
      assert.equal((await c.call('n1', (x) => x.get, { key: b('ooo') })).value.toString(), 'first');
      r = await send([op(2, 'second'), op(1, 'first'), op(2, 'second')]);
      assert.deepEqual([r.applied, r.duplicates, r.lastSeen.x9], [2, 2, 3], 'seq 2 and the held seq 3 applied; replays dropped');
      r = await send([op(3, 'third'), op(1, 'first')]);
      assert.deepEqual([r.applied, r.duplicates, r.lastSeen.x9], [0, 2, 3]);
      const after = (await c.call('n1', (x) => x.stats, {})).stats!;
      assert.equal(after.counters!.replicatedApplied - before.replicatedApplied, 3);
      assert.equal(after.versionVector.x9, 3);
      // One applied mark per stored batch, in seq order: seq 1 alone, then 2 and the held 3.
      const marks = await c.call('n1', (x) => x.appliedMarks, { origin: 'x9', afterSeq: 0, limit: 0 });
      assert.deepEqual(marks.marks.map((m) => m.seq), [1, 3]);
      assert.ok(marks.marks[0].storedAtUnixMs <= marks.marks[1].storedAtUnixMs && marks.marks[1].storedAtUnixMs <= Date.now() + 1);
      assert.deepEqual((await c.call('n1', (x) => x.appliedMarks, { origin: 'x9', afterSeq: 1, limit: 1 })).marks.map((m) => m.seq), [3]);
      const g = await c.call('n1', (x) => x.get, { key: b('ooo') });
      assert.deepEqual([g.value.toString(), g.version?.opId], ['third', 'x9:3']);
      // The Lamport clock advanced past every received timestamp, so a new local write wins.
      const local = await c.call('n1', put, { key: b('ooo'), value: b('local') });
      assert.ok(local.version!.ts > 1_000_003);
      // Anti-entropy carries x9's ops to the other nodes even though x9 never talked to them.
      await waitFor('x9 ops on n2', async () => (await c.call('n2', (x) => x.stats, {})).stats!.versionVector.x9 === 3);
    });

    it('reports the replication log with per-peer acknowledgements', async () => {
      await c.call('n2', put, { key: b('logged'), value: b('v') });
      await waitFor('acked by both', async () => {
        const res = await c.call('n2', (x) => x.replicationLog, { fromLsn: 0, limit: 0 });
        const e = res.entries.find((x) => x.key.toString() === 'logged');
        return e !== undefined && e.acks.length === 2 && e.acks.every((a) => a.acked);
      });
      // A heartbeat can miss its deadline on a loaded machine, so the state is awaited, not sampled.
      await waitFor('both peers up, heard from, nothing pending', async () => {
        const stats = (await c.call('n2', (x) => x.stats, {})).stats!;
        return stats.peers.length === 2 && stats.peers.every((p) => p.state === PeerState.PEER_STATE_UP && p.lastHeardUnixMs > 0 && p.pendingOps === 0);
      });
    });

    it('loses no acknowledged write when a node is SIGKILLed mid-stream, and the node catches up after restart', async () => {
      const acked = new Set<string>();
      let stop = false;
      const writer = async (id: string) => {
        for (let i = 0; !stop; i++) {
          const entries = Array.from({ length: 50 }, (_, j) => ({ key: b(`crash-${id}-${i}-${j}`), value: b(`${i}`) }));
          try {
            await c.call(id, (x) => x.batchPut, { entries });
            for (const e of entries) acked.add(e.key.toString());
          } catch {
            if (id === 'n3') return; // n3 is the one being killed
          }
        }
      };
      const writers = [writer('n1'), writer('n2'), writer('n3')];
      await waitFor('some writes', () => acked.size > 2000);
      await c.kill('n3');
      const countAtKill = acked.size;
      await waitFor('more writes while n3 is down', () => acked.size > countAtKill + 3000);
      const stateOfN3 = async () => (await c.call('n1', (x) => x.stats, {})).stats!.peers.find((p) => p.id === 'n3')!.state;
      await waitFor('n1 sees n3 down', async () => (await stateOfN3()) === PeerState.PEER_STATE_DOWN);
      await c.restart('n3');
      await waitFor('n1 sees n3 up again', async () => (await stateOfN3()) === PeerState.PEER_STATE_UP);
      await waitFor('writes after restart', () => acked.size > countAtKill + 5000);
      stop = true;
      await Promise.all(writers);
      for (const id of ['n1', 'n2', 'n3']) {
        await waitFor(`every acknowledged write on ${id}`, async () => {
          const d = await dump(c, id);
          for (const k of acked) if (!d.has(k)) return false;
          return true;
        }, 60_000);
      }
      assert.ok(await converged(c, ['n1', 'n2', 'n3'], true));
    });
  });

  it('keeps acknowledged writes that were only in a memtable and the replication log through SIGKILL (the log replays them)', async () => {
    const c = await TestCluster.start(2, { storage: { sync: 'batch', syncIntervalMs: 2, memtableBytes: 256 * 1024 }, antiEntropyIntervalMs: 3_600_000 });
    try {
      const written = new Map<string, string>();
      const batchPut = async (id: string, from: number, count: number) => {
        const entries = Array.from({ length: count }, (_, i) => ({ key: b(`mem-${id}-${from + i}`), value: b(`${id}:${from + i}`.padEnd(100, '.')) }));
        await c.call(id, (x) => x.batchPut, { entries });
        for (const e of entries) written.set(e.key.toString(), e.value.toString());
      };
      const stats = async (id: string) => (await c.call(id, (x) => x.stats, {})).stats!;
      const state = (id: string) => readStateFile(new NodeFileSystem(), path.join(c.dir, id, 'replication_state'));
      const applied = (n1: number, n2: number) => async () => {
        const vv = [(await stats('n1')).versionVector, (await stats('n2')).versionVector];
        return vv.every((v) => (v.n1 ?? 0) === n1 && (v.n2 ?? 0) === n2);
      };
      // Some writes reach tables (the replay point moves past them)...
      await batchPut('n1', 0, 500);
      await batchPut('n2', 0, 100);
      await waitFor('the first writes everywhere', applied(500, 100));
      for (const id of ['n1', 'n2']) await c.call(id, (x) => x.flush, {});
      // ...the next ones (far below a memtable) stay in the memtable and the log. n2 writes last,
      // so it acknowledges n1's ops first and both save their state after every write.
      await batchPut('n1', 500, 500);
      await batchPut('n2', 100, 100);
      await waitFor('the next writes everywhere', applied(1000, 200));
      const peer: Record<string, string> = { n1: 'n2', n2: 'n1' };
      for (const id of ['n1', 'n2']) {
        const end = (await stats(id)).logNextLsn;
        await waitFor(`${id} saved its state after every write`, () => (state(id).cursors[peer[id]] ?? 0) >= end);
        const s = await stats(id);
        assert.equal(s.storage!.walBytes, 0, `${id}: logged ops wrote nothing to the store's WAL`);
        assert.equal(s.storage!.memtableEntries, 600, `${id}: the second writes are in the memtable alone`);
        const replayFrom = state(id).storeReplayLsn;
        assert.ok(replayFrom > 0 && replayFrom <= end - 600, `${id}: the saved replay point ${replayFrom} lies before the second writes (log ends at ${end})`);
      }
      await c.kill('n1');
      await c.kill('n2');
      for (const id of ['n1', 'n2']) {
        const restarted = await c.restart(id);
        assert.match(restarted.output.join(''), /re-applied \d+ logged ops/, `${id} replayed its log into the store`);
        const d = await dump(c, id);
        for (const [k, v] of written) assert.equal(d.get(k), v, `${id}: acknowledged ${k}`);
      }
    } finally {
      await c.stop();
    }
  });

  it('keeps its peers\' cursors while it waits for the membership after a restart, resends nothing once it comes, and forgets a peer the membership drops', async () => {
    const c = await TestCluster.start(3, { antiEntropyIntervalMs: 3_600_000 });
    try {
      const stats = async (id: string) => (await c.call(id, (x) => x.stats, {})).stats!;
      const stateFile = path.join(c.dir, 'n1', 'replication_state');
      const state = () => readStateFile(new NodeFileSystem(), stateFile);
      await c.call('n1', (x) => x.batchPut, { entries: Array.from({ length: 300 }, (_, i) => ({ key: b(`cursor-${i}`), value: b('v') })) });
      const end = (await stats('n1')).logNextLsn;
      await waitFor('n1 saved both peers\' acknowledgements', () => (state().cursors.n2 ?? 0) >= end && (state().cursors.n3 ?? 0) >= end);
      await c.terminate('n1');
      const saved = state().cursors;
      // Alone, as a cluster start leaves a node until the controller sends the membership; it
      // saves its state a second after it starts.
      await c.restart('n1', { alone: true });
      const savedAt = statSync(stateFile).mtimeMs;
      await waitFor('n1 saved its state while alone', () => statSync(stateFile).mtimeMs > savedAt);
      assert.deepEqual(state().cursors, saved, 'the cursors of peers without a sender yet are kept');
      await c.introduce('n1', ['n2', 'n3']);
      await waitFor('n1 sees both peers up', async () => (await stats('n1')).peers.filter((p) => p.state === PeerState.PEER_STATE_UP).length === 2);
      const peers = (await stats('n1')).peers;
      assert.deepEqual(peers.map((p) => [p.id, p.ackedLsn, p.pendingOps]).sort(), [['n2', saved.n2, 0], ['n3', saved.n3, 0]]);
      assert.equal((await stats('n1')).counters!.opsSent, 0, 'nothing acknowledged before the restart was sent again');
      await c.introduce('n1', ['n2']);
      await waitFor('n1 forgot n3\'s cursor', () => state().cursors.n3 === undefined && state().cursors.n2 === saved.n2);
    } finally {
      await c.stop();
    }
  });

  it('brings a node added later up to date (log resend from the start and pull sync)', async () => {
    const c = await TestCluster.start(2);
    try {
      await c.call('n1', (x) => x.batchPut, { entries: Array.from({ length: 300 }, (_, i) => ({ key: b(`early-${i}`), value: b('1') })) });
      await c.call('n2', (x) => x.delete, { key: b('early-7') });
      await c.addNode('n3');
      await c.call('n3', put, { key: b('late'), value: b('3') });
      await waitFor('n3 caught up', async () => (await dump(c, 'n3', true)).size === 301 && (await converged(c, ['n1', 'n2', 'n3'], true)));
      assert.equal((await dump(c, 'n1')).get('late'), '3');
      const peers = (await c.call('n3', (x) => x.stats, {})).stats!.peers.map((p) => p.id).sort();
      assert.deepEqual(peers, ['n1', 'n2']);
    } finally {
      await c.stop();
    }
  });

  const topologies: [string, number, Record<string, string[]>][] = [
    ['ring', 3, { n1: ['n2'], n2: ['n3'], n3: ['n1'] }],
    ['star', 4, { n1: ['n2', 'n3', 'n4'], n2: ['n1'], n3: ['n1'], n4: ['n1'] }],
  ];
  for (const [name, n, topology] of topologies) {
    it(`converges along a ${name} topology by forwarding (anti-entropy off)`, async () => {
      const c = await TestCluster.start(n, { topology, antiEntropyIntervalMs: 3_600_000 });
      try {
        const ids = [...c.nodes.keys()];
        await Promise.all(ids.map((id) => c.call(id, (x) => x.batchPut, { entries: Array.from({ length: 100 }, (_, i) => ({ key: b(`${id}-${i}`), value: b(id) })) })));
        await c.call('n2', (x) => x.delete, { key: b('n1-0') });
        await waitFor(`${name} converged`, async () => (await dump(c, ids[ids.length - 1], true)).size === n * 100 && (await converged(c, ids, true)));
        const last = await dump(c, ids[ids.length - 1], true);
        assert.equal(last.get('n1-0'), null);
        // Forwarded ops were deduplicated: each node applied every op it did not originate exactly once
        // (n * 100 puts and one delete, minus its own).
        for (const id of ids) {
          const s = (await c.call(id, (x) => x.stats, {})).stats!;
          const own = 100 + (id === 'n2' ? 1 : 0);
          assert.equal(s.counters!.replicatedApplied, n * 100 + 1 - own);
        }
      } finally {
        await c.stop();
      }
    });
  }
});
