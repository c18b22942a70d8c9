// Delivery of global index entries to the replicas of their partitions. Entries carry the version
// of the data they were derived from, so delivering one twice, late, or out of order changes
// nothing (the store keeps the newest per entry key): the outbox only has to keep trying. One
// queue per destination, newest entry per key, sent in batches; a failed batch stays queued and
// is retried once the destination is not known to be down.

import { compareVersions, type Entry } from '../../storage/types';

const BATCH = 1000;
const RETRY_MS = 250;

export interface OutboxOptions {
  /** Writes entries on `dest` (this node included); rejects when they were not applied. */
  deliver: (dest: string, entries: Entry[]) => Promise<void>;
  /** False while the heartbeat says `dest` is down: nothing is sent until it is back. */
  reachable: (dest: string) => boolean;
  onError: (dest: string, err: unknown) => void;
  /** A refusal that no retry can change (the replica found the batch invalid): the batch is dropped. */
  permanent: (err: unknown) => boolean;
  /** Entries kept per destination at most; beyond it new ones are dropped (counted). */
  maxPerDestination: number;
}

export class IndexOutbox {
  readonly counters = { delivered: 0, failures: 0, dropped: 0 };
  private readonly queues = new Map<string, Map<string, Entry>>();
  private readonly pumping = new Set<string>();
  private closed = false;

  constructor(private readonly opts: OutboxOptions) {}

  get pending(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.size;
    return n;
  }

  add(dest: string, entries: readonly Entry[]): void {
    if (this.closed || entries.length === 0) return;
    let q = this.queues.get(dest);
    if (!q) this.queues.set(dest, (q = new Map()));
    for (const e of entries) {
      const id = e.key.toString('latin1');
      const have = q.get(id);
      if (have) {
        if (compareVersions(e, have) > 0) q.set(id, e);
      } else if (q.size >= this.opts.maxPerDestination) {
        this.counters.dropped++;
      } else {
        q.set(id, e);
      }
    }
    if (this.pumping.has(dest)) return;
    this.pumping.add(dest);
    // Entries are added from inside the store's writing listener: delivering (a local write among
    // others) waits for the next turn instead of re-entering the write in progress.
    setImmediate(() => void this.pump(dest));
  }

  /** Resolves once fewer than `limit` entries wait for destinations that are reachable. */
  async drainedBelow(limit: number): Promise<void> {
    const waiting = () => {
      let n = 0;
      for (const [dest, q] of this.queues) if (this.opts.reachable(dest)) n += q.size;
      return n;
    };
    while (!this.closed && waiting() >= limit) await sleep(RETRY_MS);
  }

  close(): void {
    this.closed = true;
  }

  private async pump(dest: string): Promise<void> {
    try {
      const q = this.queues.get(dest) as Map<string, Entry>;
      while (!this.closed && q.size > 0) {
        if (!this.opts.reachable(dest)) {
          await sleep(RETRY_MS);
          continue;
        }
        const batch: [string, Entry][] = [];
        for (const item of q) {
          batch.push(item);
          if (batch.length === BATCH) break;
        }
        try {
          await this.opts.deliver(dest, batch.map(([, e]) => e));
        } catch (err) {
          this.counters.failures++;
          this.opts.onError(dest, err);
          if (this.opts.permanent(err)) {
            for (const [id, e] of batch) if (q.get(id) === e) q.delete(id);
            this.counters.dropped += batch.length;
          } else {
            await sleep(RETRY_MS);
          }
          continue;
        }
        // An entry replaced by a newer one while the batch was in flight stays queued.
        for (const [id, e] of batch) if (q.get(id) === e) q.delete(id);
        this.counters.delivered += batch.length;
      }
    } finally {
      this.pumping.delete(dest);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
