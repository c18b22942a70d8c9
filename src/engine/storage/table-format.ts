// The fixed parts of the SSTable format (SSTABLE_FORMAT.md): footer, index block and properties
// block encodings, shared by the builder and the reader so the two cannot drift apart.

import { crc32c } from '../codec/crc32c';
import { ByteReader, MAX_VARINT_BYTES, varintLength, writeVarint } from '../codec/varint';

/** "RINGSST" + 0x01, little-endian fixed64 as the last 8 bytes of every table. */
export const TABLE_MAGIC = Buffer.from('RINGSST\x01', 'latin1');
export const FORMAT_VERSION = 1;
export const FOOTER_BYTES = 64;
/** Every data block is followed by the CRC-32C of its contents. */
export const BLOCK_TRAILER_BYTES = 4;

export interface BlockHandle {
  offset: number;
  size: number;
  crc: number;
}

export interface Footer {
  version: number;
  index: BlockHandle;
  bloom: BlockHandle;
  properties: BlockHandle;
}

/** What a table records about itself; `bytes` is the file size, known only once the footer is written. */
export interface TableProperties {
  entries: number;
  tombstones: number;
  bytes: number;
  minKey: Buffer;
  maxKey: Buffer;
  bloomBits: number;
  minTs: number;
  maxTs: number;
}

// Footer layout (offsets in bytes): 0 version u32 | 4 index handle | 20 bloom handle |
// 36 properties handle | 52 footer CRC u32 over bytes 0..52 | 56 magic (8 bytes).
// A handle is offset u64 (two u32 halves: offsets pass 4 GiB only in theory) | size u32 | crc u32.
export const FOOTER_CRC_AT = 52;
const MAGIC_AT = 56;

export function encodeFooter(footer: Footer): Buffer {
  const out = Buffer.alloc(FOOTER_BYTES);
  out.writeUInt32LE(footer.version, 0);
  writeHandle(out, 4, footer.index);
  writeHandle(out, 20, footer.bloom);
  writeHandle(out, 36, footer.properties);
  out.writeUInt32LE(crc32c(out.subarray(0, FOOTER_CRC_AT)), FOOTER_CRC_AT);
  TABLE_MAGIC.copy(out, MAGIC_AT);
  return out;
}

/** Splits a footer into fields; validation (magic, CRC, ranges) is the reader's, which knows the file. */
export function decodeFooter(bytes: Buffer): { footer: Footer; storedCrc: number; magicOk: boolean } {
  return {
    footer: {
      version: bytes.readUInt32LE(0),
      index: readHandle(bytes, 4),
      bloom: readHandle(bytes, 20),
      properties: readHandle(bytes, 36),
    },
    storedCrc: bytes.readUInt32LE(FOOTER_CRC_AT),
    magicOk: bytes.compare(TABLE_MAGIC, 0, TABLE_MAGIC.length, MAGIC_AT, MAGIC_AT + TABLE_MAGIC.length) === 0,
  };
}

function writeHandle(out: Buffer, at: number, h: BlockHandle): void {
  out.writeUInt32LE(h.offset % 2 ** 32, at);
  out.writeUInt32LE(Math.floor(h.offset / 2 ** 32), at + 4);
  out.writeUInt32LE(h.size, at + 8);
  out.writeUInt32LE(h.crc, at + 12);
}

function readHandle(bytes: Buffer, at: number): BlockHandle {
  return {
    offset: bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 2 ** 32,
    size: bytes.readUInt32LE(at + 8),
    crc: bytes.readUInt32LE(at + 12),
  };
}

/** The sparse index, decoded into parallel arrays for binary search. */
export interface TableIndex {
  /** Last key of each data block, ascending. */
  lastKeys: Buffer[];
  offsets: Float64Array;
  /** Data block sizes, without the CRC trailer. */
  sizes: Uint32Array;
}

/** Index block: count, then per data block: key length, last key, offset, size (all varints but the key). */
export function encodeIndex(lastKeys: Buffer[], offsets: number[], sizes: number[]): Buffer {
  let length = varintLength(lastKeys.length);
  for (const key of lastKeys) length += varintLength(key.length) + key.length + 2 * MAX_VARINT_BYTES;
  const out = Buffer.allocUnsafe(length);
  let pos = writeVarint(out, 0, lastKeys.length);
  for (let i = 0; i < lastKeys.length; i++) {
    pos = writeVarint(out, pos, lastKeys[i].length);
    pos += lastKeys[i].copy(out, pos);
    pos = writeVarint(out, pos, offsets[i]);
    pos = writeVarint(out, pos, sizes[i]);
  }
  return out.subarray(0, pos);
}

/** Throws DecodeError on malformed bytes; the keys are views into `bytes`. */
export function decodeIndex(bytes: Buffer): TableIndex {
  const r = new ByteReader(bytes);
  const count = r.varint();
  // Each entry takes at least 3 bytes, so a count beyond that is corrupt, not a huge allocation.
  if (count > bytes.length / 3) throw new RangeError(`index claims ${count} blocks in ${bytes.length} bytes`);
  const lastKeys: Buffer[] = new Array<Buffer>(count);
  const offsets = new Float64Array(count);
  const sizes = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    lastKeys[i] = r.bytes();
    offsets[i] = r.varint();
    sizes[i] = r.varint();
  }
  if (r.pos !== bytes.length) throw new RangeError(`index has ${bytes.length - r.pos} trailing bytes`);
  return { lastKeys, offsets, sizes };
}

/** Properties block: entries, tombstones, data blocks, min ts, max ts, bloom bits, then min and max key. */
export function encodeProperties(p: Omit<TableProperties, 'bytes'>, dataBlocks: number): Buffer {
  const out = Buffer.allocUnsafe(8 * MAX_VARINT_BYTES + p.minKey.length + p.maxKey.length);
  let pos = 0;
  for (const n of [p.entries, p.tombstones, dataBlocks, p.minTs, p.maxTs, p.bloomBits]) pos = writeVarint(out, pos, n);
  pos = writeVarint(out, pos, p.minKey.length);
  pos += p.minKey.copy(out, pos);
  pos = writeVarint(out, pos, p.maxKey.length);
  pos += p.maxKey.copy(out, pos);
  return out.subarray(0, pos);
}

export function decodeProperties(bytes: Buffer, fileBytes: number): { properties: TableProperties; dataBlocks: number } {
  const r = new ByteReader(bytes);
  const entries = r.varint();
  const tombstones = r.varint();
  const dataBlocks = r.varint();
  const minTs = r.varint();
  const maxTs = r.varint();
  const bloomBits = r.varint();
  const minKey = Buffer.from(r.bytes());
  const maxKey = Buffer.from(r.bytes());
  if (r.pos !== bytes.length) throw new RangeError(`properties have ${bytes.length - r.pos} trailing bytes`);
  return { properties: { entries, tombstones, bytes: fileBytes, minKey, maxKey, bloomBits, minTs, maxTs }, dataBlocks };
}
