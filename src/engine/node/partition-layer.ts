// Partitioning on a node (issue 4), composed in one place: the map (partition-state.ts), the
// per-destination shaping of replication (shipping.ts), W acknowledgements, hints and their
// handoff, the coordinator, and the handlers of the partitioning RPCs. main.ts opens it beside
// the RingNode; service.ts routes the data plane through its coordinator.

import {
  OpKind, type NodeServiceServer, type Op as ProtoOp, type PartitionStats, type StoredEntry,
} from '../gen/ringdb/v1/node';
import { changedPartitionIds, InvalidMapError } from '../partitioning';
import type { Op } from '../replication/op-codec';
import { InvalidFieldError, PreconditionError, toStatus, unaryHandler } from '../rpc';
import { NodeFileSystem } from '../storage';
import type { Entry } from '../storage/types';
import { tombstoneGraceOf } from './config';
import { fromProtoOp } from './convert';
import { Coordinator } from './coordinator';
import { checkIngest, dropRanges, exportFilter, ingestResult, streamExport } from './data-move';
import { Handoff } from './handoff';
import { countByTarget, type Hint, HintStore } from './hints';
import type { Logger } from './logger';
import type { RingNode } from './node';
import { PartitionState } from './partition-state';
import { PartitionedShipping, skipOf, WriteAcks } from './shipping';
import { checkHintsToStore } from './substitute-writes';
import { checkKey, checkLimit, checkNodeId } from './validate';

type PartitionHandlers = Pick<NodeServiceServer,
  'updatePartitionMap' | 'getPartitionMap' | 'listHints' | 'exportRange' | 'ingestEntries' | 'storeHints' | 'dropRanges' | 'getHotspots' | 'resetMetrics'>;


export class PartitionLayer {
  readonly coordinator: Coordinator;
  private readonly shipping: PartitionedShipping;
  private readonly acks: WriteAcks;
  private readonly handoff: Handoff;
  private offCursor: (() => void) | undefined;
  private offSeen: (() => void) | undefined;
  private offMap: (() => void) | undefined;

  private constructor(
    private readonly node: RingNode,
    readonly partitions: PartitionState,
    readonly hints: HintStore,
    private readonly logger: Logger,
  ) {
    this.shipping = new PartitionedShipping(partitions);
    this.acks = new WriteAcks((dest) => node.cursorOf(dest));
    this.coordinator = new Coordinator(node, partitions, hints, this.shipping, this.acks, logger);
    this.handoff = new Handoff(node, hints, this.partitions, Math.max(200, 2 * node.config.heartbeatIntervalMs), tombstoneGraceOf(node.config), logger);
  }

  static open(node: RingNode, logger: Logger): PartitionLayer {
    const fs = new NodeFileSystem();
    const partitions = PartitionState.open(fs, node.config.dataDir);
    const hints = HintStore.open(fs, node.config.dataDir);
    if (partitions.map) logger.info(`partition map version ${partitions.version} (${partitions.map.partitions.length} partitions, N=${partitions.map.replicationFactor})`);
    return new PartitionLayer(node, partitions, hints, logger);
  }

  /** Before RingNode.start: senders must shape their first batch already. */
  start(): void {
    this.node.peers.shape = (dest, ops) => this.shipping.batchFor(dest, ops);
    // Pulled ops (FetchUpdates) take the same door as pushed ones, so a hinted op becomes a hint.
    this.node.peers.receive = (ops) => this.receive(ops);
    this.offCursor = this.node.onCursor((peer, lsn) => this.acks.onCursor(peer, lsn));
    this.offSeen = this.node.peers.onSeen((peer, seq) => this.acks.onSeen(peer, seq));
    let previous = this.partitions.map;
    this.offMap = this.partitions.onChange((map) => {
      this.coordinator.metrics.forgetPartitions(changedPartitionIds(previous, map));
      previous = map;
    });
    this.handoff.start();
  }

  /** Ops as `dest` may receive them (FetchUpdates serves pulls through this, like the senders' shape). */
  shapeFor(dest: string, ops: readonly Op[]): readonly Op[] {
    return this.shipping.batchFor(dest, ops);
  }

  async close(): Promise<void> {
    this.offCursor?.();
    this.offSeen?.();
    this.offMap?.();
    await this.handoff.stop();
    await this.hints.close();
  }

  /**
   * Replicated ops as the replica applies them: an op tagged hintedFor a replica this node stands
   * in for is kept as a hint (durably, before the batch is acknowledged) and logged as a skip.
   */
  async receive(ops: readonly ProtoOp[]): Promise<Op[]> {
    const self = this.node.config.id;
    const fresh: Hint[] = [];
    const out = ops.map((p) => {
      const op = fromProtoOp(p);
      if (p.hintedFor === undefined || p.kind === OpKind.OP_KIND_SKIP || p.hintedFor === self || this.partitions.replicates(self, op.key)) return op;
      if (op.seq > this.node.log.lastSeen(op.origin)) {
        const opId = `${op.origin}:${op.seq}`;
        const entry: StoredEntry = { key: op.key, value: op.value ?? Buffer.alloc(0), deleted: op.value === null, version: { ts: op.ts, origin: op.origin, opId } };
        fresh.push({ target: p.hintedFor, opId, createdAt: Date.now(), entry });
      }
      return skipOf(op);
    });
    await this.hints.add(fresh);
    return out;
  }

  stats(): PartitionStats {
    const c = this.coordinator.counters;
    return {
      mapVersion: this.partitions.version,
      readRepairs: c.readRepairs,
      hintsHeld: this.hints.size,
      hintedWrites: this.hints.hintedWrites,
      forwardedOps: c.forwardedOps,
      notOwnerAnswers: c.notOwnerAnswers,
      hintsDelivered: this.hints.delivered,
      hintsExpired: this.hints.expired,
      hintsExpiredByTarget: Object.fromEntries(this.hints.expiredFor),
      coordinatedWrites: c.coordinatedWrites,
      coordinatedReads: c.coordinatedReads,
      speculativeReads: this.coordinator.readBudget.counters.extra,
      speculationsRefused: this.coordinator.readBudget.counters.refused,
      speculateAfterMs: this.coordinator.speculateAfterMs() ?? 0,
      speculativeRetry: this.coordinator.speculativeRetry,
    };
  }

  handlers(): PartitionHandlers {
    const node = this.node;
    const toStored = (e: Entry): StoredEntry => ({
      key: e.key, value: e.value ?? Buffer.alloc(0), deleted: e.value === null, version: this.coordinator.versionOf(e),
    });
    return {
      updatePartitionMap: unaryHandler((call) => {
        if (!call.request.map) throw new InvalidFieldError('map', 'is required');
        const known = new Map(node.peerStatuses().map((p) => [p.id, p.address]));
        known.set(node.config.id, node.address);
        let accepted: boolean;
        try {
          accepted = this.partitions.update(call.request.map, known);
        } catch (err) {
          if (err instanceof InvalidMapError) throw new InvalidFieldError(`map.${err.field}`, err.message.slice(err.field.length + 2));
          throw err;
        }
        return { accepted, version: this.partitions.version };
      }),

      getPartitionMap: unaryHandler(() => ({ map: this.partitions.toProto() })),

      listHints: unaryHandler((call) => {
        const limit = checkLimit('limit', call.request.limit, 10_000, 1000);
        const { key, target, newestFirst } = call.request;
        if (key !== undefined) checkKey('key', key);
        if (target !== undefined) checkNodeId('target', target);
        const now = Date.now();
        // A key's hints come from the store's per-key index: a key asked for is found however
        // many hints of other keys the node holds (a listing capped at `limit` missed it).
        const hints = key === undefined ? this.hints.list() : this.hints.ofKey(key);
        // A target's newest hints are found however many older ones, or ones for other targets, it keeps.
        const ofTarget = target === undefined ? hints : hints.filter((h) => h.target === target);
        const all = newestFirst ? ofTarget.reverse() : ofTarget;
        const counts = key === undefined && target === undefined ? this.hints.targets() : countByTarget(all);
        return {
          hints: all.slice(0, limit).map((h) => ({
            target: h.target, key: h.entry.key, opId: h.opId, ageMs: Math.max(0, now - h.createdAt), version: h.entry.version, deleted: h.entry.deleted,
          })),
          counts: [...counts].map(([target, count]) => ({ target, count })),
          total: all.length,
        };
      }),

      exportRange: (call) => {
        let plan: ReturnType<typeof exportFilter>;
        try {
          plan = exportFilter(this.partitions.map, call.request);
        } catch (err) {
          call.emit('error', toStatus(err));
          return;
        }
        streamExport(call, node.store.iterate({ includeTombstones: true }), plan.filter, plan.batch, toStored).then(
          () => call.end(),
          (err: unknown) => call.emit('error', toStatus(err)),
        );
      },

      ingestEntries: unaryHandler(async (call) => {
        const entries = checkIngest(call.request.entries);
        // Later local writes must win over what arrives here: the clock moves past every ts.
        for (const e of entries) node.replica.clock.observe(e.ts);
        return ingestResult(await node.observed.write(entries));
      }),

      storeHints: unaryHandler(async (call) => {
        const hints = checkHintsToStore(call.request.hints, node.config.id, Date.now());
        // Later local writes must win over a hinted version, as over an ingested one.
        for (const h of hints) node.replica.clock.observe(h.entry.version?.ts ?? 0);
        await this.hints.add(hints);
        return { stored: hints.length };
      }),

      dropRanges: unaryHandler(async (call) => {
        const { mapVersion, ranges } = call.request;
        if (ranges.length === 0) throw new InvalidFieldError('ranges', 'name at least one position range to drop');
        const map = this.partitions.map;
        const plan = exportFilter(map, { partitionIds: [], ranges, batchSize: 0 });
        if (mapVersion !== this.partitions.version) {
          throw new PreconditionError(`map_version: the drop was planned for map version ${mapVersion} but this node holds version ${this.partitions.version}; nothing was dropped`);
        }
        const self = node.config.id;
        // The log is the store's WAL for replicated ops: one replayed after a crash would land
        // on top of a purge marker and bring the key back.
        await node.checkpoint();
        const r = await dropRanges(node.store.iterate({ includeTombstones: true }), plan.filter, (key) => this.partitions.replicates(self, key), (keys) => node.observed.purge(keys));
        if (r.dropped > 0) this.logger.info(`dropped ${r.dropped} keys of ranges this node no longer replicates (map version ${mapVersion})`);
        return r;
      }),

      getHotspots: unaryHandler((call) => {
        const limit = checkLimit('limit', call.request.limit, 1000, 20);
        const m = this.coordinator.metrics;
        return {
          partitions: m.getHotPartitions(0).map((p) => ({ id: p.partition, ops: p.ops })),
          keys: m.getHotKeys(limit).map((k) => ({ key: k.key, count: k.count, error: k.error })),
          totalOps: m.totalOps,
        };
      }),

      resetMetrics: unaryHandler(() => {
        this.coordinator.metrics.reset();
        return {};
      }),
    };
  }
}
