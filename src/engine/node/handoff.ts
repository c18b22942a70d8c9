// Hinted handoff: a background task that hands each hint to its replica once the heartbeat says
// that replica is up again (IngestEntries: LWW with the original version, so a hint the replica
// already has through its own replication stream changes nothing), then removes it.
//
// A hint older than the tombstone grace is dropped instead (Cassandra's hints live no longer than
// gc_grace_seconds for the same reason): a delete that followed its write may already have been
// compacted away on the replica, where the hinted version would then win against nothing and
// Merkle repair would spread it back to every replica.
//
// A hint for a node that left the partition map (removed, even as dead) can never reach it: it
// goes to the current replicas of its key instead, each of which must take it before it is
// removed (for a write made while every replica was down it may be the only copy).

import { preferenceList } from '../partitioning';
import { describeError, unary } from '../rpc';
import type { Hint, HintStore } from './hints';
import type { Logger } from './logger';
import type { RingNode } from './node';
import type { PartitionState } from './partition-state';

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
    private readonly partitions: PartitionState,
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
    const members = this.partitions.map?.nodes;
    // Gone: out of the map, and either named by an earlier map (RemoveNode flips the map before
    // the membership drops the node, which then still answers but owns nothing) or out of the
    // membership too. A member no map has named yet is joining: AddNode introduces a node before
    // any map names it, so its hints can reach a node whose map is older than the AddNode.
    const peers = new Set(this.node.peers.ids());
    for (const target of this.hints.targets().keys()) {
      if (this.stopped) break;
      if (members && !members.includes(target) && (this.partitions.named(target) || !peers.has(target))) {
        try {
          await this.rehome(target, up);
        } catch (err) {
          // Like a failed handoff: retried next round, never an unhandled rejection (which ends the node).
          this.logger.warn(`could not hand the hints for ${target}, which left the partition map, to their keys' replicas; retrying later: ${describeError(err)}`);
        }
        continue;
      }
      if (!up.has(target)) continue;
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

  /** Whether the hinted write's coordinator is not a replica of its key: it was made while every replica was down. */
  private onlyCopy(h: Hint): boolean {
    const map = this.partitions.map;
    const origin = h.entry.version?.origin;
    if (!map || origin === undefined) return false;
    return !preferenceList(map, this.partitions.partitionOf(map, h.entry.key)).includes(origin);
  }

  /** Hands the hints for `gone` (no longer in the map) to their keys' current replicas; a hint stays while one of those cannot take it. */
  private async rehome(gone: string, up: ReadonlySet<string>): Promise<void> {
    const map = this.partitions.map;
    if (!map) return;
    const self = this.node.config.id;
    const hints = this.hints.forTarget(gone, Number.MAX_SAFE_INTEGER);
    const byReplica = new Map<string, Hint[]>();
    for (const h of hints) {
      for (const r of preferenceList(map, this.partitions.partitionOf(map, h.entry.key))) {
        const list = byReplica.get(r) ?? [];
        if (list.length === 0) byReplica.set(r, list);
        list.push(h);
      }
    }
    const undelivered = new Set<Hint>();
    for (const [replica, list] of byReplica) {
      try {
        if (replica !== self && !up.has(replica)) throw new Error(`${replica} is not up`);
        for (let i = 0; i < list.length; i += BATCH) await this.deliver(replica, list.slice(i, i + BATCH));
      } catch (err) {
        for (const h of list) undelivered.add(h);
        this.logger.debug(`handing hints for removed ${gone} to ${replica} failed, retrying later: ${describeError(err)}`);
      }
    }
    const delivered = hints.filter((h) => !undelivered.has(h));
    if (delivered.length === 0) return;
    await this.hints.remove(delivered);
    this.logger.info(`handed ${delivered.length} hints for ${gone}, which left the partition map, to the current replicas of their keys`);
  }

  private async deliver(replica: string, hints: readonly Hint[]): Promise<void> {
    if (replica === this.node.config.id) {
      for (const h of hints) this.node.replica.clock.observe(h.entry.version?.ts ?? 0);
      await this.node.observed.write(hints.map((h) => ({ key: h.entry.key, value: h.entry.deleted ? null : h.entry.value, ts: h.entry.version?.ts ?? 0, origin: h.entry.version?.origin ?? '' })));
      return;
    }
    const client = this.node.peers.client(replica);
    await unary(client, client.ingestEntries, { entries: hints.map((h) => h.entry) }, { token: this.node.peers.callToken, timeoutMs: CALL_MS });
  }

  private async expire(): Promise<void> {
    const cutoff = Date.now() - hintExpiryMs(this.tombstoneGraceMs);
    // A write made while every replica was down lives only in hints (substitute-writes.ts):
    // dropping them loses it, so they wait for their replicas however long it takes (the risk
    // the expiry guards against, a delete purged meanwhile, needs a replica up to take the delete).
    const expired = this.hints.createdBy(cutoff).filter((h) => !this.onlyCopy(h));
    if (expired.length === 0) return;
    await this.hints.remove(expired, 'expired');
    const targets = [...new Set(expired.map((h) => h.target))].sort().join(', ');
    this.logger.warn(`dropped ${expired.length} hints for ${targets} older than storage.tombstoneGraceMs (${this.tombstoneGraceMs} ms) instead of delivering them; Merkle anti-entropy brings their keys to those replicas`);
  }
}
