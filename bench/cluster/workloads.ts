// Workloads: what the client does, independent of which system serves it. A system is a Target
// (RingDB nodes, or etcd); a workload drives it with a closed loop and returns throughput and
// per-request latency, plus replication lag when the target has replicas to watch.

import { performance } from 'node:perf_hooks';
import { closedLoop, keyOf, valueOf, type LoopResult } from './measure';
import { cpuWindow, type CpuReport } from './cpu';
import { describeKeys, keyPicker, type KeyDist } from './keys';
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
  batchPut?(endpoint: number, entries: { key: Buffer; value: Buffer }[]): Promise<Ack | undefined>;
  /** Resolves with whether the key was found. */
  get(endpoint: number, key: Buffer): Promise<boolean>;
  /** Process ids for the CPU report (label -> pid); called at the start and end of each workload. */
  pids(): Record<string, number>;
  /** A replication-lag tracker for this target, when it has replicas to watch. */
  lagTracker?(): LagTracker;
  /** What the system's nodes counted so far, summed over them (RingDB: Stats op and store counters). */
  counters?(): Promise<Record<string, number>>;
}

/** Something done to the system while a workload runs (e.g. adding a node), timed on the timeline. */
export interface DuringLoad {
  name: string;
  /** Started this long after the workload starts. */
  atMs: number;
  run: () => Promise<unknown>;
}

export interface WorkloadSpec {
  kind: 'put' | 'batchPut' | 'get';
  /** Requests in flight (for batchPut: batches in flight). */
  inFlight: number;
  /** Entries per BatchPut call. */
  batchSize?: number;
  /** Default: unique keys. Gets need a key space the scenario preloaded (see DATASET_PREFIX). */
  keys?: KeyDist;
  maxRequests: number;
  maxMs: number;
  during?: DuringLoad;
}

export interface WorkloadResult {
  workload: string;
  op: 'put' | 'get';
  keys: string;
  inFlight: number;
  batchSize: number | null;
  /** Calls that succeeded (a BatchPut counts once). */
  requests: number;
  /** Keys written or read (a BatchPut counts its entries). */
  ops: number;
  errors: number;
  firstErrors?: string[];
  /** Gets that found their key. */
  found?: number;
  elapsedMs: number;
  /** Operations acknowledged per second during the run. */
  opsPerSec: number;
  /** Latency of one call (one put or get, or one whole batch), in ms. */
  latencyMs: { p50: number | null; p99: number | null; max: number | null };
  replicationLag: LagReport | null;
  /** Puts per second counted until the last one was on every replica (run time + final lag). */
  opsPerSecReplicated: number | null;
  /** Operations per second in consecutive windows of timelineWindowMs (see `during`). */
  timeline?: { windowMs: number; opsPerSec: number[] };
  during?: { name: string; startedAtMs: number; tookMs: number | null; error?: string };
  cpu: CpuReport;
  /** CPU time the benchmark's processes spent per operation, in microseconds (client included,
   *  and without it): less sensitive than ops/s to other work on a shared machine. */
  cpuMicrosPerOp: { all: number | null; serverSide: number | null };
  /** How the nodes' counters moved during the workload and until it had replicated (Target.counters). */
  nodeCounters?: Record<string, number>;
}

/** Key prefixes keep each workload's unique keys apart when several run against one cluster. */
let nextPrefix = 0;
const PREFIXES = 'abcdefghijklmnopqrstuvwxyz';
/** The prefix of the preloaded key space that uniform and Zipf workloads draw from. */
export const DATASET_PREFIX = 'D';
const TIMELINE_WINDOW_MS = 500;

export function describeWorkload(w: WorkloadSpec): string {
  const keys = describeKeys(w.keys ?? { kind: 'unique' });
  const what = w.kind === 'batchPut' ? `batchPut ${w.batchSize} x${w.inFlight} batches in flight` : `${w.kind} x${w.inFlight} in flight`;
  return `${what}, ${keys}${w.during ? `, ${w.during.name} after ${(w.during.atMs / 1000).toFixed(1)} s` : ''}`;
}

/** Writes keys 0..count-1 of the dataset (unmeasured) and waits until every replica has them. */
export async function preload(target: Target, count: number): Promise<void> {
  const value = valueOf(0, VALUE_BYTES);
  const tracker = target.lagTracker?.();
  tracker?.start();
  const batch = 1000;
  const loop = await closedLoop({ inFlight: target.batchPut ? 4 : 64, maxRequests: target.batchPut ? Math.ceil(count / batch) : count, maxMs: 600_000, maxErrors: 1 },
    async (i, slot) => {
      if (!target.batchPut) {
        await target.put(slot % target.endpoints, keyOf(DATASET_PREFIX, i), value);
        return;
      }
      const entries = [];
      for (let k = i * batch; k < Math.min(count, (i + 1) * batch); k++) entries.push({ key: keyOf(DATASET_PREFIX, k), value });
      const ack = await target.batchPut(slot % target.endpoints, entries);
      if (ack) tracker?.recordAck(ack.origin, ack.seq, performance.now());
    });
  if (loop.errors > 0) throw new Error(`preloading ${count} keys failed: ${loop.firstErrors.join('; ')}`);
  await tracker?.finish(loop.lastAckAt);
}

export async function runWorkload(target: Target, w: WorkloadSpec): Promise<WorkloadResult> {
  const keys = w.keys ?? { kind: 'unique' };
  const prefix = keys.kind === 'unique' ? PREFIXES[nextPrefix++ % PREFIXES.length] : DATASET_PREFIX;
  const pick = keyPicker(keys);
  const batchSize = w.kind === 'batchPut' ? (w.batchSize ?? 1000) : 1;
  const value = valueOf(0, VALUE_BYTES);
  const tracker = w.kind === 'get' ? undefined : target.lagTracker?.();
  const windows: number[] = [];
  let t0 = performance.now();
  const count = (n: number, at: number): void => {
    const b = Math.floor((at - t0) / TIMELINE_WINDOW_MS);
    while (windows.length <= b) windows.push(0);
    windows[b] += n;
  };
  const onAck = (ack: Ack | undefined, n: number): void => {
    const at = performance.now();
    count(n, at);
    if (ack && tracker) tracker.recordAck(ack.origin, ack.seq, at);
  };

  const countersBefore = await countersOf(target);
  const cpuDone = cpuWindow(target.pids());
  tracker?.start();
  let found = 0;
  let during: WorkloadResult['during'];
  let duringDone: Promise<void> = Promise.resolve();
  let duringTimer: NodeJS.Timeout | undefined;
  if (w.during) {
    const d = w.during;
    duringDone = new Promise<void>((resolve) => {
      duringTimer = setTimeout(() => {
        const started = performance.now();
        during = { name: d.name, startedAtMs: Math.round(started - t0), tookMs: null };
        d.run().then(
          () => void (during!.tookMs = Math.round(performance.now() - started)),
          (err: unknown) => void (during!.error = err instanceof Error ? err.message : String(err)),
        ).finally(resolve);
      }, d.atMs);
    });
  }
  t0 = performance.now();
  let loop: LoopResult;
  if (w.kind === 'put') {
    loop = await closedLoop(w, async (i, slot) => onAck(await target.put(slot % target.endpoints, keyOf(prefix, pick(i)), value), 1));
  } else if (w.kind === 'get') {
    loop = await closedLoop(w, async (i, slot) => {
      if (await target.get(slot % target.endpoints, keyOf(prefix, pick(i)))) found++;
      onAck(undefined, 1);
    });
  } else {
    const batchPut = target.batchPut;
    if (!batchPut) throw new Error('this target has no batched write');
    loop = await closedLoop(w, async (i, slot) => {
      const entries = new Array<{ key: Buffer; value: Buffer }>(batchSize);
      for (let j = 0; j < batchSize; j++) entries[j] = { key: keyOf(prefix, pick(i * batchSize + j)), value };
      onAck(await batchPut.call(target, slot % target.endpoints, entries), batchSize);
    });
  }
  const cpu = cpuDone();
  if (during === undefined) clearTimeout(duringTimer);
  else await duringDone;
  const lag = tracker ? await tracker.finish(loop.lastAckAt) : null;
  const countersAfter = countersBefore && (await countersOf(target));

  const ops = loop.requests * batchSize;
  const pct = loop.latencies.percentiles([50, 99]);
  const replicatedMs = lag === null || lag.finalLagMs === null ? null : loop.lastAckAt - loop.startedAt + lag.finalLagMs;
  return {
    workload: describeWorkload(w),
    op: w.kind === 'get' ? 'get' : 'put',
    keys: describeKeys(keys),
    inFlight: w.inFlight,
    batchSize: w.kind === 'batchPut' ? batchSize : null,
    requests: loop.requests,
    ops,
    errors: loop.errors,
    ...(loop.firstErrors.length ? { firstErrors: loop.firstErrors } : {}),
    ...(w.kind === 'get' ? { found } : {}),
    elapsedMs: Math.round(loop.elapsedMs),
    opsPerSec: Math.round(ops / (loop.elapsedMs / 1000)),
    latencyMs: { p50: pct.p50, p99: pct.p99, max: loop.latencies.max() },
    replicationLag: lag,
    opsPerSecReplicated: replicatedMs === null ? null : Math.round(ops / (replicatedMs / 1000)),
    ...(w.during ? { timeline: { windowMs: TIMELINE_WINDOW_MS, opsPerSec: windows.map((n) => Math.round((n * 1000) / TIMELINE_WINDOW_MS)) } } : {}),
    ...(during ? { during } : {}),
    cpu,
    cpuMicrosPerOp: cpuPerOp(cpu, loop.elapsedMs, ops),
    ...(countersBefore && countersAfter ? { nodeCounters: counterDelta(countersBefore, countersAfter) } : {}),
  };
}

/** The target's counters; undefined when it has none or they cannot be read (they are a diagnostic, not worth a workload). */
async function countersOf(target: Target): Promise<Record<string, number> | undefined> {
  try {
    return await target.counters?.();
  } catch {
    return undefined;
  }
}

function counterDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, v] of Object.entries(after)) delta[name] = v - (before[name] ?? 0);
  return delta;
}

function cpuPerOp(cpu: CpuReport, elapsedMs: number, ops: number): { all: number | null; serverSide: number | null } {
  if (ops === 0) return { all: null, serverSide: null };
  const perOp = (cores: number): number => Math.round(((cores * elapsedMs) / ops) * 1000 * 10) / 10;
  const client = cpu.coresUsed.client;
  return { all: perOp(cpu.totalCoresUsed), serverSide: client === null ? null : perOp(cpu.totalCoresUsed - client) };
}
