// The node's replication state save: off the event loop, one write at a time, and the log
// drops only what a durable state allows.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readStateFile } from '../replication/state-file';
import { NodeFileSystem } from '../storage/node-fs';
import type { NodeConfig } from './config';
import { createLogger } from './logger';
import { RingNode } from './node';

function config(dataDir: string): NodeConfig {
  return {
    id: 'n1', dataDir, host: '127.0.0.1', port: 0, tokenFile: path.join(dataDir, 'token'), peers: [], topology: null,
    storage: { sync: 'batch', syncIntervalMs: 5, memtableBytes: 4 * 1024 * 1024 },
    heartbeatIntervalMs: 1000, antiEntropyIntervalMs: 60_000, logLevel: 'error', newMember: true,
  };
}

describe('replication state saves', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ringdb-state-save-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs concurrent checkpoints one after another, each leaving a durable state the log obeys', async () => {
    const node = await RingNode.open(config(dir), 'token', createLogger('n1', 'error', () => undefined));
    try {
      for (let i = 0; i < 5; i++) await node.writeLocal([{ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }]);
      // They share one temporary file: run at once, one's rename found the file the other had moved.
      const all = await Promise.allSettled(Array.from({ length: 8 }, () => node.checkpoint()));
      assert.deepEqual(all.map((r) => r.status), Array(8).fill('fulfilled'), JSON.stringify(all.filter((r) => r.status === 'rejected')));
      const saved = readStateFile(new NodeFileSystem(), path.join(dir, 'replication_state'));
      // Every op is in the store's own files now: a restart replays nothing.
      assert.equal(saved.storeReplayLsn, node.log.nextLsn);
      assert.equal(node.log.nextLsn, 5);
    } finally {
      await node.close();
    }
    const reopened = await RingNode.open(config(dir), 'token', createLogger('n1', 'error', () => undefined));
    try {
      assert.equal(reopened.log.nextLsn, 5, 'the seqs handed out survive the restart');
      assert.equal(reopened.observed.get(Buffer.from('k4'))?.value?.toString(), 'v4');
    } finally {
      await reopened.close();
    }
  });
});
