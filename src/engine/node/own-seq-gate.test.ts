// The gate's life cycle over a real replica, log and store (in-memory file system) and peers
// that answer as service.ts does; the real-process cases are in lost-folder.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Store } from '../storage';
import { FaultFileSystem } from '../storage/fault-fs';
import { collectUpdates } from '../replication/anti-entropy';
import { OpLog } from '../replication/op-log';
import { Replica } from '../replication/replica';
import type { ReplicationTransport } from '../replication/transport';
import type { NodeConfig } from './config';
import { createLogger } from './logger';
import { RingNode } from './node';
import { OwnSeqGate, type OwnSeqGateDeps } from './own-seq-gate';

const MARKER = '/data/own-seq-pending';

async function node(fs: FaultFileSystem, id: string): Promise<{ replica: Replica; log: OpLog; store: Store }> {
  const store = await Store.open(`/data/${id}/store`, { fs, sync: 'none', autoCompact: false });
  const log = OpLog.open(`/data/${id}/replication_log`, { fs, sync: 'none', syncIntervalMs: 0 });
  return { replica: new Replica(id, store, log, () => store.flushedLogMark), log, store };
}

async function setUp(): Promise<{ fs: FaultFileSystem; deps: (peers: string[] | (() => string[])) => OwnSeqGateDeps; lines: string[] }> {
  const fs = new FaultFileSystem();
  const peer = await node(fs, 'p');
  await peer.replica.applyRemote(Array.from({ length: 3 }, (_, i) => ({ origin: 'me', seq: i + 1, ts: i + 1, key: Buffer.from(`k${i}`), value: Buffer.from('v') })));
  const me = await node(fs, 'me');
  const transport: ReplicationTransport = {
    replicate: () => Promise.reject(new Error('unused')),
    fetchUpdates: async (peerId, lastSeen, limit, skip) => {
      if (peerId !== 'p') throw new Error(`${peerId} is down`);
      return {
        ...collectUpdates(peer.log, lastSeen, limit, peer.replica.storeDurableLsn, new Set(skip)), lastSeen: peer.log.versionVector(), clock: peer.replica.clock.now(),
      };
    },
  };
  const lines: string[] = [];
  return {
    fs, lines,
    deps: (peers) => ({
      nodeId: 'me', dataDir: '/data', fs, replica: me.replica, log: me.log, transport, peers: typeof peers === 'function' ? peers : () => peers, closing: () => false, waitMs: 100,
      logger: createLogger('me', 'info', (l) => void lines.push(l)), onSettled: () => undefined,
    }),
  };
}

describe('own-seq gate', () => {
  it('waits for the membership, settles with the peers it names, then lets writes through and removes its marker', async () => {
    const { fs, deps, lines } = await setUp();
    const d = deps(['p']);
    const gate = OwnSeqGate.forOpenedNode(d);
    assert.ok(gate, 'an empty log gets a gate');
    assert.equal(fs.exists(MARKER), true);
    await assert.rejects(gate.ready(), /me started with an empty data folder and is waiting for its membership from the controller/);
    gate.membershipKnown();
    await gate.ready();
    assert.equal(d.log.lastSeen('me'), 3);
    assert.equal(fs.exists(MARKER), false);
    assert.match(lines.join(''), /peers had logged this node's ops up to seq 3 .*next local write is op me:4/);
  });

  it('opens at once for a membership without peers (a single node)', async () => {
    const { fs, deps } = await setUp();
    const gate = OwnSeqGate.forOpenedNode(deps([]));
    gate?.membershipKnown();
    assert.equal(gate?.open, true);
    assert.equal(fs.exists(MARKER), false);
  });

  it('stays for a node whose log holds ops when its marker says the last settling did not finish, and not otherwise', async () => {
    const { fs, deps } = await setUp();
    const d = deps(['p']);
    await d.replica.applyRemote([{ origin: 'other', seq: 1, ts: 9, key: Buffer.from('x'), value: Buffer.from('y') }]);
    assert.equal(OwnSeqGate.forOpenedNode(d), undefined, 'no marker: a node with history settles nothing');
    const fd = fs.open(MARKER, 'w');
    fs.close(fd);
    const gate = OwnSeqGate.forOpenedNode(d);
    assert.ok(gate, 'the marker keeps the gate');
    gate.membershipKnown();
    await gate.ready();
    assert.equal(d.log.lastSeen('me'), 3);
  });

  it('opens when the membership loses every peer while it waits for one', async () => {
    const { deps } = await setUp();
    let peers = ['gone'];
    const gate = OwnSeqGate.forOpenedNode(deps(() => peers));
    assert.ok(gate);
    gate.membershipKnown();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(gate.open, false, 'it keeps asking a peer that never answers');
    peers = [];
    await gate.ready();
  });

  it('a node started without a controller writes at once; one that awaits the membership waits for it', async () => {
    const config = (dataDir: string, extra: Partial<NodeConfig>): NodeConfig => ({
      id: 'n1', dataDir, host: '127.0.0.1', port: 0, tokenFile: path.join(dataDir, 'token'), peers: [], topology: null,
      storage: { sync: 'none', syncIntervalMs: 5, memtableBytes: 1024 * 1024 }, heartbeatIntervalMs: 1000, antiEntropyIntervalMs: 60_000, logLevel: 'error', ...extra,
    });
    const write = (n: RingNode) => n.writeLocal([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    for (const awaitMembership of [false, true]) {
      const dir = mkdtempSync(path.join(tmpdir(), 'ringdb-gate-'));
      const n = await RingNode.open(config(dir, { awaitMembership }), 'token', createLogger('n1', 'error', () => undefined));
      try {
        n.start('127.0.0.1:1');
        if (awaitMembership) {
          await assert.rejects(write(n), /waiting for its membership from the controller/);
          n.updateMembership([], null);
        }
        assert.equal((await write(n)).firstSeq, 1);
      } finally {
        await n.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
