// Results of Get, Where Is Key, Scan, Query Index and SSTable details, shown rendered in the built-in Markdown
// preview over read-only documents of their own scheme (no "save?" prompt on close, unlike
// untitled files). The preview's "Open Source" button opens the Markdown text. The last
// KEPT_RESULTS contents are kept; a result restored after a reload is rendered again by its kind's
// restorer (SSTable details), or says it was not kept.
import * as vscode from 'vscode';
import { Disposable } from '../common/lifecycle';

export const RESULT_SCHEME = 'ringdb-result';
/**
 * Results whose content stays readable; older ones say so (NOT_KEPT). A count, not "while open":
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

/**
 * Re-renders a result from what its URI saved (`show`'s `saved`), for a document this window did
 * not fill: a preview restored after a reload asks for its URI again, and read empty.
 */
export type ResultRestorer = (saved: URLSearchParams, uri: vscode.Uri) => Promise<string>;

/** What a restored result that cannot be rendered again reads, instead of an empty page. */
export const NOT_KEPT = 'This result was shown before the window reloaded (or is one of the oldest), and results are not kept: run its command again.';

export class ResultDocuments extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly restorers = new Map<string, ResultRestorer>();
  private readonly _onDidChange = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this._onDidChange.event;
  private counter = 0;
  private _last: ShownResult | undefined;

  constructor() {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(RESULT_SCHEME, this));
  }

  provideTextDocumentContent(uri: vscode.Uri): string | Promise<string> {
    const shown = this.contents.get(uri.toString());
    if (shown !== undefined) return shown;
    const saved = new URLSearchParams(uri.query);
    const restore = this.restorers.get(saved.get('kind') ?? '');
    return restore ? restore(saved, uri) : NOT_KEPT;
  }

  /** `restore` renders again the results of `kind` shown with saved state. */
  registerRestorer(kind: string, restore: ResultRestorer): vscode.Disposable {
    this.restorers.set(kind, restore);
    return new vscode.Disposable(() => this.restorers.delete(kind));
  }

  /** Has VS Code ask for `uri`'s content again (a restored result whose state changed). */
  refresh(uri: vscode.Uri): void {
    this._onDidChange.fire(uri);
  }

  get last(): ShownResult | undefined {
    return this._last;
  }

  /**
   * Opens `markdown` rendered in the active editor group under a readable title. The preview is
   * opened as the document's editor rather than with markdown.showPreview: that preview follows
   * whichever Markdown editor is active, so a result would be replaced by a README clicked next.
   */
  async show(title: string, markdown: string, saved?: { kind: string } & Record<string, string>): Promise<vscode.Uri> {
    const safe = title.replace(/[^\w.\- ]+/g, '_').slice(0, 60) || 'result';
    // The URI is what a restored preview keeps: `saved` in its query lets a restorer render it again.
    const query = new URLSearchParams({ r: String(++this.counter), ...saved }).toString();
    const uri = vscode.Uri.from({ scheme: RESULT_SCHEME, path: `/${safe}.md`, query });
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
