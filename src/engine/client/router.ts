// The dedicated router: a gRPC server speaking the NodeService data plane (Put, Get, Delete,
// Scan, BatchPut, Ping) that relays every request to a replica of its key's partition through a
// Driver, so it follows map changes (Watch) and moves (NotOwner) exactly as a driver does and
// gives the same answers. Other NodeService methods are not served (UNIMPLEMENTED): they address
// one node, not a key. Same token as the cluster.

import { status, type sendUnaryData, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import * as pb from '../gen/ringdb/v1/node';
import { placementKeyOf } from '../codec/stored-key';
import { plainWriteRefusal } from '../crdt/plain-writes';
import type { CrdtName } from '../crdt/types';
import { unary, type UnaryMethod } from '../rpc/client';
import { answeredMetadata, InvalidFieldError, RpcError } from '../rpc/errors';
import { startServer, type RunningServer } from '../rpc/server';
import type { Driver } from './driver';
import { RingDbError } from './errors';
import { count, entriesText } from '../node/batch-parts';

const RELAY_MS = 15_000;
/** The shortest relay: below this a node's answer cannot arrive even on loopback under load. */
const MIN_RELAY_MS = 200;
/** Time kept back from the caller's deadline for the router's answer to reach the caller. */
const ANSWER_MARGIN_MS = 100;
const MAX_BATCH = 10_000;

/**
 * How long a relay may take: what is left of the caller's deadline (calls on a client's behalf
 * inherit its deadline) less a margin for the answer to travel back, so the caller gets the
 * driver's account of the nodes it tried rather than its own bare timeout. The driver shares it
 * among its attempts, so a replica that hangs (SIGSTOP, a long GC) leaves time to fail over to
 * the next one. RELAY_MS when the caller set none. With a fixed 15 s a client's 10 s deadline
 * passed during the first attempt, and the write it was told had failed was applied later.
 */
function relayMs(call: ServerUnaryCall<unknown, unknown>): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return RELAY_MS;
  return Math.max(MIN_RELAY_MS, Math.min(RELAY_MS, at - Date.now() - ANSWER_MARGIN_MS));
}

const ROUTED = ['ping', 'put', 'get', 'delete', 'scan', 'batchPut'] as const;

/** The part of NodeService the router serves. */
export const ROUTER_SERVICE = Object.fromEntries(ROUTED.map((m) => [m, pb.NodeServiceService[m]])) as Pick<typeof pb.NodeServiceService, (typeof ROUTED)[number]>;

const CODES: Record<string, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'failed-precondition': status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  'deadline-exceeded': status.DEADLINE_EXCEEDED,
  unauthenticated: status.UNAUTHENTICATED,
  cancelled: status.CANCELLED,
  'data-loss': status.DATA_LOSS,
  'already-exists': status.ALREADY_EXISTS,
  internal: status.INTERNAL,
};

/**
 * A relay failure as the status the router's caller gets (the node's own status and message).
 * It carries the answered marker: the router did answer, so a client must not send the request
 * to another router as if this one were unreachable.
 */
function statusOf(err: unknown): Partial<ServiceError> {
  const metadata = answeredMetadata();
  if (err instanceof RpcError) return { code: err.code, details: err.message, metadata };
  if (err instanceof RingDbError) return { code: CODES[err.code] ?? status.INTERNAL, details: err.message, metadata };
  return { code: status.INTERNAL, details: `router: ${err instanceof Error ? err.message : String(err)}`, metadata };
}

function relay<Req, Res>(run: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    run(call.request, call).then((res) => callback(null, res), (err: unknown) => callback(statusOf(err)));
  };
}

function checkKey(req: { key: Buffer; partitionKey?: Buffer }): void {
  if (req.partitionKey === undefined && req.key.length === 0) throw new InvalidFieldError('key', 'set key (a raw key) or partition_key (a row); both are empty');
  if (req.partitionKey !== undefined && req.partitionKey.length === 0) throw new InvalidFieldError('partition_key', 'must not be empty when set');
}

export class Router {
  /** `crdtKeys`: the spec's crdt setting in crdt mode; a batch naming one is refused before any group is sent. */
  constructor(
    private readonly driver: Driver,
    private readonly crdtKeys: ReadonlyMap<string, CrdtName> = new Map(),
  ) {}

  private forward<Req extends { key: Buffer; partitionKey?: Buffer }, Res>(
    name: string, method: (c: pb.NodeServiceClient) => UnaryMethod<Req, Res>, req: Req, read: boolean, call: ServerUnaryCall<Req, Res>,
  ): Promise<Res> {
    checkKey(req);
    return this.driver.call(name, method, req, read, { timeoutMs: relayMs(call) }).then((r) => r.result);
  }

  implementation(): Pick<pb.NodeServiceServer, (typeof ROUTED)[number]> {
    return {
      ping: relay<pb.PingRequest, pb.PingResponse>(async () => ({ nodeId: 'router', clock: 0, seenOfSender: 0 })),
      put: relay<pb.PutRequest, pb.PutResponse>((req, call) => this.forward('Put', (c) => c.put, req, false, call)),
      delete: relay<pb.DeleteRequest, pb.DeleteResponse>((req, call) => this.forward('Delete', (c) => c.delete, req, false, call)),
      get: relay<pb.GetRequest, pb.GetResponse>((req, call) => this.forward('Get', (c) => c.get, req, true, call)),
      scan: relay<pb.ScanRequest, pb.ScanResponse>(async (req, call) => {
        const pk = req.partitionKey;
        if (pk === undefined || pk.length === 0) {
          throw new InvalidFieldError('partition_key', 'the router scans one partition at a time: set partition_key (raw key ranges span every node)');
        }
        const r = await this.driver.route('Scan', pk, true, (c, _node, timeoutMs) => unary(c, c.scan, req, { token: this.driver.token, timeoutMs }), { timeoutMs: relayMs(call) });
        return r.result;
      }),
      batchPut: relay<pb.BatchPutRequest, pb.BatchPutResponse>((req, call) => this.batchPut(req, relayMs(call))),
    };
  }

  /**
   * Splits the batch by the first replica of each entry's partition and sends each group as one
   * BatchPut. With a single group the node's answer is returned as is; with several, `origin` is
   * empty (the entries got op ids from several nodes) and `count` is the total. When a group is
   * not acknowledged, the error says for every group which entries were acknowledged and which
   * were not, with the answer its coordinator gave: one failed group used to hide the others.
   */
  private async batchPut(req: pb.BatchPutRequest, timeoutMs: number): Promise<pb.BatchPutResponse> {
    if (req.entries.length === 0 || req.entries.length > MAX_BATCH) throw new InvalidFieldError('entries', `must hold 1 to ${MAX_BATCH} entries, got ${req.entries.length}`);
    const groups = new Map<string, { entries: pb.KeyValue[]; at: number[] }>();
    req.entries.forEach((e, i) => {
      if (e.key.length === 0) throw new InvalidFieldError(`entries[${i}].key`, 'must not be empty');
      // The nodes refuse a CRDT key too, but only in their own group: the other groups would be written.
      const crdt = this.crdtKeys.get(e.key.toString('utf8'));
      if (crdt) throw new InvalidFieldError(`entries[${i}].key`, plainWriteRefusal(e.key.toString('utf8'), crdt));
      const first = this.driver.replicasFor(placementKeyOf(e.key), false)[0];
      let group = groups.get(first);
      if (!group) groups.set(first, (group = { entries: [], at: [] }));
      group.entries.push(e);
      group.at.push(i);
    });
    const sends = [...groups.values()].map(({ entries }) =>
      this.driver.route('BatchPut', placementKeyOf(entries[0].key), false, (c, _node, attemptMs) => unary(c, c.batchPut, { entries }, { token: this.driver.token, timeoutMs: attemptMs }), { timeoutMs }));
    if (sends.length === 1) return (await sends[0]).result;
    const settled = await Promise.allSettled(sends);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (!failed) return { origin: '', firstSeq: 0, firstTs: 0, count: settled.reduce((n, s) => n + (s.status === 'fulfilled' ? s.value.result.count : 0), 0) };
    const parts = [...groups].map(([first, { at }], i) => {
      const s = settled[i];
      const which = `${count(at.length)} (${entriesText(at, req.entries)})`;
      if (s.status === 'fulfilled') {
        const r = s.value.result;
        const ids = r.origin ? ` (${r.origin}:${r.firstSeq}${r.count > 1 ? ` to ${r.origin}:${r.firstSeq + r.count - 1}` : ''})` : '';
        return `The ${which} sent to ${s.value.node} ${at.length === 1 ? 'was' : 'were'} written${ids} and acknowledged by W nodes: ${at.length === 1 ? 'it needs' : 'they need'} no retry`;
      }
      const why = s.reason instanceof Error ? s.reason.message : String(s.reason);
      // The coordinator got the group as a batch of its own: its entries[i] are the group's, its keys the same.
      return `The ${which} for ${first}'s partitions ${at.length === 1 ? 'was' : 'were'} not acknowledged; the answer, which numbers the group's entries from 0: ${why.replace(/\.$/, '')}`;
    });
    const code = failed.reason instanceof RingDbError ? failed.reason.code : 'internal';
    throw new RingDbError(code, `BatchPut through the router: ${parts.join('. ')}`);
  }

  serve(host: string, port: number): Promise<RunningServer> {
    return startServer(host, port, this.driver.token, [{ definition: ROUTER_SERVICE, implementation: this.implementation() }]);
  }
}
