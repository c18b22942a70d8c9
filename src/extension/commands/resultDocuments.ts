// Results of Get, Scan and Where Is Key, shown as read-only Markdown documents (no "save?"
// prompt on close, unlike untitled files). Content lives here while the document is open.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';

export const RESULT_SCHEME = 'ringdb-result';

export class ResultDocuments extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly _onDidChange = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this._onDidChange.event;
  private counter = 0;

  constructor() {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(RESULT_SCHEME, this));
    this._register(vscode.workspace.onDidCloseTextDocument((d) => {
      if (d.uri.scheme === RESULT_SCHEME) this.contents.delete(d.uri.toString());
    }));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  /** Opens `markdown` beside the current editor under a readable title. */
  async show(title: string, markdown: string): Promise<vscode.Uri> {
    const safe = title.replace(/[^\w.\- ]+/g, '_').slice(0, 60) || 'result';
    const uri = vscode.Uri.from({ scheme: RESULT_SCHEME, path: `/${safe}.md`, query: String(++this.counter) });
    this.contents.set(uri.toString(), markdown);
    this._onDidChange.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Active });
    return uri;
  }
}

/** A Markdown code block that survives any content (backtick fences longer than any run inside). */
export function codeBlock(text: string, lang = ''): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}
