// What recovery needs from a closed replication-log segment, written beside it once it is closed
// (`seg-<startLsn>.idx`, an atomic, checksummed state file): its header's replication state and,
// per origin, the seq of its first op in the segment and the LSN and timestamp of each (seqs are
// gap-free per origin), as arrays the log's per-origin index copies in whole (origin-index.ts).
// With these, opening the log reads 16 bytes per op instead of decoding and checksumming every
// record of up to 128 MiB of retained segments (1.0-1.7 s for 785,000 ops); records are still
// checked whenever they are read.

import { endianness } from 'node:os';

/** Bumped when the layout changes; an index of another version is ignored (the segment is scanned). */
const VERSION = 2;
const MAX_ORIGINS = 0xffff;
const HEADER_BYTES = 1 + 8 * 4 + 2;
/** The LSN and timestamp arrays are copied as the host's Float64Arrays are laid out: little-endian. */
const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/** One origin's ops in a segment: seq firstSeq + i is at lsns[i] with timestamp tss[i]. */
export interface OriginRun {
  origin: string;
  firstSeq: number;
  lsns: Float64Array;
  tss: Float64Array;
}

export interface SegmentIndex {
  startLsn: number;
  /** Ops in the segment, at LSNs startLsn .. startLsn + opCount - 1. */
  opCount: number;
  /** The segment file's size: an index that disagrees with the file on disk is not used. */
  segmentBytes: number;
  /** The segment header's state: the version vector and highest timestamp before its first op. */
  headerMaxTs: number;
  headerLastSeen: Record<string, number>;
  /** Per origin with ops in the segment. */
  runs: OriginRun[];
}

/** The index's payload (the caller frames it with writeAtomicFile's magic and checksum). */
export function encodeSegmentIndex(index: SegmentIndex): Buffer {
  if (!HOST_LITTLE_ENDIAN) throw new Error('segment indexes are written on little-endian hosts only');
  const runs = new Map(index.runs.map((run) => [run.origin, run]));
  const names = [...new Set([...Object.keys(index.headerLastSeen), ...runs.keys()])];
  if (names.length > MAX_ORIGINS) throw new Error(`a segment index holds at most ${MAX_ORIGINS} origins, this segment has ${names.length}`);
  const encodedNames = names.map((name) => Buffer.from(name, 'utf8'));
  let size = HEADER_BYTES;
  for (const name of encodedNames) size += 2 + name.length + 24;
  for (const run of index.runs) size += run.lsns.length * 16;
  const buf = Buffer.allocUnsafe(size);
  let at = buf.writeUInt8(VERSION, 0);
  at = buf.writeDoubleLE(index.startLsn, at);
  at = buf.writeDoubleLE(index.opCount, at);
  at = buf.writeDoubleLE(index.segmentBytes, at);
  at = buf.writeDoubleLE(index.headerMaxTs, at);
  at = buf.writeUInt16LE(names.length, at);
  for (let i = 0; i < names.length; i++) {
    const run = runs.get(names[i]);
    at = buf.writeUInt16LE(encodedNames[i].length, at);
    at += encodedNames[i].copy(buf, at);
    at = buf.writeDoubleLE(index.headerLastSeen[names[i]] ?? 0, at);
    at = buf.writeDoubleLE(run?.firstSeq ?? 0, at);
    at = buf.writeDoubleLE(run?.lsns.length ?? 0, at);
  }
  for (const name of names) {
    const run = runs.get(name);
    if (!run) continue;
    at += Buffer.from(run.lsns.buffer, run.lsns.byteOffset, run.lsns.byteLength).copy(buf, at);
    at += Buffer.from(run.tss.buffer, run.tss.byteOffset, run.tss.byteLength).copy(buf, at);
  }
  return buf;
}

/**
 * The index in `payload`, or a reason it cannot be used. It passed its checksum, so a reason
 * here means a layout this build does not read, or a bug: the caller scans the segment instead.
 */
export function decodeSegmentIndex(payload: Buffer): SegmentIndex | string {
  if (!HOST_LITTLE_ENDIAN) return 'segment indexes are read on little-endian hosts only';
  if (payload.length < HEADER_BYTES) return `${payload.length} bytes is shorter than an index header`;
  const version = payload.readUInt8(0);
  if (version !== VERSION) return `index version ${version}; this build reads version ${VERSION}`;
  const startLsn = payload.readDoubleLE(1);
  const opCount = payload.readDoubleLE(9);
  const segmentBytes = payload.readDoubleLE(17);
  const headerMaxTs = payload.readDoubleLE(25);
  const nameCount = payload.readUInt16LE(33);
  let at = HEADER_BYTES;
  const headerLastSeen: Record<string, number> = {};
  const table: { origin: string; firstSeq: number; count: number }[] = [];
  for (let i = 0; i < nameCount; i++) {
    if (at + 2 > payload.length) return 'the origin table runs past the end';
    const length = payload.readUInt16LE(at);
    if (at + 2 + length + 24 > payload.length) return 'the origin table runs past the end';
    const origin = payload.toString('utf8', at + 2, at + 2 + length);
    at += 2 + length;
    const seen = payload.readDoubleLE(at);
    if (seen > 0) headerLastSeen[origin] = seen;
    const count = payload.readDoubleLE(at + 16);
    if (count > 0) table.push({ origin, firstSeq: payload.readDoubleLE(at + 8), count });
    at += 24;
  }
  const total = table.reduce((n, t) => n + t.count, 0);
  if (!Number.isSafeInteger(total) || total !== opCount || at + total * 16 !== payload.length) return `${payload.length - at} bytes and the origin table disagree with ${opCount} ops`;
  const runs: OriginRun[] = [];
  for (const { origin, firstSeq, count } of table) {
    const lsns = new Float64Array(count);
    const tss = new Float64Array(count);
    payload.copy(Buffer.from(lsns.buffer), 0, at, (at += count * 8));
    payload.copy(Buffer.from(tss.buffer), 0, at, (at += count * 8));
    for (let i = 0; i < count; i++) {
      if (!(lsns[i] >= startLsn && lsns[i] < startLsn + opCount && (i === 0 || lsns[i] > lsns[i - 1]))) return `${origin}'s op ${i} is at LSN ${lsns[i]}, out of order or outside the segment`;
    }
    runs.push({ origin, firstSeq, lsns, tss });
  }
  return { startLsn, opCount, segmentBytes, headerMaxTs, headerLastSeen, runs };
}
