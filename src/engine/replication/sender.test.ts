import assert from 'node:assert/strict';
import { CountingFileSystem } from './counting-fs';
import type { LoggedOp, Op } from './op-codec';
import { OpLog } from './op-log';
import { Sender, type SenderTransport } from './sender';

const SOURCE = '/data/source/replication_log';
const DESTINATION = '/data/destination/replication_log';

/** The destination's side of Replicate, in process: its own log takes each op once and reports its version vector. */
class LogDestination implements SenderTransport {
  constructor(readonly log: OpLog) {}

  async replicate(_peerId: string, ops: readonly LoggedOp[]): Promise<Record<string, number>> {
    const fresh = ops.filter((op) => op.seq > this.log.lastSeen(op.origin)).map(({ origin, seq, ts, key, value }): Op => ({ origin, seq, ts, key, value }));
    if (fresh.length > 0) await this.log.append(fresh).durable;
    return this.log.versionVector();
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('replication sender', () => {
  it('reports a log segment it cannot read as its error, retries at its backoff however often it is woken, and ships everything once the segment reads again', async () => {
    const fs = new CountingFileSystem();
    const { reads } = fs;
    // Small segments and a tiny cache: the first ops are read back from a closed segment file.
    const source = OpLog.open(SOURCE, { fs, sync: 'always', syncIntervalMs: 0, segmentBytes: 400, cacheBytes: 64 });
    const ops = Array.from({ length: 30 }, (_, i): Op => ({ origin: 'n1', seq: i + 1, ts: i + 1, key: Buffer.from(`key-${i}`), value: Buffer.alloc(30, i) }));
    for (const op of ops) await source.append([op]).durable;
    const first = `${SOURCE}/${fs.readdir(SOURCE).filter((f) => f.endsWith('.log')).sort()[0]}`;
    const intact = Buffer.from(fs.readFile(first));
    const damaged = Buffer.from(intact);
    damaged[intact.length - 5] ^= 0xff; // inside its last record, which reads like a torn one
    const overwrite = (bytes: Buffer) => {
      const fd = fs.open(first, 'w');
      fs.write(fd, bytes, 0);
      fs.close(fd);
    };
    overwrite(damaged);

    const destination = new LogDestination(OpLog.open(DESTINATION, { fs, sync: 'always', syncIntervalMs: 0 }));
    const reported: string[] = [];
    const sender = new Sender('n2', 0, source, destination, () => source.durableLsn, () => true, () => undefined,
      { maxBatchOps: 8, maxBatchBytes: 1 << 20, minBackoffMs: 40, maxBackoffMs: 40 }, (err) => (err as Error).message, (message) => reported.push(message));
    sender.start();
    try {
      await until(() => sender.lastError !== undefined, 'the sender reports the damage');
      assert.match(sender.lastError as string, /cannot read the replication log at LSN \d+: .*ends in a damaged record/);
      assert.ok(sender.blockedOnLog);
      const stuckAt = sender.cursor;
      // A node wakes its senders on every durable append: each wake must not mean another read of the segment.
      reads.clear();
      const wakeUntil = Date.now() + 200;
      while (Date.now() < wakeUntil) {
        sender.wake();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const rereads = reads.get(first) ?? 0;
      assert.ok(rereads >= 1 && rereads <= 7, `${rereads} reads of the damaged segment in 200 ms at a 40 ms backoff`);
      assert.equal(sender.cursor, stuckAt, 'nothing past the damage is acknowledged');
      assert.equal(reported.length, 1, 'reported once, not at every retry');

      overwrite(intact);
      await until(() => sender.cursor === source.nextLsn, 'the sender has shipped every op');
      assert.equal(sender.lastError, undefined);
      assert.equal(sender.blockedOnLog, false);
      assert.equal(destination.log.lastSeen('n1'), ops.length);
    } finally {
      await sender.stop();
      await source.close();
      await destination.log.close();
    }
  });
});
