// Read balancing (`loadBalanceReads`): instead of always reading from the owner, spread reads
// over the partition's healthy replicas. Round-robin cycles through them per replica set;
// least-recent picks the healthy replica this balancer used longest ago, which also evens out
// load when different partitions share nodes. Time is a logical counter, not a clock, so the
// choice is deterministic and testable.

export type ReadBalancing = 'round-robin' | 'least-recent';

export const READ_BALANCING: readonly ReadBalancing[] = ['round-robin', 'least-recent'];

export class ReadBalancer {
  private readonly cursors = new Map<string, number>();
  private readonly lastUsed = new Map<string, number>();
  private tick = 0;

  constructor(readonly strategy: ReadBalancing = 'round-robin') {
    if (!READ_BALANCING.includes(strategy)) {
      throw new RangeError(`read balancing ${JSON.stringify(strategy)} is unknown; accepted: ${READ_BALANCING.join(', ')}`);
    }
  }

  /** The replica to read from among `replicas` (a preference list), or undefined when none is up. */
  pick(replicas: readonly string[], isUp: (node: string) => boolean = () => true): string | undefined {
    const up = replicas.filter((r) => isUp(r));
    if (up.length === 0) return undefined;
    const chosen = this.strategy === 'round-robin' ? this.nextInTurn(replicas, up) : this.leastRecent(up);
    this.lastUsed.set(chosen, ++this.tick);
    return chosen;
  }

  private nextInTurn(replicas: readonly string[], up: readonly string[]): string {
    // The cursor belongs to the replica set, so each partition cycles through its own replicas.
    const id = replicas.join('\u0000');
    const turn = this.cursors.get(id) ?? 0;
    this.cursors.set(id, turn + 1);
    return up[turn % up.length];
  }

  private leastRecent(up: readonly string[]): string {
    return up.reduce((best, r) => ((this.lastUsed.get(r) ?? 0) < (this.lastUsed.get(best) ?? 0) ? r : best));
  }
}
