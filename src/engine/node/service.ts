// NodeService: each handler validates its request (validate.ts), calls the node, and maps
// typed errors to status codes. The token check sits in front of all of them (rpc/server.ts).

import type { handleServerStreamingCall, ServerWritableStream } from '@grpc/grpc-js';
import {
  type NodeServiceServer,
  type ReplicationLogEntry,
  type WatchReplicationLogResponse,
} from '../gen/ringdb/v1/node';
import { plainWriteRefusal } from '../crdt/plain-writes';
import type { CrdtName } from '../crdt/types';
import { collectUpdates } from '../replication/anti-entropy';
import { parseOpRecords, type EncodedOps, type LoggedOp, type Op } from '../replication/op-codec';
import { InvalidFieldError, unaryHandler } from '../rpc';
import { toLogEntry, toProtoOp, toProtoSnapshot, toProtoTable } from './convert';
import { isReservedKey, RESERVED_PREFIX_TEXT } from './indexes/global-keys';
import type { Logger } from './logger';
import type { RingNode } from './node';
import type { PartitionLayer } from './partition-layer';
import { keyRef } from './request-keys';
import type { VectorDataPlane } from './convergence/vector-data-plane';
import {
  checkKey, checkLimit, checkMembership, checkNodeId, checkOps, checkRecordOps, checkValue, checkVersionVector,
  DEFAULT_FETCH_LIMIT, DEFAULT_SCAN_LIMIT, MAX_BATCH_ENTRIES, MAX_FETCH_LIMIT, MAX_SCAN_LIMIT,
} from './validate';

/** A replication log watch sends at most this many entries per tick, the newest. */
const MAX_WATCH_ENTRIES_PER_TICK = 500;
const WATCH_FLUSH_MS = 100;


/**
 * `vector`: consistencyMode "vector" serves the data plane as sibling sets (vector-data-plane.ts).
 * `crdtTypeOf`: consistencyMode "crdt" names its CRDT keys, which Put and BatchPut refuse
 * (crdt/plain-writes.ts); forwarded writes are checked again here, as a router's are.
 */
export function nodeService(node: RingNode, logger: Logger, layer: PartitionLayer, vector?: VectorDataPlane, crdtTypeOf?: (stored: Buffer) => CrdtName | undefined): NodeServiceServer {
  const self = node.config.id;
  const refuseCrdtKey = (field: string, stored: Buffer): void => {
    const type = crdtTypeOf?.(stored);
    if (type) throw new InvalidFieldError(field, plainWriteRefusal(stored.toString('utf8'), type));
  };
  /** A converter to log entries with per-destination acks, taking destinations and cursors once. */
  const logEntries = (): ((op: LoggedOp) => ReplicationLogEntry) => {
    const dests = node.destinations().map((d) => ({ id: d, cursor: node.cursorOf(d) ?? 0 }));
    return (op) => toLogEntry(op, dests.filter((d) => node.ships(d.id, op.origin)).map((d) => ({ peerId: d.id, acked: op.lsn < d.cursor })));
  };
  const cursors = () => node.destinations().map((d) => ({ peerId: d, ackedLsn: node.cursorOf(d) ?? 0 }));

  return {
    ...layer.handlers(),

    ping: unaryHandler((call) => {
      node.replica.clock.observe(call.request.clock);
      return { nodeId: self, clock: node.replica.clock.now(), seenOfSender: node.replica.durableLastSeen(call.request.sender) };
    }),

    // The data plane goes through the coordinator: local as in issue 3 without a partition map,
    // N/R/W with one (coordinator.ts).
    put: unaryHandler(async (call) => {
      checkValue('value', call.request.value);
      if (crdtTypeOf) refuseCrdtKey(call.request.partitionKey !== undefined ? 'partition_key' : 'key', keyRef(call.request).stored);
      return vector ? vector.put(call.request, call) : layer.coordinator.put(call.request, call);
    }),

    delete: unaryHandler((call) => (vector ? vector.delete(call.request, call) : layer.coordinator.delete(call.request, call))),

    get: unaryHandler((call) => (vector ? vector.get(call.request, call) : layer.coordinator.get(call.request, call))),

    scan: unaryHandler((call) => (vector ? vector.scan() : layer.coordinator.scan(call.request, call))),

    batchPut: unaryHandler(async (call) => {
      const { entries } = call.request;
      if (entries.length === 0) throw new InvalidFieldError('entries', `must hold 1 to ${MAX_BATCH_ENTRIES} entries, got none`);
      if (entries.length > MAX_BATCH_ENTRIES) throw new InvalidFieldError('entries', `must hold 1 to ${MAX_BATCH_ENTRIES} entries, got ${entries.length}`);
      entries.forEach((e, i) => {
        checkKey(`entries[${i}].key`, e.key);
        if (isReservedKey(e.key)) throw new InvalidFieldError(`entries[${i}].key`, `starts with ${RESERVED_PREFIX_TEXT}, which is reserved for global index entries`);
        checkValue(`entries[${i}].value`, e.value);
        // Before anything is written: a batch naming a CRDT key is refused whole.
        refuseCrdtKey(`entries[${i}].key`, e.key);
      });
      if (!vector) return layer.coordinator.batchPut(entries, call.request.forwarded === true, call);
      const r = await vector.writeBatch(entries, call);
      return { origin: r.origin, firstSeq: r.firstSeq, firstTs: r.firstTs, count: r.count };
    }),

    replicate: unaryHandler(async (call) => {
      const { sender, records } = call.request;
      checkNodeId('sender', sender);
      let ops: Op[];
      let encoded: EncodedOps | undefined;
      if (records === undefined) {
        checkOps('ops', call.request.ops);
        ops = await layer.receive(call.request.ops);
      } else {
        // The sender's log records: no hints (those go as `ops`), so nothing for the partition layer to keep.
        if (call.request.ops.length > 0) throw new InvalidFieldError('ops', `must be empty when records is set, got ${call.request.ops.length} ops`);
        ({ ops, encoded } = parseOpRecords(records, (problem) => {
          throw new InvalidFieldError('records', problem);
        }));
        checkRecordOps('records', ops);
      }
      let foreign = ops;
      if (ops.some((op) => op.origin === self)) {
        const own = ops.filter((op) => op.origin === self && op.seq > node.log.lastSeen(self));
        if (own.length > 0) logger.warn(`${sender} sent ${own.length} ops claiming to originate here beyond seq ${node.log.lastSeen(self)}; ignored`);
        foreign = ops.filter((op) => op.origin !== self);
      }
      const r = await node.replica.applyRemote(foreign, foreign === ops ? encoded : undefined);
      // This node's own ops, echoed back along a topology, are duplicates by definition.
      if (foreign.length < ops.length) r.lastSeen[self] = node.log.lastSeen(self);
      return { applied: r.applied, duplicates: r.duplicates + ops.length - foreign.length, buffered: r.buffered, lastSeen: r.lastSeen };
    }),

    fetchUpdates: unaryHandler((call) => {
      checkNodeId('requester', call.request.requester);
      checkVersionVector('last_seen', call.request.lastSeen);
      const limit = checkLimit('limit', call.request.limit, MAX_FETCH_LIMIT, DEFAULT_FETCH_LIMIT);
      call.request.skipOrigins.forEach((o, i) => checkNodeId(`skip_origins[${i}]`, o));
      const { ops, more } = collectUpdates(node.log, call.request.lastSeen, limit, node.replica.storeDurableLsn, new Set(call.request.skipOrigins));
      // Shaped as pushed replication is: ops of partitions the requester does not replicate go as skips.
      return { ops: layer.shapeFor(call.request.requester, ops).map(toProtoOp), more, lastSeen: node.log.versionVector(), clock: node.replica.clock.now() };
    }),

    updateMembership: unaryHandler((call) => {
      const m = checkMembership(self, call.request.peers, call.request.topology);
      node.updateMembership(m.peers, m.topology);
      return { peers: node.peerStatuses() };
    }),

    stats: unaryHandler(() => ({ stats: { ...node.stats(), partitioning: layer.stats() } })),

    listSsTables: unaryHandler(() => ({ sstables: toProtoSnapshot(node.store.snapshot()).sstables })),

    appliedMarks: unaryHandler((call) => {
      checkNodeId('origin', call.request.origin);
      const limit = checkLimit('limit', call.request.limit, MAX_SCAN_LIMIT, DEFAULT_SCAN_LIMIT);
      const page = node.replica.appliedMarks.after(call.request.origin, call.request.afterSeq, limit);
      return { marks: page.marks.map((m) => ({ seq: m.seq, storedAtUnixMs: m.atUnixMs })), truncated: page.truncated, more: page.more };
    }),

    replicationLog: unaryHandler((call) => {
      const limit = checkLimit('limit', call.request.limit, MAX_SCAN_LIMIT, DEFAULT_SCAN_LIMIT);
      const from = Math.max(call.request.fromLsn, node.log.firstLsn);
      const ops: LoggedOp[] = [];
      let lsn = from;
      while (ops.length < limit) {
        const chunk = node.log.read(lsn, limit - ops.length);
        if (chunk.length === 0) break;
        ops.push(...chunk);
        lsn = chunk[chunk.length - 1].lsn + 1;
      }
      return { entries: ops.map(logEntries()), nextLsn: lsn, firstLsn: node.log.firstLsn, cursors: cursors() };
    }),

    watchReplicationLog: ((call: ServerWritableStream<{ fromLsn: number }, WatchReplicationLogResponse>) => {
      // Nothing is done per appended op: each tick reads what is new from the log. Under a write
      // rate above what a UI can show, only the newest entries of each tick are sent; the
      // skipped ones stay readable through ReplicationLog.
      let next = Math.max(call.request.fromLsn, node.log.firstLsn);
      let cursorsMoved = true;
      let waitingForDrain = false;
      const offCursor = node.onCursor(() => void (cursorsMoved = true));
      const flush = () => {
        if (waitingForDrain || call.writableEnded) return;
        const end = node.log.nextLsn;
        const from = Math.max(next, end - MAX_WATCH_ENTRIES_PER_TICK, node.log.firstLsn);
        const ops = from < end ? node.log.read(from, end - from) : [];
        if (ops.length === 0 && !cursorsMoved) return;
        if (ops.length > 0) next = ops[ops.length - 1].lsn + 1;
        cursorsMoved = false;
        const toEntry = logEntries();
        const ok = call.write({ appended: ops.map(toEntry), cursors: cursors() });
        if (!ok) {
          waitingForDrain = true;
          call.once('drain', () => void (waitingForDrain = false));
        }
      };
      const timer = setInterval(flush, WATCH_FLUSH_MS);
      flush();
      // 'close' also follows the end a server stop gives a watch (rpc/server.ts), not only a cancel.
      call.on('close', () => {
        clearInterval(timer);
        offCursor();
      });
    }) as handleServerStreamingCall<{ fromLsn: number }, WatchReplicationLogResponse>,

    watchStore: (call) => {
      call.write({ snapshot: toProtoSnapshot(node.store.snapshot()) });
      const off = node.store.onChange((s) => {
        if (!call.writableEnded) call.write({ snapshot: toProtoSnapshot(s) });
      });
      call.on('close', off);
    },

    compact: unaryHandler(async () => {
      await node.store.compact();
      return { snapshot: toProtoSnapshot(node.store.snapshot()) };
    }),

    flush: unaryHandler(async () => {
      const written = await node.store.flush();
      return { snapshot: toProtoSnapshot(node.store.snapshot()), written: written.map(toProtoTable) };
    }),
  };
}
