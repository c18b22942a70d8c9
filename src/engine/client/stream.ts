// A server stream as an async iterable of plain values. `close()` cancels the call and ends the
// iteration normally; a failure of the stream is thrown from the iteration and reported by `done`.
// A slow consumer pauses the underlying stream, so events queue in gRPC's flow control, not here.

import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { fromGrpcError } from './errors';

const HIGH_WATER = 1024;

export class EventStream<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((err: Error) => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  private closedByUs = false;
  private resolveDone!: (err: Error | undefined) => void;
  /** Resolves once the stream is over: undefined after close() or a normal end, else the failure. */
  readonly done: Promise<Error | undefined> = new Promise((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly call: ClientReadableStream<unknown>,
    /** Zero or more values per message (unknown event kinds give none; a log batch gives its lines). */
    expand: (message: never) => readonly T[],
    what: string,
  ) {
    call.on('data', (message: unknown) => {
      // A message grpc-js decoded before the cancel took effect.
      if (this.closedByUs) return;
      for (const value of expand(message as never)) {
        if (this.waiter) {
          const w = this.waiter;
          this.clearWaiters();
          w({ value, done: false });
        } else {
          this.queue.push(value);
        }
      }
      if (this.queue.length >= HIGH_WATER) call.pause();
    });
    call.on('error', (err: ServiceError) => {
      if (this.closedByUs && err.code === status.CANCELLED) this.finish(undefined);
      else this.finish(fromGrpcError(err, what));
    });
    call.on('end', () => this.finish(undefined));
  }

  /**
   * Cancels the call; pending and future iterations end, and values still queued are dropped: a
   * reader closes a stream when it stops caring (a window stopping its cluster), and one more
   * stale event applied after that would undo what it did. Safe to call more than once.
   */
  close(): void {
    this.closedByUs = true;
    this.queue.length = 0;
    if (this.ended) return;
    this.call.cancel();
    this.finish(undefined);
  }

  private clearWaiters(): void {
    this.waiter = undefined;
    this.failWaiter = undefined;
  }

  private finish(err: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    this.resolveDone(err);
    const w = this.waiter;
    const f = this.failWaiter;
    this.clearWaiters();
    if (err && f) f(err);
    else if (w) w({ value: undefined, done: true });
  }

  private next(): Promise<IteratorResult<T>> {
    const value = this.queue.shift();
    if (value !== undefined) {
      if (this.queue.length < HIGH_WATER / 2 && !this.ended) this.call.resume();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      if (this.failure) {
        const err = this.failure;
        this.failure = undefined;
        return Promise.reject(err);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
