// Problems of the workspace's .ringdb/cluster.json, underlined as it is typed: the JSON schema
// catches a wrong type or range, but not what the engine checks across fields (a writeQuorum
// above the replicationFactor, a topology naming a node that does not exist), which Start Cluster
// then refused with nothing marked in the file.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { workspaceRoot } from '../common/config';
import { Disposable } from '../common/lifecycle';
import type { Log } from '../common/log';
import { engineClient } from '../engineClient';
import { SPEC_RELATIVE_PATH } from '../commands/clusterCommands';
const TYPING_PAUSE_MS = 300;

export class SpecDiagnostics extends Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('ringdb-spec'));
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly log: Log) {
    super();
    this._register(vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)));
    this._register(vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document, TYPING_PAUSE_MS)));
    this._register(vscode.workspace.onDidCloseTextDocument((d) => this.collection.delete(d.uri)));
    this._register({ dispose: () => this.pending.forEach((t) => clearTimeout(t)) });
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  private isSpec(doc: vscode.TextDocument): boolean {
    const root = workspaceRoot();
    return root !== undefined && doc.uri.scheme === 'file' && path.resolve(doc.uri.fsPath) === path.join(root, SPEC_RELATIVE_PATH);
  }

  private schedule(doc: vscode.TextDocument, delayMs: number): void {
    if (!this.isSpec(doc)) return;
    const id = doc.uri.toString();
    clearTimeout(this.pending.get(id));
    this.pending.set(id, setTimeout(() => {
      this.pending.delete(id);
      void this.check(doc);
    }, delayMs));
  }

  private async check(doc: vscode.TextDocument): Promise<void> {
    try {
      const { locateSpecIssues } = await engineClient();
      if (doc.isClosed) return;
      const diagnostics = locateSpecIssues(doc.getText()).filter((i) => !i.syntax).map((i) => {
        const range = new vscode.Range(doc.positionAt(i.offset), doc.positionAt(i.offset + i.length));
        const d = new vscode.Diagnostic(range, i.field ? `${i.field}: ${i.message}` : i.message, vscode.DiagnosticSeverity.Error);
        d.source = 'RingDB';
        return d;
      });
      this.collection.set(doc.uri, diagnostics);
    } catch (err) {
      this.log.error(`could not check ${doc.uri.fsPath}`, err);
    }
  }
}
