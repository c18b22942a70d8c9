// Issue 3's targets, computed from the scenario results of the same run: replicated throughput
// >= 0.5x the single node and >= 10x etcd, replication lag p99 < 100 ms. The replicated figure
// used is puts/s until the last put was on EVERY replica (run time + final lag), so a cluster that
// acknowledges faster than it replicates gets no credit for the backlog; the acknowledged rate
// is reported beside it.

import { round2 } from './measure';
import type { ScenarioResult } from './scenarios';
import type { WorkloadResult } from './workloads';

interface Check {
  value: number | null;
  target: string;
  met: boolean | null;
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;
}

/** Met on the exact ratio, shown rounded: rounded first, 0.497 read as 0.5 and met a 0.5 target. */
function atLeast(value: number | null, min: number): Check {
  return { value: value === null ? null : round2(value), target: `>= ${min}`, met: value === null ? null : value >= min };
}

const shown = (value: number | null): number | null => (value === null ? null : round2(value));

function below(value: number | null, max: number): Check {
  return { value, target: `< ${max}`, met: value === null ? null : value < max };
}

function find(results: ScenarioResult[], id: string): ScenarioResult | undefined {
  return results.find((r) => r.id === id);
}

/** Issue 3's workloads: puts of unique keys with nothing else going on, unary or batched. */
function byClient(s: ScenarioResult | undefined, batched: boolean): WorkloadResult | undefined {
  return s?.workloads.find((w) => w.op === 'put' && w.keys === 'unique keys' && !w.during && (w.batchSize !== null) === batched);
}

export interface ClientTargets {
  replicatedPutsPerSec: number | null;
  replicatedAckedPutsPerSec: number | null;
  singleNodePutsPerSec: number | null;
  etcdPutsPerSec: number | null;
  replicatedVsSingle: Check;
  replicatedVsEtcd: Check;
  replicationLagP99Ms: Check;
  /** The same ratios on acknowledged throughput (not waiting for replication). */
  ackedVsSingle: number | null;
  ackedVsEtcd: number | null;
  /** Puts/s of 3 separate single nodes sharing the machine (ringdb-3-independent), when run. */
  independentPutsPerSec: number | null;
  /**
   * A third of those over the single node: the replicated/single ratio three full copies would
   * give here if replicating cost nothing. Not a target; it says what bounds replicatedVsSingle.
   */
  freeReplicationVsSingle: number | null;
  /** Replicated puts/s over that third: 1.0 means replication itself costs nothing measurable. */
  replicatedVsFreeReplication: number | null;
  /**
   * The ratio's ceiling on this machine: replicated/single if each of the three copies cost
   * exactly the single node's server CPU per put, and the nodes had every core that the client
   * and other work left in the replicated run. Not a target; a 0.5x target above or near it asks
   * for replication and three processes sharing two cores to cost nothing.
   */
  ceilingVsSingle: number | null;
}

/**
 * Puts/s that the cores left to the servers in `replicated`'s run would give at three times
 * `single`'s server CPU per put; null when a figure is missing.
 */
function ceilingPutsPerSec(replicated: WorkloadResult, single: WorkloadResult | undefined): number | null {
  const { machineCores, coresUsed, otherCoresUsed } = replicated.cpu;
  const client = coresUsed.client;
  const perPutMicros = single?.cpuMicrosPerOp.serverSide ?? null;
  if (client === null || otherCoresUsed === null || perPutMicros === null || perPutMicros <= 0) return null;
  return ((machineCores - client - otherCoresUsed) * 1e6) / (3 * perPutMicros);
}

/** Per sync policy and client kind (batched, unary): the three targets and their inputs. */
export function evaluateTargets(results: ScenarioResult[]): Record<string, Record<string, ClientTargets>> {
  const out: Record<string, Record<string, ClientTargets>> = {};
  const etcdUnary = byClient(find(results, 'etcd-3'), false);
  for (const rep of results.filter((r) => r.id.startsWith('ringdb-3-replicated-'))) {
    const sync = rep.id.slice('ringdb-3-replicated-'.length);
    const single = find(results, `ringdb-1-single-${sync}`);
    const independent = find(results, `ringdb-3-independent-${sync}`);
    const perClient: Record<string, ClientTargets> = {};
    for (const [name, batched] of [['batched', true], ['unary', false]] as const) {
      const r = byClient(rep, batched);
      if (!r) continue;
      const s = byClient(single, batched);
      const free = byClient(independent, batched);
      const third = free ? free.opsPerSec / 3 : null;
      perClient[name] = {
        replicatedPutsPerSec: r.opsPerSecReplicated,
        replicatedAckedPutsPerSec: r.opsPerSec,
        singleNodePutsPerSec: s?.opsPerSec ?? null,
        // etcd has no batched put in this benchmark: both clients are compared with its 64-in-flight puts.
        etcdPutsPerSec: etcdUnary?.opsPerSec ?? null,
        replicatedVsSingle: atLeast(ratio(r.opsPerSecReplicated, s?.opsPerSec), 0.5),
        replicatedVsEtcd: atLeast(ratio(r.opsPerSecReplicated, etcdUnary?.opsPerSec), 10),
        replicationLagP99Ms: below(r.replicationLag?.p99Ms ?? null, 100),
        ackedVsSingle: shown(ratio(r.opsPerSec, s?.opsPerSec)),
        ackedVsEtcd: shown(ratio(r.opsPerSec, etcdUnary?.opsPerSec)),
        independentPutsPerSec: free?.opsPerSec ?? null,
        freeReplicationVsSingle: shown(ratio(third, s?.opsPerSec)),
        replicatedVsFreeReplication: shown(ratio(r.opsPerSecReplicated, third)),
        ceilingVsSingle: shown(ratio(ceilingPutsPerSec(r, s), s?.opsPerSec)),
      };
    }
    out[`sync=${sync}`] = perClient;
  }
  return out;
}
