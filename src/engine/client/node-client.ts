// The data plane of one node: put/get/delete/scan with a deadline on every call. Keys and values
// are bytes on the wire; strings are sent as UTF-8.

import * as pb from '../gen/ringdb/v1/node';
import { clientArgs, unary, type UnaryMethod } from '../rpc/client';
import { MAX_VALUE_BYTES } from '../rpc/channel';
import { letsPingPass } from '../rpc/hung-probe';
import {
  cursors, getResultFromProto, logEntryFromProto, scanEntryFromProto, snapshotFromProto, sstable, statsFromProto, versionFromProto,
} from './convert';
import { fromGrpcError, RingDbError } from './errors';
import type {
  AppliedMarksPage, CallOptions, GetResult, HeldHint, NodeStats, NodeWriteResult, ReplicationLogPage, ScanOptions, ScanResult, SSTableInfo, StoreSnapshot, Version,
} from './types';

const DEFAULT_TIMEOUT_MS = 10_000;

export interface NodeAddress {
  address: string;
  token: string;
  /** For messages only. */
  nodeId?: string;
}

/** Keys and values: a string is sent as UTF-8; bytes are sent as they are and must not change until the call settles. */
export type Bytes = string | Uint8Array;

/** `v` as a Buffer: a view of the caller's bytes, not a copy (a batch of 1,000 entries made 2,000 copies); the caller must not change them until the call settles. */
function bytes(field: string, v: Bytes, allowEmpty: boolean): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (!allowEmpty && b.length === 0) throw new RingDbError('invalid-argument', `${field}: must not be empty`);
  if (b.length > MAX_VALUE_BYTES) throw new RingDbError('invalid-argument', `${field}: is ${b.length} bytes; at most ${MAX_VALUE_BYTES} are accepted`);
  return b;
}

function required(v: pb.Version | undefined, call: string): Version {
  const version = versionFromProto(v);
  if (!version) throw new RingDbError('internal', `${call}: the node answered without a version`);
  return version;
}

/** Which hints `listHints` asks a node for. */
export interface HintQuery {
  /** Only the hints of this stored key. */
  key?: Bytes;
  /** Only the hints held for this target node. */
  target?: string;
  /** Newest first, so `limit` keeps the newest (default: oldest first). */
  newestFirst?: boolean;
  /** 1..10000; default 10000. */
  limit?: number;
}

export class NodeClient {
  private readonly client: pb.NodeServiceClient;

  constructor(readonly target: NodeAddress) {
    this.client = new pb.NodeServiceClient(...clientArgs(target.address));
  }

  private async call<Req, Res>(name: string, method: UnaryMethod<Req, Res>, req: Req, opts: CallOptions): Promise<Res> {
    try {
      return await unary(this.client, method, req, { token: this.target.token, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    } catch (err) {
      throw fromGrpcError(err, `${name} on node ${this.target.nodeId ?? this.target.address}`);
    }
  }

  async put(key: Bytes, value: Bytes, opts: CallOptions = {}): Promise<Version> {
    const res = await this.call('Put', this.client.put, { key: bytes('key', key, false), value: bytes('value', value, true) }, opts);
    return required(res.version, 'Put');
  }

  /** A put that also says who acknowledged it within W and which substitutes keep hints for down replicas. */
  async putAcked(key: Bytes, value: Bytes, opts: CallOptions & { w?: number } = {}): Promise<NodeWriteResult> {
    const res = await this.call('Put', this.client.put, { key: bytes('key', key, false), value: bytes('value', value, true), w: opts.w }, opts);
    return this.written(res, 'Put');
  }

  /** A delete that also says who acknowledged it within W and which substitutes keep hints. */
  async deleteAcked(key: Bytes, opts: CallOptions & { w?: number } = {}): Promise<NodeWriteResult> {
    const res = await this.call('Delete', this.client.delete, { key: bytes('key', key, false), w: opts.w }, opts);
    return this.written(res, 'Delete');
  }

  private written(res: pb.PutResponse | pb.DeleteResponse, call: string): NodeWriteResult {
    return { version: required(res.version, call), node: this.target.nodeId ?? this.target.address, replicas: res.replicas, hinted: { ...res.hinted } };
  }

  /** A coordinated read; `r` overrides the cluster's R for it (1..N; a hot key's salted variants are each read with it). */
  async get(key: Bytes, opts: CallOptions & { r?: number } = {}): Promise<GetResult> {
    return getResultFromProto(await this.call('Get', this.client.get, { key: bytes('key', key, false), r: opts.r }, opts));
  }

  /**
   * This node's own copy of `key`, without a quorum: its store, or a newer hint it holds for a
   * replica that was down. Replicas may differ until replication and repair catch up; this shows how.
   */
  async getOwnCopy(key: Bytes, opts: CallOptions = {}): Promise<GetResult> {
    return getResultFromProto(await this.call('Get', this.client.get, { key: bytes('key', key, false), direct: true }, opts));
  }

  async delete(key: Bytes, opts: CallOptions = {}): Promise<Version> {
    const res = await this.call('Delete', this.client.delete, { key: bytes('key', key, false) }, opts);
    return required(res.version, 'Delete');
  }

  async scan(scan: ScanOptions = {}, opts: CallOptions = {}): Promise<ScanResult> {
    const req: pb.ScanRequest = {
      start: bytes('start', scan.start ?? '', true),
      end: bytes('end', scan.end ?? '', true),
      limit: scan.limit ?? 0,
      continuationToken: Buffer.from(scan.continuationToken ?? new Uint8Array()),
      includeTombstones: scan.includeTombstones ?? false,
    };
    const res = await this.call('Scan', this.client.scan, req, opts);
    return {
      entries: res.entries.map(scanEntryFromProto),
      continuationToken: res.continuationToken.length ? Buffer.from(res.continuationToken) : undefined,
    };
  }

  /**
   * Many writes in one call; entry i gets op id "<origin>:<firstSeq + i>". Under a partition map
   * each entry is coordinated like a Put (W each); `origin` is empty when some entries were
   * forwarded to other replicas (their op ids come from several nodes).
   */
  async batchPut(entries: { key: Bytes; value: Bytes }[], opts: CallOptions = {}): Promise<{ origin: string; firstSeq: number; count: number }> {
    const req = { entries: entries.map((e, i) => ({ key: bytes(`entries[${i}].key`, e.key, false), value: bytes(`entries[${i}].value`, e.value, true) })) };
    const res = await this.call('BatchPut', this.client.batchPut, req, opts);
    return { origin: res.origin, firstSeq: res.firstSeq, count: res.count };
  }

  async ping(opts: CallOptions = {}): Promise<{ nodeId: string; clock: number }> {
    const res = await this.call('Ping', this.client.ping, { sender: 'client', clock: 0 }, opts);
    return { nodeId: res.nodeId, clock: res.clock };
  }

  /** Whether the node let a ping go unanswered for HUNG_PROBE_MS: its process runs but answers nothing (see letsPingPass). */
  hung(): Promise<boolean> {
    return letsPingPass(this.client, this.target.token, 'client');
  }

  async stats(opts: CallOptions = {}): Promise<NodeStats> {
    const res = await this.call('Stats', this.client.stats, {}, opts);
    if (!res.stats) throw new RingDbError('internal', 'Stats: the node answered without stats');
    return statsFromProto(res.stats);
  }

  /** Retained replication-log entries from `fromLsn` (at most `limit`, 1..10000, default 1000), with the peers' ack cursors. */
  async replicationLog(fromLsn = 0, limit = 0, opts: CallOptions = {}): Promise<ReplicationLogPage> {
    const res = await this.call('ReplicationLog', this.client.replicationLog, { fromLsn, limit }, opts);
    return { entries: res.entries.map(logEntryFromProto), nextLsn: res.nextLsn, firstLsn: res.firstLsn, cursors: cursors(res.cursors) };
  }

  /** When this node had stored `origin`'s ops after `afterSeq` (one mark per stored batch, oldest first). */
  async appliedMarks(origin: string, afterSeq = 0, limit = 0, opts: CallOptions = {}): Promise<AppliedMarksPage> {
    const res = await this.call('AppliedMarks', this.client.appliedMarks, { origin, afterSeq, limit }, opts);
    return { marks: res.marks.map((m) => ({ seq: m.seq, atUnixMs: m.storedAtUnixMs })), truncated: res.truncated, more: res.more };
  }

  async listSSTables(opts: CallOptions = {}): Promise<SSTableInfo[]> {
    return (await this.call('ListSSTables', this.client.listSsTables, {}, opts)).sstables.map(sstable);
  }

  async flush(opts: CallOptions = {}): Promise<StoreSnapshot> {
    return snapshotFromProto((await this.call('Flush', this.client.flush, {}, opts)).snapshot);
  }

  /**
   * The hints this node keeps for replicas that were down, oldest first (at most `limit`,
   * 1..10000); with `key` (a stored key), only that key's, however many other hints it keeps;
   * with `target`, only those for that node; with `newestFirst`, the newest at the head.
   */
  async listHints(query: HintQuery = {}, opts: CallOptions = {}): Promise<HeldHint[]> {
    const req = {
      limit: query.limit ?? 10_000, key: query.key === undefined ? undefined : bytes('key', query.key, false), target: query.target, newestFirst: query.newestFirst,
    };
    const res = await this.call('ListHints', this.client.listHints, req, opts);
    return res.hints.map((h) => ({ target: h.target, key: h.key, opId: h.opId, ageMs: h.ageMs, version: versionFromProto(h.version), deleted: h.deleted }));
  }

  close(): void {
    this.client.close();
  }
}
