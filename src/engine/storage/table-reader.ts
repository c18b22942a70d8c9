// Opens one SSTable: verifies the footer, then loads and verifies the index, bloom filter and
// properties (small, read once and kept). Data blocks are read on demand, each verified against
// its CRC-32C when it comes off disk and then kept in the shared block cache. Reads are
// synchronous on purpose: a page-cache read is microseconds, and it keeps gets promise-free.
// Cursors walk a table in order (compactions, scans), so they read ahead: one syscall for many
// blocks instead of one per 4 KiB block, which cost a tenth of a busy node's CPU in readSync.

import { crc32c } from '../codec/crc32c';
import { Block, BlockIterator } from './block';
import { BlockCache, newTableCacheId } from './block-cache';
import { compareKeys } from './block-keys';
import { BloomFilter } from './bloom';
import { CorruptionError, StorageError } from './errors';
import {
  BLOCK_TRAILER_BYTES,
  FOOTER_BYTES,
  FOOTER_CRC_AT,
  FORMAT_VERSION,
  decodeFooter,
  decodeIndex,
  decodeProperties,
  type BlockHandle,
  type TableIndex,
  type TableProperties,
} from './table-format';
import { TableIterator } from './table-iterator';
import type { Entry, EntryIterator, FileSystem } from './types';

export interface TableGetResult {
  /** The stored version (value null for a tombstone), or undefined when the table lacks the key. */
  entry: Entry | undefined;
  /** The bloom filter ruled the key out: no block was read. */
  bloomSkipped: boolean;
  /** The bloom filter said "maybe" but the key was not there: one wasted block read. */
  falsePositive: boolean;
}

/** A cursor's first read covers this much; each further read of the same walk doubles it up to the max. */
const MIN_READ_AHEAD_BYTES = 16 * 1024;
const MAX_READ_AHEAD_BYTES = 256 * 1024;

/** The bytes a cursor read ahead of where it is: whole blocks from `start`. */
export class ReadAhead {
  start = 0;
  bytes: Buffer | undefined;
  nextBytes = MIN_READ_AHEAD_BYTES;

  /** A jump (seek): the walk starts over with a small read. */
  restart(): void {
    this.nextBytes = MIN_READ_AHEAD_BYTES;
  }
}

const ABSENT_SKIPPED: TableGetResult = Object.freeze({ entry: undefined, bloomSkipped: true, falsePositive: false });
const ABSENT_OUT_OF_RANGE: TableGetResult = Object.freeze({ entry: undefined, bloomSkipped: false, falsePositive: false });

export class TableReader {
  readonly properties: TableProperties;
  /** Identity of this reader's blocks in the block cache. */
  readonly cacheId = newTableCacheId();
  private fd: number | undefined;
  private readonly index: TableIndex;
  private readonly bloom: BloomFilter;
  /** One block iterator reused by every get: gets are synchronous, so they never interleave. */
  private readonly getIterator = new BlockIterator();

  private constructor(
    private readonly fs: FileSystem,
    readonly file: string,
    fd: number,
    private readonly cache: BlockCache | undefined,
  ) {
    this.fd = fd;
    const fileBytes = fs.size(fd);
    if (fileBytes < FOOTER_BYTES) {
      throw new CorruptionError(file, 0, `file of ${fileBytes} bytes is shorter than the ${FOOTER_BYTES}-byte footer`);
    }
    const footerAt = fileBytes - FOOTER_BYTES;
    const footerBytes = this.readExact(footerAt, FOOTER_BYTES);
    const { footer, storedCrc, magicOk } = decodeFooter(footerBytes);
    const fail = (detail: string): never => {
      throw new CorruptionError(file, footerAt, `footer: ${detail}`);
    };
    if (!magicOk) fail('bad magic number (not a RingDB table, or its end is damaged)');
    const computed = crc32c(footerBytes, 0, 0, FOOTER_CRC_AT);
    if (computed !== storedCrc) fail(`checksum mismatch (stored ${hex32(storedCrc)}, computed ${hex32(computed)})`);
    if (footer.version !== FORMAT_VERSION) fail(`format version ${footer.version}; this build reads version ${FORMAT_VERSION}`);
    const { index, bloom, properties } = footer;
    if (index.offset + index.size !== bloom.offset || bloom.offset + bloom.size !== properties.offset || properties.offset + properties.size !== footerAt) {
      fail('index, bloom and properties blocks do not tile the file before the footer');
    }
    this.index = this.decodeMeta('index', index, decodeIndex);
    this.bloom = this.decodeMeta('bloom filter', bloom, (bytes) => new BloomFilter(Buffer.from(bytes)));
    const props = this.decodeMeta('properties', properties, (bytes) => decodeProperties(bytes, fileBytes));
    this.properties = props.properties;
    this.checkIndex(index.offset, props.dataBlocks);
    if (props.properties.bloomBits !== this.bloom.bitCount) {
      throw new CorruptionError(file, bloom.offset, `bloom filter has ${this.bloom.bitCount} bits, properties say ${props.properties.bloomBits}`);
    }
  }

  /** Opens and verifies `file`. Throws CorruptionError naming the file and the offset of the bad part. */
  static open(fs: FileSystem, file: string, cache?: BlockCache): TableReader {
    const fd = fs.open(file, 'r');
    try {
      return new TableReader(fs, file, fd, cache);
    } catch (e) {
      fs.close(fd);
      throw e;
    }
  }

  get blockCount(): number {
    return this.index.lastKeys.length;
  }

  /** The stored version of `key`, consulting the bloom filter before any block. */
  get(key: Buffer): TableGetResult {
    const p = this.properties;
    if (compareKeys(key, p.minKey) < 0 || compareKeys(key, p.maxKey) > 0) return ABSENT_OUT_OF_RANGE;
    if (!this.bloom.mayContain(key)) return ABSENT_SKIPPED;
    const i = this.findBlock(key);
    let entry: Entry | undefined;
    if (i < this.blockCount) {
      const it = this.getIterator;
      it.reset(this.readBlock(i));
      entry = it.find(key);
    }
    return { entry, bloomSkipped: false, falsePositive: entry === undefined && this.bloom.present };
  }

  /** A cursor over the whole table; blocks are read (and verified) as it reaches them. */
  iterator(): EntryIterator {
    return new TableIterator(this);
  }

  /** Closes the file and drops its cached blocks. Iterators still open on it fail on their next block read. */
  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    this.cache?.evictTable(this.cacheId);
    this.fs.close(fd);
  }

  /** Index of the first block whose last key is >= `key` (blockCount when none is). */
  findBlock(key: Buffer): number {
    const keys = this.index.lastKeys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(keys[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Data block `i`, from the cache or from disk with its checksum verified. A cursor passes its
   * `ahead` window and does not fill the cache: a compaction's inputs are about to be deleted,
   * a long scan would evict the blocks point reads need, and a cached block would pin the
   * whole window it was sliced from.
   */
  readBlock(i: number, ahead?: ReadAhead): Block {
    const offset = this.index.offsets[i];
    const cached = this.cache?.get(this.cacheId, offset);
    if (cached) return cached;
    const size = this.index.sizes[i];
    const raw = ahead ? this.readAhead(i, ahead) : this.readExact(offset, size + BLOCK_TRAILER_BYTES);
    const stored = raw.readUInt32LE(size);
    const computed = crc32c(raw, 0, 0, size);
    if (stored !== computed) {
      throw new CorruptionError(this.file, offset, `data block ${i} checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})`);
    }
    const block = Block.parse(raw.subarray(0, size), this.file, offset);
    if (!ahead) this.cache?.put(this.cacheId, offset, block);
    return block;
  }

  /** Block `i` with its trailer, from `ahead`'s window or from a new read of it and the whole blocks after it. */
  private readAhead(i: number, ahead: ReadAhead): Buffer {
    const { offsets, sizes } = this.index;
    const offset = offsets[i];
    const length = sizes[i] + BLOCK_TRAILER_BYTES;
    const window = ahead.bytes;
    if (window && offset >= ahead.start && offset + length <= ahead.start + window.length) {
      return window.subarray(offset - ahead.start, offset - ahead.start + length);
    }
    let end = offset + length;
    for (let j = i + 1; j < offsets.length; j++) {
      const blockEnd = offsets[j] + sizes[j] + BLOCK_TRAILER_BYTES;
      if (blockEnd - offset > ahead.nextBytes) break;
      end = blockEnd;
    }
    ahead.bytes = this.readExact(offset, end - offset);
    ahead.start = offset;
    ahead.nextBytes = Math.min(ahead.nextBytes * 2, MAX_READ_AHEAD_BYTES);
    return ahead.bytes.subarray(0, length);
  }

  private decodeMeta<T>(what: string, handle: BlockHandle, decode: (bytes: Buffer) => T): T {
    const bytes = this.readExact(handle.offset, handle.size);
    const computed = crc32c(bytes);
    if (computed !== handle.crc) {
      throw new CorruptionError(this.file, handle.offset, `${what} block checksum mismatch (stored ${hex32(handle.crc)}, computed ${hex32(computed)})`);
    }
    try {
      return decode(bytes);
    } catch (e) {
      throw new CorruptionError(this.file, handle.offset, `${what} block is malformed: ${(e as Error).message}`);
    }
  }

  /** Data blocks must follow each other from offset 0 up to the index, in key order. */
  private checkIndex(indexOffset: number, dataBlocks: number): void {
    const { lastKeys, offsets, sizes } = this.index;
    const bad = (detail: string): never => {
      throw new CorruptionError(this.file, indexOffset, `index: ${detail}`);
    };
    if (lastKeys.length !== dataBlocks) bad(`lists ${lastKeys.length} data blocks, properties say ${dataBlocks}`);
    let expected = 0;
    for (let i = 0; i < lastKeys.length; i++) {
      if (offsets[i] !== expected) bad(`data block ${i} at ${offsets[i]}, expected ${expected}`);
      if (i > 0 && Buffer.compare(lastKeys[i - 1], lastKeys[i]) >= 0) bad(`last keys of blocks ${i - 1} and ${i} are out of order`);
      expected += sizes[i] + BLOCK_TRAILER_BYTES;
    }
    if (expected !== indexOffset) bad(`data blocks end at ${expected} but the index starts at ${indexOffset}`);
  }

  private readExact(position: number, length: number): Buffer {
    const fd = this.fd;
    if (fd === undefined) throw new StorageError(`table ${this.file} is closed`);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = this.fs.read(fd, buf, done, length - done, position + done);
      if (n === 0) throw new CorruptionError(this.file, position, `expected ${length} bytes, the file ends after ${done}`);
      done += n;
    }
    return buf;
  }
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
