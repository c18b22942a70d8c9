// The read side of a quorum: R askers in parallel over an ordered list of candidate nodes; an
// asker whose node fails moves on to the next candidate (sloppy reads), so R answers arrive as
// long as R candidates can answer. Used by plain reads, vector-mode reads and global index lookups.

import { describeError } from '../rpc';
import type { LatencyWindow } from '../rpc/latency-window';
import type { RetryBudget } from '../rpc/retry-budget';

/**
 * A coordinator's state across its point reads. A node asked that has not answered within
 * `speculateAfterMs()` gets the next candidate asked beside it: Cassandra's speculative retry, set
 * by `speculativeRetry` (spec/speculative-retry.ts; by default the 99th percentile of the other
 * replicas' recent answers in `readLatency`, 5 to 500 ms, 500 ms until 50 answers are in). A
 * node that hangs (paused, overloaded, stopped by SIGSTOP) is not known to be down until the
 * heartbeat says so, and its call only fails at its deadline: the first reads after it hung
 * waited those 5 s. `readBudget` keeps the extra reads to a tenth of the reads when every answer
 * is slow.
 */
export interface ReadSpeculation {
  readonly readBudget: RetryBudget;
  readonly readLatency: LatencyWindow;
  /** The wait now: 0 asks one more replica at once ("always"), undefined never speculates ("none"). */
  speculateAfterMs(): number | undefined;
}

export interface QuorumAnswers<T> {
  /** In arrival order, at most `r`. */
  answers: T[];
  /** "<node>: <error>" for every candidate that failed. */
  failures: string[];
}

export interface QuorumOptions {
  /**
   * Ask the next candidate too when a node asked has not answered after this many ms (once per
   * node asked). 0 asks one candidate more than R at once instead (speculativeRetry "always"): a
   * 0 ms timer per ask would have each speculative ask speculate in turn, every candidate at once.
   */
  speculateAfterMs?: number;
  /**
   * The candidates a speculative ask may go to (the key's replicas): a node that only stands in
   * for them holds no copy, and its "not found" would count toward R while a replica that holds
   * the write is merely slow. Others are still asked in place of a node that failed.
   */
  speculateTo?: (node: string) => boolean;
  /** Counts this read, and a speculative ask only goes out when it fits (a failure's replacement always does). */
  budget?: RetryBudget;
  /** Records how long each `timed` node took to answer (answers past R too: the slow ones are the tail). */
  latency?: { window: LatencyWindow; timed: (node: string) => boolean };
}

/** A point read's options: speculate after state's wait, to the key's other replicas only, within the budget. */
export function speculativeRead(replicas: readonly string[], state: ReadSpeculation, self: string): QuorumOptions {
  return {
    speculateAfterMs: state.speculateAfterMs(),
    speculateTo: (id) => replicas.includes(id),
    budget: state.readBudget,
    // Its own store answers in microseconds: timing it would hide how long the others take.
    latency: { window: state.readLatency, timed: (id) => id !== self },
  };
}

export function askQuorum<T>(candidates: readonly string[], r: number, read: (node: string) => Promise<T> | T, options: QuorumOptions = {}): Promise<QuorumAnswers<T>> {
  const answers: T[] = [];
  const failures: string[] = [];
  let next = 0;
  let pending = 0;
  let done = false;
  options.budget?.request();
  const afterMs = options.speculateAfterMs;
  return new Promise((resolve) => {
    /** Whether one more candidate may be asked beside those asked, counted against the budget when it may. */
    const mayAskMore = (): boolean => !done && next < candidates.length && (options.speculateTo?.(candidates[next]) ?? true) && (options.budget?.tryExtra() ?? true);
    const settle = (): void => {
      if (done || (answers.length < r && (pending > 0 || next < candidates.length))) return;
      done = true;
      resolve({ answers, failures });
    };
    const ask = (): void => {
      if (done || next >= candidates.length) return;
      const id = candidates[next++];
      pending++;
      // One more node per node asked: its own speculation or, failing before that, its failure.
      let replaced = false;
      const speculate = (): void => {
        if (replaced || !mayAskMore()) return;
        replaced = true;
        ask();
      };
      const speculation = afterMs === undefined || afterMs === 0 ? undefined : setTimeout(speculate, afterMs);
      const asked = performance.now();
      Promise.resolve().then(() => read(id)).then((answer) => {
        if (options.latency?.timed(id)) options.latency.window.record(performance.now() - asked);
        // Past R, an answer is dropped: the read has its R without it.
        if (done) return;
        answers.push(answer);
        settle();
      }, (err: unknown) => {
        if (done) return;
        failures.push(`${id}: ${describeError(err)}`);
        if (!replaced) ask();
        replaced = true;
      }).finally(() => {
        clearTimeout(speculation);
        pending--;
        settle();
      });
    };
    for (let i = 0; i < r; i++) ask();
    if (afterMs === 0 && mayAskMore()) ask();
    settle();
  });
}
