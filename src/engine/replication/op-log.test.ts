import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { FaultFileSystem } from '../storage/fault-fs';
import { CountingFileSystem } from './counting-fs';
import { CorruptionError } from '../storage/errors';
import { frameRecord, RECORD_HEADER_BYTES } from '../storage/wal-format';
import { encodedOpBytes, isSkip, measureOps, opId, parseOpRecords, writeOps, type LoggedOp, type Op } from './op-codec';
import { OpLog, type OpLogOptions } from './op-log';
import { decodeSegmentIndex, encodeSegmentIndex, type SegmentIndex } from './segment-index';
import { readAtomicFile, writeAtomicFile } from '../storage/atomic-file';

const DIR = '/data/replication_log';
const ORIGINS = ['n1', 'n2', 'node-three'];

/** Batches of gap-free ops: each op draws an origin and gets that origin's next seq. */
const batchesArb = fc.array(
  fc.array(fc.record({ origin: fc.constantFrom(...ORIGINS), key: fc.uint8Array({ minLength: 1, maxLength: 12 }), value: fc.option(fc.uint8Array({ maxLength: 40 })) }), { minLength: 1, maxLength: 8 }),
  { minLength: 1, maxLength: 25 },
);

function toOps(batches: { origin: string; key: Uint8Array; value: Uint8Array | null }[][]): Op[][] {
  const seq = new Map<string, number>();
  let ts = 0;
  return batches.map((batch) => batch.map((d) => {
    const s = (seq.get(d.origin) ?? 0) + 1;
    seq.set(d.origin, s);
    ts += 1 + (s % 3);
    return { origin: d.origin, seq: s, ts, key: Buffer.from(d.key), value: d.value === null ? null : Buffer.from(d.value) };
  }));
}

const plain = (ops: readonly Op[]) => ops.map((o) => ({ origin: o.origin, seq: o.seq, ts: o.ts, key: o.key.toString('hex'), value: o.value?.toString('hex') ?? null }));

function open(fs: FaultFileSystem, options: Partial<OpLogOptions> = {}): OpLog {
  return OpLog.open(DIR, { fs, sync: 'always', syncIntervalMs: 0, segmentBytes: 300, ...options });
}

/** The segment files in the log folder (beside them: their index files). */
const segmentFiles = (fs: FaultFileSystem) => fs.readdir(DIR).filter((f) => f.endsWith('.log')).sort();
const indexFiles = (fs: FaultFileSystem) => fs.readdir(DIR).filter((f) => f.endsWith('.idx')).sort();

function readAll(log: OpLog, from = 0): LoggedOp[] {
  const out: LoggedOp[] = [];
  for (let lsn = from; ;) {
    const chunk = log.read(lsn, 7);
    if (chunk.length === 0) return out;
    out.push(...chunk);
    lsn = chunk[chunk.length - 1].lsn + 1;
  }
}

describe('replication log', () => {
  it('reopens with the same ops, version vector, clock and indexes across segment rolls', async () => {
    await fc.assert(fc.asyncProperty(batchesArb, fc.integer({ min: 1, max: 5 }), async (raw, reopenEvery) => {
      const fs = new FaultFileSystem();
      const batches = toOps(raw);
      let log = open(fs);
      for (let i = 0; i < batches.length; i++) {
        await log.append(batches[i]).durable;
        if (i % reopenEvery === 0) {
          await log.close();
          log = open(fs);
        }
      }
      const all = batches.flat();
      assert.deepEqual(plain(readAll(log)), plain(all));
      assert.equal(log.nextLsn, all.length);
      const vv: Record<string, number> = {};
      for (const op of all) vv[op.origin] = op.seq;
      assert.deepEqual(log.versionVector(), vv);
      assert.equal(log.highestTs, all.length ? all[all.length - 1].ts : 0);
      all.forEach((op, lsn) => {
        assert.equal(log.lsnOf(op.origin, op.seq), lsn, `lsnOf ${opId(op)}`);
        assert.equal(log.seqOf(op.origin, op.ts), op.seq, `seqOf ${opId(op)}`);
      });
      // countOf (the backpressure gate's per-origin backlog) against a brute-force count.
      for (let from = 0; from <= all.length; from += 3) {
        for (const origin of ORIGINS) {
          const expected = all.filter((op, lsn) => op.origin === origin && lsn >= from).length;
          assert.equal(log.countOf(origin, from, all.length), expected, `countOf ${origin} from ${from}`);
          assert.equal(log.countOf(origin, from, from), 0);
        }
      }
      await log.close();
    }), { numRuns: 60 });
  });

  it('without a sync policy flushes a full segment off the event loop before rolling, and a crash then keeps every op of it', async () => {
    const fs = new FaultFileSystem();
    const log = open(fs, { sync: 'none', segmentBytes: 300 });
    const op = (seq: number): Op => ({ origin: 'n1', seq, ts: seq, key: Buffer.from(`key${seq}`), value: Buffer.alloc(40, seq) });
    let seq = 0;
    while (log.bytes < 300) log.append([op(++seq)]);
    const full = seq;
    log.append([op(++seq)]);
    assert.equal(segmentFiles(fs).length, 1, 'no roll on the event loop: the segment keeps taking appends while it is flushed');
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(segmentFiles(fs).length, 2, 'rolled once the flush finished');
    log.append([op(++seq)]);
    fs.crash();
    const reopened = open(fs, { sync: 'none', segmentBytes: 300 });
    const kept = readAll(reopened).map((o) => o.seq);
    assert.ok(kept.length >= full + 1, `the rolled segment survives whole (${kept.length} of ${seq} ops kept)`);
    assert.deepEqual(kept, kept.map((_, i) => i + 1));
    await reopened.close();
  });

  it('keeps every op whose durability was reported through a crash, and loses nothing before it', async () => {
    await fc.assert(fc.asyncProperty(batchesArb, fc.nat(), fc.constantFrom<'always' | 'batch'>('always', 'batch'), async (raw, cut, sync) => {
      const fs = new FaultFileSystem();
      const batches = toOps(raw);
      const log = open(fs, { sync, syncIntervalMs: 1 });
      const awaited = cut % (batches.length + 1);
      let durableOps = 0;
      for (let i = 0; i < batches.length; i++) {
        const { durable } = log.append(batches[i]);
        durable.catch(() => undefined);
        if (i < awaited) {
          await durable;
          durableOps += batches[i].length;
        }
      }
      fs.crash();
      const reopened = open(fs, { sync });
      const survived = readAll(reopened);
      assert.ok(survived.length >= durableOps, `${survived.length} ops survived, ${durableOps} were reported durable`);
      assert.deepEqual(plain(survived), plain(batches.flat().slice(0, survived.length)), 'what survives is a prefix');
      // The log keeps working where it stopped: the next op of each origin is due.
      const next = { origin: 'n1', seq: reopened.lastSeen('n1') + 1, ts: reopened.highestTs + 1, key: Buffer.from('k'), value: null };
      await reopened.append([next]).durable;
      assert.equal(reopened.lsnOf('n1', next.seq), survived.length);
      await reopened.close();
    }), { numRuns: 60 });
  });

  it('reads what was appended from every LSN, and a sender\'s window of kept origins, from the cache, across its boundary, after trims, rolls and reopens', async () => {
    const readArb = fc.record({
      from: fc.nat(), maxOps: fc.integer({ min: 1, max: 9 }), maxBytes: fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
      endCut: fc.nat(), keep: fc.subarray(ORIGINS),
    });
    await fc.assert(fc.asyncProperty(batchesArb, fc.constantFrom(0, 60, 250, 1 << 20), fc.constantFrom(200, 600, 1 << 20), fc.nat(), fc.array(readArb, { maxLength: 12 }),
      async (raw, cacheBytes, segmentBytes, reopenSeed, reads) => {
        const fs = new FaultFileSystem();
        const batches = toOps(raw);
        const reopenAt = reopenSeed % (batches.length + 1);
        let log = open(fs, { cacheBytes, segmentBytes });
        const appended: Op[] = [];
        const check = () => {
          assert.deepEqual(plain(readAll(log)), plain(appended));
          for (const r of reads) {
            const from = r.from % (appended.length + 1);
            const got = log.read(from, r.maxOps, r.maxBytes);
            if (from === appended.length) {
              assert.equal(got.length, 0);
              continue;
            }
            // Fewer than asked may come back (one segment at a time from disk), never none.
            assert.ok(got.length >= 1 && got.length <= r.maxOps, `${got.length} ops for maxOps ${r.maxOps}`);
            got.forEach((op, i) => {
              assert.equal(op.lsn, from + i);
              assert.equal(op.size, encodedOpBytes(op));
            });
            assert.deepEqual(plain(got), plain(appended.slice(from, from + got.length)), `read(${from}, ${r.maxOps}, ${r.maxBytes})`);
            const before = got.slice(0, -1).reduce((n, op) => n + op.size, 0);
            assert.ok(r.maxBytes === undefined || before < r.maxBytes, 'stops once maxBytes is passed');
            // A sender's window: what read gives below the end, only the kept origins decoded.
            const end = from + (r.endCut % (appended.length - from + 1));
            const scanned = got.filter((op) => op.lsn < end);
            const win = log.window(from, end, r.maxOps, r.maxBytes ?? Infinity, (origin) => r.keep.includes(origin));
            const kept = scanned.filter((op) => r.keep.includes(op.origin));
            assert.deepEqual(plain(win.ops), plain(kept), `window(${from}, ${end}, ${r.maxOps}, ${r.maxBytes}, ${r.keep})`);
            assert.deepEqual(win.ops.map((op) => [op.lsn, op.size]), kept.map((op) => [op.lsn, op.size]));
            assert.equal(win.next, scanned.length > 0 ? scanned[scanned.length - 1].lsn + 1 : from);
          }
        };
        for (let i = 0; i < batches.length; i++) {
          // Copies of what is appended: the caller's buffers are reused below, the log must not care.
          const batch = batches[i].map((op) => ({ ...op, key: Buffer.from(op.key), value: op.value && Buffer.from(op.value) }));
          log.append(batch);
          appended.push(...batches[i]);
          for (const op of batch) {
            op.key.fill(0xee);
            op.value?.fill(0xee);
          }
          if (i === reopenAt) {
            await log.close();
            log = open(fs, { cacheBytes, segmentBytes });
          }
          check();
        }
        await log.close();
      }), { numRuns: 80 });
  });

  it('gives the records of cached ops as they were framed, and none once some left the cache', async () => {
    await fc.assert(fc.asyncProperty(batchesArb, fc.constantFrom(0, 250, 1 << 20), fc.array(fc.boolean(), { minLength: 1 }), async (raw, cacheBytes, pick) => {
      const fs = new FaultFileSystem();
      const log = open(fs, { cacheBytes, segmentBytes: 500 });
      for (const batch of toOps(raw)) log.append(batch);
      const all = readAll(log);
      const chosen = all.filter((_, i) => pick[i % pick.length]);
      fc.pre(chosen.length > 0);
      // The cache keeps the longest run of newest ops within cacheBytes, and at least the last one.
      let cached = all.length - 1;
      for (let bytes = all[cached].size; cached > 0 && bytes + all[cached - 1].size <= cacheBytes;) bytes += all[--cached].size;
      const got = log.records(chosen);
      if (chosen[0].lsn < cached) {
        assert.equal(got, undefined);
      } else {
        assert.ok(got);
        const sizes: number[] = [];
        const expected = Buffer.alloc(measureOps(chosen, sizes));
        writeOps(chosen, expected, 0);
        assert.ok(got.equals(expected));
        assert.deepEqual(plain(parseOpRecords(got, assert.fail).ops), plain(chosen));
      }
      await log.close();
    }), { numRuns: 60 });
  });

  it('keeps two old segments decoded, so two senders catching up in different segments read each once', async () => {
    const fs = new CountingFileSystem();
    const { reads } = fs;
    // A tiny cache: every op below the newest few is read from its segment file.
    const log = open(fs, { segmentBytes: 400, cacheBytes: 64 });
    const batches = toOps(Array.from({ length: 20 }, (_, b) => Array.from({ length: 3 }, (_, i) => ({ origin: ORIGINS[i], key: Buffer.from(`key-${b}-${i}`), value: Buffer.from('v'.repeat(20)) }))));
    for (const batch of batches) await log.append(batch).durable;
    reads.clear();
    // Two destinations, one behind the other by many segments, each shipping a window in turn.
    let a = 0;
    let b = 30;
    for (let turn = 0; turn < 6; turn++) {
      const wa = log.window(a, log.nextLsn, 3, 1 << 20, () => true);
      const wb = log.window(b, log.nextLsn, 3, 1 << 20, () => true);
      assert.deepEqual(wa.ops.map((op) => op.lsn), [a, a + 1, a + 2]);
      assert.deepEqual(wb.ops.map((op) => op.lsn), [b, b + 1, b + 2]);
      a = wa.next;
      b = wb.next;
    }
    const files = [...reads.keys()];
    assert.ok(files.length >= 4, `the windows crossed several segments (${files.join(', ')})`);
    for (const [file, n] of reads) assert.equal(n, 1, `${file} was read ${n} times`);
    await log.close();
  });

  it('hands out ops decoded from the cache that stay intact while later appends and trims go on', async () => {
    const fs = new FaultFileSystem();
    // Values up to 4 KiB: the ops fill several of the cache's 1 MiB slabs, which it drops as it trims.
    const log = open(fs, { cacheBytes: 20_000, segmentBytes: 1 << 20 });
    const held: { op: LoggedOp; value: string }[] = [];
    for (let seq = 1; seq <= 3000; seq++) {
      const value = Buffer.alloc((seq * 37) % 4096, seq % 251);
      log.append([{ origin: ORIGINS[seq % 3], seq: Math.floor((seq - 1) / 3) + 1, ts: seq, key: Buffer.from(`k${seq}`), value: seq % 7 === 0 ? null : value }]);
      const [op] = log.read(seq - 1, 1);
      if (seq % 97 === 0) held.push({ op, value: op.value?.toString('hex') ?? 'null' });
    }
    for (const { op, value } of held) {
      assert.equal(op.key.toString(), `k${op.ts}`);
      assert.equal(op.value?.toString('hex') ?? 'null', value);
    }
    await log.close();
  });

  it('cuts off a torn last record and reports damage inside a closed segment with file and offset, on open without its index and on reading it with one', async () => {
    const fs = new FaultFileSystem();
    const ops = toOps([[{ origin: 'n1', key: new Uint8Array([1]), value: new Uint8Array(200) }], [{ origin: 'n1', key: new Uint8Array([2]), value: null }],
      [{ origin: 'n2', key: new Uint8Array([3]), value: new Uint8Array(200) }], [{ origin: 'n2', key: new Uint8Array([4]), value: new Uint8Array(5) }]]);
    // 400-byte segments: ops 1-3 fill the first, op 4 is alone in the second.
    const log = open(fs, { segmentBytes: 400 });
    for (const b of ops) await log.append(b).durable;
    await log.close();
    const files = segmentFiles(fs);
    assert.equal(files.length, 2);
    const last = `${DIR}/${files[files.length - 1]}`;
    const lastBytes = fs.readFile(last);
    fs.truncate(last, lastBytes.length - 3);
    const reopened = open(fs);
    assert.equal(reopened.nextLsn, 3, 'only the torn op is gone');
    const cut = reopened.recovery.cutTail;
    assert.equal(cut?.file, last);
    assert.equal((cut?.keptBytes ?? 0) + (cut?.cutBytes ?? 0), lastBytes.length - 3, 'kept and cut bytes make up the file as it was found');
    assert.ok((cut?.cutBytes ?? 0) > 0 && (cut?.keptBytes ?? 0) > 0);
    assert.equal(fs.readFile(last).length, cut?.keptBytes, 'the file is cut where the torn record began');
    await reopened.close();
    assert.equal(open(fs).recovery.cutTail, undefined, 'an open that cut nothing reports nothing');

    const first = `${DIR}/${files[0]}`;
    const bytes = Buffer.from(fs.readFile(first));
    bytes[100] ^= 0xff; // inside the first op, which is followed by another record
    const fd = fs.open(first, 'r+');
    fs.write(fd, bytes, 0);
    fs.close(fd);
    const damage = (err: unknown) => err instanceof CorruptionError && err.file === first && /checksum/.test(err.message);
    // Open takes the closed segment from its index; its records are checked when they are read.
    const indexed = open(fs);
    assert.equal(indexed.recovery.indexedSegments, 1);
    assert.throws(() => indexed.read(0, 10), damage);
    await indexed.close();
    fs.unlink(`${DIR}/${indexFiles(fs)[0]}`);
    assert.throws(() => open(fs), damage);
  });

  it('gives a sender every readable op of a closed segment with one damaged byte anywhere, and a skip for the op whose record it hit unless the record cache holds it, while read() refuses the segment', async () => {
    await fc.assert(fc.asyncProperty(batchesArb, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.subarray(ORIGINS, { minLength: 1 }), fc.integer({ min: 1, max: 9 }),
      fc.constantFrom(0, 150, 400, 1 << 20), fc.boolean(),
      async (raw, segmentSeed, byteSeed, flip, keep, maxOps, cacheBytes, reopen) => {
        const fs = new FaultFileSystem();
        const appended = toOps(raw).flat();
        let log = open(fs, { segmentBytes: 200, cacheBytes });
        for (const op of appended) await log.append([op]).durable;
        const files = segmentFiles(fs);
        fc.pre(files.length >= 2);
        // A closed segment (not the last, which open reads record by record and would refuse).
        const file = `${DIR}/${files[segmentSeed % (files.length - 1)]}`;
        const bytes = Buffer.from(fs.readFile(file));
        const at = byteSeed % bytes.length;
        const startLsn = Number(files[segmentSeed % (files.length - 1)].slice('seg-'.length, -'.log'.length));
        // Which op's record the byte is in (none: the header record); records are back to back.
        let hitLsn: number | undefined;
        for (let p = 0, lsn = startLsn - 1; p < bytes.length; p += RECORD_HEADER_BYTES + bytes.readUInt32LE(p), lsn++) {
          if (at >= p && at < p + RECORD_HEADER_BYTES + bytes.readUInt32LE(p)) hitLsn = lsn < startLsn ? undefined : lsn;
        }
        bytes[at] ^= flip;
        const fd = fs.open(file, 'w');
        fs.write(fd, bytes, 0);
        fs.close(fd);
        // Damaged under a running log (its record cache may hold the segment's newest ops), or found by a reopened one (an empty cache).
        if (reopen) {
          await log.close();
          log = open(fs, { segmentBytes: 200, cacheBytes });
        }
        // Ops from here on are read from memory, intact: only a record below it can be lost.
        const cachedFrom = log.cachedFromLsn;
        try {
          // A window from every LSN in turn: each op once, in LSN order, the lost one as a skip.
          const seen: LoggedOp[] = [];
          const lost: LoggedOp[] = [];
          for (let lsn = 0; lsn < log.nextLsn;) {
            const win = log.window(lsn, log.nextLsn, maxOps, Infinity, () => true);
            assert.ok(win.next > lsn, `the window at ${lsn} moves on`);
            seen.push(...win.ops);
            if (win.lost) {
              assert.equal(win.lost.file, file);
              assert.ok(win.lost.offset <= at, `damage reported at byte ${win.lost.offset}, the flipped byte is ${at}`);
              lost.push(...win.lost.ops);
            }
            lsn = win.next;
          }
          assert.deepEqual(seen.map((op) => op.lsn), appended.map((_, i) => i));
          // Read from disk, the hit record is lost; a cached one is shipped intact from the cache.
          const wantLost = hitLsn !== undefined && hitLsn < cachedFrom ? [hitLsn] : [];
          assert.deepEqual(lost.map((op) => op.lsn), wantLost, `byte ${at} of ${bytes.length}, cached from LSN ${cachedFrom}`);
          if (cacheBytes === 1 << 20 && !reopen) assert.equal(cachedFrom, 0, 'every op is cached');
          seen.forEach((op, lsn) => {
            const want = appended[lsn];
            if (lost.includes(op)) {
              assert.ok(isSkip(op) && op.value === null);
              assert.deepEqual([op.origin, op.seq, op.ts], [want.origin, want.seq, want.ts]);
            } else {
              assert.deepEqual(plain([op]), plain([want]), `op at LSN ${lsn}`);
            }
          });
          // With some origins kept, only theirs come, lost ones included.
          const kept: LoggedOp[] = [];
          let keptLost = 0;
          for (let lsn = 0; lsn < log.nextLsn;) {
            const win = log.window(lsn, log.nextLsn, maxOps, Infinity, (origin) => keep.includes(origin));
            kept.push(...win.ops);
            keptLost += win.lost?.ops.length ?? 0;
            lsn = win.next;
          }
          assert.deepEqual(kept.map((op) => op.lsn), seen.filter((op) => keep.includes(op.origin)).map((op) => op.lsn));
          assert.equal(keptLost, lost.filter((op) => keep.includes(op.origin)).length);
          if (startLsn < cachedFrom) assert.throws(() => log.read(startLsn, 1000), (err: unknown) => err instanceof CorruptionError && err.file === file);
        } finally {
          await log.close();
        }
      }), { numRuns: 200 });
  });

  it('refuses a well-framed record that is not a valid op, naming the file and the offset, and changes nothing', async () => {
    const fs = new FaultFileSystem();
    const log = open(fs, { segmentBytes: 1 << 20 });
    // Origins alternate, so recovery's reuse of an origin's name must follow every switch.
    await log.append([{ origin: 'n1', seq: 1, ts: 1, key: Buffer.from('a'), value: Buffer.from('x') }, { origin: 'n2', seq: 1, ts: 2, key: Buffer.from('b'), value: null },
      { origin: 'n1', seq: 2, ts: 3, key: Buffer.from('c'), value: Buffer.from('y') }]).durable;
    await log.close();
    const reopened = open(fs);
    assert.deepEqual(reopened.versionVector(), { n1: 2, n2: 1 });
    assert.deepEqual(reopened.read(0, 10).map((op) => `${opId(op)}@${op.ts}`), ['n1:1@1', 'n2:1@2', 'n1:2@3']);
    await reopened.close();
    const [file] = fs.readdir(DIR);
    const path = `${DIR}/${file}`;
    const good = Buffer.from(fs.readFile(path));
    const valid = Buffer.alloc(encodedOpBytes({ origin: 'n1', seq: 3, ts: 4, key: Buffer.from('d'), value: Buffer.from('z') }));
    writeOps([{ origin: 'n1', seq: 3, ts: 4, key: Buffer.from('d'), value: Buffer.from('z') }], valid, 0);
    const payload = valid.subarray(RECORD_HEADER_BYTES);
    const longerValue = Buffer.concat([payload, Buffer.from([0])]);
    const cases: [string, Buffer, RegExp][] = [
      ['a header inside a segment', Buffer.from([2, ...Buffer.from('{}')]), /header record inside a segment/],
      ['an unknown record type', Buffer.from([9, 0, 0]), /unknown record type 9/],
      ['an op whose value length disagrees with its record', longerValue, /value length disagrees/],
      ['an op cut short', payload.subarray(0, 10), /shorter than its fixed fields/],
    ];
    for (const [what, bad, message] of cases) {
      const fd = fs.open(path, 'w');
      fs.write(fd, Buffer.concat([good, frameRecord(bad)]), 0);
      fs.close(fd);
      assert.throws(() => open(fs), (err: unknown) => err instanceof CorruptionError && err.file === path && err.offset === good.length && message.test(err.message), what);
      assert.ok(fs.readFile(path).equals(Buffer.concat([good, frameRecord(bad)])), `${what}: the segment is left as it was`);
    }
  });

  it('refuses an op that would leave a gap in its origin, writing nothing', async () => {
    const fs = new FaultFileSystem();
    const log = open(fs);
    await log.append([{ origin: 'n1', seq: 1, ts: 1, key: Buffer.from('a'), value: null }]).durable;
    assert.throws(() => log.append([{ origin: 'n1', seq: 3, ts: 2, key: Buffer.from('b'), value: null }]), /n1:3 appended where seq 2 was due/);
    assert.equal(log.nextLsn, 1);
    await log.close();
    assert.equal(open(fs).nextLsn, 1);
  });

  it('drops acknowledged segments beyond the retention size, keeping the version vector and the clock', async () => {
    const fs = new FaultFileSystem();
    const ops = toOps(Array.from({ length: 40 }, (_, i) => [{ origin: ORIGINS[i % 3], key: new Uint8Array([i + 1]), value: new Uint8Array(50) }]));
    const log = open(fs, { retainBytes: 600 });
    for (const b of ops) await log.append(b).durable;
    const segmentsBefore = segmentFiles(fs).length;
    log.release(10);
    assert.ok(log.firstLsn > 0 && log.firstLsn <= 10, `first LSN ${log.firstLsn}`);
    assert.ok(segmentFiles(fs).length < segmentsBefore);
    const first = log.firstLsn;
    log.release(40);
    assert.ok(log.bytes <= 600 || segmentFiles(fs).length === 1);
    const all = ops.flat();
    assert.equal(log.lsnOf(all[0].origin, all[0].seq), undefined, 'released history is gone from the index');
    assert.deepEqual(plain(log.read(0, 1)), plain([all[log.firstLsn]]), 'reading below the first LSN starts at it');
    await log.close();
    assert.deepEqual(indexFiles(fs), segmentFiles(fs).slice(0, -1).map((f) => f.replace('.log', '.idx')), 'an index goes with its segment');
    const reopened = open(fs, { retainBytes: 600 });
    assert.ok(reopened.firstLsn >= first);
    assert.deepEqual(reopened.versionVector(), { n1: 14, n2: 13, 'node-three': 13 });
    assert.equal(reopened.highestTs, all[all.length - 1].ts);
    assert.equal(reopened.nextLsn, 40);
    await reopened.close();
  });

  it('counts its index files in its size, as retention bounds it, before and after a reopen', async () => {
    const fs = new FaultFileSystem();
    const log = open(fs, { retainBytes: 1 << 30 });
    for (const b of toOps(Array.from({ length: 40 }, (_, i) => [{ origin: ORIGINS[i % 3], key: new Uint8Array([i + 1]), value: new Uint8Array(50) }]))) await log.append(b).durable;
    await log.close(); // waits for the index writes
    const written = log.bytes;
    const onDisk = (name: string) => fs.readFile(`${DIR}/${name}`).length;
    const segments = segmentFiles(fs).reduce((n, f) => n + onDisk(f), 0);
    const indexes = indexFiles(fs).reduce((n, f) => n + onDisk(f), 0);
    assert.ok(indexFiles(fs).length > 2 && indexes > 0);
    const reopened = open(fs, { retainBytes: 1 << 30 });
    // Each index file is its payload in an atomic file's frame (a few bytes of header and checksum).
    const framing = reopened.bytes - segments;
    assert.ok(framing > 0.8 * indexes && framing <= indexes, `log size ${reopened.bytes}: segments ${segments}, indexes ${indexes}`);
    assert.equal(written, reopened.bytes, 'the log that wrote the indexes counted them alike');
    await reopened.close();
  });

  it('opens from its segment indexes to the state the records give, and writes the indexes a log lacks', async () => {
    await fc.assert(fc.asyncProperty(batchesArb, fc.integer({ min: 0, max: 20 }), async (raw, released) => {
      const fs = new FaultFileSystem();
      const batches = toOps(raw);
      const log = open(fs, { retainBytes: 0 });
      for (const b of batches) await log.append(b).durable;
      // Releasing moves the first retained segment, whose header then carries the older history.
      log.release(Math.min(released, log.nextLsn));
      await log.close();
      const closed = segmentFiles(fs).length - 1;
      assert.equal(indexFiles(fs).length, closed, 'every closed segment has its index');

      const state = (l: OpLog) => {
        const all = readAll(l);
        return {
          first: l.firstLsn, next: l.nextLsn, ts: l.highestTs, vv: l.versionVector(), ops: plain(all),
          lsns: all.map((op) => [l.lsnOf(op.origin, op.seq), l.seqOf(op.origin, op.ts)]),
          counts: ORIGINS.map((o) => l.countOf(o, l.firstLsn, l.nextLsn)),
        };
      };
      const fromIndexes = open(fs);
      assert.deepEqual(fromIndexes.recovery, { indexedSegments: closed, scannedSegments: 0, cutTail: undefined });
      const expected = state(fromIndexes);
      await fromIndexes.close();
      for (const f of indexFiles(fs)) fs.unlink(`${DIR}/${f}`);
      const fromRecords = open(fs);
      assert.deepEqual(fromRecords.recovery, { indexedSegments: 0, scannedSegments: closed, cutTail: undefined });
      assert.deepEqual(state(fromRecords), expected);
      await fromRecords.close();
      assert.equal(indexFiles(fs).length, closed, 'a scanned closed segment gets its index back');
      const again = open(fs);
      assert.equal(again.recovery.indexedSegments, closed);
      await again.close();
    }), { numRuns: 60 });
  });

  it('scans a segment whose index is damaged, stale or left behind, and removes an index without its segment', async () => {
    const fs = new FaultFileSystem();
    const batches = toOps(Array.from({ length: 30 }, (_, i) => [{ origin: ORIGINS[i % 3], key: new Uint8Array([i + 1]), value: new Uint8Array(40) }]));
    const log = open(fs);
    for (const b of batches) await log.append(b).durable;
    await log.close();
    const indexes = indexFiles(fs);
    assert.ok(indexes.length >= 3, `${indexes.length} closed segments`);
    const expected = plain(batches.flat());
    const reopen = async (indexed: number, scanned: number) => {
      const l = open(fs);
      assert.deepEqual(l.recovery, { indexedSegments: indexed, scannedSegments: scanned, cutTail: undefined });
      assert.deepEqual(plain(readAll(l)), expected);
      assert.deepEqual(l.versionVector(), { n1: 10, n2: 10, 'node-three': 10 });
      await l.close();
    };
    // A flipped bit fails the index's checksum.
    const damaged = `${DIR}/${indexes[0]}`;
    const bytes = Buffer.from(fs.readFile(damaged));
    bytes[bytes.length - 1] ^= 1;
    const fd = fs.open(damaged, 'w');
    fs.write(fd, bytes, 0);
    fs.close(fd);
    await reopen(indexes.length - 1, 1);
    await reopen(indexes.length, 0);
    // An index of another segment (its LSNs disagree with the file name).
    fs.rename(`${DIR}/${indexes[1]}`, `${DIR}/${indexes[2]}`);
    await reopen(indexes.length - 2, 2);
    // An index whose segment is gone is removed.
    const orphan = indexes[0].replace(/\d{16}/, '9'.repeat(16));
    fs.rename(`${DIR}/${indexes[0]}`, `${DIR}/${orphan}`);
    await reopen(indexes.length - 1, 1);
    assert.ok(!fs.exists(`${DIR}/${orphan}`));
    assert.deepEqual(indexFiles(fs), indexes);
  });

  it('uses no index that disagrees with its segment or with the segments before it', async () => {
    const make = async () => {
      const fs = new FaultFileSystem();
      const log = open(fs);
      for (const b of toOps(Array.from({ length: 30 }, (_, i) => [{ origin: ORIGINS[i % 3], key: new Uint8Array([i + 1]), value: new Uint8Array(40) }]))) await log.append(b).durable;
      await log.close();
      return { fs, segments: segmentFiles(fs), indexes: indexFiles(fs) };
    };
    const corrupt = (err: unknown) => err instanceof CorruptionError;

    // A closed segment that grew after its index was written: the records decide, and they say it is damaged.
    {
      const { fs, segments } = await make();
      const fd = fs.open(`${DIR}/${segments[1]}`, 'a');
      fs.write(fd, Buffer.from([1, 2, 3]));
      fs.close(fd);
      assert.throws(() => open(fs), (err: unknown) => corrupt(err) && /torn record/.test((err as Error).message));
    }
    // A segment missing between two others: the next one's index does not continue the log, even
    // when its seqs are made to continue the one before the gap.
    {
      const { fs, segments, indexes } = await make();
      fs.unlink(`${DIR}/${segments[1]}`);
      fs.unlink(`${DIR}/${indexes[1]}`);
      const before = decodeSegmentIndex(readAtomicFile(fs, `${DIR}/${indexes[0]}`) as Buffer) as SegmentIndex;
      const after = decodeSegmentIndex(readAtomicFile(fs, `${DIR}/${indexes[2]}`) as Buffer) as SegmentIndex;
      for (const run of after.runs) {
        const prior = before.runs.find((r) => r.origin === run.origin);
        run.firstSeq = prior ? prior.firstSeq + prior.lsns.length : (before.headerLastSeen[run.origin] ?? 0) + 1;
      }
      writeAtomicFile(fs, `${DIR}/${indexes[2]}`, encodeSegmentIndex(after));
      assert.throws(() => open(fs), (err: unknown) => corrupt(err) && /previous one ends at/.test((err as Error).message));
    }
    // An index whose checksum holds but whose seqs do not continue the segments before it.
    {
      const { fs, indexes } = await make();
      const file = `${DIR}/${indexes[1]}`;
      const index = decodeSegmentIndex(readAtomicFile(fs, file) as Buffer) as SegmentIndex;
      index.runs[0].firstSeq += 1;
      writeAtomicFile(fs, file, encodeSegmentIndex(index));
      const log = open(fs);
      assert.deepEqual(log.recovery, { indexedSegments: indexes.length - 1, scannedSegments: 1, cutTail: undefined });
      assert.deepEqual(log.versionVector(), { n1: 10, n2: 10, 'node-three': 10 });
      assert.equal(log.lsnOf('n1', 10), 27);
      await log.close();
    }
  });
});
