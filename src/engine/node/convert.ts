// Conversions between the replication layer's and the storage layer's shapes and the
// generated protocol messages. Kept in one place so the wire format stays a node concern.

import type { SSTableSnapshot, StoreSnapshot as StorageSnapshot } from '../storage/types';
import {
  OpKind,
  type Op as ProtoOp,
  type ReplicationLogEntry,
  type SSTableInfo,
  type StoreSnapshot,
  type Version,
} from '../gen/ringdb/v1/node';
import { isSkip, opId, type LoggedOp, type Op } from '../replication/op-codec';

const EMPTY = Buffer.alloc(0);

/** `hintedFor` is set on an op shipped to a substitute for a down replica (node/shipping.ts). */
export function toProtoOp(op: Op & { readonly hintedFor?: string }): ProtoOp {
  return {
    origin: op.origin,
    seq: op.seq,
    ts: op.ts,
    kind: isSkip(op) ? OpKind.OP_KIND_SKIP : op.value === null ? OpKind.OP_KIND_DELETE : OpKind.OP_KIND_PUT,
    key: op.key,
    value: op.value ?? EMPTY,
    hintedFor: op.hintedFor,
  };
}

/** A validated protocol op (see validate.ts) as a replication op. */
export function fromProtoOp(op: ProtoOp): Op {
  return { origin: op.origin, seq: op.seq, ts: op.ts, key: op.key, value: op.kind === OpKind.OP_KIND_DELETE || op.kind === OpKind.OP_KIND_SKIP ? null : op.value };
}

export function version(ts: number, origin: string, seq: number | undefined): Version {
  return { ts, origin, opId: seq === undefined ? '' : opId({ origin, seq }) };
}

export function toProtoTable(t: SSTableSnapshot): SSTableInfo {
  return {
    id: t.id,
    level: t.level,
    file: t.file,
    minKey: t.minKey,
    maxKey: t.maxKey,
    entries: t.entries,
    tombstones: t.tombstones,
    sizeBytes: t.bytes,
    bloomBits: t.bloomBits,
    newestWriteUnixMs: t.newestWriteMs,
    minTs: t.minTs,
    maxTs: t.maxTs,
  };
}

export function toProtoSnapshot(s: StorageSnapshot): StoreSnapshot {
  return {
    memtableBytes: s.memtableBytes,
    memtableEntries: s.memtableEntries,
    immutableMemtables: s.immutableMemtables,
    walBytes: s.walBytes,
    sstables: s.sstables.map(toProtoTable),
    counters: { ...s.counters },
  };
}

/** A log entry for the UI; `acks` lists each destination the op goes to and whether it acknowledged it. */
export function toLogEntry(op: LoggedOp, acks: { peerId: string; acked: boolean }[]): ReplicationLogEntry {
  return {
    lsn: op.lsn,
    opId: opId(op),
    origin: op.origin,
    key: op.key,
    ts: op.ts,
    // A skip (a seq of an op bound elsewhere) is no delete, though it too has no value.
    kind: isSkip(op) ? OpKind.OP_KIND_SKIP : op.value === null ? OpKind.OP_KIND_DELETE : OpKind.OP_KIND_PUT,
    valueBytes: op.value?.length ?? 0,
    acks,
  };
}
