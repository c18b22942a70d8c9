// One node's ConvergenceService for tools and the CLI: run an anti-entropy round now and read
// the node's convergence counters. Plain TypeScript types; no generated protobuf type leaks out.

import * as pb from '../gen/ringdb/v1/convergence';
import { clientArgs, unary, type UnaryMethod } from '../rpc/client';
import { fromGrpcError } from './errors';
import type { NodeAddress } from './node-client';
import type { CallOptions } from './types';

/** A round can compare and move many keys: a longer deadline than a data call. */
const DEFAULT_TIMEOUT_MS = 120_000;

export interface PeerRoundReport {
  peer: string;
  ok: boolean;
  /** Why the comparison with this peer failed; "" when ok. */
  error: string;
  /** The two trees had the same root: nothing else was compared. */
  rootsMatched: boolean;
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
  merkleKeys: number;
  /** Hex of the node's Merkle root: equal roots mean equal data. */
  merkleRoot: string;
  lastRoundUnixMs: number;
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
    return { nodeId: res.nodeId, peers: res.peers.map((p) => ({ ...p })), durationMs: res.durationMs };
  }

  async stats(opts: CallOptions = {}): Promise<ConvergenceStats> {
    const res = await this.call('ConvergenceStats', this.client.convergenceStats, {}, opts);
    return { ...res, merkleRoot: Buffer.from(res.merkleRoot).toString('hex') };
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

  /** Keys whose JSON value has `field` = `value` on any node this one can reach (indexFields). */
  async queryIndex(field: string, value: string, opts: CallOptions = {}): Promise<{ keys: Buffer[]; nodes: string[]; unreachable: string[] }> {
    const res = await this.call('QueryIndex', this.client.queryIndex, { field, value, localOnly: false }, opts);
    return { keys: res.keys.map((k) => Buffer.from(k)), nodes: res.nodes, unreachable: res.unreachable };
  }

  close(): void {
    this.client.close();
  }
}
