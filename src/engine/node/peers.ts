// The other nodes as this node sees them: one gRPC channel per peer, reused by heartbeats,
// replication and pull sync; the heartbeat loop; and each peer's state (up / suspect / down,
// last heard). Implements the replication transport over those channels.

import { NodeServiceClient, NodeServiceService, PeerState, ReplicateRequest, ReplicateResponse, type Op as ProtoOp } from '../gen/ringdb/v1/node';
import { isSkip, type Op } from '../replication/op-codec';
import type { FetchedUpdates, ReplicationTransport } from '../replication/transport';
import { clientArgs, describeError, unary, unaryEncoded } from '../rpc';
import type { PeerConfig } from './config';
import { fromProtoOp, toProtoOp } from './convert';
import type { ShippedOp } from './shipping';

interface PeerEntry {
  id: string;
  address: string;
  client: NodeServiceClient;
  lastHeard: number;
  failures: number;
  lastError: string | undefined;
  state: PeerState;
}

export interface PeerView {
  id: string;
  address: string;
  state: PeerState;
  lastHeard: number;
  lastError: string | undefined;
}

/** Deadline of replication calls: a big batch to a busy peer can take a while, a dead one fails fast anyway. */
const REPLICATE_TIMEOUT_MS = 15_000;

export class PeerSet implements ReplicationTransport {
  private readonly peers = new Map<string, PeerEntry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly upListeners = new Set<(id: string) => void>();
  private readonly downListeners = new Set<(id: string) => void>();
  private readonly seenListeners = new Set<(id: string, seq: number) => void>();
  private readonly encoder: BatchEncoder;
  /** Peers that ignored `records`; retried once they come back up (maybe upgraded). */
  private readonly opsOnly = new Set<string>();

  constructor(
    private readonly selfId: string,
    private readonly token: string,
    private readonly heartbeatMs: number,
    private readonly clock: () => number,
  ) {
    this.encoder = new BatchEncoder(selfId);
  }

  ids(): string[] {
    return [...this.peers.keys()];
  }

  /** Whether `id` is a member the heartbeat has not declared down (suspect counts as up). */
  isUp(id: string): boolean {
    const p = this.peers.get(id);
    return p !== undefined && p.state !== PeerState.PEER_STATE_DOWN;
  }

  views(): PeerView[] {
    return [...this.peers.values()].map((p) => ({ id: p.id, address: p.address, state: p.state, lastHeard: p.lastHeard, lastError: p.lastError }));
  }

  /** Called when a peer goes from suspect/down to up (its sender should retry now). */
  onUp(listener: (id: string) => void): void {
    this.upListeners.add(listener);
  }

  /**
   * Called with each heartbeat answer: the highest of this node's own seqs the peer holds
   * durably, every earlier one included (what W counts for a peer this node does not send to).
   */
  onSeen(listener: (id: string, seq: number) => void): () => void {
    this.seenListeners.add(listener);
    return () => this.seenListeners.delete(listener);
  }

  /** Called when a peer is declared down (writers held back for it may go on). */
  onDown(listener: (id: string) => void): void {
    this.downListeners.add(listener);
  }

  /** Replaces the membership; a peer whose address changed gets a new channel. */
  update(peers: readonly PeerConfig[]): void {
    const wanted = new Map(peers.filter((p) => p.id !== this.selfId).map((p) => [p.id, p.address]));
    for (const [id, entry] of this.peers) {
      if (wanted.get(id) !== entry.address) {
        entry.client.close();
        this.peers.delete(id);
      }
    }
    for (const [id, address] of wanted) {
      if (this.peers.has(id)) continue;
      this.peers.set(id, {
        id, address, client: new NodeServiceClient(...clientArgs(address)),
        lastHeard: 0, failures: 0, lastError: undefined, state: PeerState.PEER_STATE_SUSPECT,
      });
    }
  }

  start(): void {
    const beat = () => {
      for (const p of this.peers.values()) void this.ping(p);
      this.timer = setTimeout(beat, this.heartbeatMs);
    };
    beat();
  }

  close(): void {
    clearTimeout(this.timer);
    for (const p of this.peers.values()) p.client.close();
    this.peers.clear();
  }

  /**
   * Set when a partition map decides per destination what each op becomes (node/shipping.ts:
   * the op, a skip, or a hint); senders still read one log window for all destinations. It
   * returns the very array it was given when it changes nothing (no map, or a destination that
   * replicates every op of the window): that batch may then travel as the log's records.
   */
  shape: ((peerId: string, ops: readonly Op[]) => readonly Op[]) | undefined;
  /** How pulled ops are taken in (set by the partition layer: hinted ops become hints). */
  receive: ((ops: readonly ProtoOp[]) => Promise<Op[]>) | undefined;

  /**
   * `records` (see SenderTransport) lets a batch that goes unshaped travel as the log's records,
   * which neither side has to encode or decode op by op.
   */
  async replicate(peerId: string, ops: readonly Op[], records?: () => Buffer | undefined): Promise<Record<string, number>> {
    const p = this.get(peerId);
    const shaped = this.shape ? this.shape(peerId, ops) : ops;
    // A shape that hands back the window itself changed nothing: every op goes as it is logged.
    const raw = shaped === ops && !this.opsOnly.has(peerId) ? records : undefined;
    const request = this.encoder.encode(shaped, raw);
    const res = await this.send(p, request.bytes);
    if (!request.records || Object.keys(res.lastSeen).length > 0) return res.lastSeen;
    // A receiver answers with last_seen for every origin of a batch it read. None means it did
    // not know `records` (a node of an earlier build): it gets `ops` from now on.
    this.opsOnly.add(peerId);
    return (await this.send(p, this.encoder.encode(shaped).bytes)).lastSeen;
  }

  private send(p: PeerEntry, request: Buffer): Promise<ReplicateResponse> {
    return this.track(p, unaryEncoded(p.client, NodeServiceService.replicate.path, request, ReplicateResponse.decode,
      { token: this.token, timeoutMs: REPLICATE_TIMEOUT_MS }));
  }

  /** The channel to a peer, for calls other than replication (coordinated reads and writes, handoff). */
  client(peerId: string): NodeServiceClient {
    return this.get(peerId).client;
  }

  get callToken(): string {
    return this.token;
  }

  async fetchUpdates(peerId: string, lastSeen: Record<string, number>, limit: number, skipOrigins: readonly string[]): Promise<FetchedUpdates> {
    const p = this.get(peerId);
    const request = { requester: this.selfId, lastSeen, limit, skipOrigins: [...skipOrigins] };
    const res = await this.track(p, unary(p.client, p.client.fetchUpdates, request, { token: this.token, timeoutMs: REPLICATE_TIMEOUT_MS }));
    return { ops: this.receive ? await this.receive(res.ops) : res.ops.map(fromProtoOp), more: res.more, lastSeen: res.lastSeen, clock: res.clock };
  }

  private get(peerId: string): PeerEntry {
    const p = this.peers.get(peerId);
    if (!p) throw new Error(`peer ${peerId} is no longer a member`);
    return p;
  }

  private async ping(p: PeerEntry): Promise<void> {
    try {
      const res = await this.track(p, unary(p.client, p.client.ping, { sender: this.selfId, clock: this.clock() }, { token: this.token, timeoutMs: Math.max(2 * this.heartbeatMs, 500) }));
      for (const l of this.seenListeners) l(p.id, res.seenOfSender);
    } catch {
      // Recorded by track(); the state machine below turns repeated failures into suspect/down.
    }
  }

  private async track<T>(p: PeerEntry, call: Promise<T>): Promise<T> {
    try {
      const res = await call;
      p.lastHeard = Date.now();
      p.failures = 0;
      p.lastError = undefined;
      this.setState(p);
      return res;
    } catch (err) {
      p.failures++;
      p.lastError = describeError(err);
      this.setState(p);
      throw err;
    }
  }

  /** up: heard within 3 beats and the last exchange worked; down: 3 failures in a row or silent for 10 beats. */
  private setState(p: PeerEntry): void {
    const age = p.lastHeard === 0 ? Infinity : Date.now() - p.lastHeard;
    let next: PeerState;
    if (p.failures === 0 && age <= 3 * this.heartbeatMs) next = PeerState.PEER_STATE_UP;
    else if (p.failures < 3 && (age <= 10 * this.heartbeatMs || p.lastHeard === 0)) next = PeerState.PEER_STATE_SUSPECT;
    else next = PeerState.PEER_STATE_DOWN;
    const was = p.state;
    p.state = next;
    if (next === PeerState.PEER_STATE_UP && was !== PeerState.PEER_STATE_UP) {
      this.opsOnly.delete(p.id);
      for (const l of this.upListeners) l(p.id);
    }
    if (next === PeerState.PEER_STATE_DOWN && was !== PeerState.PEER_STATE_DOWN) for (const l of this.downListeners) l(p.id);
  }
}

/**
 * Serialized ReplicateRequests. Senders to different destinations usually ship the same log
 * window, so the last encoding is kept and reused while the batch is the same on the wire.
 */
export class BatchEncoder {
  private last: { ops: readonly ShippedOp[]; bytes: Buffer; records: boolean } | undefined;

  constructor(private readonly sender: string) {}

  /**
   * The request for `ops`: as their log records when `records` is given and yields them (the
   * ops go unshaped), else as protocol ops. `records` in the answer tells which.
   */
  encode(ops: readonly ShippedOp[], records?: () => Buffer | undefined): { bytes: Buffer; records: boolean } {
    const last = this.last;
    // Any receiver reads `ops`; `records` only goes where the caller allows it.
    if (last && (!last.records || records !== undefined) && sameOnWire(last.ops, ops)) return last;
    const raw = records?.();
    const u8 = ReplicateRequest.encode(raw ? { sender: this.sender, ops: [], records: raw } : { sender: this.sender, ops: ops.map(toProtoOp) }).finish();
    this.last = { ops, bytes: Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength), records: raw !== undefined };
    return this.last;
  }
}

/**
 * Whether two batches encode alike. Each sender reads (decodes) the window itself, so the ops are
 * distinct objects; an op's origin and seq fix its content (one log never holds two versions of
 * an op), and what a partition map made of it for a destination (a skip, a hint) is compared
 * too. Every element is compared: two destinations' batches of a window may differ only in the middle.
 */
function sameOnWire(a: readonly ShippedOp[], b: readonly ShippedOp[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x !== y && (x.seq !== y.seq || x.origin !== y.origin || isSkip(x) !== isSkip(y) || x.hintedFor !== y.hintedFor)) return false;
  }
  return true;
}
