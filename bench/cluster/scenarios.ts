// Scenarios: a system under test (a RingDB cluster spec, or the etcd peer) and the workloads run
// against it, one after another on the same running system. A new configuration (more nodes,
// quorum settings, key distributions, an operation during the load) is a new entry in a list
// built by run.ts; this module only knows how to start each kind of system and drive it.

import type { ClusterSpec, StorageSpec } from '../../src/engine/client';
import { EtcdCluster } from './etcd';
import { LagTracker } from './lag';
import { RingCluster } from './ringdb';
import { describeWorkload, preload, runWorkload, type Ack, type Target, type WorkloadResult, type WorkloadSpec } from './workloads';

export interface RingScenario {
  system: 'ringdb';
  id: string;
  description: string;
  /** The cluster spec (dataDir is replaced by a temp folder). */
  spec: Partial<ClusterSpec> & { nodes: number; storage: StorageSpec };
  /** A list, or built from the running cluster when a workload acts on it (`during`). */
  workloads: WorkloadSpec[] | ((cluster: RingCluster) => WorkloadSpec[]);
  /** Keys of the dataset written before the workloads (uniform and Zipf workloads use it). */
  preloadKeys?: number;
  /** Poll interval of the replication-lag tracker (clusters of more than one node); 0 = no
   *  tracking (with N < nodes a node never sees the writes it does not replicate). */
  lagPollMs: number;
  /**
   * Runs this many separate clusters of `spec` (each its own controller and folder; nothing
   * passes between them) and spreads the client's requests over all their nodes. Default 1.
   */
  instances?: number;
}

export interface EtcdScenario {
  system: 'etcd';
  id: string;
  description: string;
  members: number;
  workloads: WorkloadSpec[];
  preloadKeys?: number;
}

export type Scenario = RingScenario | EtcdScenario;

export interface ScenarioResult {
  id: string;
  system: 'ringdb' | 'etcd';
  description: string;
  nodes: number;
  durability: string;
  preloadedKeys?: number;
  /** After the preload: entries stored per node (memtable + SSTables, from Stats) and their sum
   *  divided by the keys written, i.e. how many copies of each key the cluster really keeps. */
  storedCopies?: { perNode: Record<string, number>; copiesPerKey: number };
  /** RingDB's spec fields that shape the result (storage, topology, quorums). */
  spec?: Record<string, unknown>;
  workloads: WorkloadResult[];
}

function seqOf(opId: string): number {
  return Number(opId.slice(opId.lastIndexOf(':') + 1));
}

export function durabilityOf(s: Scenario): string {
  if (s.system === 'etcd') return 'etcd default: a put returns after the entry is fsynced to the WAL of a majority (2 of 3 members)';
  const { sync, syncIntervalMs } = s.spec.storage;
  const where = s.spec.nodes > 1 ? 'on the node that took the write (replication to the others is asynchronous)' : 'on the node';
  switch (sync) {
    case 'always': return `storage.sync=always: a put returns after its WAL record and op-log entry are fsynced ${where}`;
    case 'batch': return `storage.sync=batch (group commit, at most one fsync per ${syncIntervalMs} ms): a put returns after fsync ${where}`;
    case 'none': return `storage.sync=none: a put returns once written to the OS page cache ${where}, no fsync`;
  }
}

export function ringTarget(cluster: RingCluster, lagPollMs: number): Target {
  // The nodes at start: a node added during a workload gets no client traffic and is not watched.
  const nodes = [...cluster.nodes];
  return {
    endpoints: nodes.length,
    async put(endpoint, key, value): Promise<Ack> {
      const v = await nodes[endpoint].client.put(key, value, { timeoutMs: 30_000 });
      return { origin: v.origin, seq: seqOf(v.opId) };
    },
    async batchPut(endpoint, entries): Promise<Ack> {
      const r = await nodes[endpoint].client.batchPut(entries, { timeoutMs: 60_000 });
      return { origin: r.origin, seq: r.firstSeq + r.count - 1 };
    },
    async get(endpoint, key): Promise<boolean> {
      return (await nodes[endpoint].client.get(key, { timeoutMs: 30_000 })).found;
    },
    pids: () => cluster.pids(),
    lagTracker: nodes.length > 1 && lagPollMs > 0 ? () => new LagTracker(nodes, lagPollMs) : undefined,
    async counters(): Promise<Record<string, number>> {
      const sum: Record<string, number> = {};
      const add = (name: string, v: number): void => void (sum[name] = (sum[name] ?? 0) + v);
      for (const n of nodes) {
        const st = await n.client.stats({ timeoutMs: 30_000 });
        for (const [name, v] of Object.entries(st.counters)) add(name, v);
        for (const [name, v] of Object.entries(st.storage.counters)) add(`storage.${name}`, v);
      }
      return sum;
    },
  };
}

/**
 * Separate clusters as one target: endpoint i is the i-th node counted over all of them, and the
 * pids carry the instance (`n1@2`), so the CPU report keeps every process apart.
 */
export function spreadTarget(targets: readonly Target[]): Target {
  const at: { target: Target; endpoint: number }[] = targets.flatMap((target) => Array.from({ length: target.endpoints }, (_, endpoint) => ({ target, endpoint })));
  return {
    endpoints: at.length,
    put: (e, key, value) => at[e].target.put(at[e].endpoint, key, value),
    batchPut: (e, entries) => at[e].target.batchPut!(at[e].endpoint, entries),
    get: (e, key) => at[e].target.get(at[e].endpoint, key),
    pids: () => Object.fromEntries(targets.flatMap((t, i) => Object.entries(t.pids()).map(([label, pid]) => [`${label}@${i + 1}`, pid]))),
    async counters(): Promise<Record<string, number>> {
      const sum: Record<string, number> = {};
      for (const t of targets) for (const [name, v] of Object.entries((await t.counters?.()) ?? {})) sum[name] = (sum[name] ?? 0) + v;
      return sum;
    },
  };
}

/** etcd refuses transactions of more than 128 operations (its --max-txn-ops default). */
const ETCD_MAX_TXN_OPS = 128;

export function etcdTarget(cluster: EtcdCluster, members: number): Target {
  return {
    endpoints: members,
    // The etcd3 client spreads calls over the members itself; the endpoint index is unused.
    async put(_endpoint, key, value): Promise<undefined> {
      await cluster.client.put(key).value(value);
      return undefined;
    },
    async get(_endpoint, key): Promise<boolean> {
      return (await cluster.client.get(key).buffer()) !== null;
    },
    // Used only to preload a key space: transactions of up to 128 puts, sent concurrently.
    async batchPut(_endpoint, entries): Promise<undefined> {
      const txns = [];
      for (let i = 0; i < entries.length; i += ETCD_MAX_TXN_OPS) {
        const chunk = entries.slice(i, i + ETCD_MAX_TXN_OPS);
        txns.push(cluster.client.if(chunk[0].key, 'Version', '<', 1_000_000_000).then(...chunk.map((e) => cluster.client.put(e.key).value(e.value))).commit());
      }
      await Promise.all(txns);
      return undefined;
    },
    pids: () => cluster.pids(),
  };
}

/**
 * Unmeasured runs of the scenario's own client shapes, so JIT compilation, heap growth and
 * connection setup do not land in the first measured workload. A warm-up of 1,000 puts was too
 * short: a dump of every write's lag (2026-11-27, sync=none) showed the nodes at a third of their
 * later unary rate for the first 2.5 s, with lag p50 14-23 ms against 0-5 ms after, and that
 * stretch held a large share of the run's slowest 1 %. Each shape runs for a fifth of the
 * workload's time, at most WARMUP_MAX_MS; its keys are stored like any others.
 */
const WARMUP_MAX_MS = 3_000;

export function warmupsFor(workloads: readonly WorkloadSpec[], canBatch: boolean): WorkloadSpec[] {
  const shapes = new Map<string, WorkloadSpec>();
  for (const w of workloads) {
    if (w.kind === 'get' || (w.kind === 'batchPut' && !canBatch) || shapes.has(w.kind)) continue;
    const maxMs = Math.min(WARMUP_MAX_MS, Math.ceil(w.maxMs / 5));
    shapes.set(w.kind, { kind: w.kind, inFlight: w.inFlight, batchSize: w.batchSize, maxRequests: w.maxRequests, maxMs });
  }
  // A scenario of gets alone still warms the write path its preload uses.
  if (shapes.size === 0) shapes.set('put', { kind: 'put', inFlight: 16, maxRequests: 1_000, maxMs: WARMUP_MAX_MS });
  return [...shapes.values()];
}

/** Runs the warm-ups and returns how many keys they wrote. */
async function warmUp(id: string, target: Target, workloads: readonly WorkloadSpec[], canBatch: boolean): Promise<number> {
  let keys = 0;
  for (const w of warmupsFor(workloads, canBatch)) {
    process.stderr.write(`  ${id}: warm-up, ${describeWorkload(w)} (${w.maxMs / 1000} s, not measured)\n`);
    keys += (await runWorkload(target, w)).ops;
  }
  return keys;
}

async function runAll(id: string, target: Target, workloads: WorkloadSpec[], canBatch: boolean, preloadKeys?: number,
  afterPreload?: (warmupKeys: number) => Promise<void>): Promise<WorkloadResult[]> {
  const warmupKeys = await warmUp(id, target, workloads, canBatch);
  if (preloadKeys) {
    process.stderr.write(`  ${id}: preloading ${preloadKeys} keys...\n`);
    await preload(target, preloadKeys);
    await afterPreload?.(warmupKeys);
  }
  const results: WorkloadResult[] = [];
  for (const w of workloads) {
    if (w.kind === 'batchPut' && !canBatch) continue;
    process.stderr.write(`  ${id}: ${describeWorkload(w)} (up to ${w.maxMs / 1000} s)...`);
    const r = await runWorkload(target, w);
    const lag = r.replicationLag ? `, lag p99 ${r.replicationLag.p99Ms} ms, final ${r.replicationLag.finalLagMs} ms` : '';
    const cpu = `cores: ours ${r.cpu.totalCoresUsed}, other work ${r.cpu.otherCoresUsed ?? '?'}`;
    const during = r.during ? `, ${r.during.name} at ${r.during.startedAtMs} ms took ${r.during.tookMs ?? r.during.error} ms` : '';
    process.stderr.write(` ${r.opsPerSec} ${r.op}s/s${during}, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms${lag}${r.errors ? `, ${r.errors} errors` : ''} (${cpu})\n`);
    results.push(r);
  }
  return results;
}

export async function runScenario(s: Scenario): Promise<ScenarioResult> {
  process.stderr.write(`${s.id}: starting ${s.description}\n`);
  if (s.system === 'etcd') {
    const cluster = await EtcdCluster.start(s.members);
    try {
      const workloads = await runAll(s.id, etcdTarget(cluster, s.members), s.workloads, false, s.preloadKeys);
      return {
        id: s.id, system: 'etcd', description: s.description, nodes: s.members, durability: durabilityOf(s),
        ...(s.preloadKeys ? { preloadedKeys: s.preloadKeys } : {}), workloads,
      };
    } finally {
      await cluster.stop();
    }
  }
  if ((s.instances ?? 1) > 1) return runInstances(s);
  const cluster = await RingCluster.start(s.id, s.spec);
  try {
    const specs = typeof s.workloads === 'function' ? s.workloads(cluster) : s.workloads;
    let storedCopies: ScenarioResult['storedCopies'];
    const countCopies = async (warmupKeys: number): Promise<void> => {
      const perNode: Record<string, number> = {};
      let total = 0;
      for (const n of cluster.nodes) {
        const st = (await n.client.stats()).storage;
        // The warm-up's unique keys are stored too: count them as written keys.
        const entries = st.memtableEntries + st.sstables.reduce((a, t) => a + t.entries, 0);
        perNode[n.id] = entries;
        total += entries;
      }
      storedCopies = { perNode, copiesPerKey: Math.round((total / ((s.preloadKeys ?? 0) + warmupKeys)) * 100) / 100 };
    };
    const workloads = await runAll(s.id, ringTarget(cluster, s.lagPollMs), specs, true, s.preloadKeys, countCopies);
    const { storage, topology, replicationFactor, writeQuorum, readQuorum } = s.spec;
    return {
      id: s.id, system: 'ringdb', description: s.description, nodes: s.spec.nodes, durability: durabilityOf(s),
      spec: { storage, topology: topology ?? 'mesh', replicationFactor, writeQuorum, readQuorum },
      ...(s.preloadKeys ? { preloadedKeys: s.preloadKeys } : {}),
      ...(storedCopies ? { storedCopies } : {}),
      workloads,
    };
  } finally {
    await cluster.stop();
  }
}

/** A scenario of several separate clusters (`instances`), driven as one target. */
async function runInstances(s: RingScenario): Promise<ScenarioResult> {
  const clusters: RingCluster[] = [];
  try {
    for (let i = 1; i <= (s.instances ?? 1); i++) clusters.push(await RingCluster.start(`${s.id}-${i}`, s.spec));
    if (typeof s.workloads === 'function') throw new Error(`${s.id}: workloads built from a running cluster need one cluster, not ${s.instances}`);
    const workloads = await runAll(s.id, spreadTarget(clusters.map((c) => ringTarget(c, 0))), s.workloads, true);
    const { storage, topology } = s.spec;
    return {
      id: s.id, system: 'ringdb', description: s.description, nodes: s.spec.nodes * clusters.length, durability: durabilityOf(s),
      spec: { storage, topology: topology ?? 'mesh', instances: clusters.length }, workloads,
    };
  } finally {
    for (const c of clusters) await c.stop();
  }
}
