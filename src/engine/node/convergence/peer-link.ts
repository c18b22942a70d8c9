// One peer's ConvergenceService as a round sees it: a channel reused across rounds, a deadline on
// every call, and the encoded size of every request sent and response received, so the stats
// report the bytes that really crossed the wire rather than an estimate.

import { status } from '@grpc/grpc-js';
import {
  ConvergenceServiceClient, IndexKind, ExchangeEntriesRequest, ExchangeEntriesResponse, MerkleDiffRequest, MerkleDiffResponse,
  MerkleRootsRequest, MerkleRootsResponse, MerkleSummaryRequest, MerkleSummaryResponse, type ConvergenceEntry, type QueryIndexResponse, type ReadGlobalIndexResponse,
} from '../../gen/ringdb/v1/convergence';
import { NodeServiceClient } from '../../gen/ringdb/v1/node';
import { clientArgs, unary, type UnaryMethod } from '../../rpc';
import { HUNG_PROBE_MS, letsPingPass } from '../../rpc/hung-probe';
import type { Entry } from '../../storage/types';

/**
 * A big exchange with a busy peer can take a while; a dead peer fails fast anyway. A peer that
 * cannot answer a ping within HUNG_PROBE_MS meanwhile is given up on sooner (see call).
 */
const CALL_TIMEOUT_MS = 30_000;
/**
 * A call unanswered this long gets a ping beside it, and another each time this passes: a peer
 * paused or wedged during a round is told in seconds, where the call would wait out its deadline.
 */
const WATCH_AFTER_MS = 1_000;

/** Said of a peer that let the hung-peer probe pass, before a round or during one of its calls. */
export const MISSED_PING = `did not answer a ping within ${HUNG_PROBE_MS / 1000} s (its process runs but answers nothing: hung, paused or overloaded)`;

/** The peer stopped answering while a call waited on it: the call was cancelled. */
export class PeerStoppedAnswering extends Error {
  constructor(peerId: string) {
    super(`${peerId} stopped answering during the call: it ${MISSED_PING}`);
    this.name = 'PeerStoppedAnswering';
  }
}

export interface Traffic {
  bytesSent: number;
  bytesReceived: number;
}

/** The partition a Merkle call is about and the map version the caller computed it under. */
export interface Scope {
  partitionId: number;
  mapVersion: number;
}

const size = (bytes: Uint8Array): number => bytes.byteLength;

export function toWire(e: Entry): ConvergenceEntry {
  return { key: e.key, value: e.value ?? Buffer.alloc(0), deleted: e.value === null, ts: e.ts, origin: e.origin };
}

export function fromWire(e: ConvergenceEntry): Entry {
  return { key: Buffer.from(e.key), value: e.deleted ? null : Buffer.from(e.value), ts: e.ts, origin: e.origin };
}

export class PeerLink {
  private readonly client: ConvergenceServiceClient;
  /** For the hung-peer probe only (grpc-js shares one connection per address). */
  private readonly nodeClient: NodeServiceClient;

  constructor(
    readonly id: string,
    readonly address: string,
    private readonly token: string,
    private readonly selfId: string,
  ) {
    this.client = new ConvergenceServiceClient(...clientArgs(address));
    this.nodeClient = new NodeServiceClient(...clientArgs(address));
  }

  /** Whether the peer let a ping go unanswered for HUNG_PROBE_MS: a round with it would wait out a 30 s deadline per call. */
  hung(): Promise<boolean> {
    return letsPingPass(this.nodeClient, this.token, this.selfId);
  }

  async roots(mapVersion: number, partitionIds: number[], traffic: Traffic): Promise<MerkleRootsResponse> {
    const req: MerkleRootsRequest = { mapVersion, partitionIds };
    traffic.bytesSent += size(MerkleRootsRequest.encode(req).finish());
    const res = await this.call(this.client.merkleRoots, req);
    traffic.bytesReceived += size(MerkleRootsResponse.encode(res).finish());
    return res;
  }

  async summary(scope: Scope, level: number, indexes: number[], traffic: Traffic): Promise<MerkleSummaryResponse> {
    const req: MerkleSummaryRequest = { ...scope, level, indexes };
    traffic.bytesSent += size(MerkleSummaryRequest.encode(req).finish());
    const res = await this.call(this.client.merkleSummary, req);
    traffic.bytesReceived += size(MerkleSummaryResponse.encode(res).finish());
    return res;
  }

  async diff(scope: Scope, buckets: number[], traffic: Traffic): Promise<MerkleDiffResponse> {
    const req: MerkleDiffRequest = { ...scope, buckets };
    traffic.bytesSent += size(MerkleDiffRequest.encode(req).finish());
    const res = await this.call(this.client.merkleDiff, req);
    traffic.bytesReceived += size(MerkleDiffResponse.encode(res).finish());
    return res;
  }

  async exchange(scope: Scope, body: Omit<ExchangeEntriesRequest, keyof Scope>, traffic: Traffic): Promise<ExchangeEntriesResponse> {
    const req: ExchangeEntriesRequest = { ...body, ...scope };
    traffic.bytesSent += size(ExchangeEntriesRequest.encode(req).finish());
    const res = await this.call(this.client.exchangeEntries, req);
    traffic.bytesReceived += size(ExchangeEntriesResponse.encode(res).finish());
    return res;
  }

  /** A peer's local index lookup; not counted as anti-entropy traffic. */
  queryIndex(field: string, value: string): Promise<QueryIndexResponse> {
    return this.call(this.client.queryIndex, { field, value, localOnly: true, kind: IndexKind.INDEX_KIND_SECONDARY });
  }

  /** A replica's page of global index entries (not counted as anti-entropy traffic). */
  readGlobalIndex(field: string, value: string, after: Buffer, limit: number): Promise<ReadGlobalIndexResponse> {
    return this.call(this.client.readGlobalIndex, { field, value, after, limit });
  }

  /** `method` on the peer, cancelled with PeerStoppedAnswering once the peer lets a ping pass while it waits. */
  private async call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
    const abort = new AbortController();
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    // One probe at a time: the next is set once the last was answered.
    const probe = (): void => {
      timer = undefined;
      void this.hung().then((hung) => {
        if (done) return;
        if (hung) abort.abort();
        else timer = setTimeout(probe, WATCH_AFTER_MS);
      });
    };
    timer = setTimeout(probe, WATCH_AFTER_MS);
    try {
      return await unary(this.client, method, request, { token: this.token, timeoutMs: CALL_TIMEOUT_MS, signal: abort.signal });
    } catch (err) {
      // Only the cancel says so: the call may have failed on its own before a late probe aborted.
      const cancelled = (err as { code?: unknown }).code === status.CANCELLED;
      throw abort.signal.aborted && cancelled ? new PeerStoppedAnswering(this.id) : err;
    } finally {
      done = true;
      if (timer) clearTimeout(timer);
    }
  }

  close(): void {
    this.client.close();
    this.nodeClient.close();
  }
}
