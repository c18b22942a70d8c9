// A cluster this window launched stops with the window (a reload included). The next window
// says so once, with the way back, instead of showing "no cluster" as if none had run. VS Code
// drops workspace-state updates made while an extension deactivates, so the record is written
// while the cluster runs and cleared when it stops with the window still open.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';
import type { Log } from '../common/log';
import type { ClusterModel } from '../model/clusterModel';

export const STOPPED_WITH_WINDOW_KEY = 'ringdb.stoppedWithWindow';

export interface StoppedWithWindow {
  dataDir: string;
  nodes: number;
}

export function isStoppedWithWindow(v: unknown): v is StoppedWithWindow {
  const o = v as Partial<StoppedWithWindow> | undefined;
  return typeof o === 'object' && o !== null && typeof o.dataDir === 'string' && typeof o.nodes === 'number';
}

export function stoppedNote(s: StoppedWithWindow): string {
  return `RingDB: the ${s.nodes}-node cluster this workspace ran (data in ${s.dataDir}) stopped when its window closed or reloaded. `
    + 'Its data is kept; Start Cluster starts the workspace\'s cluster again.';
}

/** Keeps the record while a cluster this window launched runs; `closing()` says the window is going (keep it). */
export class StoppedWithWindowRecord extends Disposable {
  constructor(state: vscode.Memento, model: ClusterModel, launchedHere: () => boolean, closing: () => boolean, log: Log) {
    super();
    const save = (value: StoppedWithWindow | undefined): void => {
      void Promise.resolve(state.update(STOPPED_WITH_WINDOW_KEY, value)).catch((err: unknown) => log.error('could not save the running cluster\'s record', err));
    };
    this._register(model.onDidChange((c) => {
      // A node added or removed changes the count the note gives: the list's own change, not a node's state.
      const listChanged = c.kind === 'nodes' && c.nodeId === undefined;
      if ((c.kind !== 'phase' && c.kind !== 'reset' && !listChanged) || closing()) return;
      const s = model.snapshot;
      if (s.phase === 'running' && launchedHere()) save({ dataDir: s.dataDir, nodes: s.nodes.length });
      else if (s.phase === 'none' || s.phase === 'stopped' || (s.phase === 'running' && !launchedHere())) save(undefined);
    }));
  }
}
