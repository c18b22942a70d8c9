// Hinted handoff: a background task that hands each hint to its replica once the heartbeat says
// that replica is up again (IngestEntries: LWW with the original version, so a hint the replica
// already has through its own replication stream changes nothing), then removes it.
//
// A hint older than the tombstone grace is dropped instead (Cassandra's hints live no longer than
// gc_grace_seconds for the same reason): a delete that followed its write may already have been
// compacted away on the replica, where the hinted version would then win against nothing and
// Merkle repair would spread it back to every replica.

import { describeError, unary } from '../rpc';
import type { HintStore } from './hints';
import type { Logger } from './logger';
import type { RingNode } from './node';

const BATCH = 500;
const CALL_MS = 10_000;
/** Hints stop being delivered this long before the grace ends, so none lands after it. */
const MAX_EXPIRY_MARGIN_MS = 3 * CALL_MS;

/**
 * The age from which a hint is dropped, not delivered: the grace less a margin. A grace of 0
 * asks for no protection at all (tombstones go at once), so hints then never expire: dropping
 * them at once would also throw away the copy a sloppy write counted toward W.
 */
export function hintExpiryMs(tombstoneGraceMs: number): number {
  if (tombstoneGraceMs === 0) return Number.POSITIVE_INFINITY;
  return tombstoneGraceMs - Math.min(tombstoneGraceMs / 2, MAX_EXPIRY_MARGIN_MS);
}

export class Handoff {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly node: RingNode,
    private readonly hints: HintStore,
    private readonly intervalMs: number,
    private readonly tombstoneGraceMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.node.peers.onUp(() => void this.trigger());
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  trigger(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.trigger().finally(() => this.schedule()), this.intervalMs);
  }

  private async round(): Promise<void> {
    try {
      await this.expire();
    } catch (err) {
      this.logger.warn(`could not drop expired hints, retrying later: ${describeError(err)}`);
      return;
    }
    const up = new Set(this.node.upPeers());
    for (const target of this.hints.targets().keys()) {
      if (this.stopped || !up.has(target)) continue;
      try {
        for (;;) {
          const batch = this.hints.forTarget(target, BATCH);
          if (batch.length === 0 || this.stopped) break;
          const client = this.node.peers.client(target);
          await unary(client, client.ingestEntries, { entries: batch.map((h) => h.entry) }, { token: this.node.peers.callToken, timeoutMs: CALL_MS });
          await this.hints.remove(batch);
          this.logger.debug(`handed ${batch.length} hints to ${target}`);
        }
      } catch (err) {
        this.logger.debug(`handoff to ${target} failed, retrying later: ${describeError(err)}`);
      }
    }
  }

  private async expire(): Promise<void> {
    const cutoff = Date.now() - hintExpiryMs(this.tombstoneGraceMs);
    const expired = this.hints.createdBy(cutoff);
    if (expired.length === 0) return;
    await this.hints.remove(expired, 'expired');
    const targets = [...new Set(expired.map((h) => h.target))].sort().join(', ');
    this.logger.warn(`dropped ${expired.length} hints for ${targets} older than storage.tombstoneGraceMs (${this.tombstoneGraceMs} ms) instead of delivering them; Merkle anti-entropy brings their keys to those replicas`);
  }
}
