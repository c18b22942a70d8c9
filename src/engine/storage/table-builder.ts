// Writes one SSTable (format in SSTABLE_FORMAT.md) from entries in strictly increasing key
// order: data blocks as they fill, then the index, bloom filter, properties and footer. The file
// is created with 'wx' and fsynced by finish(); giving it its final name (rename + directory
// fsync) is the caller's job, so a crash mid-build leaves only a temporary file to clean up.
// finish() fsyncs off the event loop: a table of a few MiB takes tens of milliseconds to reach
// the disk, and a node blocked that long stalls every request and replication batch it serves.

import { crc32c } from '../codec/crc32c';
import { BlockBuilder } from './block-builder';
import { BloomBuilder } from './bloom';
import { InvalidArgumentError, StorageError } from './errors';
import {
  BLOCK_TRAILER_BYTES,
  FORMAT_VERSION,
  encodeFooter,
  encodeIndex,
  encodeProperties,
  type BlockHandle,
  type TableProperties,
} from './table-format';
import type { Entry, FileSystem } from './types';

export type { TableProperties } from './table-format';

export interface TableBuilderOptions {
  /** Target size of a data block before its trailer; a block closes once it reaches this. */
  blockBytes: number;
  /** Bloom filter budget; 0 writes no filter. */
  bloomBitsPerKey: number;
}

/** Writes go out in chunks this big: fewer syscalls than one per block, little memory. */
const WRITE_CHUNK_BYTES = 256 * 1024;

export class TableBuilder {
  private fd: number | undefined;
  private state: 'building' | 'finished' | 'abandoned' = 'building';
  private written = 0;
  private pending: Buffer = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
  private pendingLength = 0;
  private readonly block = new BlockBuilder();
  private readonly bloom: BloomBuilder;
  private readonly lastKeys: Buffer[] = [];
  private readonly offsets: number[] = [];
  private readonly sizes: number[] = [];
  private lastKey: Buffer = Buffer.alloc(0);
  private count = 0;
  private tombstones = 0;
  private minKey: Buffer | undefined;
  private minTs = Number.MAX_SAFE_INTEGER;
  private maxTs = 0;
  private lastOrigin = '';
  private lastOriginBytes: Buffer = Buffer.alloc(0);

  constructor(
    private readonly fs: FileSystem,
    readonly file: string,
    private readonly opts: TableBuilderOptions,
  ) {
    if (!Number.isInteger(opts.blockBytes) || opts.blockBytes < 64 || opts.blockBytes > 64 * 1024 * 1024) {
      throw new InvalidArgumentError(`blockBytes must be an integer from 64 to ${64 * 1024 * 1024}, got ${opts.blockBytes}`);
    }
    try {
      this.bloom = new BloomBuilder(opts.bloomBitsPerKey);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
    this.fd = fs.open(file, 'wx');
  }

  get entries(): number {
    return this.count;
  }

  /** File size if the table were finished now (index, filter and footer not counted). */
  estimatedBytes(): number {
    return this.written + this.pendingLength + this.block.estimatedBytes();
  }

  add(entry: Entry): void {
    this.checkBuilding();
    const key = entry.key;
    if (this.count > 0 && Buffer.compare(key, this.lastKey) <= 0) {
      throw new InvalidArgumentError(
        `table keys must be added in strictly increasing byte order; got ${hex(key)} after ${hex(this.lastKey)}`,
      );
    }
    if (!Number.isSafeInteger(entry.ts) || entry.ts < 0) {
      throw new InvalidArgumentError(`entry ts must be a non-negative safe integer, got ${entry.ts} for key ${hex(key)}`);
    }
    if (entry.origin !== this.lastOrigin) {
      this.lastOrigin = entry.origin;
      this.lastOriginBytes = Buffer.from(entry.origin, 'utf8');
    }
    this.block.add(entry, this.lastOriginBytes);
    this.bloom.addKey(key);
    this.lastKey = key;
    if (this.minKey === undefined) this.minKey = Buffer.from(key);
    if (entry.value === null) this.tombstones++;
    if (entry.ts < this.minTs) this.minTs = entry.ts;
    if (entry.ts > this.maxTs) this.maxTs = entry.ts;
    this.count++;
    if (this.block.estimatedBytes() >= this.opts.blockBytes) this.flushBlock();
  }

  /** Writes the index, filter, properties and footer, fsyncs and closes. The table must have an entry. */
  async finish(): Promise<TableProperties> {
    this.checkBuilding();
    if (this.count === 0) {
      throw new InvalidArgumentError(`table ${this.file} has no entries; a table needs at least one (abandon() an empty one)`);
    }
    if (!this.block.empty) this.flushBlock();
    const maxKey = Buffer.from(this.lastKey);
    const index = this.appendMeta(encodeIndex(this.lastKeys, this.offsets, this.sizes));
    const filter = this.bloom.finish();
    const bloom = this.appendMeta(filter.bytes);
    const props = {
      entries: this.count,
      tombstones: this.tombstones,
      minKey: this.minKey!,
      maxKey,
      bloomBits: filter.bits,
      minTs: this.minTs,
      maxTs: this.maxTs,
    };
    const properties = this.appendMeta(encodeProperties(props, this.lastKeys.length));
    this.append(encodeFooter({ version: FORMAT_VERSION, index, bloom, properties }));
    this.flushPending();
    const fd = this.fd!;
    this.state = 'finished';
    // On failure the descriptor stays open for abandon() to close with the file.
    await this.fs.fsyncAsync(fd);
    this.fd = undefined;
    this.fs.close(fd);
    return { ...props, bytes: this.written };
  }

  /** Closes and deletes the file; for a build that failed or produced nothing worth keeping. */
  abandon(): void {
    if (this.state === 'abandoned') return;
    this.state = 'abandoned';
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) this.fs.close(fd);
    if (this.fs.exists(this.file)) this.fs.unlink(this.file);
  }

  private flushBlock(): void {
    const data = this.block.finish();
    const offset = this.written + this.pendingLength;
    const trailer = Buffer.allocUnsafe(BLOCK_TRAILER_BYTES);
    trailer.writeUInt32LE(crc32c(data), 0);
    this.append(data);
    this.append(trailer);
    this.lastKeys.push(Buffer.from(this.lastKey));
    this.offsets.push(offset);
    this.sizes.push(data.length);
    this.block.reset();
  }

  /** Meta blocks carry no trailer: their checksums live in the footer. */
  private appendMeta(bytes: Buffer): BlockHandle {
    const offset = this.written + this.pendingLength;
    this.append(bytes);
    return { offset, size: bytes.length, crc: crc32c(bytes) };
  }

  private append(data: Buffer): void {
    if (this.pendingLength + data.length > this.pending.length) {
      this.flushPending();
      if (data.length > this.pending.length) {
        this.fs.write(this.fd!, data, this.written);
        this.written += data.length;
        return;
      }
    }
    data.copy(this.pending, this.pendingLength);
    this.pendingLength += data.length;
  }

  private flushPending(): void {
    if (this.pendingLength === 0) return;
    this.fs.write(this.fd!, this.pending.subarray(0, this.pendingLength), this.written);
    this.written += this.pendingLength;
    this.pendingLength = 0;
  }

  private checkBuilding(): void {
    if (this.state !== 'building') throw new StorageError(`table builder for ${this.file} is already ${this.state}`);
  }
}

/** A key for an error message: hex, shortened so a 64 KiB key does not flood the log. */
function hex(key: Buffer): string {
  return key.length <= 32 ? `0x${key.toString('hex')}` : `0x${key.subarray(0, 32).toString('hex')}... (${key.length} bytes)`;
}
