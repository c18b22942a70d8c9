// What recovery needs from a closed replication-log segment, written beside it once it is closed
// (`seg-<startLsn>.idx`, an atomic, checksummed state file): its header's replication state and,
// per op in LSN order, the origin and timestamp. An op's seq follows from its origin's first seq
// in the segment (seqs are gap-free per origin) and its LSN from its position. With these,
// opening the log reads a few bytes per op instead of decoding and checksumming every record of
// up to 128 MiB of retained segments (1.0-1.7 s for 785,000 ops); records are still checked
// whenever they are read.

/** Bumped when the layout changes; an index of another version is ignored (the segment is scanned). */
const VERSION = 1;
const MAX_ORIGINS = 0xffff;

export interface SegmentIndex {
  startLsn: number;
  /** The segment file's size: an index that disagrees with the file on disk is not used. */
  segmentBytes: number;
  /** The segment header's state: the version vector and highest timestamp before its first op. */
  headerMaxTs: number;
  headerLastSeen: Record<string, number>;
  /** Per origin with ops in the segment, the seq of its first one. */
  firstSeqs: Record<string, number>;
  /** Per op, in LSN order. */
  origins: string[];
  tss: number[];
}

/** The index's payload (the caller frames it with writeAtomicFile's magic and checksum). */
export function encodeSegmentIndex(index: SegmentIndex): Buffer {
  const names = [...new Set([...Object.keys(index.headerLastSeen), ...Object.keys(index.firstSeqs), ...index.origins])];
  if (names.length > MAX_ORIGINS) throw new Error(`a segment index holds at most ${MAX_ORIGINS} origins, this segment has ${names.length}`);
  const ordinal = new Map(names.map((name, i) => [name, i]));
  const encodedNames = names.map((name) => Buffer.from(name, 'utf8'));
  const count = index.origins.length;
  let size = 1 + 8 * 4 + 2;
  for (const name of encodedNames) size += 2 + name.length + 16;
  size += count * (2 + 8);
  const buf = Buffer.allocUnsafe(size);
  let at = buf.writeUInt8(VERSION, 0);
  at = buf.writeDoubleLE(index.startLsn, at);
  at = buf.writeDoubleLE(count, at);
  at = buf.writeDoubleLE(index.segmentBytes, at);
  at = buf.writeDoubleLE(index.headerMaxTs, at);
  at = buf.writeUInt16LE(names.length, at);
  for (let i = 0; i < names.length; i++) {
    at = buf.writeUInt16LE(encodedNames[i].length, at);
    at += encodedNames[i].copy(buf, at);
    at = buf.writeDoubleLE(index.headerLastSeen[names[i]] ?? 0, at);
    at = buf.writeDoubleLE(index.firstSeqs[names[i]] ?? 0, at);
  }
  for (const origin of index.origins) at = buf.writeUInt16LE(ordinal.get(origin) as number, at);
  for (const ts of index.tss) at = buf.writeDoubleLE(ts, at);
  return buf;
}

/**
 * The index in `payload`, or a reason it cannot be used. It passed its checksum, so a reason
 * here means a layout this build does not read, or a bug: the caller scans the segment instead.
 */
export function decodeSegmentIndex(payload: Buffer): SegmentIndex | string {
  if (payload.length < 1 + 8 * 4 + 2) return `${payload.length} bytes is shorter than an index header`;
  const version = payload.readUInt8(0);
  if (version !== VERSION) return `index version ${version}; this build reads version ${VERSION}`;
  let at = 1;
  const startLsn = payload.readDoubleLE(at);
  const count = payload.readDoubleLE((at += 8));
  const segmentBytes = payload.readDoubleLE((at += 8));
  const headerMaxTs = payload.readDoubleLE((at += 8));
  const nameCount = payload.readUInt16LE((at += 8));
  at += 2;
  const names: string[] = [];
  const headerLastSeen: Record<string, number> = {};
  const firstSeqs: Record<string, number> = {};
  for (let i = 0; i < nameCount; i++) {
    if (at + 2 > payload.length) return 'the origin table runs past the end';
    const length = payload.readUInt16LE(at);
    if (at + 2 + length + 16 > payload.length) return 'the origin table runs past the end';
    const name = payload.toString('utf8', at + 2, at + 2 + length);
    at += 2 + length;
    const seen = payload.readDoubleLE(at);
    const first = payload.readDoubleLE(at + 8);
    at += 16;
    names.push(name);
    if (seen > 0) headerLastSeen[name] = seen;
    if (first > 0) firstSeqs[name] = first;
  }
  if (!Number.isSafeInteger(count) || at + count * 10 !== payload.length) return `${payload.length - at} bytes cannot hold ${count} ops`;
  const origins: string[] = new Array(count);
  const tss: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const ordinal = payload.readUInt16LE(at + 2 * i);
    if (ordinal >= names.length) return `op ${i} names origin ${ordinal} of ${names.length}`;
    // Its seq is implied by its origin's first one.
    if (firstSeqs[names[ordinal]] === undefined) return `op ${i} is of ${names[ordinal]}, which has no first seq`;
    origins[i] = names[ordinal];
  }
  at += 2 * count;
  for (let i = 0; i < count; i++) tss[i] = payload.readDoubleLE(at + 8 * i);
  return { startLsn, segmentBytes, headerMaxTs, headerLastSeen, firstSeqs, origins, tss };
}
