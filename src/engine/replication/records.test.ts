// Log records as Replicate carries them: parsed and verified on receipt, and logged as received.
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { Store } from '../storage';
import { FaultFileSystem } from '../storage/fault-fs';
import { encodeHeader, measureOps, parseOpRecords, writeOps, type EncodedOps, type Op } from './op-codec';
import { OpLog } from './op-log';
import { Replica } from './replica';

const DIR = '/data/replication_log';

/** Gap-free ops of a few origins: puts, deletes and skips (no key, no value). */
const opsArb = fc.array(fc.record({
  origin: fc.constantFrom('n1', 'n2', 'node-3'),
  kind: fc.constantFrom('put', 'delete', 'skip'),
  key: fc.uint8Array({ minLength: 1, maxLength: 10 }),
  value: fc.uint8Array({ maxLength: 30 }),
}), { minLength: 1, maxLength: 12 }).map((draws) => {
  const seq = new Map<string, number>();
  return draws.map((d, i): Op => {
    const s = (seq.get(d.origin) ?? 0) + 1;
    seq.set(d.origin, s);
    const key = d.kind === 'skip' ? Buffer.alloc(0) : Buffer.from(d.key);
    return { origin: d.origin, seq: s, ts: 100 + i, key, value: d.kind === 'put' ? Buffer.from(d.value) : null };
  });
});

function encode(ops: readonly Op[]): EncodedOps {
  const sizes: number[] = [];
  const bytes = Buffer.alloc(measureOps(ops, sizes));
  writeOps(ops, bytes, 0);
  return { bytes, sizes };
}

const plain = (ops: readonly Op[]) => ops.map((o) => `${o.origin}:${o.seq}:${o.ts}:${o.key.toString('hex')}:${o.value?.toString('hex') ?? 'null'}`);

/** What parseOpRecords reports for `bytes`, or the ops it read. */
function parse(bytes: Buffer): { problem: string } | { ops: Op[]; sizes: readonly number[] } {
  try {
    const { ops, encoded } = parseOpRecords(bytes, (problem) => {
      throw new Error(problem);
    });
    return { ops, sizes: encoded.sizes };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/** Index of the record holding byte `at`. */
function recordAt(sizes: readonly number[], at: number): number {
  let end = 0;
  for (let i = 0; i < sizes.length; i++) if (at < (end += sizes[i])) return i;
  return sizes.length;
}

describe('op records on the wire', () => {
  it('reads back what writeOps framed, with each record size', () => {
    fc.assert(fc.property(opsArb, (ops) => {
      const { bytes, sizes } = encode(ops);
      const got = parse(bytes);
      assert.ok('ops' in got, JSON.stringify(got));
      assert.deepEqual(plain(got.ops), plain(ops));
      assert.deepEqual(got.sizes, sizes);
    }));
  });

  it('refuses any flipped byte, naming the record that holds it', () => {
    fc.assert(fc.property(opsArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (ops, where, xor) => {
      const { bytes, sizes } = encode(ops);
      const at = where % bytes.length;
      bytes[at] ^= xor;
      const got = parse(bytes);
      assert.ok('problem' in got, `byte ${at} ^ ${xor} went unnoticed`);
      assert.match(got.problem, new RegExp(`^record ${recordAt(sizes, at)} \\(byte \\d+\\): .*checksum`));
    }), { numRuns: 300 });
  });

  it('refuses records cut short, naming the one cut', () => {
    fc.assert(fc.property(opsArb, fc.nat(), (ops, where) => {
      const { bytes, sizes } = encode(ops);
      const cut = 1 + (where % (bytes.length - 1));
      const cutRecord = recordAt(sizes, cut);
      fc.pre(sizes.slice(0, cutRecord).reduce((a, b) => a + b, 0) !== cut); // a cut between records leaves valid records
      const got = parse(bytes.subarray(0, cut));
      assert.ok('problem' in got, `cut at ${cut} went unnoticed`);
      assert.match(got.problem, new RegExp(`^record ${cutRecord} \\(byte \\d+\\): (\\d+ bytes left|record of \\d+ bytes runs)`));
    }), { numRuns: 300 });
  });

  it('refuses a segment header among op records', () => {
    const op = encode([{ origin: 'n1', seq: 1, ts: 1, key: Buffer.from('k'), value: null }]).bytes;
    const got = parse(Buffer.concat([op, encodeHeader({ startLsn: 0, maxTs: 0, lastSeen: {} })]));
    assert.ok('problem' in got);
    assert.equal(got.problem, `record 1 (byte ${op.length}): record type 2 is not an op`);
  });

  it('logs received records as they are when every op is accepted in order, else encodes what was accepted', async () => {
    await fc.assert(fc.asyncProperty(opsArb, fc.nat(), async (ops, split) => {
      const fs = new FaultFileSystem();
      const store = await Store.open('/data/store', { fs, sync: 'none', autoCompact: false });
      const log = OpLog.open(DIR, { fs, sync: 'none', syncIntervalMs: 0 });
      const replica = new Replica('me', store, log, () => store.flushedLogMark);
      const appends: { ops: number; encoded: EncodedOps | undefined }[] = [];
      const append = log.append.bind(log);
      log.append = (batch, encoded) => {
        appends.push({ ops: batch.length, encoded });
        return append(batch, encoded);
      };
      const cut = split % (ops.length + 1);
      const first = encode(ops.slice(0, cut));
      if (cut > 0) await replica.applyRemote(parseOpRecords(first.bytes, assert.fail).ops, first);
      // Overlapping the first batch: its duplicates are dropped, so the rest is encoded anew.
      const overlap = Math.max(0, cut - 1);
      const second = encode(ops.slice(overlap));
      const r = await replica.applyRemote(parseOpRecords(second.bytes, assert.fail).ops, second);
      assert.equal(r.applied, ops.length - cut);
      assert.equal(r.duplicates, cut - overlap);
      if (cut > 0) assert.equal(appends[0].encoded, first, 'first batch logged as received');
      const last = appends[appends.length - 1];
      assert.equal(last.encoded === second, cut === overlap, 'second batch logged as received only without duplicates');
      assert.deepEqual(plain(log.read(0, 1000)), plain(ops));
      await log.close();
      const segment = fs.readdir(DIR).find((f) => f.endsWith('.log')) as string;
      assert.ok(fs.readFile(`${DIR}/${segment}`).includes(encode(ops).bytes), 'the log holds every record once, in order');
      const reopened = OpLog.open(DIR, { fs, sync: 'none', syncIntervalMs: 0 });
      assert.deepEqual(plain(reopened.read(0, 1000)), plain(ops));
      await reopened.close();
      await store.close();
    }), { numRuns: 40 });
  });
});
