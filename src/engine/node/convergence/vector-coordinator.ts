// `consistencyMode: "vector"` across nodes: where a write is coordinated and how a read gathers
// siblings. Without a partition map every node holds every key, so everything is local (and
// replicates asynchronously). With one:
//  - a write is coordinated by a replica of the key's partition: only a node holding the key's
//    sibling set can hand out the next dot without reusing one. A non-replica forwards the
//    request (value and context, not a delta) to the first healthy replica, or answers NotOwner.
//    The replica writes the delta through the ordinary coordinator (W, hints).
//  - a read asks R nodes (replicas first, then substitutes holding hints) and merges their
//    sibling sets; every asked replica whose set lacked something gets the merged set
//    (read repair through IngestEntries; its store merges it).
// Hot-key salting is not applied: a key's siblings must meet in one set.

import { ConvergenceServiceClient, type VectorPutResponse } from '../../gen/ringdb/v1/convergence';
import type { Version } from '../../gen/ringdb/v1/node';
import { VectorClock } from '../../clock/vector-clock';
import { addVersion, encodeSiblings, mergeSiblings, type StoredValue } from '../../clock/vector-clock-siblings';
import { preferenceList, readCandidates, type PartitionMap } from '../../partitioning';
import { clientArgs, describeError, InvalidFieldError, MAX_VALUE_BYTES, type ParentCall, PreconditionError, unary, UnavailableError } from '../../rpc';
import { NotOwnerError } from '../../rpc/not-owner';
import { compareVersions, type Entry } from '../../storage/types';
import { quorumSettings } from '../config';
import type { Logger } from '../logger';
import type { RingNode } from '../node';
import type { PartitionLayer } from '../partition-layer';
import { askQuorum, speculativeRead } from '../quorum-read';
import { quorumOverride } from '../request-keys';
import { siblingsOf, type Sibling, type VectorMode } from './vector-mode';
import { contextToken, siblingFromWire } from './vector-wire';

const PEER_CALL_MS = 5000;
const WRITE_FORWARD_MS = 10_000;
const EMPTY = Buffer.alloc(0);

/** A merged read: the siblings, the nodes that answered, and the newest stored (ts, origin). */
export interface VectorRead {
  siblings: Sibling[];
  replicas: string[];
  ts: number;
  origin: string;
}

export interface VectorWrite {
  dot: { node: string; counter: number };
  replicas: string[];
  /** The op's version on the coordinating replica. */
  version: Version | undefined;
  hinted: Record<string, string>;
}

interface Answer extends VectorRead {
  node: string;
}

export class VectorCoordinator {
  private readonly settings;
  private readonly clients = new Map<string, { address: string; client: ConvergenceServiceClient }>();

  constructor(
    private readonly node: RingNode,
    private readonly layer: PartitionLayer,
    readonly mode: VectorMode,
    private readonly logger: Logger,
  ) {
    this.settings = quorumSettings(node.config);
  }

  private get self(): string {
    return this.node.config.id;
  }

  private isUp = (id: string): boolean => id === this.self || this.node.peers.isUp(id);

  /** This node's own siblings of `key`: its store merged with any hints it keeps for another node. */
  local(key: Buffer): Answer {
    const e = this.node.observed.get(key);
    let siblings = siblingsOf(e);
    let newest: Pick<Entry, 'ts' | 'origin'> | undefined = e;
    for (const h of this.layer.hints.list()) {
      if (!h.entry.key.equals(key) || h.entry.deleted || !h.entry.version) continue;
      siblings = mergeSiblings(siblings, siblingsOf({ key, value: h.entry.value, ts: h.entry.version.ts, origin: h.entry.version.origin }));
      if (!newest || compareVersions(h.entry.version, newest) > 0) newest = h.entry.version;
    }
    return { node: this.self, siblings, replicas: [this.self], ts: newest?.ts ?? 0, origin: newest?.origin ?? '' };
  }

  async read(key: Buffer, r: number, direct: boolean, call: ParentCall): Promise<VectorRead> {
    const map = this.layer.partitions.map;
    if (direct || !map) {
      if (!map && r > 1) throw new InvalidFieldError('r', 'needs a partition map (every node holds every key until there is one); use 0 or 1');
      const a = this.local(key);
      return { ...a, replicas: map ? [this.self] : [] };
    }
    const n = Math.min(map.replicationFactor, map.nodes.length);
    const quorum = quorumOverride('r', r, this.settings.readQuorum, n);
    const pid = this.layer.partitions.partitionOf(map, key);
    const replicas = preferenceList(map, pid);
    if (!replicas.includes(this.self) && !this.settings.enableForwarding) throw this.notOwner(map, pid, replicas);
    const order = readCandidates(map, pid, this.isUp);
    const { answers, failures } = await askQuorum<Answer>(order, quorum, (id) => (id === this.self ? this.local(key) : this.remoteRead(id, key, call)), speculativeRead(replicas, this.layer.coordinator, this.self));
    if (answers.length < quorum) {
      throw new UnavailableError(`r: ${quorum} answers needed for partition ${pid} but only ${answers.length} arrived (${answers.map((a) => a.node).join(', ') || 'none'}); ${failures.join('; ') || 'too few nodes are up'}`);
    }
    const siblings = answers.reduce<Sibling[]>((acc, a) => mergeSiblings(acc, a.siblings), []);
    let newest = answers[0];
    for (const a of answers) if (a.ts > 0 && (newest.ts === 0 || compareVersions(a, newest) > 0)) newest = a;
    this.repair(key, siblings, newest, answers.filter((a) => replicas.includes(a.node)));
    return { siblings, replicas: answers.map((a) => a.node), ts: newest.ts, origin: newest.origin };
  }

  /** Sends the merged set, in the background, to every asked replica whose set differed from it. */
  private repair(key: Buffer, siblings: Sibling[], newest: Answer, asked: Answer[]): void {
    if (siblings.length === 0 || newest.ts === 0) return;
    const merged = encodeSiblings(siblings);
    for (const a of asked) {
      if (encodeSiblings(a.siblings).equals(merged)) continue;
      this.layer.coordinator.counters.readRepairs++;
      const entry: Entry = { key, value: merged, ts: newest.ts, origin: newest.origin };
      const done = a.node === this.self
        ? this.node.observed.write([entry])
        : unary(this.node.peers.client(a.node), this.node.peers.client(a.node).ingestEntries,
          { entries: [{ key, value: merged, deleted: false, version: { ts: newest.ts, origin: newest.origin, opId: '' } }] },
          { token: this.node.peers.callToken, timeoutMs: PEER_CALL_MS });
      void Promise.resolve(done).catch((err: unknown) => this.logger.debug(`vector read repair of ${a.node} failed: ${describeError(err)}`));
    }
  }

  private async remoteRead(id: string, key: Buffer, call: ParentCall): Promise<Answer> {
    const client = this.client(id);
    const res = await unary(client, client.vectorGet, { key, r: 0, direct: true }, { token: this.node.peers.callToken, parent: call, timeoutMs: PEER_CALL_MS });
    return { node: id, siblings: res.siblings.map(siblingFromWire), replicas: [id], ts: res.ts, origin: res.origin };
  }

  /**
   * Writes `value` (null = a tombstone sibling) as a version that supersedes what `context`
   * covers, coordinated by a replica of the key (forwarded there when this node is not one).
   */
  async write(key: Buffer, value: StoredValue, context: VectorClock, w: number, forwarded: boolean, call: ParentCall): Promise<VectorWrite> {
    const map = this.layer.partitions.map;
    if (map) {
      const pid = this.layer.partitions.partitionOf(map, key);
      const replicas = preferenceList(map, pid);
      if (!replicas.includes(this.self)) {
        const to = replicas.find((id) => this.isUp(id));
        if (to === undefined && !forwarded) {
          // Only a replica may hand out the write's dot (it must know the key's siblings), so the
          // LWW path's substitute coordination (substitute-writes.ts) has no counterpart here.
          throw new UnavailableError(`all ${replicas.length} replicas of partition ${pid} (${replicas.join(', ')}) are down, and in vector mode only a replica can give a write its dot; ` +
            `nothing was written; restart one of them (ringdb restart ${replicas[0]}) and retry`);
        }
        if (!this.settings.enableForwarding || forwarded || to === undefined) throw this.notOwner(map, pid, replicas);
        this.layer.coordinator.counters.forwardedOps++;
        const client = this.client(to);
        const res: VectorPutResponse = await unary(client, client.vectorPut,
          { key, value: value ?? EMPTY, deleted: value === null, context: contextToken(context), w, forwarded: true },
          { token: this.node.peers.callToken, parent: call, timeoutMs: WRITE_FORWARD_MS });
        return { dot: { node: res.dotNode, counter: res.dotCounter }, replicas: res.replicas, version: { ts: res.ts, origin: res.dotNode, opId: res.opId }, hinted: {} };
      }
    }
    // A dot is (node, counter from the clock): after a lost folder the counter must first pass the peers'.
    await this.node.ownSeqsSettled();
    const { version, delta } = this.mode.newVersion(key, value, context);
    const size = encodeSiblings(addVersion(this.local(key).siblings, version)).length;
    if (size > MAX_VALUE_BYTES) {
      this.mode.settle(key, version);
      throw new PreconditionError(`the key's siblings would take ${size} bytes, more than the ${MAX_VALUE_BYTES} a stored value may; ` +
        'resolve them first: read them with VectorGet and write with its context');
    }
    try {
      // forwarded: the coordinator must write the delta here, never send it elsewhere (the dot is this node's).
      const r = await this.layer.coordinator.put({ key, value: delta, w: w === 0 ? undefined : w, forwarded: true }, call);
      return { dot: version.dot, replicas: r.replicas, version: r.version, hinted: r.hinted };
    } finally {
      this.mode.settle(key, version);
    }
  }

  /**
   * Blind writes of many keys (BatchPut). Without a partition map, one local batch, logged and
   * replicated like any batch. With one, each entry is coordinated like a VectorPut (W, hints,
   * forwarding or NotOwner): a node that does not replicate a key must not hand out its dots or
   * keep a copy no move would ever drop. The answer then names no origin, like a coordinated BatchPut.
   */
  async writeBatch(entries: { key: Buffer; value: Buffer }[], call: ParentCall): Promise<{ origin: string; firstSeq: number; firstTs: number; count: number }> {
    if (this.layer.partitions.map) {
      // 64 at a time: each waits for its own W acknowledgements.
      for (let i = 0; i < entries.length; i += 64) {
        await Promise.all(entries.slice(i, i + 64).map((e) => this.write(e.key, e.value, VectorClock.EMPTY, 0, false, call)));
      }
      return { origin: '', firstSeq: 0, firstTs: 0, count: entries.length };
    }
    await this.node.ownSeqsSettled();
    const made = entries.map((e) => ({ key: e.key, ...this.mode.newVersion(e.key, e.value, VectorClock.EMPTY) }));
    try {
      return await this.node.writeLocal(made.map((m) => ({ key: m.key, value: m.delta })));
    } finally {
      for (const m of made) this.mode.settle(m.key, m.version);
    }
  }

  private notOwner(map: PartitionMap, pid: number, replicas: string[]): NotOwnerError {
    this.layer.coordinator.counters.notOwnerAnswers++;
    const owner = map.partition(pid).owner;
    return new NotOwnerError({ partitionId: pid, ownerId: owner, ownerAddress: this.layer.partitions.addressOf(owner), mapVersion: map.version, replicas });
  }

  /** One ConvergenceService channel per peer, replaced when the peer moves. */
  private client(id: string): ConvergenceServiceClient {
    const address = this.node.peers.views().find((p) => p.id === id)?.address;
    if (!address) throw new UnavailableError(`${id} is not a peer of ${this.self}`);
    const known = this.clients.get(id);
    if (known && known.address === address) return known.client;
    known?.client.close();
    const client = new ConvergenceServiceClient(...clientArgs(address));
    this.clients.set(id, { address, client });
    return client;
  }

  close(): void {
    for (const c of this.clients.values()) c.client.close();
    this.clients.clear();
  }
}
