// Small state files written whole and atomically (the node layer keeps its version vector,
// hints and similar here): temp file, fsync, rename, fsync folder, so a reader sees the old
// contents or the new, never a mix. The contents carry a CRC-32C so damage is reported, not read.
//
// Layout: magic "RDBF" | format u32 = 1 | length u32 | crc32c(payload) u32 | payload

import * as path from 'node:path';
import { crc32c } from '../codec/crc32c';
import { CorruptionError } from './errors';
import type { FileSystem } from './types';

const MAGIC = Buffer.from('RDBF', 'latin1');
const FORMAT = 1;
const HEADER_BYTES = 16;

/** Replaces `file` with `payload`, durably; a crash leaves either the old file or the new one. */
export function writeAtomicFile(fs: FileSystem, file: string, payload: Buffer): void {
  const tmp = writeTemp(fs, file, payload);
  try {
    fs.fsync(tmp.fd);
  } finally {
    fs.close(tmp.fd);
  }
  fs.rename(tmp.name, file);
  fs.fsyncDir(path.dirname(file));
}

/**
 * writeAtomicFile with both fsyncs in the thread pool. Under load each took 5-30 ms, and a node
 * saving its replication state every second stopped its event loop for them. Callers must not
 * run two of these on one file at once: they share the temporary name.
 */
export async function writeAtomicFileAsync(fs: FileSystem, file: string, payload: Buffer): Promise<void> {
  const tmp = writeTemp(fs, file, payload);
  try {
    await fs.fsyncAsync(tmp.fd);
  } finally {
    fs.close(tmp.fd);
  }
  fs.rename(tmp.name, file);
  await fs.fsyncDirAsync(path.dirname(file));
}

/** The framed payload written to `file`.tmp, still open (the write reaches the page cache at once). */
function writeTemp(fs: FileSystem, file: string, payload: Buffer): { name: string; fd: number } {
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  MAGIC.copy(bytes, 0);
  bytes.writeUInt32LE(FORMAT, 4);
  bytes.writeUInt32LE(payload.length, 8);
  bytes.writeUInt32LE(crc32c(payload), 12);
  payload.copy(bytes, HEADER_BYTES);
  const name = `${file}.tmp`;
  const fd = fs.open(name, 'w');
  try {
    fs.write(fd, bytes, 0);
  } catch (err) {
    fs.close(fd);
    throw err;
  }
  return { name, fd };
}

/** The payload of `file`, verified; undefined when the file does not exist. */
export function readAtomicFile(fs: FileSystem, file: string): Buffer | undefined {
  if (!fs.exists(file)) return undefined;
  const bytes = fs.readFile(file);
  if (bytes.length < HEADER_BYTES) throw new CorruptionError(file, 0, `${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  if (!bytes.subarray(0, 4).equals(MAGIC)) throw new CorruptionError(file, 0, 'bad magic (not a RingDB state file)');
  const format = bytes.readUInt32LE(4);
  if (format !== FORMAT) throw new CorruptionError(file, 4, `format ${format}; this build reads format ${FORMAT}`);
  const length = bytes.readUInt32LE(8);
  if (HEADER_BYTES + length !== bytes.length) {
    throw new CorruptionError(file, 8, `header says ${length} payload bytes, the file holds ${bytes.length - HEADER_BYTES}`);
  }
  const payload = bytes.subarray(HEADER_BYTES);
  if (crc32c(payload) !== bytes.readUInt32LE(12)) throw new CorruptionError(file, HEADER_BYTES, 'payload fails its checksum');
  return payload;
}
