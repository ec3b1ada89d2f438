import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { open, replaceText, revert } from './editing';
import { waitFor } from './waitFor';

async function lensesOf(uri: vscode.Uri): Promise<vscode.CodeLens[]> {
  return (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 10)) ?? [];
}

suite('Cordum scheduler section in a real VS Code', () => {
  test('its lens says it is not hash-gated, on the scheduler key, with no hash to copy', async () => {
    const editor = await open('cfg.system.default.yaml');
    const lens = await waitFor('the scheduler lens', async () => (await lensesOf(editor.document.uri)).find((l) => l.command?.title.includes('scheduler')), [
      vscode.languages.onDidChangeDiagnostics,
    ]);
    assert.equal(lens.command?.title, '$(sync) scheduler: not hash-gated, re-applied on every reload');
    assert.equal(editor.document.lineAt(lens.range.start.line).text.trim(), 'scheduler:');
    // Nothing to click: no copy or explain for a section without a hash. (The API hands back no
    // tooltip for a lens without a command: the walkthrough UI scenario shows it on hover.)
    assert.equal(lens.command?.command ?? '', '');
    const all = await lensesOf(editor.document.uri);
    assert.ok(!all.some((l) => l.command?.command === 'driftlens.copySectionHash' && l.command.arguments?.[1] === 'scheduler'));
  });

  test('a value replicas would ignore is an error on that value, and fixing it clears it', async () => {
    const editor = await open('cfg.system.default.yaml');
    await replaceText(editor, 'output_policy_enabled: true', 'output_policy_enabled: "true"');
    const line = editor.document.getText().split('\n').findIndex((l) => l.includes('output_policy_enabled'));
    const diagnostic = await waitFor('the output_policy_enabled error', () =>
      vscode.languages.getDiagnostics(editor.document.uri).find((d) => d.source === 'DriftLens' && d.range.start.line === line),
      [vscode.languages.onDidChangeDiagnostics],
    );
    assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(diagnostic.code && typeof diagnostic.code === 'object' ? diagnostic.code.value : diagnostic.code, 'type');
    assert.equal(editor.document.getText(diagnostic.range), '"true"');
    assert.match(diagnostic.message, /replicas ignore any other value, also the string "true", and keep the setting they applied last/);
    await revert(editor);
    await waitFor('the error to clear', () => !vscode.languages.getDiagnostics(editor.document.uri).some((d) => d.range.start.line === line), [
      vscode.languages.onDidChangeDiagnostics,
    ]);
  });
});
