// A node whose data folder is lost (a replaced disk, a folder moved away) and that starts again
// under the same id, on real processes: its next writes must not reuse op ids its peers already
// applied (they would drop them as duplicates) nor carry timestamps below versions the peers hold
// (they would lose Last-Write-Wins): both lose an acknowledged write without a word.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { TestCluster, waitFor } from './test-harness';

const b = (s: string) => Buffer.from(s);

async function put(c: TestCluster, id: string, key: string, value: string): Promise<{ opId: string; ts: number }> {
  const res = await c.call(id, (x) => x.put, { key: b(key), value: b(value) });
  return { opId: res.version!.opId, ts: res.version!.ts };
}

async function valueOn(c: TestCluster, id: string, key: string): Promise<string | undefined> {
  const res = await c.call(id, (x) => x.get, { key: b(key) });
  return res.found ? res.value.toString() : undefined;
}

/** n1 writes three keys, n2 overwrites one of them later; both have everything; then n1 loses its folder. */
async function clusterWithLostFolder(): Promise<TestCluster> {
  // Anti-entropy's own rounds are slow here, so what the restarted node knows it learnt before its first write.
  const c = await TestCluster.start(2, { antiEntropyIntervalMs: 3_600_000 });
  for (const k of ['a', 'b', 'c']) await put(c, 'n1', k, `${k} from n1`);
  await waitFor('n2 has n1\'s writes', async () => (await valueOn(c, 'n2', 'c')) === 'c from n1');
  await put(c, 'n2', 'a', 'a from n2');
  await waitFor('n1 has n2\'s write', async () => (await valueOn(c, 'n1', 'a')) === 'a from n2');
  await c.kill('n1');
  const folder = path.join(c.dir, 'n1');
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder);
  return c;
}

describe('a node that lost its data folder (real processes)', function () {
  this.timeout(90_000);

  it('continues its op ids and clock from its peers before its first write, so the peers apply what it writes next', async () => {
    const c = await clusterWithLostFolder();
    try {
      const restarted = await c.restart('n1');
      // At once. Anti-entropy's round at start may bring n1:1..3 back first; the log line below says the node settled either way.
      const fresh = await put(c, 'n1', 'fresh', 'after the loss');
      const again = await put(c, 'n1', 'a', 'a from the new n1');
      assert.equal(fresh.opId, 'n1:4', 'n1:1..3 are taken: the peer applied them');
      await waitFor('n2 has the new writes', async () => (await valueOn(c, 'n2', 'fresh')) === 'after the loss'
        && (await valueOn(c, 'n2', 'a')) === 'a from the new n1');
      assert.ok(again.ts > fresh.ts);
      await waitFor('n1 logged how it settled', () => /peers had logged this node's ops up to seq 3/.test(restarted.output.join('')));
    } finally {
      await c.stop();
    }
  });

  it('does so too when it learns its peers from the membership after it started (a whole cluster start)', async () => {
    const c = await clusterWithLostFolder();
    try {
      await c.restart('n1', { alone: true });
      // Until the membership comes, it cannot know whether a peer holds its ops.
      const early = await put(c, 'n1', 'early', 'before the membership').then(() => undefined, (err: ServiceError) => err);
      assert.equal(early?.code, status.UNAVAILABLE);
      assert.match(early?.details ?? '', /is waiting for its membership from the controller/);
      await c.introduce('n1', ['n2']);
      assert.equal((await put(c, 'n1', 'fresh', 'after the loss')).opId, 'n1:4');
      await waitFor('n2 has it', async () => (await valueOn(c, 'n2', 'fresh')) === 'after the loss');
    } finally {
      await c.stop();
    }
  });

  it('refuses local writes while no peer has said which of its op ids are taken, and takes them once one has', async () => {
    const c = await clusterWithLostFolder();
    try {
      await c.kill('n2');
      await c.restart('n1');
      const refused = await put(c, 'n1', 'fresh', 'too early').then(() => undefined, (err: ServiceError) => err);
      assert.equal(refused?.code, status.UNAVAILABLE);
      assert.match(refused?.details ?? '', /n1 started with an empty data folder and is waiting for an answer from a peer \(n2\)/);
      await c.restart('n2');
      let written: { opId: string } | undefined;
      await waitFor('a write on n1 once n2 answered', async () => {
        written = await put(c, 'n1', 'fresh', 'after n2 answered').catch(() => undefined);
        return written !== undefined;
      });
      assert.equal(written?.opId, 'n1:4');
      await waitFor('n2 has it', async () => (await valueOn(c, 'n2', 'fresh')) === 'after n2 answered');
    } finally {
      await c.stop();
    }
  });
});
