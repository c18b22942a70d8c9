// Validation at the store's edge: options, entries and scan ranges. Every rejection is an
// InvalidArgumentError that names the field, says what was wrong and what is accepted, and
// is raised before anything is written.

import { DEFAULT_COMPACTION_CONFIG, type CompactionConfig } from './compaction-policy';
import { InvalidArgumentError } from './errors';
import { NodeFileSystem } from './node-fs';
import { DEFAULT_MAX_VALUE_BYTES, MAX_KEY_BYTES, type Entry, type ScanOptions, type StoreOptions } from './types';

/** Longest origin (node id) in UTF-8 bytes: its length is one byte in the WAL and tables. */
export const MAX_ORIGIN_BYTES = 255;

/** A year: longer graces only keep deleted data's space, and the hints for it, for longer. */
export const MAX_TOMBSTONE_GRACE_MS = 365 * 24 * 3600 * 1000;

export interface StoreOpenOptions extends Partial<StoreOptions> {
  /** Leveled compaction tuning; defaults follow LevelDB. */
  compaction?: Partial<CompactionConfig>;
}

export interface ResolvedOptions extends StoreOptions {
  compaction: CompactionConfig;
}

export const DEFAULT_STORE_OPTIONS: Readonly<Omit<StoreOptions, 'fs'>> = Object.freeze({
  sync: 'always',
  syncIntervalMs: 5,
  memtableBytes: 4 * 1024 * 1024,
  blockBytes: 4096,
  bloomBitsPerKey: 10,
  blockCacheBytes: 8 * 1024 * 1024,
  maxValueBytes: DEFAULT_MAX_VALUE_BYTES,
  autoCompact: true,
  // The store alone has no replica that could send an older version back; a node passes its
  // cluster's storage.tombstoneGraceMs.
  tombstoneGraceMs: 0,
  now: Date.now,
});

/** `got` describes the rejected input: a size, a type, or show(value). */
function bad(field: string, accepted: string, got: string): never {
  throw new InvalidArgumentError(`${field} must be ${accepted}; got ${got}`);
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  return `a value of type ${typeof v}`;
}

function int(field: string, v: number, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(field, `an integer from ${min} to ${max}`, show(v));
}

export function resolveOptions(options: StoreOpenOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) bad('options', 'an object', show(options));
  const o: ResolvedOptions = {
    ...DEFAULT_STORE_OPTIONS,
    fs: new NodeFileSystem(),
    ...options,
    compaction: { ...DEFAULT_COMPACTION_CONFIG, ...options.compaction },
  };
  if (o.sync !== 'always' && o.sync !== 'batch' && o.sync !== 'none') bad('sync', "'always', 'batch' or 'none'", show(o.sync));
  int('syncIntervalMs', o.syncIntervalMs, 0, 60_000);
  int('memtableBytes', o.memtableBytes, 1024, 1024 * 1024 * 1024);
  int('blockBytes', o.blockBytes, 64, 64 * 1024 * 1024);
  int('bloomBitsPerKey', o.bloomBitsPerKey, 0, 64);
  int('blockCacheBytes', o.blockCacheBytes, 0, Number.MAX_SAFE_INTEGER);
  int('maxValueBytes', o.maxValueBytes, 0, 512 * 1024 * 1024);
  if (typeof o.autoCompact !== 'boolean') bad('autoCompact', 'true or false', show(o.autoCompact));
  int('tombstoneGraceMs', o.tombstoneGraceMs, 0, MAX_TOMBSTONE_GRACE_MS);
  if (typeof o.now !== 'function') bad('now', 'a function returning the time in ms', show(o.now));
  return o;
}

export function checkKey(key: unknown, field = 'key'): asserts key is Buffer {
  if (!Buffer.isBuffer(key)) bad(field, 'a Buffer', typeof key);
  if (key.length === 0) bad(field, `1 to ${MAX_KEY_BYTES} bytes`, 'an empty key');
  if (key.length > MAX_KEY_BYTES) bad(field, `1 to ${MAX_KEY_BYTES} bytes`, `${key.length} bytes`);
}

/** Checks one version and returns its origin's UTF-8 length (the WAL needs it). */
export function checkEntry(key: unknown, value: unknown, ts: unknown, origin: unknown, maxValueBytes: number, where = ''): number {
  checkKey(key, `${where}key`);
  if (value !== null && !Buffer.isBuffer(value)) bad(`${where}value`, 'a Buffer, or null for a delete', typeof value);
  if (value !== null && value.length > maxValueBytes) bad(`${where}value`, `at most ${maxValueBytes} bytes`, `${value.length} bytes`);
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) bad(`${where}ts`, 'a non-negative safe integer (a Lamport timestamp)', show(ts));
  if (typeof origin !== 'string' || origin.length === 0) bad(`${where}origin`, `a non-empty node id of at most ${MAX_ORIGIN_BYTES} UTF-8 bytes`, show(origin));
  const bytes = Buffer.byteLength(origin, 'utf8');
  if (bytes > MAX_ORIGIN_BYTES) bad(`${where}origin`, `at most ${MAX_ORIGIN_BYTES} UTF-8 bytes`, `${bytes} bytes`);
  return bytes;
}

/** A batch is one WAL record, which must stay well inside the record size limit (wal-format.ts). */
export const MAX_BATCH_BYTES = 256 * 1024 * 1024;

/** Checks a batch whole; returns each origin's UTF-8 length. */
export function checkBatch(ops: unknown, maxValueBytes: number): number[] {
  if (!Array.isArray(ops)) bad('ops', 'an array of entries', typeof ops);
  const originBytes = new Array<number>(ops.length);
  let total = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as Partial<Entry> | null;
    if (typeof op !== 'object' || op === null) bad(`ops[${i}]`, 'an entry { key, value, ts, origin }', show(op));
    originBytes[i] = checkEntry(op.key, op.value === undefined ? 'missing' : op.value, op.ts, op.origin, maxValueBytes, `ops[${i}].`);
    total += op.key!.length + (op.value ? op.value.length : 0) + originBytes[i];
  }
  if (total > MAX_BATCH_BYTES) bad('ops', `a batch of at most ${MAX_BATCH_BYTES} bytes of keys, values and origins (split it)`, `${total} bytes`);
  return originBytes;
}

export function checkScan(options: ScanOptions): void {
  if (typeof options !== 'object' || options === null) bad('scan options', 'an object', show(options));
  if (options.start !== undefined && !Buffer.isBuffer(options.start)) bad('start', 'a Buffer', typeof options.start);
  if (options.end !== undefined && !Buffer.isBuffer(options.end)) bad('end', 'a Buffer', typeof options.end);
  if (options.limit !== undefined) int('limit', options.limit, 0, Number.MAX_SAFE_INTEGER);
}
