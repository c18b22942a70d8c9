// Typed access to a controller's ControlService: one method per RPC, plain types in and out,
// RingDbError on failure. Connect with an address and token, or through a data folder's state file.

import type { ClientReadableStream } from '@grpc/grpc-js';
import * as ctl from '../gen/ringdb/v1/control';
import { clientArgs, openStream, unary, type StreamMethod, type UnaryMethod } from '../rpc/client';
import type { ClusterSpec } from '../spec/types';
import { clusterFromProto, eventFromProto, nodeFromProto, snapshotFromProto, sstable } from './convert';
import { fromGrpcError, RingDbError } from './errors';
import { NodeClient } from './node-client';
import { findController } from './state-file';
import { EventStream } from './stream';
import { hotKeyFromProto, locationFromProto, mapInfoFromProto, movesFromProto } from './partition-convert';
import type {
  CallOptions, CheckHotResult, ClusterDescription, ClusterEvent, HotKeyInfo, HotPartitionInfo, KeyLocation, MergeResult, MoveSummary,
  NodeInfo, PartitionMapInfo, RestartedNode, RebalanceResult, RemoveNodeResult, SplitResult, StartedCluster, FlushedSnapshot, StoreSnapshot,
} from './types';

/** Starting nodes, handing data over and stopping can take a while; everything else is quick. */
const SLOW_CALL_MS = 120_000;
const QUICK_CALL_MS = 15_000;

export interface ControllerAddress {
  /** host:port */
  address: string;
  token: string;
}

export class ControllerClient {
  private readonly client: ctl.ControlServiceClient;

  constructor(readonly target: ControllerAddress) {
    this.client = new ctl.ControlServiceClient(...clientArgs(target.address));
  }

  /** Connects to the controller that serves `dataDir` (found through its state file and token). */
  static fromDataDir(dataDir: string): ControllerClient {
    const { state, token } = findController(dataDir);
    return new ControllerClient({ address: state.address, token });
  }

  get address(): string {
    return this.target.address;
  }

  private async call<Req, Res>(name: string, method: UnaryMethod<Req, Res>, req: Req, timeoutMs: number): Promise<Res> {
    try {
      return await unary(this.client, method, req, { token: this.target.token, timeoutMs });
    } catch (err) {
      throw fromGrpcError(err, `${name} on the controller at ${this.target.address}`);
    }
  }

  private stream<Req, Res, T>(name: string, method: StreamMethod<Req, Res>, req: Req, expand: (r: Res) => readonly T[]): EventStream<T> {
    const call = openStream(this.client, method, req, { token: this.target.token }) as ClientReadableStream<unknown>;
    return new EventStream<T>(call, expand as (m: never) => readonly T[], `${name} on the controller at ${this.target.address}`);
  }

  /**
   * Starts the cluster of `spec` (an object or JSON-with-comments text) and waits until every node
   * it starts answers. `resume`: bringing the cluster back after its controller crashed, so nodes
   * taken down on purpose (KillNode) stay down; without it every member starts.
   */
  async startCluster(spec: Partial<ClusterSpec> | string, opts: CallOptions & { resume?: boolean } = {}): Promise<StartedCluster> {
    const specJson = typeof spec === 'string' ? spec : JSON.stringify(spec);
    const res = await this.call('StartCluster', this.client.startCluster, { specJson, resume: opts.resume ?? false }, opts.timeoutMs ?? SLOW_CALL_MS);
    return { ...clusterFromProto(res.cluster), note: res.note };
  }

  /** Stops every node; resolves with the ids that were running. */
  async stopCluster(opts: CallOptions = {}): Promise<string[]> {
    const res = await this.call('StopCluster', this.client.stopCluster, {}, opts.timeoutMs ?? SLOW_CALL_MS);
    return res.stoppedNodeIds;
  }

  async addNode(opts: CallOptions = {}): Promise<NodeInfo> {
    const res = await this.call('AddNode', this.client.addNode, {}, opts.timeoutMs ?? SLOW_CALL_MS);
    return nodeFromProto(required(res.node, 'AddNode'));
  }

  /** `dead`: a node that is down for good; its partitions are rebuilt from their other replicas. */
  async removeNode(nodeId: string, opts: CallOptions & { dead?: boolean } = {}): Promise<RemoveNodeResult> {
    const res = await this.call('RemoveNode', this.client.removeNode, { nodeId, dead: opts.dead ?? false }, opts.timeoutMs ?? SLOW_CALL_MS);
    return { nodeId: res.nodeId, handedOverOps: res.handedOverOps, moves: movesFromProto(res.moves) };
  }

  async killNode(nodeId: string, opts: CallOptions = {}): Promise<NodeInfo> {
    const res = await this.call('KillNode', this.client.killNode, { nodeId }, opts.timeoutMs ?? QUICK_CALL_MS);
    return nodeFromProto(required(res.node, 'KillNode'));
  }

  /** The restarted node; `warning` is set (not thrown) when a peer missed its membership update. */
  async restartNode(nodeId: string, opts: CallOptions = {}): Promise<RestartedNode> {
    const res = await this.call('RestartNode', this.client.restartNode, { nodeId }, opts.timeoutMs ?? SLOW_CALL_MS);
    return { ...nodeFromProto(required(res.node, 'RestartNode')), ...(res.warning ? { warning: res.warning } : {}) };
  }

  async compactNode(nodeId: string, opts: CallOptions = {}): Promise<StoreSnapshot> {
    const res = await this.call('CompactNode', this.client.compactNode, { nodeId }, opts.timeoutMs ?? SLOW_CALL_MS);
    return snapshotFromProto(res.snapshot);
  }

  /** The node's store after the flush, and the tables the flush wrote (`written`). */
  async flushNode(nodeId: string, opts: CallOptions = {}): Promise<FlushedSnapshot> {
    const res = await this.call('FlushNode', this.client.flushNode, { nodeId }, opts.timeoutMs ?? SLOW_CALL_MS);
    return { ...snapshotFromProto(res.snapshot), written: res.written.map(sstable) };
  }

  async describe(opts: CallOptions = {}): Promise<ClusterDescription> {
    const res = await this.call('Describe', this.client.describe, {}, opts.timeoutMs ?? QUICK_CALL_MS);
    return clusterFromProto(res.cluster);
  }

  /** The last `tailLines` lines (default 100) of a node's log. */
  async nodeLogs(nodeId: string, tailLines = 100): Promise<string[]> {
    const lines: string[] = [];
    for await (const line of this.followNodeLogs(nodeId, tailLines, false)) lines.push(line);
    return lines;
  }

  /** A node's log lines: the last `tailLines`, then (with `follow`) every new line until closed. */
  followNodeLogs(nodeId: string, tailLines = 100, follow = true): EventStream<string> {
    return this.stream('NodeLogs', this.client.nodeLogs, { nodeId, tailLines, follow }, (r: ctl.NodeLogsResponse) => r.lines);
  }

  /** Cluster events, starting with a snapshot. Close the stream when done with it. */
  watch(): EventStream<ClusterEvent> {
    return this.stream('Watch', this.client.watch, {}, (r: ctl.WatchResponse) => {
      const event = eventFromProto(r);
      return event ? [event] : [];
    });
  }

  // ---------------------------------------------------------------- partitioning

  /** The authoritative partition map (also in `describe().partitionMap` and every `partitionMap` event). */
  async getPartitionMap(opts: CallOptions = {}): Promise<PartitionMapInfo> {
    const res = await this.call('GetPartitionMap', this.client.getPartitionMap, {}, opts.timeoutMs ?? QUICK_CALL_MS);
    return mapInfoFromProto(required(res.map, 'GetPartitionMap'));
  }

  /** Where a partition key lives: partition, replicas (owner first) and salted variants. */
  async whereIs(partitionKey: string | Uint8Array, opts: CallOptions = {}): Promise<KeyLocation> {
    const res = await this.call('WhereIs', this.client.whereIs, { partitionKey: toBytes(partitionKey) }, opts.timeoutMs ?? QUICK_CALL_MS);
    return locationFromProto(res);
  }

  /** Splits partition `pid` at `splitKey` (a partition key), or at the median of the owner's keys when omitted. */
  async splitPartition(pid: number, splitKey?: string | Uint8Array, opts: CallOptions = {}): Promise<SplitResult> {
    const req = { pid: uint32('pid', pid), splitKey: splitKey === undefined ? undefined : toBytes(splitKey) };
    const res = await this.call('SplitPartition', this.client.splitPartition, req, opts.timeoutMs ?? SLOW_CALL_MS);
    return { map: mapInfoFromProto(required(res.map, 'SplitPartition')), newPid: res.newPid };
  }

  /** Merges two adjacent partitions (the lower one's id survives); data moves if their owners differ. */
  async mergePartitions(pid1: number, pid2: number, opts: CallOptions = {}): Promise<MergeResult> {
    const res = await this.call('MergePartitions', this.client.mergePartitions, { pid1: uint32('pid1', pid1), pid2: uint32('pid2', pid2) }, opts.timeoutMs ?? SLOW_CALL_MS);
    return { map: mapInfoFromProto(required(res.map, 'MergePartitions')), pid: res.pid, moves: movesFromProto(res.moves) };
  }

  /** Spreads partitions so owned counts differ by at most one, streaming the data that moves. */
  async rebalance(opts: CallOptions = {}): Promise<RebalanceResult> {
    const res = await this.call('Rebalance', this.client.rebalance, {}, opts.timeoutMs ?? SLOW_CALL_MS);
    return { map: mapInfoFromProto(required(res.map, 'Rebalance')), moves: movesFromProto(res.moves) };
  }

  /** Like addNode, with the partitions the new node took and the data that moved. */
  async addNodeWithMoves(opts: CallOptions = {}): Promise<{ node: NodeInfo; moves: MoveSummary; map: PartitionMapInfo | undefined }> {
    const res = await this.call('AddNode', this.client.addNode, {}, opts.timeoutMs ?? SLOW_CALL_MS);
    return { node: nodeFromProto(required(res.node, 'AddNode')), moves: movesFromProto(res.moves), map: res.map ? mapInfoFromProto(res.map) : undefined };
  }

  /** Spreads new writes of `key` over `buckets` salted variants (2..1024); `migrate` copies its current value to each. */
  async markHotKey(key: string | Uint8Array, buckets = 4, migrate = false, opts: CallOptions = {}): Promise<{ map: PartitionMapInfo; migrated: number }> {
    const res = await this.call('MarkHotKey', this.client.markHotKey, { key: toBytes(key), buckets: uint32('buckets', buckets), migrate }, opts.timeoutMs ?? SLOW_CALL_MS);
    return { map: mapInfoFromProto(required(res.map, 'MarkHotKey')), migrated: res.migrated };
  }

  /** Partitions with more than `threshold` operations since the last reset, busiest first. */
  async getHotPartitions(threshold = 0, opts: CallOptions = {}): Promise<{ partitions: HotPartitionInfo[]; totalOps: number }> {
    const res = await this.call('GetHotPartitions', this.client.getHotPartitions, { threshold: uint('threshold', threshold) }, opts.timeoutMs ?? QUICK_CALL_MS);
    return { partitions: res.partitions.map((p) => ({ pid: p.pid, ops: p.ops, owner: p.owner })), totalOps: res.totalOps };
  }

  /** The most frequent partition keys (approximate: see HotKeyInfo.error); `limit` 1..1000, default 10. */
  async getHotKeys(limit = 10, opts: CallOptions = {}): Promise<HotKeyInfo[]> {
    const res = await this.call('GetHotKeys', this.client.getHotKeys, { limit: uint32('limit', limit) }, opts.timeoutMs ?? QUICK_CALL_MS);
    return res.keys.map(hotKeyFromProto);
  }

  async resetMetrics(opts: CallOptions = {}): Promise<void> {
    await this.call('ResetMetrics', this.client.resetMetrics, {}, opts.timeoutMs ?? QUICK_CALL_MS);
  }

  /** Splits every partition with more than `threshold` (>= 1) operations since the last reset. */
  async checkHotPartitions(threshold: number, opts: CallOptions = {}): Promise<CheckHotResult> {
    const res = await this.call('CheckHotPartitions', this.client.checkHotPartitions, { threshold: uint('threshold', threshold) }, opts.timeoutMs ?? SLOW_CALL_MS);
    return { split: [...res.split], skipped: res.skipped.map((s) => ({ pid: s.pid, reason: s.reason, ...(s.ownerDown !== undefined ? { ownerDown: s.ownerDown } : {}) })), map: mapInfoFromProto(required(res.map, 'CheckHotPartitions')) };
  }

  /** One member of this cluster as Describe reports it; NOT_FOUND naming the members when there is none. */
  async member(nodeId: string): Promise<NodeInfo> {
    const cluster = await this.describe();
    const node = cluster.nodes.find((n) => n.id === nodeId);
    if (!node) throw new RingDbError('not-found', `no node "${nodeId}" in this cluster; nodes are ${cluster.nodes.map((n) => n.id).join(', ') || 'none'}`);
    return node;
  }

  /**
   * A member that a request can be sent to; UNAVAILABLE when it is down or stopped, with how it
   * went down and the way back. Shared by every path that sends to a node a person named.
   */
  async reachableMember(nodeId: string): Promise<NodeInfo> {
    const node = await this.member(nodeId);
    if (!node.address || node.state === 'stopped' || node.state === 'down') {
      // The reason says how it went down (a crash, a kill), which "restart it first" alone hid; a
      // node down on purpose has the way back in its reason already.
      const why = node.reason ? `: ${node.reason}` : '';
      const next = node.downOnPurpose ? '' : `; restart it first (\`ringdb restart ${nodeId}\`, or RingDB: Restart Node)`;
      throw new RingDbError('unavailable', `node ${nodeId} is ${node.state}${why}${next}`);
    }
    return node;
  }

  /** A data-plane client for one node of this cluster (its address comes from Describe). */
  async nodeClient(nodeId: string): Promise<NodeClient> {
    const { address } = await this.reachableMember(nodeId);
    return new NodeClient({ address, token: this.target.token, nodeId });
  }

  close(): void {
    this.client.close();
  }
}

function toBytes(v: string | Uint8Array): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
}

function uint(field: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new RingDbError('invalid-argument', `${field}: must be a non-negative integer, got ${v}`);
  return v;
}

function uint32(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RingDbError('invalid-argument', `${field}: must be an integer from 0 to ${0xffffffff}, got ${v}`);
  return v;
}

function required<T>(v: T | undefined, call: string): T {
  if (v === undefined) throw new RingDbError('internal', `${call}: the controller sent an empty answer`);
  return v;
}
