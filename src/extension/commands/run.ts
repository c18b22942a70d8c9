// How every command reports failure: a message that says what went wrong and what to do next,
// with a button to the output channel, where the full details go.
import * as vscode from 'vscode';
import { loadedEngineClient } from '../engineClient';
import type { Log } from '../common/log';
import { UserError } from '../controller/clusterSession';

/** What to tell a person for a failure, and what they can do about it. */
export function explain(err: unknown): { message: string; next: string } {
  if (err instanceof UserError) return { message: err.message, next: err.next };
  const client = loadedEngineClient();
  if (!client) return { message: err instanceof Error ? err.message : String(err), next: 'See the RingDB output for details.' };
  const { ClusterSpecError, LaunchError, RingDbError } = client;
  if (err instanceof ClusterSpecError) {
    return { message: `The cluster spec is not valid: ${err.message}`, next: 'Fix the spec and try again.' };
  }
  if (err instanceof LaunchError) {
    return { message: `The RingDB controller did not start: ${err.message}`, next: 'Check the RingDB output for its last lines; rebuild with "npm run build" if dist/engine is missing.' };
  }
  if (err instanceof RingDbError) {
    const next: Record<string, string> = {
      'invalid-argument': 'Correct the input and try again.',
      'not-found': 'Check the name against the RingDB explorer.',
      'failed-precondition': 'Check the cluster state in the RingDB explorer, then try again.',
      unavailable: 'The node or controller is not reachable: check the Nodes view, restart the node, or start the cluster again.',
      'deadline-exceeded': 'The cluster is busy or a node hangs: check the Nodes view and the RingDB output.',
      unauthenticated: 'The cluster token does not match: stop and start the cluster again.',
      'data-loss': 'A file on disk is damaged: see the RingDB output for the file and offset.',
    };
    // A quorum refusal comes from a node that answered, and names the nodes to restart itself.
    const saysWhatToDo = err.code === 'unavailable' && /\brestart\b|\bretry\b/i.test(err.message);
    return { message: withoutRpcField(err.message), next: saysWhatToDo ? 'The Nodes view shows which nodes are down.' : next[err.code] ?? 'See the RingDB output for details.' };
  }
  return { message: err instanceof Error ? err.message : String(err), next: 'See the RingDB output for details.' };
}

/**
 * The controller prefixes a message with the request field it is about (`pid2: cannot merge …`,
 * `node_id: …`). A person picked partitions and nodes, not fields: an id field goes, since the
 * message names the partition or node itself; another field reads as words (`split key: …`).
 */
export function withoutRpcField(message: string): string {
  return message.replace(/^(?:pid[12]?|node_id): /, '').replace(/^([a-z]+(?:_[a-z]+)+): /, (_, f: string) => `${f.replace(/_/g, ' ')}: `);
}

/**
 * A wait the person cancelled. `state` says what the cluster was left in, because cancelling
 * stops the extension waiting, not necessarily the work the controller or a node already began.
 */
export class Cancelled extends Error {
  constructor(readonly state: string) {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

/** Runs a command body; failures become one error message and a full entry in the output channel. */
export async function runReported<T>(log: Log, title: string, body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof Cancelled) {
      log.info(`${title} cancelled: ${err.state}`);
      void vscode.window.showInformationMessage(`RingDB ${title} cancelled. ${err.state}`);
      return undefined;
    }
    const { message, next } = explain(err);
    log.error(`${title} failed: ${message}`, err instanceof UserError ? err.details : err);
    const actions = err instanceof UserError ? err.actions : [];
    // Engine messages end without a full stop; the next step must not run on from their last word.
    const ended = /[.!?)]$/.test(message.trim()) ? message.trim() : `${message.trim()}.`;
    void vscode.window.showErrorMessage(`RingDB ${title}: ${ended} ${next}`, ...actions.map((a) => a.title), 'Show Output').then((choice) => {
      const action = actions.find((a) => a.title === choice);
      if (action) void action.run();
      else if (choice) log.show();
    });
    return undefined;
  }
}

/** Long work under a progress notification that cannot be cancelled (it is quick or must finish). */
export function withProgress<T>(title: string, body: (progress: vscode.Progress<{ message?: string }>) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RingDB: ${title}` }, body);
}

/** What a cancellable command needs: the state to report, and the extra token tests or callers may pass. */
export interface CancelPlan {
  /** What the cluster is left in when the person stops waiting (after `onCancel`, if any). */
  state: string;
  /** Undoes what cancelling should undo (Start Cluster stops what it launched). */
  onCancel?: () => Promise<void>;
  /** Cancels too when this token does (the `cancellation` argument of a command). */
  also?: vscode.CancellationToken;
}

/**
 * `work` under a notification with a Cancel button. Cancelling stops the wait at once, runs
 * `plan.onCancel`, and rejects with Cancelled; a late result or failure of `work` is dropped
 * (the Watch stream shows its effect in the views anyway).
 */
export function withCancellableProgress<T>(title: string, plan: CancelPlan, work: (progress: vscode.Progress<{ message?: string }>) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `RingDB: ${title}`, cancellable: true }, (progress, token) =>
    new Promise<T>((resolve, reject) => {
      let settled = false;
      const subs: vscode.Disposable[] = [];
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        for (const s of subs) s.dispose();
        fn();
      };
      const cancel = (): void => settle(() => {
        void (plan.onCancel?.() ?? Promise.resolve()).then(
          () => reject(new Cancelled(plan.state)),
          // Then `state` would not be true: report the failure as an error, with its details.
          (err: unknown) => reject(new Error(`cancelled, but undoing what was begun failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })),
        );
      });
      for (const t of [token, plan.also]) {
        if (!t) continue;
        if (t.isCancellationRequested) return cancel();
        subs.push(t.onCancellationRequested(cancel));
      }
      work(progress).then((v) => settle(() => resolve(v)), (err: unknown) => settle(() => reject(err)));
    }));
}

/** The `cancellation` argument of a command: a CancellationToken passed by a caller in this extension host. */
export function cancellationArg(arg: unknown): vscode.CancellationToken | undefined {
  const t = (arg as { cancellation?: unknown } | undefined)?.cancellation as vscode.CancellationToken | undefined;
  return t && typeof t.isCancellationRequested === 'boolean' && typeof t.onCancellationRequested === 'function' ? t : undefined;
}
