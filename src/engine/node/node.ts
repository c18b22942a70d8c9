// The node: composition of the store, the replication log, the replica, the peers, one
// sender per destination and anti-entropy, with the state they share (membership, topology,
// acknowledgement cursors). The gRPC service (service.ts) is a thin validated edge over it.

import * as path from 'node:path';
import { NodeFileSystem, Store } from '../storage';
import type { CutTail, FileSystem, SyncPolicy } from '../storage/types';
import { PeerState, type NodeStats, type PeerStatus } from '../gen/ringdb/v1/node';
import { AntiEntropy } from '../replication/anti-entropy';
import { Backpressure, DEFAULT_BACKPRESSURE, type BackpressureOptions } from '../replication/backpressure';
import { OpLog, type LostOps } from '../replication/op-log';
import { Replica, type LocalWriteResult, type Mutation } from '../replication/replica';
import { Sender } from '../replication/sender';
import { readStateFile, writeStateFile, type ReplicationState } from '../replication/state-file';
import { describeError } from '../rpc';
import { tombstoneGraceOf, type NodeConfig, type PeerConfig } from './config';
import { toProtoSnapshot } from './convert';
import { ObservedStore } from './convergence/observed-store';
import type { Logger } from './logger';
import { OwnSeqGate } from './own-seq-gate';
import { PeerSet } from './peers';

/** Cursors are saved at most this often: a stale cursor after a crash only means a resend the receiver drops. */
const STATE_SAVE_INTERVAL_MS = 1000;

/** Once one peer has answered, how long a node settling its own seqs waits at most for the others (or 10 heartbeats, when longer). */
const OWN_SEQ_MIN_WAIT_MS = 5_000;

export class RingNode {
  readonly startedAt = Date.now();
  readonly counters = { gets: 0, scans: 0 };
  private readonly senders = new Map<string, Sender>();
  private topology: Record<string, string[]> | null;
  private peerConfigs: PeerConfig[];
  private saveTimer: NodeJS.Timeout | undefined;
  /** The state save in progress; saves run one after another (they share a temporary file). */
  private saving: Promise<void> = Promise.resolve();
  private readonly cursorListeners = new Set<(peerId: string, ackedLsn: number) => void>();
  private readonly lostListeners = new Set<(peerId: string) => void>();
  private closed = false;
  address = '';
  /** Every local write passes it: keeps the unshipped backlog, and so the replication lag, bounded. */
  readonly backpressure: Backpressure;
  /** Per destination, the log position before which its backlog is catch-up, not lag (liveBacklog); infinity while it is down. */
  private readonly catchUpEnd = new Map<string, number>();
  /** For a node that opened an empty log: local writes wait until it knows which of its own seqs are taken. */
  private readonly ownSeqGate: OwnSeqGate | undefined;

  private constructor(
    readonly config: NodeConfig,
    readonly store: Store,
    /** The store as every writer must reach it, so derived views (Merkle tree, cache, indexes) follow each change. */
    readonly observed: ObservedStore,
    readonly log: OpLog,
    readonly replica: Replica,
    readonly peers: PeerSet,
    readonly antiEntropy: AntiEntropy,
    private state: ReplicationState,
    private readonly fs: FileSystem,
    private readonly logger: Logger,
  ) {
    this.topology = config.topology;
    this.peerConfigs = config.peers;
    const limits: BackpressureOptions = { maxBacklogOps: config.replicationBacklogOps ?? DEFAULT_BACKPRESSURE.maxBacklogOps, maxWaitMs: Math.max(1000, 2 * config.heartbeatIntervalMs) };
    this.backpressure = new Backpressure(() => this.liveBacklog(), limits);
    this.ownSeqGate = config.newMember ? undefined : OwnSeqGate.forOpenedNode({
      nodeId: config.id, dataDir: config.dataDir, fs, replica, log, transport: peers, logger,
      peers: () => (this.closed ? [] : this.peers.ids()), closing: () => this.closed,
      waitMs: Math.max(OWN_SEQ_MIN_WAIT_MS, 10 * config.heartbeatIntervalMs),
      // What it took back and retired ships to peers that hold it already: catch-up, not lag.
      onSettled: () => {
        for (const id of this.senders.keys()) this.catchUpEnd.set(id, this.log.durableLsn);
      },
    });
  }

  /**
   * The largest count of this node's own durable writes not yet acknowledged by a destination
   * that is not down. Only own ops count: the log interleaves ops received from other writers,
   * which this node does not ship in a mesh and which would otherwise keep the gate shut. Nor
   * does a destination's catch-up: what was logged before it joined or while it was down is
   * history it fetches at its own pace (counting it would hold every write until a new node
   * had copied the whole retained log), so its backlog counts from `catchUpEnd`. A sender that
   * cannot read this node's own log at all (an I/O error; a damaged segment is salvaged, see
   * OpLog.window) counts as down: waiting for it would stop every write until the segment reads
   * again. Undefined when no destination is live.
   */
  private liveBacklog(): number | undefined {
    let max: number | undefined;
    const end = this.log.durableLsn;
    const down = new Set(this.peers.views().filter((p) => p.state === PeerState.PEER_STATE_DOWN).map((p) => p.id));
    for (const [id, s] of this.senders) {
      if (down.has(id) || s.blockedOnLog) {
        this.catchUpEnd.set(id, Number.POSITIVE_INFINITY);
        continue;
      }
      if (this.catchUpEnd.get(id) === Number.POSITIVE_INFINITY) this.catchUpEnd.set(id, end);
      const from = Math.max(s.cursor, this.catchUpEnd.get(id) ?? 0);
      max = Math.max(max ?? 0, this.log.countOf(this.config.id, from, end));
    }
    return max;
  }

  /**
   * Admission of `count` local writes: after this node knows which of its own seqs are taken
   * (OwnSeqGate: only a node that may have lost its folder waits), then by the backpressure gate.
   * Resolves with the release.
   */
  async admitLocal(count: number): Promise<() => void> {
    if (this.ownSeqGate) await this.ownSeqGate.ready();
    return this.backpressure.admit(count);
  }

  /**
   * Resolves once this node knows which of its own seqs are taken (at once, unless it opened an
   * empty log); refuses with UNAVAILABLE after a while. Whatever draws from the clock or the seqs
   * for a local write (vector dots, CRDT timestamps) waits for it first.
   */
  ownSeqsSettled(): Promise<void> {
    return this.ownSeqGate?.ready() ?? Promise.resolve();
  }

  /** Own seqs and timestamps for writes kept only as hints here (Replica.reserveOwnSeqs), once admitted. */
  async reserveOwnSeqs(count: number): Promise<LocalWriteResult> {
    const release = await this.admitLocal(count);
    try {
      return await this.replica.reserveOwnSeqs(count);
    } finally {
      release();
    }
  }

  /**
   * Writes mutations made on this node once the backpressure gate admits them. Callers that
   * must know the op's seq before the write (hint placement) call `admitLocal` themselves
   * and then `replica.writeLocal` without an await in between.
   */
  async writeLocal(mutations: readonly Mutation[]): Promise<LocalWriteResult> {
    const release = await this.admitLocal(mutations.length);
    try {
      return await this.replica.writeLocal(mutations);
    } finally {
      release();
    }
  }

  /**
   * Opens the store and the replication log and repairs the store from the log; nothing is served
   * yet. `beforeReplay` sets up the store's resolver (vector mode) so replayed ops merge as live ones do.
   */
  static async open(config: NodeConfig, token: string, logger: Logger, beforeReplay?: (observed: ObservedStore, replica: Replica) => void): Promise<RingNode> {
    const fs = new NodeFileSystem();
    fs.mkdirp(config.dataDir);
    const store = await Store.open(path.join(config.dataDir, 'store'), {
      sync: config.storage.sync,
      syncIntervalMs: config.storage.syncIntervalMs,
      memtableBytes: config.storage.memtableBytes,
      tombstoneGraceMs: tombstoneGraceOf(config),
    });
    try {
      const log = OpLog.open(path.join(config.dataDir, 'replication_log'), { fs, sync: config.storage.sync, syncIntervalMs: config.storage.syncIntervalMs });
      const { indexedSegments, scannedSegments, cutTail } = log.recovery;
      if (indexedSegments + scannedSegments > 0) {
        logger.info(`replication log: ${log.nextLsn - log.firstLsn} ops retained; ${indexedSegments} closed segments opened from their indexes, ${scannedSegments} read record by record`);
      }
      if (cutTail) logger.warn(describeCutTail('replication log', cutTail, config.dataDir, config.storage.sync));
      if (store.cutTail) logger.warn(describeCutTail('store WAL', store.cutTail, config.dataDir, config.storage.sync));
      const state = readStateFile(fs, path.join(config.dataDir, 'replication_state'));
      const observed = new ObservedStore(store);
      const replica = new Replica(config.id, observed, log, () => store.flushedLogMark);
      beforeReplay?.(observed, replica);
      const replayed = await replica.replayIntoStore(state.storeReplayLsn);
      if (replayed > 0) logger.info(`re-applied ${replayed} logged ops to the store from the replication log (the ones past its last saved replay point; ops already stored are no-ops under LWW)`);
      const peers = new PeerSet(config.id, token, config.heartbeatIntervalMs, () => replica.clock.now());
      const antiEntropy = new AntiEntropy(replica, log, peers, () => peers.ids(), config.antiEntropyIntervalMs,
        (peer, err) => logger.debug(`anti-entropy with ${peer} failed: ${describeError(err)}`));
      return new RingNode(config, store, observed, log, replica, peers, antiEntropy, state, fs, logger);
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /** Starts heartbeats, senders and anti-entropy (the server is already listening). */
  start(address: string): void {
    this.address = address;
    this.peers.update(this.peerConfigs);
    this.peers.onUp((id) => {
      if (this.topology !== null) this.syncSenders();
      this.senders.get(id)?.wake();
      void this.antiEntropy.trigger();
    });
    // A peer that goes down stops counting towards the backlog: writers waiting for it go on now.
    // In a ring or star its destinations become this node's until it is back.
    this.peers.onDown(() => {
      if (this.topology !== null) this.syncSenders();
      this.backpressure.recheck();
    });
    this.log.onDurable(() => {
      for (const s of this.senders.values()) s.wake();
    });
    this.peers.start();
    this.syncSenders();
    // A controller sends the membership next; a node started without one has what it will get.
    if (this.peers.ids().length > 0 || !this.config.awaitMembership) this.ownSeqGate?.membershipKnown();
    this.antiEntropy.start();
    this.logger.info(`serving on ${address}; peers: ${this.peers.ids().join(', ') || 'none'}; topology: ${this.topology ? JSON.stringify(this.topology) : 'full mesh'}`);
  }

  /**
   * Destinations this node replicates to: every peer in a full mesh, else its topology entry,
   * where a destination the heartbeat declared down is joined by its own destinations (and so on
   * past those that are down too), so a ring or star routes around a dead hop instead of holding
   * every op until it is back.
   */
  destinations(): string[] {
    const ids = this.peers.ids();
    if (this.topology === null) return ids;
    const topology = this.topology;
    const out: string[] = [];
    const seen = new Set([this.config.id]);
    const visit = (d: string): void => {
      if (seen.has(d) || !ids.includes(d)) return;
      seen.add(d);
      out.push(d);
      if (!this.peers.isUp(d)) for (const next of topology[d] ?? []) visit(next);
    };
    for (const d of topology[this.config.id] ?? []) visit(d);
    return out;
  }

  /** Whether the ops of `origin` travel to `dest`: never back to their origin; in a full mesh only local ops travel. */
  ships(dest: string, origin: string): boolean {
    if (origin === dest) return false;
    return this.topology !== null || origin === this.config.id;
  }

  cursorOf(dest: string): number | undefined {
    return this.senders.get(dest)?.cursor;
  }

  onCursor(listener: (peerId: string, ackedLsn: number) => void): () => void {
    this.cursorListeners.add(listener);
    return () => this.cursorListeners.delete(listener);
  }

  /**
   * Called when a peer acknowledged skips standing in for ops a damaged log segment lost: its
   * copies of their keys wait for a Merkle round (the node wires one at once).
   */
  onLostOps(listener: (peerId: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  updateMembership(peers: PeerConfig[], topology: Record<string, string[]> | null): void {
    this.peerConfigs = peers.filter((p) => p.id !== this.config.id);
    this.topology = topology;
    this.peers.update(this.peerConfigs);
    this.syncSenders();
    // The membership is the whole truth: a destination it no longer names (one removed while
    // this node was down) keeps no saved cursor, or the log would be kept for it for ever.
    for (const id of Object.keys(this.state.cursors)) if (!this.senders.has(id)) delete this.state.cursors[id];
    this.ownSeqGate?.membershipKnown();
    void this.antiEntropy.trigger();
    this.logger.info(`membership: ${this.peers.ids().join(', ') || 'none'}; topology: ${topology ? JSON.stringify(topology) : 'full mesh'}`);
  }

  peerStatuses(): PeerStatus[] {
    const dests = new Set(this.destinations());
    return this.peers.views().map((p) => {
      const sender = this.senders.get(p.id);
      return {
        id: p.id,
        address: p.address,
        state: p.state,
        lastHeardUnixMs: p.lastHeard,
        destination: dests.has(p.id),
        ackedLsn: sender?.cursor ?? 0,
        pendingOps: sender?.pending ?? 0,
        lastError: sender?.lastError ?? p.lastError ?? '',
      };
    });
  }

  stats(): NodeStats {
    const c = this.replica.counters;
    let opsSent = 0;
    for (const s of this.senders.values()) opsSent += s.sent;
    return {
      nodeId: this.config.id,
      address: this.address,
      pid: process.pid,
      uptimeMs: Date.now() - this.startedAt,
      clock: this.replica.clock.now(),
      seq: this.log.lastSeen(this.config.id),
      versionVector: this.log.versionVector(),
      counters: {
        localPuts: c.localPuts,
        localDeletes: c.localDeletes,
        gets: this.counters.gets,
        scans: this.counters.scans,
        replicatedApplied: c.replicatedApplied,
        replicatedDuplicates: c.replicatedDuplicates,
        replicatedBuffered: c.replicatedBuffered,
        replicatedStale: c.replicatedStale,
        opsSent,
        fetchedApplied: this.antiEntropy.fetchedApplied,
        backpressureWaits: this.backpressure.counters.waits,
        backpressureWaitedMs: this.backpressure.counters.waitedMs,
        backpressureTimeouts: this.backpressure.counters.timeouts,
      },
      peers: this.peerStatuses(),
      storage: toProtoSnapshot(this.store.snapshot()),
      logFirstLsn: this.log.firstLsn,
      logNextLsn: this.log.nextLsn,
    };
  }

  /** Peers currently considered up (for callers that want to avoid dead ones). */
  upPeers(): string[] {
    return this.peers.views().filter((p) => p.state === PeerState.PEER_STATE_UP).map((p) => p.id);
  }

  /**
   * Puts every op handed to the store so far into its own files and saves that as the replay
   * point, so no restart replays them. Whoever removes keys from the store alone (a purge) calls
   * this first: a replayed op would otherwise bring back a key whose purge marker is durable.
   */
  async checkpoint(): Promise<void> {
    await Promise.all([this.log.whenDurable(), this.store.flush()]);
    await this.saveState();
  }

  /** Stops background work, persists cursors, closes log and store (releasing the folder lock). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.saveTimer);
    this.backpressure.releaseAll();
    // Channels first: calls in flight to a hung peer fail now instead of holding shutdown until their deadline.
    this.peers.close();
    await this.ownSeqGate?.close();
    await this.antiEntropy.stop();
    await Promise.all([...this.senders.values()].map((s) => s.stop()));
    try {
      await this.store.flush();
    } catch (err) {
      this.logger.warn(`flush on shutdown failed (the WAL and the replication log still hold the data): ${(err as Error).message}`);
    }
    await this.saveState();
    await this.log.close();
    await this.store.close();
  }

  private syncSenders(): void {
    const dests = new Set(this.destinations());
    for (const [id, sender] of this.senders) {
      if (!dests.has(id)) {
        void sender.stop();
        this.senders.delete(id);
        this.catchUpEnd.delete(id);
        delete this.state.cursors[id];
      }
    }
    // A destination that stands in for a dead hop starts where the hop's own cursor is: what the
    // hop acknowledged it forwards itself once back.
    const downCursors = [...this.senders].filter(([id]) => !this.peers.isUp(id)).map(([, s]) => s.cursor);
    const detourFrom = downCursors.length > 0 ? Math.min(...downCursors) : this.log.firstLsn;
    for (const id of dests) {
      if (this.senders.has(id)) continue;
      const sender = new Sender(id, this.state.cursors[id] ?? detourFrom, this.log, this.peers,
        () => this.log.durableLsn, (origin) => this.ships(id, origin), (s) => this.progressed(s),
        undefined, describeError, (message) => {
          this.logger.error(`replication to ${id} is stuck: ${message}. This node's writes no longer wait for ${id}, and the log keeps `
            + `every op from there on until the segment reads again; ${id} can get those ops only from other nodes that hold them (pull sync, \`ringdb repair\`). `
            + 'To end it: restore the file from a copy, or stop this node, move its folder away and start it again; it comes back empty and takes '
            + 'the data back from its peers (writes that no other node holds are lost)');
          this.backpressure.recheck();
        }, (lost) => this.lost(id, lost));
      this.senders.set(id, sender);
      this.catchUpEnd.set(id, this.log.durableLsn);
      sender.start();
    }
    this.scheduleSave();
  }

  private lost(peerId: string, lost: LostOps): void {
    const ids = lost.ops.slice(0, 5).map((op) => `${op.origin}:${op.seq}`).join(', ');
    const more = lost.ops.length > 5 ? ` and ${lost.ops.length - 5} more` : '';
    this.logger.error(`replication log ${path.basename(lost.file)} is damaged (first at byte ${lost.offset}: ${lost.detail}): `
      + `${lost.ops.length} op${lost.ops.length === 1 ? '' : 's'} in it cannot be read (${ids}${more}). ${peerId} got ${lost.ops.length === 1 ? 'it' : 'them'} as skipped, `
      + `so replication to ${peerId} goes on; a Merkle round with ${peerId} starts now to repair its copies of the keys both replicate from this node's store, which took each op when it was logged`);
    for (const l of this.lostListeners) l(peerId);
  }

  private progressed(sender: Sender): void {
    this.backpressure.progress();
    for (const l of this.cursorListeners) l(sender.peerId, sender.cursor);
    this.scheduleSave();
  }

  private scheduleSave(): void {
    if (this.saveTimer || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.saveState().catch((err: unknown) => this.logger.error(`saving replication state failed: ${(err as Error).message}`));
    }, STATE_SAVE_INTERVAL_MS);
  }

  /**
   * Persists cursors and the store's replay point, then lets the log drop what nobody needs: the
   * log is the write-ahead log of ops the store holds only in memtables, so it keeps them too.
   * A destination without a sender yet (a node started with no peers waits for the membership)
   * keeps the cursor it had: saving only the senders' wiped them, and then the log dropped ops
   * those peers had not acknowledged and the senders resent the whole retained log from its start.
   * The fsyncs run in the thread pool (on the event loop they held a loaded node up 5-30 ms every
   * second), and the log drops nothing until the state that allows it is durable.
   */
  private saveState(): Promise<void> {
    const saved = this.saving.then(() => this.writeState());
    this.saving = saved.catch(() => undefined);
    return saved;
  }

  private async writeState(): Promise<void> {
    const cursors: Record<string, number> = { ...this.state.cursors };
    for (const [id, s] of this.senders) cursors[id] = s.cursor;
    const storeReplayLsn = this.replica.storeReplayLsn;
    this.state = { cursors, storeReplayLsn };
    await writeStateFile(this.fs, path.join(this.config.dataDir, 'replication_state'), this.state);
    this.log.release(Math.min(storeReplayLsn, ...Object.values(cursors)));
  }
}

/** The start-up warning for a torn record cut off a log (an append a crash interrupted). */
export function describeCutTail(what: string, cut: CutTail, dataDir: string, sync: SyncPolicy): string {
  const file = path.relative(dataDir, cut.file) || cut.file;
  const acked = sync === 'none'
    ? 'with storage.sync "none" it may have been acknowledged, and anti-entropy brings back what the peers hold of it'
    : `with storage.sync "${sync}" it was never acknowledged, so no acknowledged write is lost`;
  return `${what}: cut a torn last record (${cut.cutBytes} bytes at offset ${cut.keptBytes}) off ${file}: a crash interrupted that write; ${acked}`;
}
