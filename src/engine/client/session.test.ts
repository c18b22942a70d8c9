// Read-your-writes sessions over a scripted driver: which reads a session makes, and when it
// reports a read as stale. Replication itself is exercised by the process tests; here the
// replicas' answers are chosen so every branch is taken deterministically.

import { strict as assert } from 'node:assert';
import type { Driver, RoutedGet } from './driver';
import { Session } from './session';
import { compareVersions } from './copy-verdicts';
import type { KeyRef, ReadOptions, Version, WriteResult } from './types';

const v = (ts: number, origin = 'n1'): Version => ({ ts, origin, opId: `${origin}:${ts}` });

/** A driver whose reads return the scripted versions in turn (the last one repeats). */
function scripted(reads: (Version | undefined)[]): { driver: Driver; asked: (number | undefined)[] } {
  const asked: (number | undefined)[] = [];
  let i = 0;
  const fake = {
    partitionMap: { replicationFactor: 3 },
    put: async (): Promise<WriteResult> => ({ version: v(5), node: 'n1', replicas: ['n1'], hinted: {}, mapVersion: 1 }),
    delete: async (): Promise<WriteResult> => ({ version: v(6), node: 'n1', replicas: ['n1'], hinted: {}, mapVersion: 1 }),
    get: async (_key: KeyRef, opts: ReadOptions = {}): Promise<RoutedGet> => {
      asked.push(opts.r);
      const version = reads[Math.min(i++, reads.length - 1)];
      return { found: version !== undefined, value: Buffer.from('x'), deleted: false, version, node: 'n2', replicas: ['n2'], mapVersion: 1, passedOver: [] };
    },
  };
  return { driver: fake as unknown as Driver, asked };
}

describe('read-your-writes session', () => {
  it('orders versions by timestamp, then origin', () => {
    assert.ok(compareVersions(v(2), v(1)) > 0);
    assert.ok(compareVersions(v(2, 'n1'), v(2, 'n2')) < 0);
    assert.equal(compareVersions(v(3), v(3)), 0);
  });

  it('returns the first answer when the session wrote nothing, or the answer already has its write', async () => {
    const { driver, asked } = scripted([v(9)]);
    const s = new Session(driver, 'alice');
    assert.equal((await s.get('k')).reads, 1);
    await s.put('k', 'x');
    const r = await s.get('k');
    assert.deepEqual([r.reads, r.stale, asked], [1, false, [undefined, undefined]]);
  });

  it('asks every replica when the first answer misses its write, then waits until one has it', async () => {
    const { driver, asked } = scripted([v(4), undefined, v(5)]);
    const s = new Session(driver, 'bob');
    await s.put({ partitionKey: 'p', clusteringKey: 'c' }, 'x');
    const r = await s.get({ partitionKey: 'p', clusteringKey: 'c' }, { maxWaitMs: 10_000 });
    assert.deepEqual([r.reads, r.stale, r.version?.ts], [3, false, 5]);
    assert.deepEqual(asked, [undefined, 3, 3]);
  });

  it('says stale when no replica shows its write in time, and tracks keys separately', async () => {
    const { driver } = scripted([v(1)]);
    const s = new Session(driver, 'carol');
    await s.delete('gone');
    const r = await s.get('gone', { maxWaitMs: 0 });
    assert.deepEqual([r.stale, r.reads], [true, 2]);
    assert.deepEqual(s.lastWrite('gone'), v(6));
    assert.equal(s.lastWrite('other'), undefined);
    assert.equal((await s.get('other')).stale, false);
  });
});
