// The node's edges, over real processes: every RPC rejects bad input with INVALID_ARGUMENT
// naming the field, calls without the right token are UNAUTHENTICATED, and neither changes
// anything; the process exits when its stdin closes and shuts down cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { OpKind, type NodeServiceClient, type WatchReplicationLogResponse, type WatchStoreResponse } from '../gen/ringdb/v1/node';
import type { UnaryMethod } from '../rpc';
import { spawnNode, TestCluster, waitFor } from './test-harness';

const b = (s: string) => Buffer.from(s);
const EMPTY = Buffer.alloc(0);

describe('node edges (real process)', function () {
  this.timeout(60_000);
  let c: TestCluster;
  before(async () => {
    c = await TestCluster.start(1);
    await c.call('n1', (x) => x.put, { key: b('kept'), value: b('v1') });
  });
  after(async () => {
    await c?.stop();
  });

  /** Everything a bad call could have changed. */
  async function observable(): Promise<string> {
    const s = (await c.call('n1', (x) => x.stats, {})).stats!;
    const scan = await c.call('n1', (x) => x.scan, { start: EMPTY, end: EMPTY, limit: 0, continuationToken: EMPTY, includeTombstones: true });
    return JSON.stringify({ seq: s.seq, vv: s.versionVector, c: { ...s.counters, gets: 0, scans: 0 }, log: s.logNextLsn, rows: scan.entries });
  }

  async function rejects<Req, Res>(method: (x: NodeServiceClient) => UnaryMethod<Req, Res>, request: Req, field: string | RegExp, code = status.INVALID_ARGUMENT): Promise<void> {
    await assert.rejects(c.call('n1', method, request), (err: ServiceError) => {
      assert.equal(err.code, code, `${err.code}: ${err.details}`);
      assert.match(err.details, typeof field === 'string' ? new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: `) : field);
      return true;
    });
  }

  it('rejects bad input on every RPC with the field named, changing nothing', async () => {
    const before = await observable();
    const longKey = Buffer.alloc(64 * 1024 + 1, 1);
    await rejects((x) => x.put, { key: EMPTY, value: b('v') }, 'key');
    await rejects((x) => x.put, { key: longKey, value: b('v') }, 'key');
    await rejects((x) => x.get, { key: EMPTY }, 'key');
    await rejects((x) => x.delete, { key: EMPTY }, 'key');
    await rejects((x) => x.scan, { start: EMPTY, end: EMPTY, limit: 10_001, continuationToken: EMPTY, includeTombstones: false }, 'limit');
    await rejects((x) => x.scan, { start: b('m'), end: b('a'), limit: 0, continuationToken: EMPTY, includeTombstones: false }, 'end');
    await rejects((x) => x.scan, { start: b('m'), end: EMPTY, limit: 0, continuationToken: b('a'), includeTombstones: false }, 'continuation_token');
    await rejects((x) => x.batchPut, { entries: [] }, 'entries');
    // One bad entry rejects the whole batch: the good entry before it is not written either.
    await rejects((x) => x.batchPut, { entries: [{ key: b('good'), value: b('v') }, { key: EMPTY, value: b('v') }] }, 'entries[1].key');
    const op = { origin: 'n9', seq: 1, ts: 5, kind: OpKind.OP_KIND_PUT, key: b('r'), value: b('v') };
    await rejects((x) => x.replicate, { sender: 'bad id!', ops: [op] }, 'sender');
    await rejects((x) => x.replicate, { sender: 'n9', ops: [op, { ...op, seq: 2, origin: '' }] }, 'ops[1].origin');
    await rejects((x) => x.replicate, { sender: 'n9', ops: [{ ...op, seq: 0 }] }, 'ops[0].seq');
    await rejects((x) => x.replicate, { sender: 'n9', ops: [{ ...op, ts: 0 }] }, 'ops[0].ts');
    await rejects((x) => x.replicate, { sender: 'n9', ops: [{ ...op, kind: OpKind.OP_KIND_UNSPECIFIED }] }, 'ops[0].kind');
    await rejects((x) => x.replicate, { sender: 'n9', ops: [{ ...op, kind: OpKind.OP_KIND_DELETE }] }, 'ops[0].value');
    await rejects((x) => x.replicate, { sender: 'n9', ops: [{ ...op, key: EMPTY }] }, 'ops[0].key');
    await rejects((x) => x.fetchUpdates, { requester: '', lastSeen: {}, limit: 0, skipOrigins: [] }, 'requester');
    await rejects((x) => x.fetchUpdates, { requester: 'n9', lastSeen: { 'bad id': 1 }, limit: 0, skipOrigins: [] }, 'last_seen key');
    await rejects((x) => x.fetchUpdates, { requester: 'n9', lastSeen: {}, limit: 100_001, skipOrigins: [] }, 'limit');
    await rejects((x) => x.fetchUpdates, { requester: 'n9', lastSeen: {}, limit: 0, skipOrigins: ['n1', ''] }, 'skip_origins[1]');
    await rejects((x) => x.updateMembership, { peers: [{ id: 'n2', address: 'nowhere' }], topology: {} }, 'peers[0].address');
    await rejects((x) => x.updateMembership, { peers: [{ id: 'n2', address: '127.0.0.1:1' }, { id: 'n2', address: '127.0.0.1:2' }], topology: {} }, 'peers[1].id');
    await rejects((x) => x.updateMembership, { peers: [], topology: { n1: { nodeIds: ['n7'] } } }, /^topology: .*unknown destination "n7"/);
    await rejects((x) => x.replicationLog, { fromLsn: 0, limit: 10_001 }, 'limit');
    await rejects((x) => x.appliedMarks, { origin: '', afterSeq: 0, limit: 0 }, 'origin');
    await rejects((x) => x.appliedMarks, { origin: 'n2', afterSeq: 0, limit: 10_001 }, 'limit');
    const hinted = { key: b('h'), value: b('v'), deleted: false, version: { ts: 5, origin: 'n9', opId: 'n9:1' } };
    await rejects((x) => x.storeHints, { hints: [] }, 'hints');
    await rejects((x) => x.storeHints, { hints: [{ target: 'n2', opId: 'n9:1', entry: undefined }] }, 'hints[0].entry');
    // One bad hint refuses them all: the good one before it is not kept either.
    await rejects((x) => x.storeHints, { hints: [{ target: 'n2', opId: 'n9:1', entry: hinted }, { target: 'n1', opId: 'n9:2', entry: hinted }] }, 'hints[1].target');
    await rejects((x) => x.storeHints, { hints: [{ target: 'bad id!', opId: 'n9:1', entry: hinted }] }, 'hints[0].target');
    await rejects((x) => x.storeHints, { hints: [{ target: 'n2', opId: 'n8:1', entry: hinted }] }, 'hints[0].op_id');
    await rejects((x) => x.storeHints, { hints: [{ target: 'n2', opId: 'n9:0', entry: hinted }] }, 'hints[0].op_id');
    await rejects((x) => x.storeHints, { hints: [{ target: 'n2', opId: 'n9:1', entry: { ...hinted, key: EMPTY } }] }, 'hints[0].entry.key');
    assert.equal((await c.call('n1', (x) => x.listHints, { limit: 0 })).total, 0, 'no hint was kept');
    assert.equal(await observable(), before);
    const stats = (await c.call('n1', (x) => x.stats, {})).stats!;
    assert.equal(stats.peers.length, 0, 'a rejected membership update left the membership alone');
  });

  it('refuses calls without the token or with a wrong one, changing nothing', async () => {
    const before = await observable();
    for (const token of ['', 'not-the-cluster-token-at-all']) {
      await assert.rejects(c.call('n1', (x) => x.put, { key: b('intruder'), value: b('v') }, token), (err: ServiceError) => err.code === status.UNAUTHENTICATED);
      await assert.rejects(c.call('n1', (x) => x.stats, {}, token), (err: ServiceError) => err.code === status.UNAUTHENTICATED);
    }
    assert.equal(await observable(), before);
    assert.equal((await c.call('n1', (x) => x.get, { key: b('intruder') })).found, false);
  });

  it('pages a scan with a continuation token', async () => {
    await c.call('n1', (x) => x.batchPut, { entries: Array.from({ length: 25 }, (_, i) => ({ key: b(`page-${String(i).padStart(2, '0')}`), value: b(`${i}`) })) });
    const seen: string[] = [];
    let token: Buffer = EMPTY;
    do {
      const res = await c.call('n1', (x) => x.scan, { start: b('page-'), end: b('page.'), limit: 10, continuationToken: token, includeTombstones: false });
      seen.push(...res.entries.map((e) => e.key.toString()));
      token = res.continuationToken;
    } while (token.length > 0);
    assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
  });

  it('streams replication log entries and store snapshots, and flushes and compacts on request', async () => {
    const { client } = c.node('n1');
    const md = new Metadata();
    md.set('x-ringdb-token', c.token);
    const logStream = client.watchReplicationLog({ fromLsn: 0 }, md);
    const storeStream = client.watchStore({}, md);
    const seenKeys: string[] = [];
    const snapshots: number[] = [];
    logStream.on('data', (m: WatchReplicationLogResponse) => seenKeys.push(...m.appended.map((e) => e.key.toString())));
    storeStream.on('data', (m: WatchStoreResponse) => snapshots.push(m.snapshot?.sstables.length ?? -1));
    logStream.on('error', () => undefined);
    storeStream.on('error', () => undefined);
    try {
      await waitFor('replayed log entries', () => seenKeys.includes('kept'));
      await waitFor('first store snapshot', () => snapshots.length > 0);
      await c.call('n1', (x) => x.put, { key: b('streamed'), value: b('v') });
      await waitFor('new entry streamed', () => seenKeys.includes('streamed'));
      const flushed = await c.call('n1', (x) => x.flush, {});
      assert.ok(flushed.snapshot!.sstables.length >= 1);
      await waitFor('snapshot after flush', () => snapshots.some((n) => n >= 1));
      const listed = await c.call('n1', (x) => x.listSsTables, {});
      assert.deepEqual(listed.sstables.map((t) => t.id), flushed.snapshot!.sstables.map((t) => t.id));
      const compacted = await c.call('n1', (x) => x.compact, {});
      assert.ok(compacted.snapshot!.sstables.length >= 1);
      assert.equal((await c.call('n1', (x) => x.get, { key: b('streamed') })).value.toString(), 'v');
    } finally {
      logStream.cancel();
      storeStream.cancel();
    }
  });

  it('exits when its stdin closes, and shuts down cleanly on SIGTERM keeping its data', async () => {
    const n = c.node('n1');
    const exited = new Promise<number | null>((r) => n.proc.once('exit', (code) => r(code)));
    n.proc.stdin?.end();
    assert.equal(await exited, 0);
    // The lock was released and every write survived: the restarted node serves them.
    await c.restart('n1');
    assert.equal((await c.call('n1', (x) => x.get, { key: b('kept') })).value.toString(), 'v1');
    const again = c.node('n1');
    const stopped = new Promise<number | null>((r) => again.proc.once('exit', (code) => r(code)));
    again.proc.kill('SIGTERM');
    assert.equal(await stopped, 0);
    assert.match(again.output.join(''), /shutting down: SIGTERM/);
    await c.restart('n1');
    const s = (await c.call('n1', (x) => x.stats, {})).stats!;
    assert.equal(s.seq, 27, 'the op counter survived both restarts');
    assert.ok(s.clock >= 27, 'the Lamport clock restarted past every logged timestamp');
  });

  it('says at start that it cut a torn record off its replication log, and keeps every write before it', async () => {
    await c.call('n1', (x) => x.put, { key: b('before-crash'), value: b('v') });
    await c.kill('n1');
    const logDir = path.join(c.dir, 'n1', 'replication_log');
    const last = readdirSync(logDir).filter((f) => f.endsWith('.log')).sort().pop() as string;
    // Five bytes of a record header: an append a crash interrupted.
    appendFileSync(path.join(logDir, last), Buffer.from([40, 0, 0, 0, 7]));
    const restarted = await c.restart('n1');
    assert.equal((await c.call('n1', (x) => x.get, { key: b('before-crash') })).value.toString(), 'v');
    assert.match(restarted.output.join(''),
      new RegExp(`WARN .*replication log: cut a torn last record \\(5 bytes at offset \\d+\\) off replication_log/${last.replace('.', '\\.')}: a crash interrupted that write; with storage.sync "batch" it was never acknowledged`));
  });

  it('refuses to start on a bad config, naming the field', async () => {
    const n = c.node('n1');
    await assert.rejects(spawnNode({ ...n.config, id: 'bad id', heartbeatIntervalMs: -1 }, `${c.dir}/bad.json`), /id must match.*heartbeatIntervalMs must be an integer/s);
  });
});
