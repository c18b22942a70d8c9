// A Lamport clock: ticks on every local event and jumps past every timestamp it observes,
// so a write that causally follows another always carries a larger timestamp.

export class LamportClock {
  private time: number;

  constructor(start = 0) {
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new RangeError(`a Lamport clock starts at a non-negative safe integer, got ${start}`);
    }
    this.time = start;
  }

  /** The last timestamp issued or observed. */
  now(): number {
    return this.time;
  }

  /** Timestamp for a new local event. */
  tick(): number {
    this.time += 1;
    return this.time;
  }

  /** Records a timestamp seen on a received message (receive rule: max(local, remote)). */
  observe(remote: number): void {
    if (!Number.isSafeInteger(remote) || remote < 0) {
      throw new RangeError(`a Lamport timestamp is a non-negative safe integer, got ${remote}`);
    }
    if (remote > this.time) this.time = remote;
  }
}
