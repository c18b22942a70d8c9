// Damaged bytes on disk are reported as CorruptionError naming the file and the byte offset,
// never skipped, and a failed open changes no stored data. A torn last WAL record (a crash
// mid-append) is the one damage that is repaired: it is cut off.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CorruptionError } from './errors';
import { Store } from './store';
import { RECORD_HEADER_BYTES } from './wal-format';

function flipByte(file: string, at: number): void {
  const bytes = fs.readFileSync(file);
  bytes[at] ^= 0x5a;
  fs.writeFileSync(file, bytes);
}

/** Offsets where each framed record of a WAL or MANIFEST starts. */
function recordOffsets(file: string): number[] {
  const bytes = fs.readFileSync(file);
  const out: number[] = [];
  for (let p = 0; p < bytes.length; p += RECORD_HEADER_BYTES + bytes.readUInt32LE(p)) out.push(p);
  return out;
}

function only(dir: string, ext: string): string {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(ext));
  assert.equal(files.length, 1, `one ${ext} file in ${dir}: ${files.join(', ')}`);
  return path.join(dir, files[0]);
}

function snapshotFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile() && f !== 'LOCK') out.set(f, fs.readFileSync(p).toString('hex'));
  }
  return out;
}

const isCorruption = (file: RegExp, offset?: number) => (err: unknown) =>
  err instanceof CorruptionError && file.test(err.file) && (offset === undefined || err.offset === offset) && err.message.includes(`at byte ${err.offset}`);

describe('Store corruption handling', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringdb-corrupt-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function fill(n: number, flush: boolean): Promise<void> {
    const store = await Store.open(dir, { sync: 'none', blockBytes: 512 });
    for (let i = 0; i < n; i++) await store.put(Buffer.from(`key${String(i).padStart(5, '0')}`), Buffer.alloc(40, i), i + 1, 'n1');
    if (flush) await store.flush();
    await store.close();
  }

  it('reports a flipped byte in the middle of the WAL with the file and the offset of the damaged record', async () => {
    await fill(50, false);
    const wal = only(path.join(dir, 'wal'), '.log');
    const offsets = recordOffsets(wal);
    assert.equal(offsets.length, 50);
    flipByte(wal, offsets[20] + RECORD_HEADER_BYTES + 5);
    const damaged = fs.readFileSync(wal);
    await assert.rejects(Store.open(dir), isCorruption(/wal\/\d+\.log$/, offsets[20]));
    assert.deepEqual(fs.readFileSync(wal), damaged, 'the failed open left the WAL as it was');
    flipByte(wal, offsets[20] + RECORD_HEADER_BYTES + 5);
    const store = await Store.open(dir);
    assert.equal(store.scan().length, 50, 'after repair every write is back');
    await store.close();
  });

  it('reports a flipped length field in the middle of the WAL instead of treating it as a torn tail', async () => {
    await fill(10, false);
    const wal = only(path.join(dir, 'wal'), '.log');
    const offsets = recordOffsets(wal);
    flipByte(wal, offsets[3] + 1);
    await assert.rejects(Store.open(dir), isCorruption(/\.log$/, offsets[3]));
  });

  it('cuts off a torn last WAL record and keeps everything before it', async () => {
    await fill(30, false);
    const wal = only(path.join(dir, 'wal'), '.log');
    const offsets = recordOffsets(wal);
    const size = fs.statSync(wal).size;
    fs.truncateSync(wal, size - 7);
    let store = await Store.open(dir);
    assert.equal(store.scan().length, 29);
    assert.equal(store.get(Buffer.from('key00029')), undefined);
    assert.deepEqual(store.cutTail, { file: wal, keptBytes: offsets[29], cutBytes: size - 7 - offsets[29] }, 'the cut is reported, for the node to warn of');
    await store.put(Buffer.from('later'), Buffer.from('x'), 1000, 'n1');
    await store.close();
    assert.equal(recordOffsets(wal).length, 30, 'the torn record was cut at its start and the new write appended');
    assert.equal(recordOffsets(wal)[29], offsets[29]);
    store = await Store.open(dir);
    assert.equal(store.cutTail, undefined, 'an open that cut nothing reports nothing');
    assert.equal(store.get(Buffer.from('later'))?.value?.toString(), 'x');
    await store.close();
  });

  it('treats a zero-filled tail (size extended before the data reached the disk) as torn', async () => {
    await fill(5, false);
    const wal = only(path.join(dir, 'wal'), '.log');
    fs.appendFileSync(wal, Buffer.alloc(300));
    const store = await Store.open(dir);
    assert.equal(store.scan().length, 5);
    await store.close();
    assert.equal(recordOffsets(wal).length, 5);
  });

  it('reports a flipped byte in an SSTable data block on the read that reaches it, naming the table and offset', async () => {
    await fill(400, true);
    const sst = only(path.join(dir, 'sst'), '.sst');
    flipByte(sst, 100);
    const store = await Store.open(dir);
    try {
      assert.throws(() => store.scan(), isCorruption(/sst\/\d+\.sst$/));
      assert.throws(() => store.get(Buffer.from('key00000')), isCorruption(/\.sst$/));
      // Keys in undamaged blocks still read.
      assert.equal(store.get(Buffer.from('key00399'))?.ts, 400);
    } finally {
      await store.close();
    }
  });

  it('refuses to open a store whose SSTable footer is damaged, and changes nothing on disk', async () => {
    await fill(100, true);
    const sst = only(path.join(dir, 'sst'), '.sst');
    flipByte(sst, fs.statSync(sst).size - 20);
    const before = snapshotFiles(dir);
    await assert.rejects(Store.open(dir), isCorruption(/\.sst$/));
    const after = snapshotFiles(dir);
    assert.equal(after.get(path.relative(dir, sst)), before.get(path.relative(dir, sst)));
    assert.deepEqual([...after.keys()].filter((f) => !f.startsWith('MANIFEST')).sort(), [...before.keys()].filter((f) => !f.startsWith('MANIFEST')).sort());
  });

  it('reports a flipped byte in the MANIFEST with its offset', async () => {
    await fill(100, true);
    const manifest = path.join(dir, 'MANIFEST');
    const offsets = recordOffsets(manifest);
    assert.ok(offsets.length >= 2, 'the manifest holds a snapshot and the flush edit');
    flipByte(manifest, offsets[0] + RECORD_HEADER_BYTES + 3);
    await assert.rejects(Store.open(dir), isCorruption(/MANIFEST$/, offsets[0]));
  });

  it('refuses to start empty when the MANIFEST is gone but tables remain, deleting nothing', async () => {
    await fill(100, true);
    fs.unlinkSync(path.join(dir, 'MANIFEST'));
    await assert.rejects(Store.open(dir), (err: unknown) => err instanceof CorruptionError && /MANIFEST$/.test(err.file) && /missing/.test(err.message));
    assert.equal(fs.readdirSync(path.join(dir, 'sst')).length, 1, 'the table is still there');
  });

  it('reports a table the manifest lists but the folder lacks', async () => {
    await fill(100, true);
    fs.unlinkSync(only(path.join(dir, 'sst'), '.sst'));
    await assert.rejects(Store.open(dir), (err: unknown) => err instanceof CorruptionError && /MANIFEST$/.test(err.file) && /missing/.test(err.message));
  });
});
