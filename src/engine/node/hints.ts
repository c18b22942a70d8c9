// Hints: ops this node accepted for a replica that was down (sloppy quorum), kept until they are
// handed to that replica (handoff.ts). One append-only file of CRC-32C framed records
// (storage/wal-format.ts): an `add` record per hint and a `remove` record once it was delivered;
// opening replays them. A hint is fsynced before the write it belongs to is acknowledged. When
// removals outnumber live hints the file is rewritten (temp file, fsync, rename, fsync folder).
//
// add payload:    1 u8 | targetLen u8 | target | createdAt f64 | StoredEntry (protobuf)
// remove payload: 2 u8 | targetLen u8 | target | opId (utf8)

import * as path from 'node:path';
import { StoredEntry } from '../gen/ringdb/v1/node';
import { CorruptionError } from '../storage/errors';
import type { FileSystem } from '../storage/types';
import { frameRecord, readLog } from '../storage/wal-format';

export interface Hint {
  target: string;
  opId: string;
  createdAt: number;
  entry: StoredEntry;
}

const ADD = 1;
const REMOVE = 2;
const FILE = 'hints.log';
/** Removed records tolerated before a rewrite (and never fewer than the live hints). */
const COMPACT_AFTER = 1024;

const idOf = (target: string, opId: string) => `${target}\u0000${opId}`;

export class HintStore {
  private readonly live = new Map<string, Hint>();
  /** Stored key (latin1) -> ids of its live hints: a substitute consults them on every direct read. */
  private readonly byKey = new Map<string, Set<string>>();
  private fd: number;
  private removed = 0;
  /** The oldest live hint's createdAt; undefined once it was removed, until createdBy scans again. */
  private oldest: number | undefined = Number.POSITIVE_INFINITY;
  private queue: Promise<void> = Promise.resolve();
  hintedWrites = 0;
  delivered = 0;
  expired = 0;
  /** `expired` by the replica the hints were held for. */
  readonly expiredFor = new Map<string, number>();

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
  ) {
    this.fd = -1;
  }

  static open(fs: FileSystem, dataDir: string): HintStore {
    const store = new HintStore(fs, path.join(dataDir, 'hints'));
    store.recover();
    return store;
  }

  get size(): number {
    return this.live.size;
  }

  /** Every hint, oldest first. */
  list(): Hint[] {
    return [...this.live.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * Live hints created at or before `cutoff`, unsorted. Hint expiry asks this every handoff
   * round: while no hint is that old it answers from the oldest one's time, without a scan.
   */
  createdBy(cutoff: number): Hint[] {
    if (this.oldest === undefined) {
      let min = Number.POSITIVE_INFINITY;
      for (const h of this.live.values()) if (h.createdAt < min) min = h.createdAt;
      this.oldest = min;
    }
    if (this.oldest > cutoff) return [];
    const out: Hint[] = [];
    for (const h of this.live.values()) if (h.createdAt <= cutoff) out.push(h);
    return out;
  }

  forTarget(target: string, limit: number): Hint[] {
    const out: Hint[] = [];
    for (const h of this.live.values()) {
      if (h.target !== target) continue;
      out.push(h);
      if (out.length >= limit) break;
    }
    return out;
  }

  targets(): Map<string, number> {
    return countByTarget(this.live.values());
  }

  /** The live hints of a stored key, oldest first: from the key's index, whatever the number of other hints. */
  ofKey(key: Buffer): Hint[] {
    const ids = this.byKey.get(key.toString('latin1'));
    if (!ids) return [];
    return [...ids].map((id) => this.live.get(id) as Hint).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** The newest hinted version of a stored key (a substitute answers reads from its hints too). */
  newestFor(key: Buffer): Hint | undefined {
    const ids = this.byKey.get(key.toString('latin1'));
    if (!ids) return undefined;
    let best: Hint | undefined;
    for (const id of ids) {
      const h = this.live.get(id) as Hint;
      const v = h.entry.version;
      const b = best?.entry.version;
      if (!best || !b || (v && (v.ts > b.ts || (v.ts === b.ts && v.origin > b.origin)))) best = h;
    }
    return best;
  }

  /** Persists new hints durably (one write and one fsync for the batch); known ones are skipped. */
  add(hints: readonly Hint[]): Promise<void> {
    const fresh = hints.filter((h) => !this.live.has(idOf(h.target, h.opId)));
    if (fresh.length === 0) return this.queue;
    const records = fresh.map((h) => frameRecord(encodeAdd(h)));
    for (const h of fresh) this.track(h);
    this.hintedWrites += fresh.length;
    return this.append(Buffer.concat(records));
  }

  /**
   * Forgets hints that were delivered, or expired undelivered (durably, so a restart does not
   * deliver them again: harmless for a delivered one, not for an expired one).
   */
  remove(hints: readonly Hint[], why: 'delivered' | 'expired' = 'delivered'): Promise<void> {
    const gone = hints.filter((h) => this.untrack(h.target, h.opId));
    if (gone.length === 0) return this.queue;
    this.removed += gone.length;
    this[why] += gone.length;
    if (why === 'expired') for (const h of gone) this.expiredFor.set(h.target, (this.expiredFor.get(h.target) ?? 0) + 1);
    const done = this.append(Buffer.concat(gone.map((h) => frameRecord(encodeRemove(h.target, h.opId)))));
    if (this.removed > COMPACT_AFTER && this.removed > this.live.size) this.queue = this.queue.then(() => this.rewrite());
    return done;
  }

  close(): Promise<void> {
    return this.queue.then(() => {
      if (this.fd >= 0) this.fs.close(this.fd);
      this.fd = -1;
    });
  }

  private track(h: Hint): void {
    const id = idOf(h.target, h.opId);
    this.live.set(id, h);
    if (this.oldest !== undefined && h.createdAt < this.oldest) this.oldest = h.createdAt;
    const k = h.entry.key.toString('latin1');
    let ids = this.byKey.get(k);
    if (!ids) this.byKey.set(k, (ids = new Set()));
    ids.add(id);
  }

  private untrack(target: string, opId: string): boolean {
    const id = idOf(target, opId);
    const h = this.live.get(id);
    if (!h) return false;
    this.live.delete(id);
    if (h.createdAt === this.oldest) this.oldest = undefined;
    const k = h.entry.key.toString('latin1');
    const ids = this.byKey.get(k);
    ids?.delete(id);
    if (ids?.size === 0) this.byKey.delete(k);
    return true;
  }

  private append(bytes: Buffer): Promise<void> {
    // Serialized, so a rewrite never interleaves with an append.
    this.queue = this.queue.then(async () => {
      this.fs.write(this.fd, bytes);
      await this.fs.fsyncAsync(this.fd);
    });
    return this.queue;
  }

  private rewrite(): void {
    const file = path.join(this.dir, FILE);
    const tmp = `${file}.tmp`;
    const fd = this.fs.open(tmp, 'w');
    const live = this.list();
    if (live.length > 0) this.fs.write(fd, Buffer.concat(live.map((h) => frameRecord(encodeAdd(h)))));
    this.fs.fsync(fd);
    this.fs.close(fd);
    this.fs.close(this.fd);
    this.fs.rename(tmp, file);
    this.fs.fsyncDir(this.dir);
    this.fd = this.fs.open(file, 'a');
    this.removed = 0;
  }

  private recover(): void {
    this.fs.mkdirp(this.dir);
    const file = path.join(this.dir, FILE);
    if (this.fs.exists(`${file}.tmp`)) this.fs.unlink(`${file}.tmp`);
    if (this.fs.exists(file)) {
      const log = readLog(this.fs, file);
      for (const r of log.records) {
        const rec = decode(r.payload, file, r.offset);
        if (rec.type === ADD) this.track(rec.hint);
        else if (this.untrack(rec.target, rec.opId)) this.removed++;
      }
      // An add cut off by a crash was never acknowledged: drop it.
      if (log.tornTail) this.fs.truncate(file, log.validBytes);
    }
    this.fd = this.fs.open(file, 'a');
  }
}

/** Hints per target. */
export function countByTarget(hints: Iterable<Hint>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const h of hints) counts.set(h.target, (counts.get(h.target) ?? 0) + 1);
  return counts;
}

function header(type: number, target: string, extra: number): { buf: Buffer; at: number } {
  const t = Buffer.from(target, 'utf8');
  const buf = Buffer.allocUnsafe(2 + t.length + extra);
  buf[0] = type;
  buf[1] = t.length;
  t.copy(buf, 2);
  return { buf, at: 2 + t.length };
}

function encodeAdd(h: Hint): Buffer {
  const entry = Buffer.from(StoredEntry.encode(h.entry).finish());
  const { buf, at } = header(ADD, h.target, 8 + entry.length);
  buf.writeDoubleLE(h.createdAt, at);
  entry.copy(buf, at + 8);
  return buf;
}

function encodeRemove(target: string, opId: string): Buffer {
  const id = Buffer.from(opId, 'utf8');
  const { buf, at } = header(REMOVE, target, id.length);
  id.copy(buf, at);
  return buf;
}

type Decoded = { type: typeof ADD; hint: Hint } | { type: typeof REMOVE; target: string; opId: string };

function decode(payload: Buffer, file: string, offset: number): Decoded {
  if (payload.length < 2 || 2 + payload[1] > payload.length) throw new CorruptionError(file, offset, 'hint record shorter than its header');
  const target = payload.toString('utf8', 2, 2 + payload[1]);
  const at = 2 + payload[1];
  if (payload[0] === REMOVE) return { type: REMOVE, target, opId: payload.toString('utf8', at) };
  if (payload[0] !== ADD || at + 8 > payload.length) throw new CorruptionError(file, offset, `unknown or short hint record (type ${payload[0]})`);
  let entry: StoredEntry;
  try {
    entry = StoredEntry.decode(payload.subarray(at + 8));
  } catch (err) {
    throw new CorruptionError(file, offset, `hint entry does not decode: ${(err as Error).message}`);
  }
  const opId = entry.version?.opId ?? '';
  return { type: ADD, hint: { target, opId, createdAt: payload.readDoubleLE(at), entry } };
}
