// A periodic refresh that runs only while something would show it (a view that is visible and has
// something that goes stale): no timer at all otherwise, so an idle window wakes no one.
import type * as vscode from 'vscode';
import { Disposable, toDisposable } from './lifecycle';

export class Ticker extends Disposable {
  private timer: ReturnType<typeof setInterval> | undefined;

  /** `active` is re-read whenever one of `changes` fires (a view shown or hidden, the model changed). */
  constructor(
    private readonly periodMs: number,
    private readonly active: () => boolean,
    private readonly tick: () => void,
    changes: readonly vscode.Event<unknown>[],
  ) {
    super();
    for (const e of changes) this._register(e(() => this.update()));
    this._register(toDisposable(() => this.stop()));
    this.update();
  }

  private update(): void {
    const on = !this.isDisposed && this.active();
    if (on && !this.timer) this.timer = setInterval(() => this.tick(), this.periodMs);
    else if (!on) this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
