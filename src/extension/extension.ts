// Entry point, kept thin: build the one RingDb object, hand it to VS Code, return the API.
// Nothing starts here; the controller is launched by "Start Cluster" (or ringdb.autoStart).
import type * as vscode from 'vscode';
import type { RingDbApi } from './api';
import { RingDb } from './ringDb';

let ringDb: RingDb | undefined;

export function activate(context: vscode.ExtensionContext): RingDbApi {
  const started = performance.now();
  ringDb = new RingDb(context);
  context.subscriptions.push(ringDb);
  ringDb.maybeAutoStart();
  return ringDb.api(performance.now() - started);
}

/** VS Code awaits this: the controller this window started, and every node, are stopped before the host goes away. */
export function deactivate(): Promise<void> | undefined {
  const r = ringDb;
  ringDb = undefined;
  return r?.shutdown();
}
