// Replication backpressure across real node processes: writers wait for peers that lag, but a
// hung or dead peer never stops the survivors, and nothing is lost either way.
import assert from 'node:assert/strict';
import { readdirSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { PeerState } from '../gen/ringdb/v1/node';
import { TestCluster, waitFor } from './test-harness';

const b = (s: string) => Buffer.from(s);
const BOUND = 100;
const BATCH = 50;

describe('replication backpressure (real processes)', function () {
  this.timeout(120_000);
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start(3, { replicationBacklogOps: BOUND });
  });
  after(async () => {
    for (const id of ['n1', 'n2', 'n3']) {
      try {
        process.kill(c.node(id).pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await c?.stop();
  });

  const counters = async (id: string) => (await c.call(id, (x) => x.stats, {})).stats!.counters!;
  const batch = (prefix: string, i: number) => ({ entries: Array.from({ length: BATCH }, (_, j) => ({ key: b(`${prefix}-${i}-${j}`), value: b(`${i}`) })) });
  const count = async (id: string, prefix: string) => {
    const res = await c.call(id, (x) => x.scan, { start: b(prefix), end: b(`${prefix}~`), limit: 10_000, continuationToken: Buffer.alloc(0), includeTombstones: false });
    return res.entries.length;
  };

  it('makes writers wait while peers have more than replicationBacklogOps of their writes unacknowledged', async () => {
    const before = await counters('n1');
    // Six batches at once: only two fit under the bound before peers acknowledge anything.
    await Promise.all(Array.from({ length: 6 }, (_, i) => c.call('n1', (x) => x.batchPut, batch('bp', i))));
    const after = await counters('n1');
    assert.ok(after.backpressureWaits - before.backpressureWaits >= 4, `waits ${after.backpressureWaits - before.backpressureWaits}`);
    assert.ok(after.backpressureWaitedMs >= before.backpressureWaitedMs);
    for (const id of ['n2', 'n3']) await waitFor(`all 300 on ${id}`, async () => (await count(id, 'bp')) === 6 * BATCH);
  });

  it('does not hold writes while a node added later copies the history it missed', async () => {
    const pair = await TestCluster.start(2, { replicationBacklogOps: BOUND });
    try {
      for (let i = 0; i < 10; i++) {
        await pair.call('n1', (x) => x.batchPut, { entries: Array.from({ length: 1000 }, (_, j) => ({ key: b(`history-${i}-${j}`), value: b('h') })) });
      }
      const n3 = await pair.addNode('n3');
      // Frozen at once: its catch-up of n1's 10,000 ops stays outstanding for the rest of the test.
      process.kill(n3.pid, 'SIGSTOP');
      try {
        await waitFor('n1 ships to n3', async () => (await pair.call('n1', (x) => x.stats, {})).stats!.peers.some((p) => p.id === 'n3' && p.destination));
        const before = (await pair.call('n1', (x) => x.stats, {})).stats!.counters!;
        await pair.call('n1', (x) => x.batchPut, batch('fresh', 0));
        const after = (await pair.call('n1', (x) => x.stats, {})).stats!.counters!;
        assert.equal(after.backpressureWaits, before.backpressureWaits, 'the history n3 catches up on is not lag: no write waits for it');
      } finally {
        process.kill(n3.pid, 'SIGCONT');
      }
      await waitFor('n3 caught up', async () => {
        const last = await pair.call('n3', (x) => x.get, { key: b('history-9-999') });
        return last.found;
      }, 60_000);
    } finally {
      await pair.stop();
    }
  });

  it('keeps accepting writes when a peer hangs, stops waiting for it once it is down, and catches it up later', async () => {
    const n3 = c.node('n3');
    process.kill(n3.pid, 'SIGSTOP');
    try {
      // Every batch is acknowledged although n3 acknowledges nothing: first after the stall
      // timeout (n3 is alive as far as anyone knows), then without waiting once it is down.
      for (let i = 0; i < 6; i++) await c.call('n1', (x) => x.batchPut, batch('hang', i));
      const n3State = async () => (await c.call('n1', (x) => x.stats, {})).stats!.peers.find((p) => p.id === 'n3')!.state;
      await waitFor('n1 sees n3 down', async () => (await n3State()) === PeerState.PEER_STATE_DOWN);
      const atDown = await counters('n1');
      for (let i = 6; i < 16; i++) await c.call('n1', (x) => x.batchPut, batch('hang', i));
      const later = await counters('n1');
      // n2 may lag on a loaded machine and make a writer wait briefly; a wait on n3, which
      // acknowledges nothing, could only end by the stall timeout.
      assert.equal(later.backpressureTimeouts, atDown.backpressureTimeouts, 'a down peer must not make writers wait');
      await waitFor('n2 has every write', async () => (await count('n2', 'hang')) === 16 * BATCH);
    } finally {
      process.kill(n3.pid, 'SIGCONT');
    }
    await waitFor('n3 caught up', async () => (await count('n3', 'hang')) === 16 * BATCH, 60_000);
  });

  it('stops waiting for a peer whose sender cannot read this node\'s log, and says why in Stats', async () => {
    const pair = await TestCluster.start(2, { replicationBacklogOps: BOUND });
    try {
      await pair.kill('n2');
      // Over 64 MiB of ops: more than the newest 32 MiB the log keeps in memory plus two 16 MiB
      // segments. While n2 is down its sender keeps reading the first segment (and keeps it
      // decoded); once n2 is back it ships that and then must read the second from its file.
      const value = Buffer.alloc(2000, 1);
      for (let i = 0; i < 70; i++) {
        await pair.call('n1', (x) => x.batchPut, { entries: Array.from({ length: 500 }, (_, j) => ({ key: b(`old-${i}-${j}`), value })) });
      }
      // The second segment's file deleted by hand: the log cannot read it at all. (A damaged
      // record no longer stops a sender: it ships a skip for it, node/damaged-log.test.ts.)
      const logDir = path.join(pair.dir, 'n1', 'replication_log');
      const segments = readdirSync(logDir).filter((f) => f.endsWith('.log')).sort();
      assert.ok(segments.length >= 5, `${segments.length} segments`);
      unlinkSync(path.join(logDir, segments[1]));

      await pair.restart('n2');
      const n2Error = async () => (await pair.call('n1', (x) => x.stats, {})).stats!.peers.find((p) => p.id === 'n2')?.lastError ?? '';
      await waitFor('n1 reports that it cannot read its log for n2', async () => /cannot read the replication log/.test(await n2Error()));
      const before = (await pair.call('n1', (x) => x.stats, {})).stats!.counters!;
      for (let i = 0; i < 6; i++) await pair.call('n1', (x) => x.batchPut, batch('after-damage', i));
      const after = (await pair.call('n1', (x) => x.stats, {})).stats!.counters!;
      assert.equal(after.backpressureWaits, before.backpressureWaits, 'no write waits for a peer the log cannot be shipped to');
      assert.match(await n2Error(), /ENOENT/);
    } finally {
      await pair.stop();
    }
  });
});
