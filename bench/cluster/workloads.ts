// Workloads: what the client does, independent of which system serves it. A system is a Target
// (RingDB nodes, or etcd); a workload drives it with a closed loop and returns throughput and
// per-request latency, plus replication lag when the target has replicas to watch.

import { performance } from 'node:perf_hooks';
import { closedLoop, keyOf, valueOf, type LoopResult } from './measure';
import { cpuWindow, type CpuReport } from './cpu';
import type { LagReport, LagTracker } from './lag';

export const KEY_BYTES = 16;
export const VALUE_BYTES = 100;

/** A write as the system acknowledged it: origin node and its per-origin sequence number. */
export interface Ack {
  origin: string;
  seq: number;
}

export interface Target {
  /** Nodes a client may send requests to (requests are spread round-robin over them). */
  endpoints: number;
  put(endpoint: number, key: Buffer, value: Buffer): Promise<Ack | undefined>;
  /** Absent when the system has no batched write. Resolves with the ack of the LAST entry. */
  batchPut?(endpoint: number, entries: { key: Buffer; value: Buffer }[]): Promise<Ack>;
  /** Process ids for the CPU report (label -> pid). */
  pids(): Record<string, number>;
  /** A replication-lag tracker for this target, when it has replicas to watch. */
  lagTracker?(): LagTracker;
}

export interface WorkloadSpec {
  kind: 'put' | 'batchPut';
  /** Requests in flight (for batchPut: batches in flight). */
  inFlight: number;
  /** Entries per BatchPut call. */
  batchSize?: number;
  maxRequests: number;
  maxMs: number;
}

export interface WorkloadResult {
  workload: string;
  inFlight: number;
  batchSize: number | null;
  /** Calls that succeeded (a BatchPut counts once). */
  requests: number;
  puts: number;
  errors: number;
  firstErrors?: string[];
  elapsedMs: number;
  /** Puts acknowledged per second during the run. */
  putsPerSec: number;
  /** Latency of one call (one put, or one whole batch), in ms. */
  latencyMs: { p50: number | null; p99: number | null; max: number | null };
  replicationLag: LagReport | null;
  /** Puts per second counted until the last one was on every replica (run time + final lag). */
  putsPerSecReplicated: number | null;
  cpu: CpuReport;
  /** CPU time the benchmark's processes spent per put, in microseconds (client included, and
   *  without it): less sensitive than puts/s to other work on a shared machine. */
  cpuMicrosPerPut: { all: number | null; serverSide: number | null };
}

/** Key prefixes keep each workload's keys apart when several run against one cluster. */
let nextPrefix = 0;
const PREFIXES = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function describeWorkload(w: WorkloadSpec): string {
  return w.kind === 'put' ? `put x${w.inFlight} in flight` : `batchPut ${w.batchSize} x${w.inFlight} batches in flight`;
}

export async function runWorkload(target: Target, w: WorkloadSpec): Promise<WorkloadResult> {
  const prefix = PREFIXES[nextPrefix++ % PREFIXES.length];
  const batchSize = w.kind === 'batchPut' ? (w.batchSize ?? 1000) : 1;
  const value = valueOf(0, VALUE_BYTES);
  const tracker = target.lagTracker?.();
  const onAck = (ack: Ack | undefined): void => {
    if (ack && tracker) tracker.recordAck(ack.origin, ack.seq, performance.now());
  };

  const cpuDone = cpuWindow(target.pids());
  tracker?.start();
  let loop: LoopResult;
  if (w.kind === 'put') {
    loop = await closedLoop(w, async (i, slot) => onAck(await target.put(slot % target.endpoints, keyOf(prefix, i), value)));
  } else {
    const batchPut = target.batchPut;
    if (!batchPut) throw new Error('this target has no batched write');
    loop = await closedLoop(w, async (i, slot) => {
      const entries = new Array<{ key: Buffer; value: Buffer }>(batchSize);
      for (let j = 0; j < batchSize; j++) entries[j] = { key: keyOf(prefix, i * batchSize + j), value };
      onAck(await batchPut.call(target, slot % target.endpoints, entries));
    });
  }
  const cpu = cpuDone();
  const lag = tracker ? await tracker.finish(loop.lastAckAt) : null;

  const puts = loop.requests * batchSize;
  const pct = loop.latencies.percentiles([50, 99]);
  const replicatedMs = lag?.finalLagMs === null || lag === null ? null : loop.lastAckAt - loop.startedAt + lag.finalLagMs;
  return {
    workload: describeWorkload(w),
    inFlight: w.inFlight,
    batchSize: w.kind === 'batchPut' ? batchSize : null,
    requests: loop.requests,
    puts,
    errors: loop.errors,
    ...(loop.firstErrors.length ? { firstErrors: loop.firstErrors } : {}),
    elapsedMs: Math.round(loop.elapsedMs),
    putsPerSec: Math.round(puts / (loop.elapsedMs / 1000)),
    latencyMs: { p50: pct.p50, p99: pct.p99, max: loop.latencies.max() },
    replicationLag: lag,
    putsPerSecReplicated: replicatedMs === null ? null : Math.round(puts / (replicatedMs / 1000)),
    cpu,
    cpuMicrosPerPut: cpuPerPut(cpu, loop.elapsedMs, puts),
  };
}

function cpuPerPut(cpu: CpuReport, elapsedMs: number, puts: number): { all: number | null; serverSide: number | null } {
  if (puts === 0) return { all: null, serverSide: null };
  const perPut = (cores: number): number => Math.round(((cores * elapsedMs) / puts) * 1000 * 10) / 10;
  const client = cpu.coresUsed.client;
  return { all: perPut(cpu.totalCoresUsed), serverSide: client === null ? null : perPut(cpu.totalCoresUsed - client) };
}
