// The read side of a quorum: R askers in parallel over an ordered list of candidate nodes; an
// asker whose node fails moves on to the next candidate (sloppy reads), so R answers arrive as
// long as R candidates can answer. Used by plain reads, vector-mode reads and global index lookups.

import { describeError } from '../rpc';

export interface QuorumAnswers<T> {
  /** In arrival order, at most `r`. */
  answers: T[];
  /** "<node>: <error>" for every candidate that failed. */
  failures: string[];
}

export async function askQuorum<T>(candidates: readonly string[], r: number, read: (node: string) => Promise<T> | T): Promise<QuorumAnswers<T>> {
  const answers: T[] = [];
  const failures: string[] = [];
  let next = 0;
  const ask = async (): Promise<void> => {
    while (next < candidates.length) {
      const id = candidates[next++];
      try {
        answers.push(await read(id));
        return;
      } catch (err) {
        failures.push(`${id}: ${describeError(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: r }, ask));
  return { answers, failures };
}
