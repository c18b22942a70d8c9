// Replication lag: for every acknowledged write (origin, seq, ack time), the time until EVERY
// node's version vector covers it. A node's `last_seen[origin]` is gap-free, so covering seq s
// means that node has applied every write of that origin up to s — exactly "the replica has it".
// Each node's Stats is polled on a fixed interval during and after the load; a write counts as
// applied on a node at the moment the first covering Stats answer ARRIVED, so each figure is an
// upper bound, late by at most one poll interval plus one Stats round trip.

import { performance } from 'node:perf_hooks';
import type { NodeClient } from '../../src/engine/client';
import { Latencies, round2 } from './measure';

interface Series {
  /** Arrival times of Stats answers (ms, performance.now()). */
  at: number[];
  /** Running maximum of last_seen[origin] at those times (so the series is monotone). */
  seq: number[];
}

export interface LagReport {
  /** Writes (unary puts, or the last entry of each batch) whose lag was measured. */
  samples: number;
  pollIntervalMs: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** From the last acknowledged write of the run until every node had every write. */
  finalLagMs: number | null;
  /** Acknowledged writes that had not reached every node when polling gave up. */
  notReplicated: number;
  statsPolls: number;
  statsPollErrors: number;
  /** The real time between two answers from one node (the asked interval plus the Stats round
   *  trip, long on a saturated machine): the actual resolution of every figure above. */
  effectivePollMs: number | null;
}

export class LagTracker {
  private readonly acks = new Map<string, { seq: number[]; at: number[] }>();
  /** node id -> origin -> series. */
  private readonly seen = new Map<string, Map<string, Series>>();
  private readonly maxAcked = new Map<string, number>();
  private running = false;
  private loops: Promise<void>[] = [];
  private polls = 0;
  private pollErrors = 0;

  constructor(
    private readonly nodes: readonly { id: string; client: NodeClient }[],
    private readonly pollIntervalMs = 10,
  ) {
    for (const n of nodes) this.seen.set(n.id, new Map());
  }

  /** A write the client saw acknowledged at `at` (performance.now()). */
  recordAck(origin: string, seq: number, at: number): void {
    let a = this.acks.get(origin);
    if (!a) this.acks.set(origin, (a = { seq: [], at: [] }));
    a.seq.push(seq);
    a.at.push(at);
    if (seq > (this.maxAcked.get(origin) ?? 0)) this.maxAcked.set(origin, seq);
  }

  private startedAt = 0;

  start(): void {
    this.startedAt = performance.now();
    this.running = true;
    this.loops = this.nodes.map((n) => this.pollLoop(n));
  }

  private async pollLoop(node: { id: string; client: NodeClient }): Promise<void> {
    const byOrigin = this.seen.get(node.id)!;
    while (this.running) {
      const t0 = performance.now();
      try {
        const stats = await node.client.stats({ timeoutMs: 5_000 });
        const at = performance.now();
        this.polls++;
        for (const [origin, seq] of Object.entries(stats.versionVector)) {
          let s = byOrigin.get(origin);
          if (!s) byOrigin.set(origin, (s = { at: [], seq: [] }));
          const prev = s.seq.length ? s.seq[s.seq.length - 1] : 0;
          s.at.push(at);
          s.seq.push(Math.max(prev, seq));
        }
      } catch {
        this.pollErrors++;
      }
      const wait = this.pollIntervalMs - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Whether every node covers every acknowledged write. */
  private converged(): boolean {
    for (const [origin, max] of this.maxAcked) {
      for (const byOrigin of this.seen.values()) {
        const s = byOrigin.get(origin);
        if (!s || s.seq.length === 0 || s.seq[s.seq.length - 1] < max) return false;
      }
    }
    return true;
  }

  /** First time node `nodeId` was seen covering `origin`'s seq; Infinity if never. */
  private coveredAt(nodeId: string, origin: string, seq: number): number {
    const s = this.seen.get(nodeId)!.get(origin);
    if (!s || s.seq.length === 0 || s.seq[s.seq.length - 1] < seq) return Infinity;
    let lo = 0;
    let hi = s.seq.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s.seq[mid] >= seq) hi = mid;
      else lo = mid + 1;
    }
    return s.at[lo];
  }

  /** Keeps polling until every node has every acknowledged write (or `timeoutMs`), then reports. */
  async finish(lastAckAt: number, timeoutMs = 60_000): Promise<LagReport> {
    const until = performance.now() + timeoutMs;
    while (!this.converged() && performance.now() < until) await new Promise((r) => setTimeout(r, this.pollIntervalMs));
    this.running = false;
    await Promise.all(this.loops);

    const lags = new Latencies();
    let notReplicated = 0;
    for (const [origin, a] of this.acks) {
      for (let i = 0; i < a.seq.length; i++) {
        let all = 0;
        for (const n of this.nodes) all = Math.max(all, n.id === origin ? a.at[i] : this.coveredAt(n.id, origin, a.seq[i]));
        if (all === Infinity) notReplicated++;
        else lags.add(Math.max(0, all - a.at[i]));
      }
    }
    let convergedAt = 0;
    for (const [origin, max] of this.maxAcked) {
      for (const n of this.nodes) if (n.id !== origin) convergedAt = Math.max(convergedAt, this.coveredAt(n.id, origin, max));
    }
    const pct = lags.percentiles([50, 99]);
    return {
      samples: lags.count,
      pollIntervalMs: this.pollIntervalMs,
      p50Ms: pct.p50,
      p99Ms: pct.p99,
      maxMs: lags.max(),
      finalLagMs: convergedAt === Infinity || this.maxAcked.size === 0 ? null : round2(Math.max(0, convergedAt - lastAckAt)),
      notReplicated,
      statsPolls: this.polls,
      statsPollErrors: this.pollErrors,
      effectivePollMs: this.polls === 0 ? null : Math.round(((performance.now() - this.startedAt) * this.nodes.length) / this.polls),
    };
  }
}
