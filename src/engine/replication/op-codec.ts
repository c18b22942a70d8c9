// Encoding of the replication log's records. Each record is framed like the WAL (length,
// length checksum, payload checksum: storage/wal-format.ts) and holds either one op or a
// segment header (the replication state when the segment was started).
//
// op payload:     type=1 u8 | seq u64 | ts u64 | flags u8 | originLen u8 | origin | keyLen u32 | key | valueLen u32 | value
// header payload: type=2 u8 | JSON {startLsn, maxTs, lastSeen}
// u64 = hi u32 LE, lo u32 LE (values stay below 2^53).

import { CorruptionError } from '../storage/errors';
import type { FileSystem } from '../storage/types';
import { checkRecord, RECORD_HEADER_BYTES, scanLog, sealRecord, type RecordProblem } from '../storage/wal-format';

/** One write as replicated: `value === null` is a delete. op_id is `${origin}:${seq}`. */
export interface Op {
  readonly origin: string;
  readonly seq: number;
  readonly ts: number;
  readonly key: Buffer;
  readonly value: Buffer | null;
}

/** An op at its position in this node's replication log. */
export interface LoggedOp extends Op {
  readonly lsn: number;
  /** Bytes it takes in the log (encodedOpBytes), kept so batching never recomputes it. */
  readonly size: number;
}

/** The replication state at the start of a segment: what the ops before it amounted to. */
export interface SegmentHeader {
  startLsn: number;
  maxTs: number;
  lastSeen: Record<string, number>;
}

const OP = 1;
const HEADER = 2;
const TOMBSTONE = 1;
const OP_FIXED_BYTES = 1 + 8 + 8 + 1 + 1 + 4 + 4;
const EMPTY = Buffer.alloc(0);

/**
 * A skip holds an origin's seq for a node that does not replicate the op's partition (partition
 * maps, node/shipping.ts): it has no key (no real op has one) and no value. It is logged, so the
 * version vector stays gap-free, and never reaches the store.
 */
export function isSkip(op: Op): boolean {
  return op.key.length === 0;
}

export function opId(op: Pick<Op, 'origin' | 'seq'>): string {
  return `${op.origin}:${op.seq}`;
}

/** Bytes `op` takes on disk, framing included. */
export function encodedOpBytes(op: Op): number {
  return RECORD_HEADER_BYTES + OP_FIXED_BYTES + Buffer.byteLength(op.origin) + op.key.length + (op.value?.length ?? 0);
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(Math.floor(value / 0x100000000), at);
  buf.writeUInt32LE(value >>> 0, at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) * 0x100000000 + buf.readUInt32LE(at + 4);
}

/** Each op's record size into `sizes[i]`; returns their sum (what writeOps fills). */
export function measureOps(ops: readonly Op[], sizes: number[]): number {
  let size = 0;
  for (let i = 0; i < ops.length; i++) size += sizes[i] = encodedOpBytes(ops[i]);
  return size;
}

/**
 * Framed records for `ops`, one record per op, back to back from `buf[at]` (one write for a
 * whole batch). `buf` must have room for measureOps(ops).
 */
export function writeOps(ops: readonly Op[], buf: Buffer, at: number): void {
  for (const op of ops) {
    const start = at;
    let p = start + RECORD_HEADER_BYTES;
    buf[p] = OP;
    writeU64(buf, op.seq, p + 1);
    writeU64(buf, op.ts, p + 9);
    buf[p + 17] = op.value === null ? TOMBSTONE : 0;
    const originLen = buf.write(op.origin, p + 19, 'utf8');
    buf[p + 18] = originLen;
    p += 19 + originLen;
    buf.writeUInt32LE(op.key.length, p);
    op.key.copy(buf, p + 4);
    p += 4 + op.key.length;
    const value = op.value ?? EMPTY;
    buf.writeUInt32LE(value.length, p);
    value.copy(buf, p + 4);
    at = p + 4 + value.length;
    sealRecord(buf, start, at);
  }
}

/**
 * The op record of `size` bytes at `buf[start]`, which this process wrote (writeOps) or
 * verified (parseOpRecords): no checksum or bounds checks. Key and value are views of `buf`,
 * which must never be overwritten; `origin` is passed in so each read does not make a new string.
 */
export function decodeLoggedOp(buf: Buffer, start: number, size: number, origin: string, lsn: number): LoggedOp {
  const p = start + RECORD_HEADER_BYTES;
  const seq = readU64(buf, p + 1);
  const ts = readU64(buf, p + 9);
  const tombstone = buf[p + 17] === TOMBSTONE;
  let q = p + 19 + buf[p + 18];
  const keyLen = buf.readUInt32LE(q);
  const key = buf.subarray(q + 4, q + 4 + keyLen);
  q += 4 + keyLen;
  const value = tombstone ? null : buf.subarray(q + 4, q + 4 + buf.readUInt32LE(q));
  return { origin, seq, ts, key, value, lsn, size };
}

export function encodeHeader(header: SegmentHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + 1 + json.length);
  buf[RECORD_HEADER_BYTES] = HEADER;
  json.copy(buf, RECORD_HEADER_BYTES + 1);
  sealRecord(buf, 0, buf.length);
  return buf;
}

/** The segment header in a header record's payload (type byte checked by the caller). */
function decodeHeader(payload: Buffer, fail: (detail: string) => never): SegmentHeader {
  let header: SegmentHeader | undefined;
  try {
    header = JSON.parse(payload.toString('utf8', 1)) as SegmentHeader;
  } catch {
    fail('segment header is not valid JSON');
  }
  if (!header || !Number.isSafeInteger(header.startLsn) || !Number.isSafeInteger(header.maxTs) ||
      typeof header.lastSeen !== 'object' || header.lastSeen === null) {
    return fail('segment header lacks startLsn, maxTs or lastSeen');
  }
  return header;
}

/** Where an op record's fields sit, as opLayout found them (one object, refilled per record). */
interface OpLayout {
  seq: number;
  ts: number;
  tombstone: boolean;
  originStart: number;
  keyStart: number;
  valueStart: number;
  end: number;
}

const layout: OpLayout = { seq: 0, ts: 0, tombstone: false, originStart: 0, keyStart: 0, valueStart: 0, end: 0 };

/** Checks the op payload `buf[start, end)` (type byte checked by the caller) and fills `layout` with where its fields are. */
function opLayout(buf: Buffer, start: number, end: number, fail: (detail: string) => never): OpLayout {
  if (end - start < OP_FIXED_BYTES) fail('op record shorter than its fixed fields');
  layout.seq = readU64(buf, start + 1);
  layout.ts = readU64(buf, start + 9);
  const flags = buf[start + 17];
  if (flags !== 0 && flags !== TOMBSTONE) fail(`unknown op flags ${flags}`);
  layout.originStart = start + 19;
  let p = layout.originStart + buf[start + 18];
  if (p + 4 > end) fail('op origin runs past the end of its record');
  const keyLen = buf.readUInt32LE(p);
  layout.keyStart = p + 4;
  p = layout.keyStart + keyLen;
  if (p + 4 > end) fail('op key runs past the end of its record');
  const valueLen = buf.readUInt32LE(p);
  layout.valueStart = p + 4;
  if (layout.valueStart + valueLen !== end) fail('op value length disagrees with the record length');
  if (flags === TOMBSTONE && valueLen !== 0) fail('a delete carries a value');
  layout.tombstone = flags === TOMBSTONE;
  layout.end = end;
  return layout;
}

/** The op in an op record's payload (type byte checked by the caller); key and value are views of `payload`. */
function decodeOpPayload(payload: Buffer, fail: (detail: string) => never): Op {
  const at = opLayout(payload, 0, payload.length, fail);
  const { seq, ts } = at;
  const origin = payload.toString('utf8', at.originStart, at.keyStart - 4);
  const key = payload.subarray(at.keyStart, at.valueStart - 4);
  return { origin, seq, ts, key, value: at.tombstone ? null : payload.subarray(at.valueStart, at.end) };
}

/** What scanSegment reads of an op record: nothing of its key and value is copied or viewed. */
export interface OpSummary {
  origin: string;
  seq: number;
  ts: number;
}

/** A segment's header and how far its valid records go (scanLog's answer). */
export interface SegmentScan {
  header: SegmentHeader;
  validBytes: number;
  tornTail: boolean;
  bytes: Buffer;
}

/**
 * Reads one replication log segment as recovery and catch-up reads need it: `onHeader` gets its
 * first record, which must be the header, `onOp` every other, which must be an op whose fields all
 * lie within its record (checksums verified by scanLog), with where its record sits in `buf`.
 * Nothing of a key or value is copied; an origin's name is decoded once and reused while the
 * records repeat it, and `op` is one object refilled per record.
 */
export function scanSegment(
  fs: FileSystem,
  file: string,
  onHeader: (header: SegmentHeader) => void,
  onOp: (op: OpSummary, buf: Buffer, offset: number, end: number) => void,
): SegmentScan {
  let header: SegmentHeader | undefined;
  let originBytes = EMPTY;
  const op: OpSummary = { origin: '', seq: 0, ts: 0 };
  const scan = scanLog(fs, file, (buf, offset, end) => {
    const start = offset + RECORD_HEADER_BYTES;
    const fail = (detail: string): never => {
      throw new CorruptionError(file, offset, detail);
    };
    if (end === start) fail('empty replication log record');
    if (header === undefined) {
      if (buf[start] !== HEADER) fail('segment does not start with a header record');
      header = decodeHeader(buf.subarray(start, end), fail);
      onHeader(header);
      return;
    }
    if (buf[start] === HEADER) fail('header record inside a segment');
    if (buf[start] !== OP) fail(`unknown record type ${buf[start]}`);
    const at = opLayout(buf, start, end, fail);
    const originEnd = at.keyStart - 4;
    if (buf.compare(originBytes, 0, originBytes.length, at.originStart, originEnd) !== 0) {
      originBytes = Buffer.from(buf.subarray(at.originStart, originEnd));
      op.origin = originBytes.toString('utf8');
    }
    op.seq = at.seq;
    op.ts = at.ts;
    onOp(op, buf, offset, end);
  });
  if (header === undefined) throw new CorruptionError(file, 0, 'segment has no header record');
  return { header, ...scan };
}

/** Where a damaged segment first failed to read, and why. */
export interface SegmentDamage {
  offset: number;
  detail: string;
}

/** Thrown by opLayout's fail inside salvageOpRecords: the record is skipped, not the segment. */
class UnreadableRecord extends Error {}

/**
 * Every intact op record of a segment that does not read whole (`buf` is the file), for a log
 * that must go on past the damage: each record whose framing and checksums hold and whose fields
 * fit goes to `onOp`. A record whose length still passes its checksum is stepped over; past one
 * whose length does not, the next intact record is found by trying every later offset (a false
 * match has to pass two CRC-32Cs). The caller tells from the ops' (origin, seq) which LSNs
 * are missing. Returns the first damage, or undefined when every record read.
 */
export function salvageOpRecords(buf: Buffer, onOp: (op: OpSummary, offset: number, end: number) => void): SegmentDamage | undefined {
  let damage: SegmentDamage | undefined;
  const op: OpSummary = { origin: '', seq: 0, ts: 0 };
  const fail = (detail: string): never => {
    throw new UnreadableRecord(detail);
  };
  let p = 0;
  let resyncing = false;
  while (p < buf.length) {
    const end = checkRecord(buf, p);
    if (typeof end !== 'number') {
      if (!resyncing) damage ??= { offset: p, detail: describeProblem(end, buf, p) };
      // The length is sound, so the next record starts where it says; else try the next byte.
      resyncing = end !== 'payload fails its checksum';
      p = resyncing ? p + 1 : p + RECORD_HEADER_BYTES + buf.readUInt32LE(p);
      continue;
    }
    resyncing = false;
    const start = p + RECORD_HEADER_BYTES;
    if (end > start && buf[start] === OP) {
      try {
        const at = opLayout(buf, start, end, fail);
        op.origin = buf.toString('utf8', at.originStart, at.keyStart - 4);
        op.seq = at.seq;
        op.ts = at.ts;
        onOp(op, p, end);
      } catch (err) {
        if (!(err instanceof UnreadableRecord)) throw err;
        damage ??= { offset: p, detail: err.message };
      }
    } else if (p > 0 && !(end > start && buf[start] === HEADER)) {
      damage ??= { offset: p, detail: end === start ? 'empty replication log record' : `unknown record type ${buf[start]}` };
    }
    p = end;
  }
  return damage;
}

/** What is wrong with the record at `bytes[p]`, in the terms of a received message. */
function describeProblem(problem: RecordProblem, bytes: Buffer, p: number): string {
  switch (problem) {
    case 'header cut off': return `${bytes.length - p} bytes left, fewer than a record header`;
    case 'runs past the end': {
      const length = bytes.readUInt32LE(p);
      return `record of ${length} bytes runs ${p + RECORD_HEADER_BYTES + length - bytes.length} bytes past the end`;
    }
    default: return `record ${problem}`;
  }
}

/** Log records as they are on disk, back to back, with the size of each. */
export interface EncodedOps {
  readonly bytes: Buffer;
  readonly sizes: readonly number[];
}

/**
 * The ops in `bytes`, op records back to back as writeOps frames them, from another process:
 * every record's framing, checksums and fields are verified. Key and value are views of
 * `bytes`. A bad record calls `fail` with its index, its offset and what is wrong.
 */
export function parseOpRecords(bytes: Buffer, fail: (problem: string) => never): { ops: Op[]; encoded: EncodedOps } {
  const ops: Op[] = [];
  const sizes: number[] = [];
  let p = 0;
  // One closure for the whole batch (it reads where the loop is), not one per record.
  const bad: (detail: string) => never = (detail) => fail(`record ${ops.length} (byte ${p}): ${detail}`);
  while (p < bytes.length) {
    const end = checkRecord(bytes, p);
    if (typeof end !== 'number') bad(describeProblem(end, bytes, p));
    const payload = bytes.subarray(p + RECORD_HEADER_BYTES, end);
    if (payload.length < 1 || payload[0] !== OP) bad(payload.length < 1 ? 'empty record' : `record type ${payload[0]} is not an op`);
    ops.push(decodeOpPayload(payload, bad));
    sizes.push(end - p);
    p = end;
  }
  return { ops, encoded: { bytes, sizes } };
}
