// Replication lag: for every acknowledged write (origin, seq, ack time), the time until EVERY
// node has it stored. Measured two ways in the same run:
// - stored (the figures the targets use): each node records when it had stored every op of an
//   origin up to a seq (AppliedMarks RPC, replication/applied-marks.ts), on the same machine's
//   wall clock as the client's ack times; fetched once the nodes have caught up. Precise to
//   well under a millisecond, and it costs the nodes nothing while they are measured.
// - polled (a cross-check, an upper bound): each node's Stats is polled on a fixed interval and
//   a write counts as applied on a node when the first answer whose version vector covers it
//   ARRIVES, late by up to one poll interval plus one Stats round trip, which is long on a busy
//   machine. It also says when every node has caught up, which ends the measurement.

import { performance } from 'node:perf_hooks';
import type { NodeClient } from '../../src/engine/client';
import { Latencies, round2 } from './measure';

/**
 * When a node covered an origin's seqs: every op up to seq[i] at at[i], both non-decreasing.
 * Polled: arrival times of Stats answers (performance.now()) and the running maximum of
 * last_seen[origin]. Marks: the node's applied marks (wall clock, ms since the epoch).
 */
interface Series {
  at: number[];
  seq: number[];
}

export interface LagReport {
  /** Writes (unary puts, or the last entry of each batch) whose lag was measured. */
  samples: number;
  /** From the client seeing the ack until every other node had stored the write (node-recorded). */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** From the last acknowledged write of the run until every node had stored every write. */
  finalLagMs: number | null;
  /** Acknowledged writes some node never reported as stored. */
  notReplicated: number;
  /** The same, from polled version vectors: upper bounds, late by up to effectivePollMs. */
  polled: {
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    finalLagMs: number | null;
    notReplicated: number;
    pollIntervalMs: number;
    statsPolls: number;
    statsPollErrors: number;
    /** The real time between two answers from one node (the asked interval plus the Stats round
     *  trip, long on a saturated machine): the resolution of the polled figures. */
    effectivePollMs: number | null;
  };
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
    private readonly pollIntervalMs = 100,
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
    return firstCovering(this.seen.get(nodeId)!.get(origin), seq);
  }

  /** Keeps polling until every node has every acknowledged write (or `timeoutMs`), then reports. */
  async finish(lastAckAt: number, timeoutMs = 60_000): Promise<LagReport> {
    const until = performance.now() + timeoutMs;
    while (!this.converged() && performance.now() < until) await new Promise((r) => setTimeout(r, this.pollIntervalMs));
    this.running = false;
    await Promise.all(this.loops);

    const polled = this.lagsBy((nodeId, origin, seq) => this.coveredAt(nodeId, origin, seq), lastAckAt);
    // A node's version vector (what polling saw) moves when an op is logged; the mark, once it
    // is also stored, a few milliseconds later.
    let marks = await this.fetchMarks();
    const marksUntil = performance.now() + 5_000;
    while (!this.marksCoverAll(marks) && performance.now() < marksUntil) {
      await new Promise((r) => setTimeout(r, 20));
      marks = await this.fetchMarks();
    }
    // Marks are wall-clock times; the acks were taken on this process's monotonic clock.
    const stored = this.lagsBy((nodeId, origin, seq) => firstCovering(marks.get(`${nodeId}\0${origin}`), seq) - performance.timeOrigin, lastAckAt);
    return {
      ...stored,
      polled: {
        ...polled,
        pollIntervalMs: this.pollIntervalMs,
        statsPolls: this.polls,
        statsPollErrors: this.pollErrors,
        effectivePollMs: this.polls === 0 ? null : Math.round(((performance.now() - this.startedAt) * this.nodes.length) / this.polls),
      },
    };
  }

  /** Lag figures, given when node `nodeId` had `origin`'s op `seq` (performance.now() time; Infinity: never). */
  private lagsBy(at: (nodeId: string, origin: string, seq: number) => number, lastAckAt: number) {
    const lags = new Latencies();
    let notReplicated = 0;
    for (const [origin, a] of this.acks) {
      for (let i = 0; i < a.seq.length; i++) {
        let all = 0;
        for (const n of this.nodes) all = Math.max(all, n.id === origin ? a.at[i] : at(n.id, origin, a.seq[i]));
        if (all === Infinity) notReplicated++;
        else lags.add(Math.max(0, all - a.at[i]));
      }
    }
    let convergedAt = 0;
    for (const [origin, max] of this.maxAcked) {
      for (const n of this.nodes) if (n.id !== origin) convergedAt = Math.max(convergedAt, at(n.id, origin, max));
    }
    const pct = lags.percentiles([50, 99]);
    return {
      samples: lags.count,
      p50Ms: pct.p50,
      p99Ms: pct.p99,
      maxMs: lags.max(),
      finalLagMs: convergedAt === Infinity || this.maxAcked.size === 0 ? null : round2(Math.max(0, convergedAt - lastAckAt)),
      notReplicated,
    };
  }

  private marksCoverAll(marks: Map<string, Series>): boolean {
    for (const [origin, max] of this.maxAcked) {
      for (const n of this.nodes) if (n.id !== origin && firstCovering(marks.get(`${n.id}\0${origin}`), max) === Infinity) return false;
    }
    return true;
  }

  /** Every node's marks for every origin with acknowledged writes, keyed `${node}\0${origin}`. */
  private async fetchMarks(): Promise<Map<string, Series>> {
    const out = new Map<string, Series>();
    await Promise.all(this.nodes.map(async (n) => {
      for (const origin of this.maxAcked.keys()) {
        if (origin === n.id) continue;
        const m: Series = { seq: [], at: [] };
        let after = 0;
        for (;;) {
          const page = await n.client.appliedMarks(origin, after, 10_000, { timeoutMs: 10_000 });
          for (const mark of page.marks) {
            m.seq.push(mark.seq);
            m.at.push(mark.atUnixMs);
          }
          if (!page.more || page.marks.length === 0) break;
          after = page.marks[page.marks.length - 1].seq;
        }
        out.set(`${n.id}\0${origin}`, m);
      }
    }));
    return out;
  }
}

/** The time of the first point of `m` covering `seq`; Infinity if none. */
function firstCovering(m: Series | undefined, seq: number): number {
  if (!m || m.seq.length === 0 || m.seq[m.seq.length - 1] < seq) return Infinity;
  let lo = 0;
  let hi = m.seq.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (m.seq[mid] >= seq) hi = mid;
    else lo = mid + 1;
  }
  return m.at[lo];
}
