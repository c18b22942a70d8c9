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

  close(): void {
    this.client.close();
  }
}
