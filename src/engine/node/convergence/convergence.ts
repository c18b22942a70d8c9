// Merkle anti-entropy on a node: the per-partition trees (following the partition map), the
// periodic rounds (every antiEntropyIntervalMs, each against every peer not known to be down
// that replicates a partition this node does), rounds on demand (Repair), the application of
// the versions peers push, and the counters behind ConvergenceStats.
//
// A round pairs this node with each other replica of each partition it replicates: per peer, the
// partitions both hold, so a node is never sent keys of a partition it does not replicate, and
// under partial replication (N < nodes) the trees compared cover the same keys. Repairs bypass the replication log on purpose: the version they
// carry already exists in the cluster (it is the winner on some replica), so it must not get a
// new op id; the store's Last-Write-Wins makes applying it idempotent and order-free.

import type { CacheStats } from '../../cache/lru';
import type { Store } from '../../storage';
import type { Entry } from '../../storage/types';
import { CorruptionError } from '../../storage/errors';
import type { Logger } from '../logger';
import type { ObservedStore } from './observed-store';
import { PartitionTrees, type Placement } from './partition-trees';
import { MISSED_PING, PeerLink, PeerStoppedAnswering } from './peer-link';
import { compareWithPeer, emptyPeerResult, type PeerRoundResult } from './round';
import type { VersionOf } from './tree';

export interface ConvergencePeer {
  id: string;
  address: string;
  /** Down peers are skipped by periodic rounds (a repair on demand still tries them). */
  down: boolean;
}

export interface ConvergenceDeps {
  nodeId: string;
  token: string;
  store: Store;
  observed: ObservedStore;
  /** Advances the node's Lamport clock past a repaired version, so later local writes beat it. */
  observeTs(ts: number): void;
  peers(): ConvergencePeer[];
  intervalMs: number;
  logger: Logger;
  /** What the tree records per entry (crdt mode records state digests). */
  versionOf?: VersionOf;
  /** The node's partition map and key placement (none: one tree over the whole store). */
  placement?: Placement;
  /** Subscribes to new partition maps; returns the unsubscribe. */
  onMapChange?(listener: () => void): () => void;
  /** Called when building trees finds a damaged file: the store cannot be read (node/main.ts stops the node). */
  onDamage?(err: CorruptionError): void;
}

export interface RoundReport {
  nodeId: string;
  peers: PeerRoundResult[];
  durationMs: number;
}

export interface ConvergenceCounters {
  rounds: number;
  rangesCompared: number;
  bucketsCompared: number;
  keysSent: number;
  keysReceived: number;
  bytesSent: number;
  bytesReceived: number;
  keysRepairedByPeers: number;
  lastRoundUnixMs: number;
  partitionsCompared: number;
  partitionsDiffering: number;
  keysRefused: number;
}

const NO_PLACEMENT: Placement = { map: () => undefined, partitionOf: () => 0 };

export class Convergence {
  readonly trees: PartitionTrees;
  readonly counters: ConvergenceCounters = {
    rounds: 0, rangesCompared: 0, bucketsCompared: 0, keysSent: 0, keysReceived: 0, bytesSent: 0, bytesReceived: 0,
    keysRepairedByPeers: 0, lastRoundUnixMs: 0, partitionsCompared: 0, partitionsDiffering: 0, keysRefused: 0,
  };
  private readonly offMap: () => void;
  private readonly links = new Map<string, PeerLink>();
  /** Rounds run one at a time: a repair asked during a periodic round starts after it. */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: ConvergenceDeps) {
    const placement = deps.placement ?? NO_PLACEMENT;
    this.trees = new PartitionTrees(deps.store, deps.observed, deps.nodeId, placement, deps.versionOf);
    const building = this.trees.buildingCount;
    this.trees.initialBuild.then((ms) => {
      if (ms !== undefined) this.deps.logger.info(`merkle trees built on start (${building}; scan ${ms} ms)`);
    }, (err: unknown) => {
      this.deps.logger.warn(`merkle trees could not be built on start (anti-entropy skips those partitions until a map change or a restart rebuilds them): ${(err as Error).message}`);
      if (err instanceof CorruptionError) this.deps.onDamage?.(err);
    });
    this.offMap = deps.onMapChange?.(() => {
      const map = placement.map();
      if (!map || map.version === this.trees.mapVersion) return;
      const c = this.trees.follow(map);
      const summary = `merkle trees follow partition map version ${c.mapVersion}: kept ${c.kept.length}, building ${c.built.length}`
        + `${c.built.length > 0 ? ` (${c.built.join(', ')})` : ''}, dropped ${c.dropped.length}`;
      this.deps.logger.info(summary);
      if (c.built.length > 0) {
        c.ready.then((ms) => {
          if (ms !== undefined) this.deps.logger.info(`merkle trees of partition map version ${c.mapVersion} built (${c.built.length}; scan ${ms} ms)`);
        }, (err: unknown) => {
          this.deps.logger.warn(`merkle trees of partition map version ${c.mapVersion} could not be built (anti-entropy skips those partitions until the next map change or a restart rebuilds them): ${(err as Error).message}`);
          if (err instanceof CorruptionError) this.deps.onDamage?.(err);
        });
      }
    }) ?? (() => undefined);
  }

  get nodeId(): string {
    return this.deps.nodeId;
  }

  /** Schedules periodic rounds; the first one runs an interval after start, when peers are wired. */
  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      const peers = this.deps.peers().filter((p) => !p.down && this.trees.sharedWith(p.id).length > 0);
      void this.round(peers).finally(() => this.schedule());
    }, this.deps.intervalMs);
  }

  /** A round now with the named peers (all when empty); ids not among the peers are rejected by the caller. */
  repair(only: readonly string[] = []): Promise<RoundReport> {
    const peers = this.deps.peers().filter((p) => only.length === 0 || only.includes(p.id));
    return this.round(peers);
  }

  /** Channels to the peers not known to be down (index queries fan out over them). */
  upPeerLinks(): PeerLink[] {
    return this.deps.peers().filter((p) => !p.down).map((p) => this.link(p));
  }

  knownPeers(): string[] {
    return this.deps.peers().map((p) => p.id);
  }

  private round(peers: ConvergencePeer[]): Promise<RoundReport> {
    // Trees a map change is still building answer nothing: the round compares complete ones.
    const run = this.queue.then(() => this.trees.whenBuilt()).then(() => this.runRound(peers));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runRound(peers: ConvergencePeer[]): Promise<RoundReport> {
    const started = Date.now();
    const results: PeerRoundResult[] = [];
    this.counters.rounds++;
    for (const peer of peers) {
      if (this.closed) break;
      let r: PeerRoundResult;
      const shared = this.trees.sharedWith(peer.id);
      if (shared.length === 0) {
        // No partition in common: nothing to compare, and the peer must not be sent any key.
        r = { ...emptyPeerResult(peer.id), ok: true, rootsMatched: true };
      } else if (await this.link(peer).hung()) {
        // Asked even of a peer the heartbeats see down: a paused process keeps its connection open, so a call waits out its deadline.
        r = { ...emptyPeerResult(peer.id), error: `${peer.id} ${MISSED_PING}; nothing was compared with it` };
        this.deps.logger.debug(`anti-entropy (merkle) with ${peer.id} skipped: ${r.error}`);
      } else {
        try {
          r = await compareWithPeer({
            selfId: this.deps.nodeId,
            mapVersion: () => this.trees.mapVersion,
            tree: (pid) => this.trees.tree(pid),
            read: (key) => this.read(key),
            apply: (entries) => this.apply(entries).then(() => undefined),
          }, this.link(peer), shared);
        } catch (err) {
          const e = err as { details?: string; message?: string };
          // A peer this node's heartbeats see down fails with grpc-js's connection text; say what it means.
          const error = err instanceof PeerStoppedAnswering ? `${err.message}; the round with it stopped there`
            : peer.down ? `${peer.id} is down (its heartbeats stopped); nothing was compared with it` : e.details ?? e.message ?? String(err);
          r = { ...emptyPeerResult(peer.id), error };
          this.deps.logger.debug(`anti-entropy (merkle) with ${peer.id} failed: ${r.error}`);
        }
      }
      const c = this.counters;
      c.partitionsCompared += r.partitionsCompared;
      c.partitionsDiffering += r.partitionsDiffering;
      c.rangesCompared += r.rangesCompared;
      c.bucketsCompared += r.bucketsCompared;
      c.keysSent += r.keysSent;
      c.keysReceived += r.keysReceived;
      c.bytesSent += r.bytesSent;
      c.bytesReceived += r.bytesReceived;
      if (r.keysSent + r.keysReceived > 0) {
        this.deps.logger.info(`anti-entropy with ${peer.id}: sent ${r.keysSent}, received ${r.keysReceived} divergent keys in partitions ${r.partitions.map((p) => p.partitionId).join(', ')}`);
      }
      results.push(r);
    }
    this.counters.lastRoundUnixMs = Date.now();
    return { nodeId: this.deps.nodeId, peers: results, durationMs: Date.now() - started };
  }

  cacheStats(): CacheStats {
    return this.deps.observed.cache.stats();
  }

  /** This node's stored version of `key`, tombstones included. */
  read(key: Buffer): Entry | undefined {
    return this.deps.store.get(key);
  }

  /**
   * Stores versions from a peer where they beat this node's; resolves with how many did. A key
   * outside this node's trees is refused: the service checks each request's partition, so only
   * a map that changed while a round was in flight gets here with one.
   */
  async apply(entries: Entry[]): Promise<number> {
    const held = entries.filter((e) => this.trees.partitionOfKey(e.key) !== undefined);
    this.counters.keysRefused += entries.length - held.length;
    entries = held;
    if (entries.length === 0) return 0;
    for (const e of entries) this.deps.observeTs(e.ts);
    const won = await this.deps.observed.write(entries);
    return won.filter(Boolean).length;
  }

  /** Versions pushed by a peer's round (ExchangeEntries). */
  async applyPushed(entries: Entry[]): Promise<number> {
    const n = await this.apply(entries);
    this.counters.keysRepairedByPeers += n;
    return n;
  }

  /** One reused channel per peer; a peer that moved gets a new one. */
  private link(peer: ConvergencePeer): PeerLink {
    const known = this.links.get(peer.id);
    if (known && known.address === peer.address) return known;
    known?.close();
    const link = new PeerLink(peer.id, peer.address, this.deps.token, this.deps.nodeId);
    this.links.set(peer.id, link);
    return link;
  }

  /** Stops the periodic rounds and any tree build (a queued round would wait for it), waits for a running round, closes the channels. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.offMap();
    this.trees.close();
    for (const link of this.links.values()) link.close();
    await this.queue;
    this.links.clear();
  }
}
