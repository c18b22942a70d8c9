// Data moves for topology changes (the controller drives them): ExportRange streams every stored
// version of some partitions or position ranges, tombstones included, with ts and origin kept;
// IngestEntries applies such entries with LWW. Ingested versions get no new op id and do not
// enter the replication log: the controller sends a range to each node that must hold it, and
// applying the same entry twice is a no-op, so a second export pass after the map flips picks up
// writes that raced the first one. Once the new replicas hold a range, DropRanges purges it from
// the nodes that no longer replicate it.

import type { ServerWritableStream } from '@grpc/grpc-js';
import type { ExportRangeRequest, ExportRangeResponse, IngestEntriesResponse, StoredEntry } from '../gen/ringdb/v1/node';
import { placementKeyOf } from '../codec/stored-key';
import { inRange, type PartitionMap } from '../partitioning';
import { InvalidFieldError, PreconditionError } from '../rpc';
import type { Entry } from '../storage/types';
import { Slices } from '../event-loop';
import { checkKey, checkLimit, checkNodeId, checkValue } from './validate';

export const MAX_INGEST_ENTRIES = 100_000;
const DEFAULT_EXPORT_BATCH = 1000;
/**
 * A message of the export stream (and the IngestEntries the controller makes of it) stays under
 * this many bytes of keys and values, or holds one entry: batched by count alone, a few values of
 * several MiB went past the gRPC message limit (17 MiB) and failed the whole AddNode.
 */
export const EXPORT_BATCH_BYTES = 4 * 1024 * 1024;
/** Per entry besides key and value: version (ts, origin), flags, framing. */
const ENTRY_OVERHEAD_BYTES = 64;

/** Checks an export request against the node's map; returns the key filter it describes. */
export function exportFilter(map: PartitionMap | undefined, req: ExportRangeRequest): { filter: (key: Buffer) => boolean; batch: number } {
  const batch = checkLimit('batch_size', req.batchSize, 10_000, DEFAULT_EXPORT_BATCH);
  if (req.partitionIds.length === 0 && req.ranges.length === 0) throw new InvalidFieldError('partition_ids', 'name at least one partition id or one range (ranges)');
  if (!map) throw new PreconditionError('this node has no partition map yet (UpdatePartitionMap first): partitions and positions mean nothing without one');
  req.partitionIds.forEach((pid, i) => {
    if (map.indexOf(pid) < 0) throw new InvalidFieldError(`partition_ids[${i}]`, `no partition ${pid} in this node's map (version ${map.version})`);
  });
  req.ranges.forEach((r, i) => {
    if (!r.endIsOpen && Buffer.compare(r.start, r.end) >= 0) throw new InvalidFieldError(`ranges[${i}].end`, 'must sort after start (or set end_is_open)');
  });
  const pids = new Set(req.partitionIds);
  const ranges = req.ranges.map((r) => ({ start: r.start, end: r.endIsOpen ? null : r.end }));
  return {
    batch,
    filter: (key) => {
      const pk = placementKeyOf(key);
      if (pids.size > 0 && pids.has(map.locate(pk).id)) return true;
      if (ranges.length === 0) return false;
      const position = map.positionOf(pk);
      return ranges.some((r) => inRange(position, r.start, r.end));
    },
  };
}

/** Keys purged per store call while dropping: one WAL record each. */
const DROP_BATCH = 1000;

/**
 * The end of a move on a node that lost ranges: purges every stored key (tombstones too) that
 * `inRanges` selects and `keep` does not (ObservedStore.purge: no log entry, no replication, the
 * derived views follow). The scan is a fixed view: a key first written after it began is not
 * touched, but a purge removes whatever version a listed key holds by then, a newer one too. Those
 * ranges belong to other nodes by now, so only a write routed here by a stale map can meet it.
 */
export async function dropRanges(
  entries: Iterable<Entry>,
  inRanges: (key: Buffer) => boolean,
  keep: (key: Buffer) => boolean,
  purge: (keys: Buffer[]) => Promise<number>,
): Promise<{ dropped: number; kept: number }> {
  let dropped = 0;
  let kept = 0;
  let batch: Buffer[] = [];
  const slices = new Slices();
  for (const e of entries) {
    if (slices.due()) await slices.next();
    if (!inRanges(e.key)) continue;
    if (keep(e.key)) {
      kept++;
      continue;
    }
    batch.push(e.key);
    if (batch.length >= DROP_BATCH) {
      dropped += await purge(batch);
      batch = [];
    }
  }
  if (batch.length > 0) dropped += await purge(batch);
  return { dropped, kept };
}

/** Streams matching entries in batches, waiting for the reader when the stream is full. */
export async function streamExport(
  call: ServerWritableStream<ExportRangeRequest, ExportRangeResponse>,
  entries: Iterable<Entry>,
  filter: (key: Buffer) => boolean,
  batchSize: number,
  toStored: (e: Entry) => StoredEntry,
): Promise<number> {
  let batch: StoredEntry[] = [];
  let bytes = 0;
  let sent = 0;
  let cancelled = false;
  call.on('cancelled', () => void (cancelled = true));
  const flush = async () => {
    if (batch.length === 0) return;
    const ok = call.write({ entries: batch });
    sent += batch.length;
    batch = [];
    bytes = 0;
    if (!ok) await new Promise<void>((resolve) => call.once('drain', resolve));
  };
  // Most keys may fail the filter (one partition of many): without slices the scan ran on until
  // it filled a batch, a whole store's worth at 1,000 of 128 partitions (0.9 s at 300,000 keys).
  const slices = new Slices();
  for (const e of entries) {
    if (slices.due()) await slices.next();
    if (cancelled) return sent;
    if (!filter(e.key)) continue;
    const size = e.key.length + (e.value?.length ?? 0) + ENTRY_OVERHEAD_BYTES;
    if (batch.length > 0 && bytes + size > EXPORT_BATCH_BYTES) await flush();
    batch.push(toStored(e));
    bytes += size;
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return sent;
}

/** Validates ingested entries, naming the first bad field; returns them as store entries. */
export function checkIngest(entries: readonly StoredEntry[]): Entry[] {
  if (entries.length === 0 || entries.length > MAX_INGEST_ENTRIES) {
    throw new InvalidFieldError('entries', `must hold 1 to ${MAX_INGEST_ENTRIES} entries, got ${entries.length}`);
  }
  return entries.map((e, i) => checkStoredEntry(e, `entries[${i}]`));
}

/** One stored entry as a request carries it (`at` names it in errors), as the store takes it. */
export function checkStoredEntry(e: StoredEntry, at: string): Entry {
  checkKey(`${at}.key`, e.key);
  checkValue(`${at}.value`, e.value);
  if (e.deleted && e.value.length > 0) throw new InvalidFieldError(`${at}.value`, 'must be empty when deleted is set');
  const v = e.version;
  if (!v) throw new InvalidFieldError(`${at}.version`, 'is required: ingested entries keep their original ts and origin');
  if (!Number.isSafeInteger(v.ts) || v.ts < 1) throw new InvalidFieldError(`${at}.version.ts`, `must be an integer from 1 to 2^53-1, got ${v.ts}`);
  checkNodeId(`${at}.version.origin`, v.origin);
  return { key: e.key, value: e.deleted ? null : e.value, ts: v.ts, origin: v.origin };
}

export function ingestResult(applied: boolean[]): IngestEntriesResponse {
  const n = applied.filter(Boolean).length;
  return { applied: n, stale: applied.length - n };
}
