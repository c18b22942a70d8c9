import assert from 'node:assert/strict';
import { CorruptionError } from '../storage/errors';
import { RECORD_HEADER_BYTES } from '../storage/wal-format';
import { CountingFileSystem } from './counting-fs';
import { isSkip, type LoggedOp, type Op } from './op-codec';
import { OpLog, type LostOps } from './op-log';
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

/** Whole-file reads of `failing` fail as a disk's I/O error does, until it is cleared. */
class FailingReadFileSystem extends CountingFileSystem {
  failing: string | undefined;

  override readFile(file: string): Buffer {
    if (file === this.failing) {
      this.reads.set(file, (this.reads.get(file) ?? 0) + 1);
      throw Object.assign(new Error(`EIO: i/o error, read '${file}'`), { code: 'EIO' });
    }
    return super.readFile(file);
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
  it('reports a log segment it cannot read (an I/O error) as its error, retries at its backoff however often it is woken, and ships everything once the segment reads again', async () => {
    const fs = new FailingReadFileSystem();
    const { reads } = fs;
    // Small segments and a tiny cache: the first ops are read back from a closed segment file.
    const source = OpLog.open(SOURCE, { fs, sync: 'always', syncIntervalMs: 0, segmentBytes: 400, cacheBytes: 64 });
    const ops = Array.from({ length: 30 }, (_, i): Op => ({ origin: 'n1', seq: i + 1, ts: i + 1, key: Buffer.from(`key-${i}`), value: Buffer.alloc(30, i) }));
    for (const op of ops) await source.append([op]).durable;
    const first = `${SOURCE}/${fs.readdir(SOURCE).filter((f) => f.endsWith('.log')).sort()[0]}`;
    fs.failing = first;

    const destination = new LogDestination(OpLog.open(DESTINATION, { fs, sync: 'always', syncIntervalMs: 0 }));
    const reported: string[] = [];
    const sender = new Sender('n2', 0, source, destination, () => source.durableLsn, () => true, () => undefined,
      { maxBatchOps: 8, maxBatchBytes: 1 << 20, minBackoffMs: 40, maxBackoffMs: 40 }, (err) => (err as Error).message, (message) => reported.push(message));
    sender.start();
    try {
      await until(() => sender.lastError !== undefined, 'the sender reports the failed read');
      assert.match(sender.lastError as string, /cannot read the replication log at LSN \d+: EIO: i\/o error/);
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
      assert.ok(rereads >= 1 && rereads <= 7, `${rereads} reads of the unreadable segment in 200 ms at a 40 ms backoff`);
      assert.equal(sender.cursor, stuckAt, 'nothing past the failed read is acknowledged');
      assert.equal(reported.length, 1, 'reported once, not at every retry');

      fs.failing = undefined;
      await until(() => sender.cursor === source.nextLsn, 'the sender has shipped every op');
      assert.equal(sender.lastError, undefined);
      assert.equal(sender.blockedOnLog, false);
      assert.equal(destination.log.lastSeen('n1'), ops.length);
      assert.deepEqual(destination.log.read(0, 100).map((op) => op.key.toString()), ops.map((op) => op.key.toString()), 'every op arrived whole');
    } finally {
      await sender.stop();
      await source.close();
      await destination.log.close();
    }
  });

  it('ships the ops around a damaged record and a skip for the op it lost, reports that once the destination has it, and is never stuck', async () => {
    const fs = new CountingFileSystem();
    const source = OpLog.open(SOURCE, { fs, sync: 'always', syncIntervalMs: 0, segmentBytes: 400, cacheBytes: 64 });
    const ops = Array.from({ length: 30 }, (_, i): Op => ({ origin: 'n1', seq: i + 1, ts: i + 1, key: Buffer.from(`key-${i}`), value: Buffer.alloc(30, i) }));
    for (const op of ops) await source.append([op]).durable;
    const segments = fs.readdir(SOURCE).filter((f) => f.endsWith('.log')).sort();
    assert.ok(segments.length >= 3, `${segments.length} segments`);
    // The second segment's second op record (after its header and first op): its payload checksum fails, its length still reads.
    const second = `${SOURCE}/${segments[1]}`;
    const bytes = Buffer.from(fs.readFile(second));
    let p = 0;
    for (let record = 0; record < 2; record++) p += RECORD_HEADER_BYTES + bytes.readUInt32LE(p);
    bytes[p + RECORD_HEADER_BYTES + 10] ^= 0xff;
    const fd = fs.open(second, 'w');
    fs.write(fd, bytes, 0);
    fs.close(fd);
    // Its header, then the segment's first op (LSN = seq - 1: one origin): the lost op is its second.
    const lostSeq = Number(segments[1].slice('seg-'.length, -'.log'.length)) + 2;

    const destination = new LogDestination(OpLog.open(DESTINATION, { fs, sync: 'always', syncIntervalMs: 0 }));
    const unreadable: string[] = [];
    const lost: LostOps[] = [];
    const sender = new Sender('n2', 0, source, destination, () => source.durableLsn, () => true, () => undefined,
      { maxBatchOps: 8, maxBatchBytes: 1 << 20, minBackoffMs: 40, maxBackoffMs: 40 }, (err) => (err as Error).message, (message) => unreadable.push(message), (l) => lost.push(l));
    sender.start();
    try {
      await until(() => sender.cursor === source.nextLsn, 'the sender has shipped every op');
      assert.deepEqual(unreadable, [], 'never reported stuck');
      assert.equal(sender.lastError, undefined);
      assert.equal(destination.log.lastSeen('n1'), ops.length, 'the destination\'s version vector is past every op');
      const received = destination.log.read(0, 100);
      assert.deepEqual(received.map((op) => op.seq), ops.map((op) => op.seq), 'one entry per op, in order');
      for (const op of received) {
        if (op.seq === lostSeq) {
          assert.ok(isSkip(op) && op.value === null, 'the lost op arrives as a skip');
          assert.equal(op.ts, ops[op.seq - 1].ts, 'with its own timestamp');
        } else {
          assert.equal(op.key.toString(), ops[op.seq - 1].key.toString());
          assert.ok(op.value?.equals(ops[op.seq - 1].value as Buffer), `op ${op.seq} arrived whole`);
        }
      }
      assert.equal(lost.length, 1, 'reported once');
      assert.deepEqual(lost[0].ops.map((op) => `${op.origin}:${op.seq}`), [`n1:${lostSeq}`]);
      assert.equal(lost[0].file, second);
      assert.equal(lost[0].offset, p);
      assert.match(lost[0].detail, /payload fails its checksum/);
      assert.throws(() => source.read(lostSeq - 1, 100), CorruptionError, 'every other reader of the log still refuses the segment');
    } finally {
      await sender.stop();
      await source.close();
      await destination.log.close();
    }
  });
});
