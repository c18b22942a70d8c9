// Ownership of resources: every emitter, watcher, panel, stream and child process is
// registered with an owner and released when the owner is disposed (after
// vscode-pull-request-github's src/common/lifecycle.ts).
import type * as vscode from 'vscode';

export abstract class Disposable implements vscode.Disposable {
  private readonly _disposables: vscode.Disposable[] = [];
  private _isDisposed = false;

  protected get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Takes ownership of `value`; a value registered after disposal is disposed at once. */
  protected _register<T extends vscode.Disposable>(value: T): T {
    if (this._isDisposed) value.dispose();
    else this._disposables.push(value);
    return value;
  }

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    // Reverse order: later resources may depend on earlier ones.
    for (const d of this._disposables.splice(0).reverse()) {
      try {
        d.dispose();
      } catch (err) {
        console.error('RingDB: dispose failed', err);
      }
    }
  }
}

/** A Disposable from a plain callback, for resources that are not VS Code objects. */
export function toDisposable(fn: () => void): vscode.Disposable {
  return { dispose: fn };
}
