// Merkle anti-entropy on a node: the tree, the periodic rounds (every antiEntropyIntervalMs, each
// against every peer not known to be down), rounds on demand (Repair), the application of the
// versions peers push, and the counters behind ConvergenceStats.
//
// Without a partition map every node holds every key, so one tree per node covers what each
// pair of nodes must agree on. Repairs bypass the replication log on purpose: the version they
// carry already exists in the cluster (it is the winner on some replica), so it must not get a
// new op id; the store's Last-Write-Wins makes applying it idempotent and order-free.

import type { CacheStats } from '../../cache/lru';
import type { Store } from '../../storage';
import type { Entry } from '../../storage/types';
import type { Logger } from '../logger';
import type { ObservedStore } from './observed-store';
import { PeerLink } from './peer-link';
import { compareWithPeer, type PeerRoundResult } from './round';
import { ConvergenceTree, type VersionOf } from './tree';

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
  /**
   * Whether this node replicates `key`. The tree covers the whole store, so with a partition map
   * of N < nodes a peer's tree holds keys this node must not store; they are refused here.
   */
  holdsKey?(key: Buffer): boolean;
  /**
   * Whether periodic rounds are worth running: only while every node holds every key. Under
   * partial replication two whole-store trees never match, so rounds would only churn; pull
   * sync, hinted handoff and read repair converge replicas there, and Repair still runs on demand.
   */
  fullReplication?(): boolean;
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
}

export class Convergence {
  readonly tree: ConvergenceTree;
  readonly counters: ConvergenceCounters = {
    rounds: 0, rangesCompared: 0, bucketsCompared: 0, keysSent: 0, keysReceived: 0, bytesSent: 0, bytesReceived: 0,
    keysRepairedByPeers: 0, lastRoundUnixMs: 0,
  };
  private readonly links = new Map<string, PeerLink>();
  /** Rounds run one at a time: a repair asked during a periodic round starts after it. */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: ConvergenceDeps) {
    this.tree = new ConvergenceTree(deps.store, deps.observed, deps.versionOf);
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
      const due = this.deps.fullReplication?.() ?? true;
      const run = due ? this.round(this.deps.peers().filter((p) => !p.down)) : Promise.resolve();
      void run.finally(() => this.schedule());
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
    const run = this.queue.then(() => this.runRound(peers));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runRound(peers: ConvergencePeer[]): Promise<RoundReport> {
    const started = Date.now();
    const results: PeerRoundResult[] = [];
    this.counters.rounds++;
    for (const peer of peers) {
      if (this.closed) break;
      const link = this.link(peer);
      let r: PeerRoundResult;
      try {
        r = await compareWithPeer({
          selfId: this.deps.nodeId,
          tree: this.tree.tree,
          read: (key) => this.read(key),
          apply: (entries) => this.apply(entries).then(() => undefined),
        }, link);
      } catch (err) {
        const e = err as { details?: string; message?: string };
        r = {
          peer: peer.id, ok: false, error: e.details ?? e.message ?? String(err), rootsMatched: false, rangesCompared: 0,
          bucketsCompared: 0, keysSent: 0, keysReceived: 0, bytesSent: 0, bytesReceived: 0,
        };
        this.deps.logger.debug(`anti-entropy (merkle) with ${peer.id} failed: ${r.error}`);
      }
      const c = this.counters;
      c.rangesCompared += r.rangesCompared;
      c.bucketsCompared += r.bucketsCompared;
      c.keysSent += r.keysSent;
      c.keysReceived += r.keysReceived;
      c.bytesSent += r.bytesSent;
      c.bytesReceived += r.bytesReceived;
      if (r.keysSent + r.keysReceived > 0) this.deps.logger.info(`anti-entropy with ${peer.id}: sent ${r.keysSent}, received ${r.keysReceived} divergent keys`);
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

  /** Stores versions from a peer where they beat this node's; resolves with how many did. */
  async apply(entries: Entry[]): Promise<number> {
    const holds = this.deps.holdsKey;
    if (holds) entries = entries.filter((e) => holds(e.key));
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
    const link = new PeerLink(peer.id, peer.address, this.deps.token);
    this.links.set(peer.id, link);
    return link;
  }

  /** Stops the periodic rounds, waits for a running one, closes the channels. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const link of this.links.values()) link.close();
    await this.queue;
    this.links.clear();
    this.tree.close();
  }
}
