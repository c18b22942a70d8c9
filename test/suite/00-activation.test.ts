import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';

describe('activation', () => {
  it('activates the extension', async () => {
    const ext = vscode.extensions.getExtension('ringdb.ringdb');
    assert.ok(ext, 'extension ringdb.ringdb is not loaded');
    await ext.activate();
    assert.equal(ext.isActive, true);
  });
});
