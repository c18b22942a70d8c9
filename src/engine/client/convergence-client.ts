// One node's ConvergenceService for tools and the CLI: run an anti-entropy round now and read
// the node's convergence counters. Plain TypeScript types; no generated protobuf type leaks out.

import * as pb from '../gen/ringdb/v1/convergence';
import { clientArgs, unary, type UnaryMethod } from '../rpc/client';
import { fromGrpcError, RingDbError } from './errors';
import type { NodeAddress } from './node-client';
import type { CallOptions } from './types';

/** A round can compare and move many keys: a longer deadline than a data call. */
const DEFAULT_TIMEOUT_MS = 120_000;

export interface PeerRoundReport {
  peer: string;
  ok: boolean;
  /** Why the comparison with this peer failed; "" when ok. */
  error: string;
  /** Every partition both nodes replicate had the same root: nothing else was compared. */
  rootsMatched: boolean;
  rangesCompared: number;
  bucketsCompared: number;
  keysSent: number;
  keysReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Partitions both nodes replicate (one tree each; 1 without a partition map) and those that differed. */
  partitionsCompared: number;
  partitionsDiffering: number;
  /** The figures above per differing partition (they sum to the peer's, bar the roots call). */
  partitions: PartitionRoundReport[];
}

export interface PartitionRoundReport {
  partitionId: number;
  rangesCompared: number;
  bucketsCompared: number;
  keysSent: number;
  keysReceived: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface RepairReport {
  nodeId: string;
  peers: PeerRoundReport[];
  durationMs: number;
}

export interface ConvergenceStats {
  nodeId: string;
  rounds: number;
  rangesCompared: number;
  bucketsCompared: number;
  keysSent: number;
  keysReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Versions that peers' rounds pushed here and that won over this node's. */
  keysRepairedByPeers: number;
  /** Keys over all of the node's Merkle trees (one per partition it replicates). */
  merkleKeys: number;
  /** Hex of the node's Merkle root (several trees: a digest of every partition's root). */
  merkleRoot: string;
  lastRoundUnixMs: number;
  /** The partition map version the trees follow (0 = no map) and how many trees there are. */
  mapVersion: number;
  merkleTrees: number;
  partitionsCompared: number;
  partitionsDiffering: number;
  /** Trees built from a scan: on start, then only for partitions a map change affected. */
  treesBuilt: number;
  /** Trees a map change is still building (a scan in slices; rounds wait for them). */
  treesBuilding: number;
  /** Versions from peers dropped because this node does not replicate their key. */
  keysRefused: number;
  /** The read cache (cacheSize; all 0 when it is off). */
  cacheHits: number;
  cacheMisses: number;
  cacheEntries: number;
  /** globalIndexFields on this node (all 0 when none). */
  globalIndex: GlobalIndexStats;
}

export interface GlobalIndexStats {
  /** Queries this node answered from a global index. */
  lookups: number;
  /** Pages of index entries this node served as a replica of an index partition. */
  partitionReads: number;
  entriesDerived: number;
  entriesDelivered: number;
  entriesPending: number;
  deliveryFailures: number;
  /** Entries dropped because a replica's delivery queue was full or the replica refused them as invalid. */
  entriesDropped: number;
  /** Entries removed by lookups because the key's newest value no longer matched. */
  staleDropped: number;
  /** Keys whose entries this node re-derived on start. */
  rebuiltKeys: number;
  readRepairs: number;
  tooLong: number;
}

export type CrdtOperation = 'increment' | 'decrement' | 'add' | 'remove' | 'set';

/** A CRDT's merged value on one node: a count for counters, members or values otherwise. */
export interface CrdtReading {
  type: string;
  count: number;
  elements: Buffer[];
}

const CRDT_OPS: Record<CrdtOperation, pb.CrdtOpKind> = {
  increment: pb.CrdtOpKind.CRDT_OP_KIND_INCREMENT,
  decrement: pb.CrdtOpKind.CRDT_OP_KIND_DECREMENT,
  add: pb.CrdtOpKind.CRDT_OP_KIND_ADD,
  remove: pb.CrdtOpKind.CRDT_OP_KIND_REMOVE,
  set: pb.CrdtOpKind.CRDT_OP_KIND_SET,
};

function reading(v: pb.CrdtValue | undefined): CrdtReading {
  return { type: v?.type ?? '', count: v?.count ?? 0, elements: (v?.elements ?? []).map((e) => Buffer.from(e)) };
}

/** Which index answers a query: `auto` = the global index when the field has one. */
export type IndexKindName = 'auto' | 'secondary' | 'global';

const INDEX_KINDS: Record<IndexKindName, pb.IndexKind> = {
  auto: pb.IndexKind.INDEX_KIND_UNSPECIFIED,
  secondary: pb.IndexKind.INDEX_KIND_SECONDARY,
  global: pb.IndexKind.INDEX_KIND_GLOBAL,
};

export interface IndexQueryResult {
  /** Matching keys, sorted, each once. */
  keys: Buffer[];
  /** Nodes that answered: every reachable node (secondary), or R replicas of one partition (global). */
  nodes: string[];
  /** Nodes that could not be asked, and (global) hits that could not be checked: keys may be missing. */
  unreachable: string[];
  /** The index that answered. */
  kind: 'secondary' | 'global';
  /** Global: the partition holding (field, value), and stale entries removed while answering. */
  partitionId: number;
  staleDropped: number;
}

/** One version of a key in consistencyMode "vector". */
export interface VectorSibling {
  /** null for a delete (tombstone sibling). */
  value: Buffer | null;
  /** The version's vector clock: node -> counter. */
  clock: Record<string, number>;
  /** The event that created it: the coordinating node and its counter. */
  dot: { node: string; counter: number };
  /** What its writer had read (the clock without the dot): the siblings it superseded. */
  context: Record<string, number>;
}

/** Every sibling of a key and the causal context that supersedes them all. */
export interface SiblingsReading {
  siblings: VectorSibling[];
  /** Opaque token (base64url) to pass to vectorPut; "" when the key has no siblings. */
  context: string;
  /** Nodes whose sibling sets were merged into this answer. */
  replicas: string[];
}

export interface VectorWriteResult {
  dot: { node: string; counter: number };
  /** Nodes that acknowledged the write (W). */
  replicas: string[];
  opId: string;
}

/** A context token as vectorPut takes it: exactly what siblings() returned. */
function contextBytes(token: string): Buffer {
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.toString('base64url') !== token) {
    throw new RingDbError('invalid-argument', `context: ${JSON.stringify(token)} is not a context token; pass the "context" printed by \`ringdb siblings\` unchanged, or none for a blind write`);
  }
  return bytes;
}

export class ConvergenceClient {
  private readonly client: pb.ConvergenceServiceClient;

  constructor(readonly target: NodeAddress) {
    this.client = new pb.ConvergenceServiceClient(...clientArgs(target.address));
  }

  private async call<Req, Res>(name: string, method: UnaryMethod<Req, Res>, req: Req, opts: CallOptions): Promise<Res> {
    try {
      return await unary(this.client, method, req, { token: this.target.token, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    } catch (err) {
      throw fromGrpcError(err, `${name} on node ${this.target.nodeId ?? this.target.address}`);
    }
  }

  /** Compares this node's data with each peer's (or the named ones') now and exchanges what differs. */
  async repair(peers: string[] = [], opts: CallOptions = {}): Promise<RepairReport> {
    const res = await this.call('Repair', this.client.repair, { peers }, opts);
    return { nodeId: res.nodeId, peers: res.peers.map((p) => ({ ...p, partitions: p.partitions.map((q) => ({ ...q })) })), durationMs: res.durationMs };
  }

  async stats(opts: CallOptions = {}): Promise<ConvergenceStats> {
    const res = await this.call('ConvergenceStats', this.client.convergenceStats, {}, opts);
    const g = res.globalIndex;
    const globalIndex: GlobalIndexStats = {
      lookups: g?.lookups ?? 0, partitionReads: g?.partitionReads ?? 0, entriesDerived: g?.entriesDerived ?? 0, entriesDelivered: g?.entriesDelivered ?? 0,
      entriesPending: g?.entriesPending ?? 0, deliveryFailures: g?.deliveryFailures ?? 0, entriesDropped: g?.entriesDropped ?? 0, staleDropped: g?.staleDropped ?? 0, rebuiltKeys: g?.rebuiltKeys ?? 0,
      readRepairs: g?.readRepairs ?? 0, tooLong: g?.tooLong ?? 0,
    };
    return { ...res, merkleRoot: Buffer.from(res.merkleRoot).toString('hex'), globalIndex };
  }

  /** Applies an op to a CRDT key (crdt mode); `by` for counters, `element` for sets and registers. */
  async crdtUpdate(key: string | Uint8Array, op: CrdtOperation, args: { by?: number; element?: string | Uint8Array } = {}, opts: CallOptions = {}): Promise<CrdtReading> {
    const req: pb.CrdtUpdateRequest = {
      key: Buffer.from(key), op: CRDT_OPS[op], by: args.by ?? 0, element: Buffer.from(args.element ?? new Uint8Array()),
    };
    return reading((await this.call('CrdtUpdate', this.client.crdtUpdate, req, opts)).value);
  }

  async crdtGet(key: string | Uint8Array, opts: CallOptions = {}): Promise<CrdtReading> {
    return reading((await this.call('CrdtGet', this.client.crdtGet, { key: Buffer.from(key) }, opts)).value);
  }

  /**
   * Keys whose JSON value has `field` = `value`. A field of globalIndexFields is answered by its
   * global index (one partition's replicas, hits checked against the data), a field of
   * indexFields by every reachable node's secondary index; `kind` forces one of them.
   */
  async queryIndex(field: string, value: string, opts: CallOptions & { kind?: IndexKindName } = {}): Promise<IndexQueryResult> {
    const res = await this.call('QueryIndex', this.client.queryIndex, { field, value, localOnly: false, kind: INDEX_KINDS[opts.kind ?? 'auto'] }, opts);
    return {
      keys: res.keys.map((k) => Buffer.from(k)), nodes: res.nodes, unreachable: res.unreachable,
      kind: res.kind === pb.IndexKind.INDEX_KIND_GLOBAL ? 'global' : 'secondary', partitionId: res.partitionId, staleDropped: res.staleDropped,
    };
  }

  /** consistencyMode "vector": every sibling of `key` (deletes included) with its clock, and the context to write with. */
  /** `direct`: this node's own siblings only (its store and the hints it holds), no quorum. */
  async siblings(key: string | Uint8Array, opts: CallOptions & { r?: number; direct?: boolean } = {}): Promise<SiblingsReading> {
    const res = await this.call('VectorGet', this.client.vectorGet, { key: Buffer.from(key), r: opts.r ?? 0, direct: opts.direct ?? false }, opts);
    return {
      siblings: res.siblings.map((s) => ({ value: s.deleted ? null : Buffer.from(s.value), clock: { ...s.clock }, dot: { node: s.dotNode, counter: s.dotCounter }, context: { ...s.context } })),
      context: Buffer.from(res.context).toString('base64url'),
      replicas: res.replicas,
    };
  }

  /**
   * consistencyMode "vector": writes `value` (null = delete) as a version that supersedes the
   * siblings `context` covers (a token from siblings()); without a context it adds a sibling.
   */
  async vectorPut(key: string | Uint8Array, value: string | Uint8Array | null, context = '', opts: CallOptions & { w?: number } = {}): Promise<VectorWriteResult> {
    const req: pb.VectorPutRequest = {
      key: Buffer.from(key), value: value === null ? Buffer.alloc(0) : Buffer.from(value), deleted: value === null,
      context: contextBytes(context), w: opts.w ?? 0, forwarded: false,
    };
    const res = await this.call('VectorPut', this.client.vectorPut, req, opts);
    return { dot: { node: res.dotNode, counter: res.dotCounter }, replicas: res.replicas, opId: res.opId };
  }

  close(): void {
    this.client.close();
  }
}
