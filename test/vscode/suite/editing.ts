import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

/** Editing helpers shared by the in-host suites: open fixtures, edit them, put them back. */

export function workspaceFile(relative: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  return vscode.Uri.joinPath(folder.uri, relative);
}

export async function open(relative: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(workspaceFile(relative));
  return vscode.window.showTextDocument(document);
}

export async function replaceText(editor: vscode.TextEditor, from: string, to: string): Promise<void> {
  const text = editor.document.getText();
  const at = text.indexOf(from);
  assert.ok(at >= 0, `"${from}" is in ${editor.document.uri.path}`);
  const range = new vscode.Range(editor.document.positionAt(at), editor.document.positionAt(at + from.length));
  assert.ok(await editor.edit((b) => b.replace(range, to)));
}

/**
 * Puts the file back as it is on disk: the text read from disk, then a save, so the document is
 * clean and identical to the fixture. ("Revert File" acts on whichever editor is active, which
 * raced with other editors opening and left edits behind for later tests.)
 */
export async function revert(editor: vscode.TextEditor): Promise<void> {
  const onDisk = new TextDecoder().decode(await vscode.workspace.fs.readFile(editor.document.uri));
  const document = editor.document;
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)), onDisk);
  assert.ok(await vscode.workspace.applyEdit(edit));
  assert.ok(await document.save(), `saved ${document.uri.path}`);
  assert.equal(document.getText(), onDisk);
}
