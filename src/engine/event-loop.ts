/** Resolves after the I/O and timers already due: long work awaits it between slices so requests get in. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How a long loop is cut: it gives way once a slice ran `ms`, checking the clock every `items` items. */
export interface SliceSize {
  readonly items: number;
  readonly ms: number;
}

export const DEFAULT_SLICE: SliceSize = { items: 256, ms: 10 };

/**
 * Cuts a long synchronous loop over the store into slices, so a node keeps answering (pings,
 * replication, reads) while it scans a million keys: `if (slices.due()) await slices.next();`
 * once per item. Done in one go, such scans stopped a node for seconds and its peers declared it down.
 */
export class Slices {
  private started = Date.now();
  private count = 0;

  constructor(private readonly size: SliceSize = DEFAULT_SLICE) {}

  /** Whether this slice is used up. */
  due(): boolean {
    return ++this.count % this.size.items === 0 && Date.now() - this.started >= this.size.ms;
  }

  /** Gives way to the event loop, then starts the next slice. */
  async next(): Promise<void> {
    await yieldToEventLoop();
    this.started = Date.now();
  }
}
