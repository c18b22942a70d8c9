// The coordinator: whichever node a Put/Get/Delete/Scan reaches. Without a partition map it
// serves locally as in issue 3 (replication to every node is asynchronous). With one:
//  - writes: only a replica of the key's partition coordinates. A non-replica forwards the
//    request to the first healthy replica (enableForwarding) or answers NotOwner. The replica
//    logs the op, picks its placements (sloppyPreferenceList: a down replica's place goes to the
//    next healthy node, tagged hintedFor), and waits until W-1 of them acknowledged the op
//    through the ordinary replication stream (shipping.ts), so W counts the local durable write.
//    With every replica down, the non-replica coordinates it itself, as hints kept by the
//    substitutes (substitute-writes.ts).
//  - reads: any node coordinates. It asks R nodes in readCandidates order (replicas first; with
//    loadBalanceReads the first replica rotates) and more as asked ones fail, keeps the newest
//    version (LWW), and sends it in the background to every asked replica that answered older
//    (read repair, through IngestEntries).
//  - hot keys: a write goes to one salted variant, a read probes every variant.

import {
  type BatchPutResponse, type DeleteRequest, type GetRequest, type GetResponse, type PutRequest, type ScanEntry, type ScanRequest, type ScanResponse, type Version,
} from '../gen/ringdb/v1/node';
import { compositeKeyRange, encodeCompositeKey, keyAfter, tryDecodeCompositeKey } from '../codec/composite-key';
import { keyInMessage } from '../codec/bytes-text';
import { HotspotMetrics, preferenceList, ReadBalancer, readCandidates, readKeysFor, sloppyPreferenceList, type PartitionMap, type Placement } from '../partitioning';
import type { LocalWriteResult } from '../replication/replica';
import { answeredByServer, describeError, InvalidFieldError, type ParentCall, unary, UnavailableError } from '../rpc';
import { count, entriesText, entryText, forwardedOutcome, settleWithin, type ForwardedPart } from './batch-parts';
import { NotOwnerError } from '../rpc/not-owner';
import { LatencyWindow } from '../rpc/latency-window';
import { parseSpeculativeRetry, type SpeculativeRetry } from '../spec';
import { RetryBudget } from '../rpc/retry-budget';
import { scanAroundReserved } from './indexes/global-keys';
import { compareVersions, type Entry } from '../storage/types';
import { quorumSettings } from './config';
import { askQuorum, speculativeRead } from './quorum-read';
import { version } from './convert';
import type { HintStore } from './hints';
import type { Logger } from './logger';
import type { RingNode } from './node';
import type { PartitionState } from './partition-state';
import { keyRef, quorumOverride, readKeysOf, writeKeyOf, type KeyFields } from './request-keys';
import type { PartitionedShipping, WriteAcks } from './shipping';
import { type OrphanWrite, type SubstituteResult, SubstituteWrites } from './substitute-writes';
import { checkKey, checkLimit, DEFAULT_SCAN_LIMIT, MAX_SCAN_LIMIT } from './validate';

/** A write waits this long for W at most (less when the caller's deadline is nearer). */
const WRITE_QUORUM_WAIT_MS = 5000;
const PEER_CALL_MS = 5000;
const EMPTY = Buffer.alloc(0);

export interface WriteResult {
  version: Version | undefined;
  replicas: string[];
  hinted: Record<string, string>;
}

export interface Answer {
  node: string;
  found: boolean;
  value: Buffer;
  deleted: boolean;
  version: Version | undefined;
}

/** What a batch needs of one partition's placement, worked out once per batch. */
interface PartitionPlan {
  pid: number;
  replicas: string[];
  /** Where this node's copy goes with the others; undefined when this node is not a replica. */
  placements: Placement[] | undefined;
  /** Substitute node -> the down replica it stands in for, when any. */
  hinted: ReadonlyMap<string, string> | undefined;
  /** Placements other than this node: whose acknowledgements count towards W. */
  dests: string[];
  /** `dests` as one string: entries with the same destinations share one wait for W. */
  destsKey: string;
}

type WriteRequest = KeyFields & { w?: number | undefined; forwarded?: boolean | undefined };

export class Coordinator {
  readonly counters = { readRepairs: 0, forwardedOps: 0, notOwnerAnswers: 0, coordinatedWrites: 0, coordinatedReads: 0 };
  /** When and how often this node's point reads, vector mode's included, ask a replica beside a slow one (quorum-read.ts). */
  readonly readBudget = new RetryBudget();
  readonly readLatency: LatencyWindow;
  private readonly speculation: SpeculativeRetry;
  readonly metrics = new HotspotMetrics();
  private readonly balancer: ReadBalancer;
  private readonly substitutes: SubstituteWrites;
  private readonly settings;
  private pick = 0;

  constructor(
    private readonly node: RingNode,
    private readonly partitions: PartitionState,
    private readonly hints: HintStore,
    private readonly shipping: PartitionedShipping,
    private readonly acks: WriteAcks,
    private readonly logger: Logger,
  ) {
    this.settings = quorumSettings(node.config);
    // Validated with the config: a setting that does not parse never reaches here.
    this.speculation = parseSpeculativeRetry(this.settings.speculativeRetry)!;
    this.readLatency = new LatencyWindow(this.speculation.kind === 'percentile' ? { quantile: this.speculation.quantile } : {});
    this.balancer = new ReadBalancer(this.settings.readBalancing);
    this.substitutes = new SubstituteWrites(node, hints, this.isUp);
  }

  /** The setting the waits follow (spec/speculative-retry.ts). */
  get speculativeRetry(): string {
    return this.settings.speculativeRetry;
  }

  /** How long a point read now waits on a replica before asking another (ReadSpeculation); undefined: never. */
  speculateAfterMs(): number | undefined {
    switch (this.speculation.kind) {
      case 'none': return undefined;
      case 'always': return 0;
      case 'fixed': return this.speculation.ms;
      case 'percentile': return this.readLatency.delayMs();
    }
  }

  private get self(): string {
    return this.node.config.id;
  }

  /**
   * Only a peer the heartbeat declared down is passed over: a suspect one (a late heartbeat on a
   * busy machine) still gets its ops, which its sender retries until acknowledged.
   */
  private isUp = (id: string): boolean => id === this.self || this.node.peers.isUp(id);

  // ---- writes ---------------------------------------------------------------------------

  // A forwarded write names the stored key it resolved (raw form), so the replica does not pick
  // another salted variant, possibly of a partition it does not replicate.
  put(req: PutRequest, call: ParentCall): Promise<WriteResult> {
    return this.write(req, req.value, call, (to, key) => {
      const client = this.node.peers.client(to);
      return unary(client, client.put, { key, value: req.value, w: req.w, forwarded: true }, this.forwardSettings(call));
    });
  }

  delete(req: DeleteRequest, call: ParentCall): Promise<WriteResult> {
    return this.write(req, null, call, (to, key) => {
      const client = this.node.peers.client(to);
      return unary(client, client.delete, { key, w: req.w, forwarded: true }, this.forwardSettings(call));
    });
  }

  private forwardSettings(call: ParentCall) {
    return { token: this.node.peers.callToken, parent: call, timeoutMs: WRITE_QUORUM_WAIT_MS + PEER_CALL_MS };
  }

  private async write(req: WriteRequest, value: Buffer | null, call: ParentCall, forward: (to: string, stored: Buffer) => Promise<WriteResult>): Promise<WriteResult> {
    const ref = keyRef(req);
    const map = this.partitions.map;
    if (!map) {
      if (req.w !== undefined && req.w > 1) throw new InvalidFieldError('w', 'needs a partition map (this node replicates asynchronously to every node until it gets one); use 0 or 1');
      const r = await this.node.writeLocal([{ key: ref.stored, value }]);
      return { version: version(r.firstTs, this.self, r.firstSeq), replicas: [this.self], hinted: {} };
    }
    const n = Math.min(map.replicationFactor, map.nodes.length);
    const w = quorumOverride('w', req.w, this.settings.writeQuorum, n);
    const stored = writeKeyOf(map, ref, this.pick++);
    const pid = this.partitions.partitionOf(map, stored);
    const replicas = preferenceList(map, pid);
    if (!replicas.includes(this.self)) {
      const to = replicas.find((r) => this.isUp(r));
      // A forwarded request came from a node that saw a replica up: it is not taken over here.
      if (to === undefined && !req.forwarded) {
        const placements = this.substitutes.place(map, pid, w);
        const [written] = await this.substitutes.write([{ stored, value, pid }], [placements], w, call, this.waitBudget(call));
        return { version: written.version, replicas: written.holders, hinted: written.hinted };
      }
      if (!this.settings.enableForwarding || req.forwarded || to === undefined) throw this.notOwner(map, pid, replicas);
      this.counters.forwardedOps++;
      return forward(to, stored);
    }
    this.counters.coordinatedWrites++;
    this.metrics.record(pid, ref.partitionKey);
    const placements = sloppyPreferenceList(map, pid, this.isUp);
    if (placements.length < w) {
      throw new UnavailableError(`w: ${w} acknowledgements needed but only ${placements.length} of the nodes for partition ${pid} are up (${placements.map((p) => p.node).join(', ')}); nothing was written`);
    }
    const hinted = new Map(placements.filter((p) => p.hintedFor !== undefined).map((p) => [p.node, p.hintedFor as string]));
    const release = await this.node.admitLocal(1);
    let r: LocalWriteResult;
    try {
      // The replica assigns the next seq synchronously inside writeLocal, so the placements are
      // recorded under that op id before any sender can read the op.
      const seq = this.node.log.lastSeen(this.self) + 1;
      this.shipping.recordHints(this.self, seq, hinted);
      r = await this.node.replica.writeLocal([{ key: stored, value }]);
    } finally {
      release();
    }
    const lsn = this.node.log.lsnOf(this.self, r.firstSeq) ?? this.node.log.nextLsn;
    const dests = placements.map((p) => p.node).filter((id) => id !== this.self);
    const acked = await this.acks.wait({ lsn, seq: r.firstSeq }, dests, w - 1, this.waitBudget(call));
    const result = {
      version: version(r.firstTs, this.self, r.firstSeq),
      replicas: [this.self, ...acked],
      hinted: Object.fromEntries([...hinted].map(([node, forNode]) => [forNode, node])),
    };
    await this.reachNewReplicas(map, stored, value, result.version, placements.map((p) => p.node));
    if (acked.length < w - 1) {
      throw new UnavailableError(`w: only ${acked.length + 1} of ${w} nodes acknowledged ${result.version.opId} in time (${result.replicas.join(', ')}); ` +
        'it is durable there and keeps replicating, so a retry may find it');
    }
    return result;
  }

  /**
   * A write placed under `placedUnder` while the map changed: its catch-up copy may have run
   * before the write reached this store, and this node may then drop the range. So before the
   * write is acknowledged, every replica of the new map that was not a placement gets it
   * directly (IngestEntries, same version: applying it twice changes nothing), or, when it is
   * down or the call fails, a hint here that handoff delivers once it answers: the op itself
   * may never reach it (it was shaped for the old map).
   */
  private async reachNewReplicas(placedUnder: PartitionMap, stored: Buffer, value: Buffer | null, v: Version, placed: readonly string[]): Promise<void> {
    const now = this.partitions.map;
    if (!now || now === placedUnder) return;
    const targets = preferenceList(now, this.partitions.partitionOf(now, stored)).filter((id) => id !== this.self && !placed.includes(id));
    if (targets.length === 0) return;
    const entry = { key: stored, value: value ?? EMPTY, deleted: value === null, version: v };
    const settings = { token: this.node.peers.callToken, timeoutMs: PEER_CALL_MS };
    const results = await Promise.allSettled(targets.map((id) => {
      if (!this.isUp(id)) return Promise.reject(new Error(`${id} is not up`));
      const client = this.node.peers.client(id);
      return unary(client, client.ingestEntries, { entries: [entry] }, settings);
    }));
    const unreached = targets.filter((_, i) => results[i].status === 'rejected');
    if (unreached.length === 0) return;
    await this.hints.add(unreached.map((target) => ({ target, opId: v.opId, createdAt: Date.now(), entry })));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.logger.info(`${v.opId} raced map version ${now.version}; new replica ${targets[i]} gets it as a hint (${describeError(r.reason)})`);
    });
  }

  /**
   * BatchPut with a partition map: every entry is coordinated as a Put would be. Entries of
   * partitions this node replicates are logged here as one batch, each waiting for W of its own
   * placements; the others are forwarded, one batch per receiving replica, or, with forwarding off
   * (or in a batch that was itself forwarded), the whole batch is answered NotOwner before anything
   * is written. Without a map: one local batch.
   */
  async batchPut(entries: readonly { key: Buffer; value: Buffer }[], forwardedHere: boolean, call: ParentCall): Promise<BatchPutResponse> {
    const map = this.partitions.map;
    if (!map) {
      const r = await this.node.writeLocal(entries);
      return { origin: r.origin, firstSeq: r.firstSeq, firstTs: r.firstTs, count: r.count };
    }
    const w = Math.min(this.settings.writeQuorum, map.replicationFactor, map.nodes.length);
    // Placement is per partition, not per entry: a batch of 1,000 entries touches at most as
    // many partitions as the map has, so each partition's replicas, placements and hints are
    // worked out once (and the membership read once) for the whole batch.
    const plans = new Map<number, PartitionPlan>();
    const planOf = (pid: number): PartitionPlan => {
      let plan = plans.get(pid);
      if (plan) return plan;
      const replicas = preferenceList(map, pid);
      if (!replicas.includes(this.self)) {
        plan = { pid, replicas, placements: undefined, hinted: undefined, dests: [], destsKey: '' };
      } else {
        const placements = sloppyPreferenceList(map, pid, this.isUp);
        const hinted = new Map(placements.filter((p) => p.hintedFor !== undefined).map((p) => [p.node, p.hintedFor as string]));
        const dests = placements.map((p) => p.node).filter((id) => id !== this.self);
        plan = { pid, replicas, placements, hinted: hinted.size > 0 ? hinted : undefined, dests, destsKey: dests.join('\0') };
      }
      plans.set(pid, plan);
      return plan;
    };
    // `at`: the entry's index in the client's batch, for an error that says which ones to retry.
    const local: { stored: Buffer; value: Buffer; plan: PartitionPlan; at: number }[] = [];
    const remote: { stored: Buffer; value: Buffer; to: string; at: number }[] = [];
    const orphans: OrphanWrite[] = [];
    /** Each orphan's index in `entries`, for an error that tells the client which ones to retry. */
    const orphanAt: number[] = [];
    const orphanPlacements: Placement[][] = [];
    // Like the plans: a partition's substitutes are worked out once per batch.
    const orphanPlans = new Map<number, Placement[]>();
    entries.forEach((e, i) => {
      const ref = keyRef({ key: e.key });
      const stored = writeKeyOf(map, ref, this.pick++);
      const plan = planOf(this.partitions.partitionOf(map, stored));
      if (plan.placements) {
        if (plan.placements.length < w) throw new UnavailableError(`entries[${i}]: w: ${w} acknowledgements needed but only ${plan.placements.length} of the nodes for partition ${plan.pid} are up; nothing was written`);
        local.push({ stored, value: e.value, plan, at: i });
        this.metrics.record(plan.pid, ref.partitionKey);
        return;
      }
      const to = plan.replicas.find((r) => this.isUp(r));
      if (to === undefined && !forwardedHere) {
        let placed = orphanPlans.get(plan.pid);
        if (!placed) orphanPlans.set(plan.pid, (placed = this.substitutes.place(map, plan.pid, w, `entries[${i}]: `)));
        orphanPlacements.push(placed);
        orphans.push({ stored, value: e.value, pid: plan.pid });
        orphanAt.push(i);
        return;
      }
      if (!this.settings.enableForwarding || forwardedHere || to === undefined) throw this.notOwner(map, plan.pid, plan.replicas);
      remote.push({ stored, value: e.value, to, at: i });
    });
    // One forwarded batch per receiving replica, its entries under the stored keys resolved here.
    const groups = new Map<string, { entries: { key: Buffer; value: Buffer }[]; part: ForwardedPart }>();
    for (const e of remote) {
      let group = groups.get(e.to);
      if (!group) groups.set(e.to, (group = { entries: [], part: { to: e.to, at: [] } }));
      group.entries.push({ key: e.stored, value: e.value });
      group.part.at.push(e.at);
    }
    const sends = [...groups].map(([to, group]) => {
      this.counters.forwardedOps += group.entries.length;
      const client = this.node.peers.client(to);
      return unary(client, client.batchPut, { entries: group.entries, forwarded: true }, this.forwardSettings(call));
    });
    const forwardedParts = [...groups.values()].map((g) => g.part);
    // Settled from now (no rejection goes unhandled while the local entries are written), and
    // only until this node must answer: a part with no answer by then has an unknown outcome.
    const forwarded = settleWithin(sends, this.answerBudget(call));
    const substituted = orphans.length === 0 ? undefined : this.substitutes.write(orphans, orphanPlacements, w, call, this.waitBudget(call));
    substituted?.catch(() => undefined);
    let r: LocalWriteResult | undefined;
    if (local.length > 0) {
      this.counters.coordinatedWrites += local.length;
      const release = await this.node.admitLocal(local.length);
      try {
        const first = this.node.log.lastSeen(this.self) + 1;
        local.forEach((e, i) => {
          if (e.plan.hinted) this.shipping.recordHints(this.self, first + i, e.plan.hinted);
        });
        r = await this.node.replica.writeLocal(local.map((e) => ({ key: e.stored, value: e.value })));
      } finally {
        release();
      }
      const written = r;
      const budget = this.waitBudget(call);
      // The batch is logged in order and a cursor only moves forward, so entries with the same
      // destinations share one wait: a destination past the last of them acknowledged them all.
      const byDests = new Map<string, { dests: string[]; entries: number[] }>();
      local.forEach((e, i) => {
        let group = byDests.get(e.plan.destsKey);
        if (!group) byDests.set(e.plan.destsKey, (group = { dests: e.plan.dests, entries: [] }));
        group.entries.push(i);
      });
      const short = await Promise.all([...byDests.values()].map(async ({ dests, entries: idx }) => {
        const seq = written.firstSeq + idx[idx.length - 1];
        const lsn = this.node.log.lsnOf(this.self, seq) ?? this.node.log.nextLsn;
        const acked = await this.acks.wait({ lsn, seq }, dests, w - 1, budget);
        // Only a map installed since the batch was placed can have given its keys new replicas.
        if (this.partitions.map !== map) {
          await Promise.all(idx.map((i) => this.reachNewReplicas(map, local[i].stored, local[i].value, version(written.firstTs + i, this.self, written.firstSeq + i), local[i].plan.placements?.map((p) => p.node) ?? [])));
        }
        // A forwarded batch's indices are not the client's: its keys alone name the entries.
        const what = (i: number) => (forwardedHere ? keyInMessage(local[i].stored) : entryText(local[i].at, entries));
        return acked.length < w - 1 ? idx.map((i) => `${this.self}:${written.firstSeq + i} for ${what(i)}`) : [];
      }));
      const missing = short.flat();
      if (missing.length > 0) {
        const here = `w: ${missing.length} of ${local.length} entries written here did not reach ${w} nodes in time (${listed(missing)}); they are durable here and keep replicating, so a retry may find them`;
        // The client sees one error for the whole batch: without the other parts' fate (hinted,
        // forwarded) it cannot tell whether retrying them is needed.
        const others = [
          ...(substituted ? [await this.hintedOutcome(map, substituted, orphans, orphanAt)] : []),
          ...(sends.length > 0 ? [forwardedOutcome(forwardedParts, await forwarded, entries).text] : []),
        ];
        throw new UnavailableError([here, ...others].join('. '));
      }
    }
    if (sends.length > 0) {
      const settled = await forwarded;
      const outcome = forwardedOutcome(forwardedParts, settled, entries);
      if (!outcome.allAcknowledged) {
        // The whole batch went to one replica that answered: its own words cover every entry (a NotOwner keeps its detail).
        const only = settled[0];
        if (local.length === 0 && orphans.length === 0 && sends.length === 1 && only?.status === 'rejected' && answeredByServer(only.reason)) throw only.reason;
        const here = local.length === 0 ? [] : [`The ${count(local.length)} written here (${entriesText(local.map((e) => e.at), entries)}) reached W: ${local.length === 1 ? 'it needs' : 'they need'} no retry`];
        const hinted = substituted ? [await this.hintedOutcome(map, substituted, orphans, orphanAt)] : [];
        throw new UnavailableError([outcome.text, ...here, ...hinted].join('. '));
      }
    }
    if (substituted) {
      let written: SubstituteResult[];
      try {
        written = await substituted;
      } catch (err) {
        // As above, the other way round: the entries that reached W must not look failed too.
        const others = local.length + remote.length;
        if (others === 0 || !(err instanceof UnavailableError)) throw err;
        const how = [local.length > 0 ? `${local.length} written here` : '', remote.length > 0 ? `${remote.length} forwarded to ${[...groups.keys()].join(', ')}` : ''].filter(Boolean).join(', ');
        throw new UnavailableError(`${err.message}. The other ${others} entr${others === 1 ? 'y' : 'ies'} of the batch (${how}) reached W: ${others === 1 ? 'it needs' : 'they need'} no retry`);
      }
      if (remote.length === 0 && local.length === 0) {
        const first = written[0].version;
        return { origin: first.origin, firstSeq: written[0].seq, firstTs: first.ts, count: written.length };
      }
    }
    if (remote.length === 0 && orphans.length === 0 && r) return { origin: r.origin, firstSeq: r.firstSeq, firstTs: r.firstTs, count: r.count };
    // Entries got op ids on several nodes: no single origin and seq range describes them.
    return { origin: '', firstSeq: 0, firstTs: 0, count: entries.length };
  }

  /** What became of a batch's entries kept as hints, for an error that is about its other entries. */
  private async hintedOutcome(map: PartitionMap, substituted: Promise<SubstituteResult[]>, orphans: readonly OrphanWrite[], at: readonly number[]): Promise<string> {
    const which = `${orphans.length} entr${orphans.length === 1 ? 'y' : 'ies'} of partitions whose replicas are all down (${listed(at.map((i) => `entries[${i}]`))})`;
    try {
      const written = await substituted;
      const holders = [...new Set(written.flatMap((r) => r.holders))].sort();
      const replicas = [...new Set(orphans.map((o) => o.pid))].sort((a, b) => a - b).map((pid) => `partition ${pid}: ${preferenceList(map, pid).join(', ')}`);
      return `The ${which} ${orphans.length === 1 ? 'was' : 'were'} kept as hints (${listed(written.map((r) => r.version.opId))}), durable on ${holders.join(', ')}, which hand them over when the replicas ` +
        `(${replicas.join('; ')}) are back: they need no retry`;
    } catch (err) {
      return `Of the ${which}: ${describeError(err)}`;
    }
  }

  /** How long this node may wait before answering the call (undefined: it has no deadline). */
  private answerBudget(call: ParentCall): number | undefined {
    const d = call.getDeadline();
    const ms = d instanceof Date ? d.getTime() : d;
    return Number.isFinite(ms) ? Math.max(0, ms - Date.now() - 50) : undefined;
  }

  private waitBudget(call: ParentCall): number {
    return Math.min(WRITE_QUORUM_WAIT_MS, this.answerBudget(call) ?? WRITE_QUORUM_WAIT_MS);
  }

  private notOwner(map: PartitionMap, pid: number, replicas: string[]): NotOwnerError {
    this.counters.notOwnerAnswers++;
    const owner = map.partition(pid).owner;
    return new NotOwnerError({ partitionId: pid, ownerId: owner, ownerAddress: this.partitions.addressOf(owner), mapVersion: map.version, replicas });
  }

  // ---- reads ----------------------------------------------------------------------------

  /** This node's own newest version of a stored key: the store, or a hint it holds for another node. */
  directGet(stored: Buffer): Answer {
    const e = this.node.observed.get(stored);
    const h = this.hints.newestFor(stored);
    const hv = h?.entry.version;
    if (h && hv && (!e || compareVersions(hv, e) > 0)) {
      return { node: this.self, found: !h.entry.deleted, value: h.entry.value, deleted: h.entry.deleted, version: hv };
    }
    if (!e) return { node: this.self, found: false, value: EMPTY, deleted: false, version: undefined };
    return { node: this.self, found: e.value !== null, value: e.value ?? EMPTY, deleted: e.value === null, version: this.versionOf(e) };
  }

  versionOf(e: Entry): Version {
    return version(e.ts, e.origin, this.node.log.seqOf(e.origin, e.ts));
  }

  async get(req: GetRequest, call: ParentCall): Promise<GetResponse> {
    const ref = keyRef(req);
    this.node.counters.gets++;
    const map = this.partitions.map;
    if (req.direct || !map) {
      if (req.r !== undefined && req.r > 1 && !map) throw new InvalidFieldError('r', 'needs a partition map; use 0 or 1');
      const a = this.directGet(ref.stored);
      return { found: a.found, value: a.value, version: a.version, deleted: a.deleted, replicas: map ? [this.self] : [] };
    }
    const n = Math.min(map.replicationFactor, map.nodes.length);
    const r = quorumOverride('r', req.r, this.settings.readQuorum, n);
    const home = this.partitions.partitionOf(map, ref.stored);
    const homeReplicas = preferenceList(map, home);
    if (!homeReplicas.includes(this.self) && (!this.settings.enableForwarding || req.forwarded)) throw this.notOwner(map, home, homeReplicas);
    this.counters.coordinatedReads++;
    this.metrics.record(home, ref.partitionKey);
    const results = await Promise.all(readKeysOf(map, ref).map((stored) => this.readQuorum(map, stored, r, call)));
    let best = results[0];
    for (const a of results) if (a.newest.version && (!best.newest.version || compareVersions(a.newest.version, best.newest.version) > 0)) best = a;
    const replicas = [...new Set(results.flatMap((a) => a.nodes))];
    const v = best.newest;
    return { found: v.found, value: v.value, version: v.version, deleted: v.deleted, replicas };
  }

  /** The newest version of a stored key among R replicas (read repair included), for checks inside the node (global index hits). */
  async readNewest(stored: Buffer, call: ParentCall): Promise<Answer> {
    const map = this.partitions.map;
    if (!map) return this.directGet(stored);
    const r = Math.min(this.settings.readQuorum, map.replicationFactor, map.nodes.length);
    return (await this.readQuorum(map, stored, r, call)).newest;
  }

  private async readQuorum(map: PartitionMap, stored: Buffer, r: number, call: ParentCall): Promise<{ newest: Answer; nodes: string[] }> {
    const pid = this.partitions.partitionOf(map, stored);
    const replicas = preferenceList(map, pid);
    const order = this.readOrder(map, pid, replicas);
    const { answers, failures } = await askQuorum(order, r, (id) => (id === this.self ? this.directGet(stored) : this.remoteGet(id, stored, call)), speculativeRead(replicas, this, this.self));
    if (answers.length < r) {
      throw new UnavailableError(`r: ${r} answers needed for partition ${pid} but only ${answers.length} arrived (${answers.map((a) => a.node).join(', ') || 'none'}); ${failures.join('; ') || 'too few nodes are up'}`);
    }
    let newest = answers[0];
    for (const a of answers) if (a.version && (!newest.version || compareVersions(a.version, newest.version) > 0)) newest = a;
    if (!newest.version && !answers.some((a) => replicas.includes(a.node))) {
      // Substitutes answer from their hints: without one, "not found" would only mean no write came while the replicas were down.
      throw new UnavailableError(`r: no replica of partition ${pid} (${replicas.join(', ')}) answered, and the nodes that did (${answers.map((a) => a.node).join(', ')}) hold no hint of the key, ` +
        `so whether it exists is not known; restart one of the replicas (ringdb restart ${replicas[0]}) and retry`);
    }
    if (newest.version) this.repair(stored, newest, answers.filter((a) => replicas.includes(a.node) && a !== newest && (!a.version || compareVersions(a.version, newest.version as Version) < 0)));
    return { newest, nodes: answers.map((a) => a.node) };
  }

  /**
   * Healthy nodes in the order a read asks them: replicas (the balancer's pick first, or else this
   * node when it is one), then substitutes. A replica coordinating a read asks itself first: no
   * hop, and it is surely up; asking the others in map order sent an R=1 read coordinated by a
   * replica to another node, which when hung held it for the speculative wait.
   */
  private readOrder(map: PartitionMap, pid: number, replicas: string[]): string[] {
    const order = readCandidates(map, pid, this.isUp);
    const first = this.settings.loadBalanceReads ? this.balancer.pick(replicas, this.isUp) : replicas.includes(this.self) ? this.self : undefined;
    return first === undefined ? order : [first, ...order.filter((id) => id !== first)];
  }

  private async remoteGet(id: string, stored: Buffer, call: ParentCall): Promise<Answer> {
    const client = this.node.peers.client(id);
    const res = await unary(client, client.get, { key: stored, direct: true }, { token: this.node.peers.callToken, parent: call, timeoutMs: PEER_CALL_MS });
    return { node: id, found: res.found, value: res.value, deleted: res.deleted, version: res.version };
  }

  /** Read repair: the newest version to each stale replica, in the background (the read does not wait). */
  private repair(stored: Buffer, newest: Answer, stale: Answer[]): void {
    const v = newest.version as Version;
    const entry = { key: stored, value: newest.deleted ? EMPTY : newest.value, deleted: newest.deleted, version: v };
    for (const a of stale) {
      this.counters.readRepairs++;
      const done = a.node === this.self
        ? this.node.observed.write([{ key: stored, value: newest.deleted ? null : newest.value, ts: v.ts, origin: v.origin }])
        : unary(this.node.peers.client(a.node), this.node.peers.client(a.node).ingestEntries, { entries: [entry] }, { token: this.node.peers.callToken, timeoutMs: PEER_CALL_MS });
      void Promise.resolve(done).catch((err: unknown) => this.logger.debug(`read repair of ${a.node} failed: ${describeError(err)}`));
    }
  }

  // ---- scans ----------------------------------------------------------------------------

  /** Raw scans (no partition_key) stay local; partition scans are coordinated like reads. */
  async scan(req: ScanRequest, call: ParentCall): Promise<ScanResponse> {
    const limit = checkLimit('limit', req.limit, MAX_SCAN_LIMIT, DEFAULT_SCAN_LIMIT);
    this.node.counters.scans++;
    if (req.partitionKey === undefined) return this.rawScan(req, limit);
    if (req.start.length > 0 || req.end.length > 0) throw new InvalidFieldError('start', 'must be empty when partition_key is set; bound the rows with clustering_start / clustering_end');
    const ref = keyRef({ key: EMPTY, partitionKey: req.partitionKey });
    const range = compositeKeyRange(ref.partitionKey, req.clusteringStart, req.clusteringEnd);
    if (req.clusteringStart !== undefined && req.clusteringEnd !== undefined && Buffer.compare(range.start, range.end) >= 0) {
      throw new InvalidFieldError('clustering_end', 'must sort after clustering_start (the range is [start, end))');
    }
    let from = range.start;
    if (req.continuationToken.length > 0) {
      const t = req.continuationToken;
      if (Buffer.compare(t, range.start) < 0 || Buffer.compare(t, range.end) >= 0) {
        throw new InvalidFieldError('continuation_token', 'does not lie in this partition\'s clustering range; pass the token of a previous scan of the same range');
      }
      from = keyAfter(t);
    }
    const map = this.partitions.map;
    if (req.direct || !map) {
      const page = this.localScan(from, range.end, limit, true);
      return { entries: page.entries, continuationToken: page.more ? page.entries[page.entries.length - 1].key : EMPTY, replicas: map ? [this.self] : [] };
    }
    const n = Math.min(map.replicationFactor, map.nodes.length);
    const r = quorumOverride('r', req.r, this.settings.readQuorum, n);
    const pid = this.partitions.partitionOf(map, ref.stored);
    const replicas = preferenceList(map, pid);
    if (!replicas.includes(this.self) && (!this.settings.enableForwarding || req.forwarded)) throw this.notOwner(map, pid, replicas);
    this.counters.coordinatedReads++;
    this.metrics.record(pid, ref.partitionKey);
    // A hot key's rows are spread over its salted variants (writes pick one, as gets probe all):
    // each variant's range is scanned on R of its replicas too (raw scans: a variant's key may not
    // be asked for by name), renamed to the key itself and merged with the rest, newest first, as
    // one partition's replicas are. Scanning the key alone lost every row written after it was
    // marked hot, and served older versions of rows rewritten since.
    const after = req.continuationToken.length > 0 ? tryDecodeCompositeKey(req.continuationToken)?.clusteringKey : undefined;
    const [own, variants] = await Promise.all([this.scanReplicas(map, pid, r, from, range.end, { ...req, limit, direct: true, includeTombstones: true }, call), Promise.all(readKeysFor(map, ref.partitionKey).filter((pk) => !pk.equals(ref.partitionKey)).map(async (pk) => {
      const variantRange = compositeKeyRange(pk, req.clusteringStart, req.clusteringEnd);
      const variantFrom = after !== undefined ? keyAfter(encodeCompositeKey(pk, after)) : variantRange.start;
      const raw: ScanRequest = { ...req, partitionKey: undefined, clusteringStart: undefined, clusteringEnd: undefined, start: variantFrom, end: variantRange.end, continuationToken: EMPTY, limit, includeTombstones: true, direct: true };
      const pages = await this.scanReplicas(map, this.partitions.partitionOf(map, encodeCompositeKey(pk)), r, variantFrom, variantRange.end, raw, call);
      return pages.map((p) => ({ ...p, entries: p.entries.map((e) => ({ ...e, key: encodeCompositeKey(ref.partitionKey, tryDecodeCompositeKey(e.key)?.clusteringKey) })) }));
    }))]);
    const pages = [...own, ...variants.flat()];
    return { ...mergePages(pages, limit, req.includeTombstones), replicas: [...new Set(pages.map((p) => p.node))] };
  }

  /**
   * One page of [from, end) from R of partition `pid`'s replicas: this node's store, the others
   * with `remote`. Only replicas are asked: a substitute's store holds none of the partition's
   * rows (a write it stands in for is a hint, not a row), so its empty page would pass a
   * partition whose replicas are all down off as empty. A read of one key can still be answered
   * by substitutes (a hint of that key, or UNAVAILABLE without one); a range cannot, since no
   * substitute knows which rows existed before the replicas went down.
   */
  private async scanReplicas(map: PartitionMap, pid: number, r: number, from: Buffer, end: Buffer, remote: ScanRequest, call: ParentCall): Promise<{ node: string; entries: ScanEntry[]; more: boolean }[]> {
    const replicas = preferenceList(map, pid);
    const why = new Map<string, string>();
    const { answers } = await askQuorum(this.readOrder(map, pid, replicas).filter((id) => replicas.includes(id)), r, async (id): Promise<{ node: string; entries: ScanEntry[]; more: boolean }> => {
      try {
        if (id === this.self) return { node: id, ...this.localScan(from, end, remote.limit, true) };
        const client = this.node.peers.client(id);
        const res = await unary(client, client.scan, remote, { token: this.node.peers.callToken, parent: call, timeoutMs: PEER_CALL_MS });
        return { node: id, entries: res.entries, more: res.continuationToken.length > 0 };
      } catch (err) {
        why.set(id, describeError(err));
        throw err;
      }
    });
    if (answers.length < r) {
      const answered = answers.map((a) => a.node);
      const silent = replicas.filter((id) => !answered.includes(id));
      const reasons = silent.map((id) => `${id}: ${why.get(id) ?? 'down'}`).join('; ');
      throw new UnavailableError(`r: a scan of partition ${pid} needs ${r} of its replicas (${replicas.join(', ')}) but only ${answered.length} answered (${answered.join(', ') || 'none'}); ` +
        `no answer from ${reasons}. Other nodes hold none of the partition's rows, so a page without ${r} replicas could miss rows that exist; ` +
        `restart ${silent.join(', ')} (ringdb restart ${silent[0]}) and retry, or scan with a lower r`);
    }
    return answers;
  }

  private localScan(start: Buffer | undefined, end: Buffer | undefined, limit: number, includeTombstones: boolean): { entries: ScanEntry[]; more: boolean } {
    const rows = this.node.store.scan({ start, end, limit: limit + 1, includeTombstones });
    const more = rows.length > limit;
    if (more) rows.length = limit;
    return { entries: rows.map((e) => ({ key: e.key, value: e.value ?? EMPTY, deleted: e.value === null, version: this.versionOf(e) })), more };
  }

  private rawScan(req: ScanRequest, limit: number): ScanResponse {
    const { start, end, continuationToken, includeTombstones } = req;
    if (start.length > 0) checkKey('start', start);
    if (end.length > 0) checkKey('end', end);
    if (start.length > 0 && end.length > 0 && Buffer.compare(start, end) >= 0) {
      throw new InvalidFieldError('end', 'must be greater than start (the range is [start, end))');
    }
    if (req.clusteringStart !== undefined || req.clusteringEnd !== undefined) throw new InvalidFieldError('clustering_start', 'needs partition_key');
    let from = start.length > 0 ? start : undefined;
    if (continuationToken.length > 0) {
      checkKey('continuation_token', continuationToken);
      if (from && Buffer.compare(continuationToken, from) < 0) throw new InvalidFieldError('continuation_token', 'lies before start; pass the token of a previous scan of this range');
      from = keyAfter(continuationToken);
    }
    const page = scanAroundReserved(from, end.length > 0 ? end : undefined, limit, (a, b, n) => this.localScan(a, b, n, includeTombstones));
    return { entries: page.entries, continuationToken: page.more ? page.entries[page.entries.length - 1].key : EMPTY, replicas: [] };
  }
}

/** The first five of `items`, an ellipsis for the rest. */
function listed(items: readonly string[]): string {
  return items.slice(0, 5).join(', ') + (items.length > 5 ? ', …' : '');
}

/**
 * Merges R replicas' pages of one range: newest version per key, in key order. A page cut short
 * by its limit only vouches for keys up to its last one, so the merge stops there.
 */
export function mergePages(pages: { entries: ScanEntry[]; more: boolean }[], limit: number, includeTombstones: boolean): { entries: ScanEntry[]; continuationToken: Buffer } {
  const byKey = new Map<string, ScanEntry>();
  let bound: Buffer | undefined;
  for (const p of pages) {
    if (p.more && p.entries.length > 0) {
      const last = p.entries[p.entries.length - 1].key;
      if (!bound || Buffer.compare(last, bound) < 0) bound = last;
    }
    for (const e of p.entries) {
      const k = e.key.toString('latin1');
      const have = byKey.get(k);
      if (!have || (e.version && (!have.version || compareVersions(e.version, have.version) > 0))) byKey.set(k, e);
    }
  }
  let merged = [...byKey.values()].sort((a, b) => Buffer.compare(a.key, b.key));
  if (bound) merged = merged.filter((e) => Buffer.compare(e.key, bound as Buffer) <= 0);
  const more = merged.length > limit || bound !== undefined;
  if (merged.length > limit) merged.length = limit;
  const token = more && merged.length > 0 ? merged[merged.length - 1].key : EMPTY;
  return { entries: includeTombstones ? merged : merged.filter((e) => !e.deleted), continuationToken: token };
}
