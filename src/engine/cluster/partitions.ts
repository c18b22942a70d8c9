// The authoritative partition map and the topology operations on it. The map itself is computed
// by the pure functions of ../partitioning; this module decides when a change may happen, streams
// the data a change needs, flips the map (version + 1) on every node, and reports it all as events.
//
// A change that moves data runs in three steps, so that no write is lost while it runs:
//   1. copy   every range a node gains, from every up node that held it (all old replicas, since a
//             write acknowledged by W < N replicas may be missing from any one of them);
//   2. flip   install the new map here and on every up node: from now on writes go to the new
//             replicas;
//   3. catch up  copy the same ranges again: writes that reached the old replicas between 1 and 2.
//   4. drop   once every up node took the new map, each node that stopped replicating a range
//             purges it (DropRanges: no tombstones, nothing replicated); the node checks the map
//             version and keeps any key it still replicates.
// A node that was down during step 4 still holds what it released, and its answers (a local
// secondary index, an export) would go on showing values the writes no longer reach. When it is
// back and took the current map, dropStale hands everything it holds outside its partitions to
// those partitions' replicas (a write acknowledged by that node alone while the others were away
// must not vanish with the drop), then drops it.
// Copies keep the original versions and are idempotent (LWW), so repeating a range is harmless.
// A writer that raced the flip on an old replica sends its write to the new replicas itself
// (coordinator.ts), so dropping after the catch-up loses nothing that was acknowledged.

import { status } from '@grpc/grpc-js';
import { keyInMessage } from '../codec/bytes-text';
import type * as ctl from '../gen/ringdb/v1/control';
import {
  addNode, createPartitionMap, type HotKey, InvalidArgumentError, InvalidSettingError, type KeyRange, markHotKey, mergePartitions,
  PartitionMap, planTransfers, preferenceList, type QuorumSettings, rebalance, removeNode, resolveQuorum, saltVariants, splitHotPartitions,
  splitPartition, type TopologyChange, where, type DataRelease,
} from '../partitioning/index';
import { NotFoundError, PreconditionError, RpcError, UnavailableError } from '../rpc/errors';
import type { ClusterSpec } from '../spec/types';
import type { EventHub } from './events';
import { mapInfo, type RoutingFlags } from './map-info';

/** Keys sampled from a partition's owner to find a split's median. */
const SPLIT_SAMPLE = 2000;

export interface NodeHotspots {
  /** Operations per partition id since the node's last reset. */
  partitions: ReadonlyMap<number, number>;
  keys: readonly HotKey[];
}

/** What the manager needs from the nodes; the cluster implements it over NodeService. */
export interface PartitionNodes {
  /** Nodes that are up now, in join order. */
  upNodeIds(): string[];
  /** Sends `map` to each node; resolves with one "<id>: <problem>" per node that did not take it. */
  pushMap(map: PartitionMap, nodeIds: readonly string[]): Promise<string[]>;
  /** Copies every entry `from` holds in `ranges` (positions) to `to`, original versions kept, in one stream; returns the count. */
  copyRanges(from: string, to: string, ranges: readonly KeyRange[]): Promise<number>;
  /** Up to `limit` distinct partition keys `node` holds in `range`. */
  samplePartitionKeys(node: string, range: KeyRange, map: PartitionMap, limit: number): Promise<Buffer[]>;
  hotspots(node: string): Promise<NodeHotspots>;
  resetMetrics(node: string): Promise<void>;
  /**
   * Copies every entry `from` holds in `ranges` to each replica of the entry's partition under
   * `map` (original versions, LWW), in one stream; returns the entries the replicas applied.
   */
  handOver(from: string, map: PartitionMap, ranges: readonly KeyRange[]): Promise<number>;
  /** Purges `ranges` from `node`, which no longer replicates them under map `mapVersion`; returns the keys dropped. */
  dropRanges(node: string, mapVersion: number, ranges: readonly KeyRange[]): Promise<number>;
  /** Copies the newest row of partition key `key` (no clustering key) to each of `variants`; returns how many got it. */
  copyRow(map: PartitionMap, key: Buffer, variants: readonly Buffer[]): Promise<number>;
}

export interface MoveSummary {
  movedPartitions: number;
  transfers: number;
  entries: number;
}

const NO_MOVES: MoveSummary = { movedPartitions: 0, transfers: 0, entries: 0 };

/** A partitioning error as the status a client receives: the field it names leads the message. */
function asRpcError(err: unknown): unknown {
  if (err instanceof InvalidArgumentError || err instanceof InvalidSettingError) return new RpcError(status.INVALID_ARGUMENT, err.message);
  return err;
}

export class PartitionManager {
  private map: PartitionMap | undefined;
  private quorum: QuorumSettings = { replicationFactor: 1, writeQuorum: 1, readQuorum: 1 };
  private flags: RoutingFlags = { enableForwarding: true, loadBalanceReads: false };
  private ops: ReadonlyMap<number, number> = new Map();

  constructor(
    private readonly hub: EventHub,
    private readonly nodes: PartitionNodes,
  ) {}

  /**
   * Checks the spec's placement settings and builds version 1 of the map, before anything is
   * started: a bad setting is an INVALID_ARGUMENT naming it (`spec_json: writeQuorum: ...`).
   */
  static plan(spec: ClusterSpec, nodeIds: readonly string[]): { map: PartitionMap; quorum: QuorumSettings } {
    try {
      const quorum = resolveQuorum(spec, nodeIds.length);
      return { map: createPartitionMap(spec, nodeIds), quorum };
    } catch (err) {
      if (err instanceof InvalidSettingError) throw new RpcError(status.INVALID_ARGUMENT, `spec_json: invalid cluster spec: ${err.message}`);
      throw err;
    }
  }

  /**
   * A cluster started again in a data folder whose nodes kept a map: the newest kept map goes on
   * when it places keys over the same nodes the same way (its data is where it says), else the
   * spec's map replaces it with a higher version, since nodes only accept newer maps.
   */
  static resume(planned: PartitionMap, stored: readonly PartitionMap[]): PartitionMap {
    const newest = stored.reduce<PartitionMap | undefined>((a, b) => (b.isNewerThan(a) ? b : a), undefined);
    if (!newest) return planned;
    const sameNodes = newest.nodes.length === planned.nodes.length && newest.nodes.every((n) => planned.nodes.includes(n));
    if (sameNodes && newest.strategy === planned.strategy && newest.replicationFactor === planned.replicationFactor) return newest;
    return PartitionMap.of({ ...planned.fields(), version: newest.version + 1 });
  }

  /** Makes `map` the authoritative map (a new cluster); nodes get it with `propagate`. */
  install(map: PartitionMap, quorum: QuorumSettings, spec: ClusterSpec): void {
    this.map = map;
    this.quorum = quorum;
    this.flags = { enableForwarding: spec.enableForwarding, loadBalanceReads: spec.loadBalanceReads };
    this.ops = new Map();
    this.publish(`created: ${map.partitions.length} ${map.strategy} partitions over ${map.nodes.length} nodes`);
  }

  get quorumSettings(): QuorumSettings {
    return this.quorum;
  }

  get routing(): RoutingFlags {
    return this.flags;
  }

  /** The current map; FAILED_PRECONDITION before a cluster started. */
  current(what = 'this operation'): PartitionMap {
    if (!this.map) throw new PreconditionError(`${what} needs a running cluster with a partition map; start one first (StartCluster)`);
    return this.map;
  }

  info(): ctl.PartitionMapInfo | undefined {
    return this.map ? mapInfo(this.map, this.quorum, this.flags, this.ops) : undefined;
  }

  private publish(reason: string): void {
    const map = this.info();
    if (map) this.hub.publish({ $case: 'partitionMap', value: { map, reason } });
  }

  private progress(operation: string, stage: string, done: number, total: number, entries: number, detail = ''): void {
    this.hub.publish({ $case: 'topologyProgress', value: { operation, stage, done, total, entries, detail } });
  }

  /** Sends the current map to some nodes (a started or restarted node); UNAVAILABLE names the ones that failed. */
  async propagate(nodeIds: readonly string[]): Promise<void> {
    const failures = await this.nodes.pushMap(this.current('UpdatePartitionMap'), nodeIds);
    if (failures.length) throw new UnavailableError(`could not send partition map version ${this.current().version} to ${failures.join('; ')}`);
  }

  /**
   * After `nodeIds` took the current map (a start, a restart): each drops what it holds of
   * partitions it does not replicate, once that data is on their replicas. A partition with a
   * replica that is not up is kept, as is everything of a node whose hand-over failed: left
   * behind, never lost. Reported as progress events; never throws.
   */
  async dropStale(nodeIds: readonly string[]): Promise<void> {
    const map = this.current('DropStale');
    const up = new Set(this.nodes.upNodeIds());
    await Promise.all(nodeIds.filter((id) => up.has(id) && map.nodes.includes(id)).map(async (id) => {
      const ranges: KeyRange[] = [];
      let kept = 0;
      for (const p of map.partitions) {
        const replicas = preferenceList(map, p.id);
        if (replicas.includes(id)) continue;
        if (replicas.every((r) => up.has(r))) ranges.push({ start: p.start, end: p.end });
        else kept++;
      }
      if (ranges.length === 0) return;
      const keptNote = kept ? `; ${kept} partitions with a replica down kept` : '';
      try {
        const copied = await this.nodes.handOver(id, map, ranges);
        const dropped = await this.nodes.dropRanges(id, map.version, ranges);
        if (copied > 0 || dropped > 0) {
          this.progress('drop-stale', 'done', 1, 1, dropped, `${id} dropped ${dropped} keys of partitions it no longer replicates (map version ${map.version}) after handing over ${copied} entries the replicas lacked${keptNote}`);
        }
      } catch (err) {
        this.progress('drop-stale', 'failed', 0, 1, 0, `${id} keeps the partitions it no longer replicates: ${(err as Error).message}`);
      }
    }));
  }

  whereIs(partitionKey: Buffer): ctl.WhereIsResponse {
    const map = this.current('WhereIs');
    if (partitionKey.length === 0) throw new RpcError(status.INVALID_ARGUMENT, 'partition_key: must not be empty');
    const w = where(map, partitionKey);
    return {
      partitionId: w.partition,
      range: w.range,
      positionHex: w.position,
      replicas: [...w.replicas],
      saltBuckets: w.saltBuckets,
      readKeys: w.readKeys.map((k) => Buffer.from(k)),
      variantPartitionIds: w.readKeys.slice(1).map((k) => map.locate(k).id),
      mapVersion: map.version,
      startHex: w.startHex,
      endHex: w.endHex ?? '',
      endIsOpen: w.endHex === null,
    };
  }

  private requirePartition(map: PartitionMap, pid: number, argument: string): void {
    if (map.indexOf(pid) < 0) {
      const ids = map.partitions.map((p) => p.id).sort((a, b) => a - b);
      const list = ids.length <= 12 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')}, … (${ids.length} in all)`;
      throw new NotFoundError(`${argument}: no partition ${pid} in map version ${map.version}; partitions are ${list}`);
    }
  }

  async split(pid: number, splitKey: Buffer | undefined): Promise<{ newPid: number }> {
    const map = this.current('SplitPartition');
    this.requirePartition(map, pid, 'pid');
    if (splitKey !== undefined && splitKey.length === 0) throw new RpcError(status.INVALID_ARGUMENT, 'split_key: must not be empty when given; leave it unset for the median');
    const p = map.partition(pid);
    let sampleKeys: Buffer[] = [];
    if (splitKey === undefined && this.nodes.upNodeIds().includes(p.owner)) {
      sampleKeys = await this.nodes.samplePartitionKeys(p.owner, { start: p.start, end: p.end }, map, SPLIT_SAMPLE);
    }
    let change: TopologyChange;
    try {
      change = splitPartition(map, pid, splitKey === undefined ? { sampleKeys } : { splitKey });
    } catch (err) {
      throw asRpcError(err);
    }
    const newPid = map.nextId;
    const upper = change.map.partition(newPid);
    await this.apply('split', change, `split ${map.describe(p)}: the upper half is ${change.map.describe(upper)}`);
    return { newPid };
  }

  async merge(pid1: number, pid2: number): Promise<{ pid: number; moves: MoveSummary }> {
    const map = this.current('MergePartitions');
    this.requirePartition(map, pid1, 'pid1');
    this.requirePartition(map, pid2, 'pid2');
    if (pid1 === pid2) throw new RpcError(status.INVALID_ARGUMENT, `pid2: cannot merge partition ${pid1} with itself`);
    if (Math.abs(map.indexOf(pid1) - map.indexOf(pid2)) !== 1) {
      const i = map.indexOf(pid1);
      const neighbours = [map.partitions[i - 1]?.id, map.partitions[i + 1]?.id].filter((id) => id !== undefined);
      throw new PreconditionError(`pid2: partition ${pid2} is not adjacent to partition ${pid1}; only neighbouring ranges merge (partition ${pid1}'s neighbours: ${neighbours.join(' and ')})`);
    }
    let change: TopologyChange;
    try {
      change = mergePartitions(map, pid1, pid2);
    } catch (err) {
      throw asRpcError(err);
    }
    const pid = Math.min(map.indexOf(pid1), map.indexOf(pid2)) === map.indexOf(pid1) ? pid1 : pid2;
    const moves = await this.apply('merge', change, `merged partitions ${pid1} and ${pid2} into ${pid}`);
    return { pid, moves };
  }

  rebalance(): Promise<MoveSummary> {
    const map = this.current('Rebalance');
    const change = rebalance(map);
    const counts = [...change.map.ownershipCounts()].map(([n, c]) => `${n}:${c}`).join(' ');
    return this.apply('rebalance', change, `rebalanced (${counts})`);
  }

  /** A node joined: it gets the current map, then the partitions its tokens (or its share) claim. */
  async addNode(id: string): Promise<MoveSummary> {
    const map = this.current('AddNode');
    await this.propagate([id]);
    let change: TopologyChange;
    try {
      change = addNode(map, id);
    } catch (err) {
      throw asRpcError(err);
    }
    return this.apply('add-node', change, `${id} joined and took ${change.moves.length} partitions`);
  }

  /** A node leaves: everything it holds moves to the remaining replicas before it is stopped. */
  removeNode(id: string): Promise<MoveSummary> {
    const map = this.current('RemoveNode');
    // A node whose AddNode failed to move its partitions is a member owning nothing: nothing to hand over.
    if (!map.nodes.includes(id)) return Promise.resolve(NO_MOVES);
    let change: TopologyChange;
    try {
      change = removeNode(map, id);
    } catch (err) {
      throw asRpcError(err);
    }
    return this.apply('remove-node', change, `${id} left; its ${change.moves.length} partitions moved`);
  }

  async markHotKey(key: Buffer, buckets: number, migrate: boolean): Promise<{ migrated: number }> {
    const map = this.current('MarkHotKey');
    let next: PartitionMap;
    try {
      next = markHotKey(map, key, buckets);
    } catch (err) {
      throw asRpcError(err);
    }
    await this.apply('mark-hot-key', { map: next, moves: [] }, `salted key ${keyInMessage(key)} over ${buckets} buckets`);
    const migrated = migrate ? await this.nodes.copyRow(next, key, saltVariants(key, buckets)) : 0;
    return { migrated };
  }

  private async gatherHotspots(): Promise<{ partitions: Map<number, number>; keys: Map<string, HotKey> }> {
    const partitions = new Map<number, number>();
    const keys = new Map<string, HotKey>();
    const all = await Promise.allSettled(this.nodes.upNodeIds().map((id) => this.nodes.hotspots(id)));
    for (const r of all) {
      if (r.status !== 'fulfilled') continue;
      for (const [pid, ops] of r.value.partitions) partitions.set(pid, (partitions.get(pid) ?? 0) + ops);
      for (const k of r.value.keys) {
        const id = k.key.toString('hex');
        const prev = keys.get(id);
        keys.set(id, prev ? { key: k.key, count: prev.count + k.count, error: prev.error + k.error } : k);
      }
    }
    return { partitions, keys };
  }

  /** Operations per partition summed over the up nodes; also refreshes the `ops` column of the map. */
  async hotPartitions(threshold: number): Promise<{ partitions: ctl.HotPartition[]; totalOps: number }> {
    const map = this.current('GetHotPartitions');
    const { partitions } = await this.gatherHotspots();
    this.ops = partitions;
    const totalOps = [...partitions.values()].reduce((a, b) => a + b, 0);
    const hot = [...partitions]
      .filter(([pid, ops]) => ops > threshold && map.indexOf(pid) >= 0)
      .sort(([pa, a], [pb, b]) => b - a || pa - pb)
      .map(([pid, ops]) => ({ pid, ops, owner: map.partition(pid).owner }));
    return { partitions: hot, totalOps };
  }

  async hotKeys(limit: number): Promise<HotKey[]> {
    this.current('GetHotKeys');
    const { keys } = await this.gatherHotspots();
    return [...keys.values()].sort((a, b) => b.count - a.count || Buffer.compare(a.key, b.key)).slice(0, limit);
  }

  async resetMetrics(): Promise<void> {
    this.current('ResetMetrics');
    const failures: string[] = [];
    await Promise.all(this.nodes.upNodeIds().map(async (id) => {
      try {
        await this.nodes.resetMetrics(id);
      } catch (err) {
        failures.push(`${id}: ${(err as Error).message}`);
      }
    }));
    this.ops = new Map();
    this.publish('metrics reset');
    if (failures.length) throw new UnavailableError(`could not reset the metrics of ${failures.join('; ')}`);
  }

  async checkHotPartitions(threshold: number): Promise<{ split: number[]; skipped: { pid: number; reason: string; ownerDown?: string }[] }> {
    const map = this.current('CheckHotPartitions');
    const { partitions: hot } = await this.hotPartitions(threshold);
    const samples = new Map<number, Buffer[]>();
    /** Hot partitions whose owner, the node split keys are sampled from, is not up. */
    const unsampled = new Map<number, string>();
    for (const h of hot) {
      const p = map.partition(h.pid);
      if (this.nodes.upNodeIds().includes(p.owner)) {
        samples.set(h.pid, await this.nodes.samplePartitionKeys(p.owner, { start: p.start, end: p.end }, map, SPLIT_SAMPLE));
      } else {
        unsampled.set(h.pid, p.owner);
      }
    }
    const result = splitHotPartitions(map, hot.map((h) => ({ partition: h.pid })), (pid) => samples.get(pid) ?? []);
    if (result.split.length) await this.apply('check-hot-partitions', result, `split hot partitions ${result.split.join(', ')} (more than ${threshold} ops)`);
    // A split that needed sample keys (a range map) failed for want of them; the splitter's
    // "fewer than 2 distinct sample keys" would hide that the owner could not be asked.
    const skipped = result.skipped.map((s) => {
      const owner = unsampled.get(s.partition);
      return owner === undefined ? { pid: s.partition, reason: s.reason }
        : { pid: s.partition, reason: `its owner ${owner} is down, so no key could be sampled from it to split at`, ownerDown: owner };
    });
    return { split: [...result.split], skipped };
  }

  /** Copy, flip, catch up (see the top of this file). The map is unchanged if the copy fails. */
  private async apply(operation: string, change: TopologyChange, reason: string): Promise<MoveSummary> {
    const before = this.current();
    const after = change.map;
    if (after === before) {
      this.progress(operation, 'done', 0, 0, 0, 'nothing to change');
      return NO_MOVES;
    }
    const plan = planTransfers(before, after);
    const up = new Set(this.nodes.upNodeIds());
    for (const t of plan.transfers) {
      if (!up.has(t.to)) throw new UnavailableError(`${operation}: node ${t.to} must receive partition ${t.partition} but is not up; the map is unchanged`);
      if (!t.sources.some((s) => up.has(s) && s !== t.to)) {
        throw new UnavailableError(`${operation}: no node holding partition ${t.partition} (${t.sources.join(', ')}) is up to copy it from; the map is unchanged`);
      }
    }
    // One stream per (source, target) pair carrying all of the target's ranges that the source held:
    // a handful of streams instead of one per range and source.
    const streams = new Map<string, { from: string; to: string; ranges: KeyRange[] }>();
    for (const t of plan.transfers) {
      for (const from of t.sources.filter((s) => up.has(s) && s !== t.to)) {
        const id = `${from}>${t.to}`;
        const stream = streams.get(id) ?? { from, to: t.to, ranges: [] };
        stream.ranges.push(t.range);
        streams.set(id, stream);
      }
    }
    let entries = 0;
    const copyAll = async (stage: string): Promise<void> => {
      let done = 0;
      this.progress(operation, stage, done, streams.size, entries);
      for (const { from, to, ranges } of streams.values()) {
        entries += await this.nodes.copyRanges(from, to, ranges);
        this.progress(operation, stage, ++done, streams.size, entries, `${ranges.length} ranges ${from} -> ${to}`);
      }
    };
    try {
      await copyAll('copying');
    } catch (err) {
      this.progress(operation, 'failed', 0, streams.size, entries, (err as Error).message);
      throw new UnavailableError(`${operation}: copying data failed, the map is unchanged (version ${before.version}): ${(err as Error).message}`);
    }
    this.map = after;
    this.progress(operation, 'switching', streams.size, streams.size, entries, `map version ${after.version}`);
    const failures = await this.nodes.pushMap(after, [...up]);
    this.publish(reason);
    await copyAll('catching-up');
    // A node still on the old map may yet route writes to an old replica: then nothing is dropped.
    const dropped = failures.length === 0 ? await this.drop(operation, after, plan.releases, up) : 'kept on the old replicas';
    const detail = failures.length ? `map version ${after.version}; not yet on ${failures.join('; ')} (sent again when they restart); moved ranges ${dropped}` : `map version ${after.version}; moved ranges ${dropped}`;
    this.progress(operation, 'done', streams.size, streams.size, entries, detail);
    return { movedPartitions: change.moves.length, transfers: plan.transfers.length, entries };
  }

  /** Step 4 of a move: each up node of the new map purges the ranges it released. Failures leave data behind, never lose it. */
  private async drop(operation: string, after: PartitionMap, releases: readonly DataRelease[], up: ReadonlySet<string>): Promise<string> {
    const byNode = new Map<string, KeyRange[]>();
    for (const r of releases) {
      if (!up.has(r.node) || !after.nodes.includes(r.node)) continue;
      byNode.set(r.node, [...(byNode.get(r.node) ?? []), r.range]);
    }
    let keys = 0;
    const problems: string[] = [];
    let done = 0;
    for (const [node, ranges] of byNode) {
      try {
        keys += await this.nodes.dropRanges(node, after.version, ranges);
      } catch (err) {
        problems.push(`${node}: ${(err as Error).message}`);
      }
      this.progress(operation, 'dropping', ++done, byNode.size, keys, `${ranges.length} ranges on ${node}`);
    }
    return `dropped from ${byNode.size - problems.length} old replicas (${keys} keys)${problems.length ? `; kept on ${problems.join('; ')}` : ''}`;
  }
}
