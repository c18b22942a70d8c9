// Results of Get, Where Is Key, Scan, Query Index and SSTable details, shown rendered in the built-in Markdown
// preview over read-only documents of their own scheme (no "save?" prompt on close, unlike
// untitled files). The preview's "Open Source" button opens the Markdown text. The last
// KEPT_RESULTS contents are kept.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';

export const RESULT_SCHEME = 'ringdb-result';
/**
 * Results whose content stays readable; older ones read empty. A count, not "while open":
 * dropping a result when its document or its tab closed left the preview's "Open Source" empty.
 */
const KEPT_RESULTS = 50;
/** The built-in Markdown extension's preview, as an editor of the document (a custom editor). */
const MARKDOWN_PREVIEW_EDITOR = 'vscode.markdown.preview.editor';

/** A result as last shown: what the test API reads (a preview is a webview, with no text to read back). */
export interface ShownResult {
  readonly uri: vscode.Uri;
  readonly markdown: string;
}

export class ResultDocuments extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly _onDidChange = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this._onDidChange.event;
  private counter = 0;
  private _last: ShownResult | undefined;

  constructor() {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(RESULT_SCHEME, this));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  get last(): ShownResult | undefined {
    return this._last;
  }

  /**
   * Opens `markdown` rendered in the active editor group under a readable title. The preview is
   * opened as the document's editor rather than with markdown.showPreview: that preview follows
   * whichever Markdown editor is active, so a result would be replaced by a README clicked next.
   */
  async show(title: string, markdown: string): Promise<vscode.Uri> {
    const safe = title.replace(/[^\w.\- ]+/g, '_').slice(0, 60) || 'result';
    const uri = vscode.Uri.from({ scheme: RESULT_SCHEME, path: `/${safe}.md`, query: String(++this.counter) });
    this.contents.set(uri.toString(), markdown);
    // A Map iterates in insertion order: the first key is the oldest result.
    if (this.contents.size > KEPT_RESULTS) this.contents.delete(this.contents.keys().next().value as string);
    this._last = { uri, markdown };
    this._onDidChange.fire(uri);
    const options: vscode.TextDocumentShowOptions = { preview: true, viewColumn: vscode.ViewColumn.Active };
    await vscode.commands.executeCommand('vscode.openWith', uri, MARKDOWN_PREVIEW_EDITOR, options);
    return uri;
  }
}
