import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CorruptionError } from './errors';
import { NodeFileSystem } from './node-fs';
import { TableBuilder } from './table-builder';
import { BLOCK_TRAILER_BYTES, FOOTER_BYTES, decodeFooter, decodeIndex } from './table-format';
import { TableReader } from './table-reader';
import type { Entry } from './types';

const nodeFs = new NodeFileSystem();
let dir: string;

function entryAt(i: number): Entry {
  return { key: Buffer.from(`key${String(i).padStart(6, '0')}`), value: i % 7 === 0 ? null : Buffer.from(`value number ${i}`), ts: i, origin: 'n1' };
}

const ENTRIES = Array.from({ length: 60 }, (_, i) => entryAt(i));

/** A small table of several blocks, its bytes, and where each region of it starts. */
async function buildTable(): Promise<{ file: string; bytes: Buffer; regions: { name: string; start: number; end: number }[] }> {
  const file = path.join(dir, 'good.sst');
  const b = new TableBuilder(nodeFs, file, { blockBytes: 256, bloomBitsPerKey: 10 });
  for (const e of ENTRIES) b.add(e);
  await b.finish();
  const bytes = fs.readFileSync(file);
  const footerAt = bytes.length - FOOTER_BYTES;
  const { footer } = decodeFooter(bytes.subarray(footerAt));
  const index = decodeIndex(bytes.subarray(footer.index.offset, footer.index.offset + footer.index.size));
  const regions = Array.from(index.offsets, (offset, i) => ({ name: `data block ${i}`, start: offset, end: offset + index.sizes[i] + BLOCK_TRAILER_BYTES }));
  regions.push(
    { name: 'index', start: footer.index.offset, end: footer.index.offset + footer.index.size },
    { name: 'bloom', start: footer.bloom.offset, end: footer.bloom.offset + footer.bloom.size },
    { name: 'properties', start: footer.properties.offset, end: footer.properties.offset + footer.properties.size },
    { name: 'footer', start: footerAt, end: bytes.length },
  );
  return { file, bytes, regions };
}

function withFlip(bytes: Buffer, at: number, name = 'bad.sst'): string {
  const copy = Buffer.from(bytes);
  copy[at] ^= 0x5a;
  const file = path.join(dir, name);
  fs.writeFileSync(file, copy);
  return file;
}

/** Opens the table and reads all of it (scan and every get); returns the error that stopped it, if any. */
function readAll(file: string): unknown {
  let t: TableReader | undefined;
  try {
    t = TableReader.open(nodeFs, file);
    const it = t.iterator();
    const seen: Entry[] = [];
    for (it.seekToFirst(); it.valid(); it.next()) seen.push(it.entry());
    assert.deepEqual(seen, ENTRIES);
    for (const e of ENTRIES) assert.deepEqual(t.get(e.key).entry, e);
    return undefined;
  } catch (e) {
    return e;
  } finally {
    t?.close();
  }
}

function assertCorruptAt(err: unknown, file: string, offset: number, what: string): void {
  assert.ok(err instanceof CorruptionError, `${what}: expected a CorruptionError, got ${String(err)}`);
  assert.equal(err.file, file, what);
  assert.equal(err.offset, offset, `${what}: ${err.message}`);
  assert.ok(err.message.includes(file) && err.message.includes(String(offset)), err.message);
}

describe('sstable corruption', () => {
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringdb-sstc-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the uncorrupted table reads back whole (the baseline the other cases differ from)', async () => {
    const { file, regions } = await buildTable();
    assert.equal(readAll(file), undefined);
    assert.ok(regions.filter((r) => r.name.startsWith('data')).length >= 4);
  });

  it('a flipped byte in a data block is reported when the block is read, at that block, and open still succeeds', async () => {
    const { bytes, regions } = await buildTable();
    const block = regions[2];
    const file = withFlip(bytes, block.start + 5);
    const t = TableReader.open(nodeFs, file);
    const keyInBlock = ENTRIES.find((e) => {
      try {
        t.get(e.key);
        return false;
      } catch {
        return true;
      }
    });
    assert.ok(keyInBlock, 'some key lives in the damaged block');
    assert.throws(() => t.get(keyInBlock.key), (e: unknown) => (assertCorruptAt(e, file, block.start, 'data get'), true));
    assert.deepEqual(t.get(ENTRIES[0].key).entry, ENTRIES[0], 'blocks before it still read');
    t.close();
    assertCorruptAt(readAll(file), file, block.start, 'data scan');
  });

  it('a flipped byte in a data block checksum is reported at the block', async () => {
    const { bytes, regions } = await buildTable();
    const file = withFlip(bytes, regions[1].end - 2);
    assertCorruptAt(readAll(file), file, regions[1].start, 'block crc');
  });

  for (const name of ['index', 'bloom', 'properties', 'footer']) {
    it(`a flipped byte in the ${name} fails open() with the ${name}'s offset`, async () => {
      const { bytes, regions } = await buildTable();
      const region = regions.find((r) => r.name === name)!;
      const file = withFlip(bytes, Math.floor((region.start + region.end) / 2));
      assert.throws(() => TableReader.open(nodeFs, file), (e: unknown) => (assertCorruptAt(e, file, region.start, name), true));
    });
  }

  it('every single flipped byte anywhere in the file is caught and blamed on the region holding it', async function () {
    this.timeout(60_000);
    const { bytes, regions } = await buildTable();
    const file = withFlip(bytes, 0);
    const fd = fs.openSync(file, 'r+');
    try {
      for (let at = 0; at < bytes.length; at++) {
        // Flip this byte in place and restore the previous one: one file, no rewrite per case.
        if (at > 0) fs.writeSync(fd, bytes, at - 1, 1, at - 1);
        fs.writeSync(fd, Buffer.from([bytes[at] ^ 0x5a]), 0, 1, at);
        const region = regions.find((r) => at >= r.start && at < r.end)!;
        assertCorruptAt(readAll(file), file, region.start, `byte ${at} in ${region.name}`);
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a truncated file is a corruption, never a short read of garbage', async () => {
    const { bytes } = await buildTable();
    for (const keep of [0, 10, FOOTER_BYTES - 1, bytes.length - 1, bytes.length - FOOTER_BYTES]) {
      const file = path.join(dir, `cut${keep}.sst`);
      fs.writeFileSync(file, bytes.subarray(0, keep));
      const err = readAll(file);
      assert.ok(err instanceof CorruptionError && err.file === file, `cut at ${keep}: ${String(err)}`);
    }
  });

  it('a file that is not a table says so', () => {
    const file = path.join(dir, 'notes.txt');
    fs.writeFileSync(file, Buffer.alloc(500, 'x'));
    assert.throws(() => TableReader.open(nodeFs, file), /bad magic/);
  });
});
