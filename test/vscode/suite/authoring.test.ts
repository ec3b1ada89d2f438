import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { open, replaceText, revert, workspaceFile } from './editing';
import { waitFor } from './waitFor';

const EXTENSION_ID = 'driftlens.driftlens';
const ROOT = path.resolve(__dirname, '../../../..');
const CLI = path.join(ROOT, 'dist/cli.js');

/** The real CLI, run beside the editor: `driftlens hash <file> --json`. */
function cliHashes(file: string): Record<string, string> {
  const out = execFileSync(process.execPath, [CLI, 'hash', file, '--json'], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, encoding: 'utf8' });
  const parsed = JSON.parse(out) as { sections: Record<string, { hash: string }> };
  return Object.fromEntries(Object.entries(parsed.sections).map(([k, v]) => [k, v.hash]));
}

function cliHashesOfText(text: string, name: string): Record<string, string> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'dl-')), name);
  writeFileSync(file, text);
  return cliHashes(file);
}

/** "line:col-line:col severity code", 1-based, as the unit tests state them. */
function describe(d: vscode.Diagnostic): string {
  const severity = ['error', 'warning', 'info', 'hint'][d.severity];
  return `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.line + 1}:${d.range.end.character + 1} ${severity} ${String(d.code)}`;
}

function diagnosticsOf(uri: vscode.Uri): string[] {
  return vscode.languages
    .getDiagnostics(uri)
    .filter((d) => d.source === 'DriftLens')
    .sort((a, b) => a.range.start.compareTo(b.range.start))
    .map(describe);
}

async function lensesOf(uri: vscode.Uri): Promise<vscode.CodeLens[]> {
  return (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 10)) ?? [];
}

/** The full hash a lens offers to copy: its tooltip carries it. */
async function lensHashes(uri: vscode.Uri): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const lens of await lensesOf(uri)) {
    if (lens.command?.command !== 'driftlens.copySectionHash') continue;
    const section = String(lens.command.arguments?.[1]);
    const match = /[0-9a-f]{64}/.exec(lens.command.tooltip ?? '');
    if (match) result[section] = match[0];
  }
  return result;
}

suite('DriftLens authoring in a real VS Code', () => {
  test('activates on a config document and registers its contributions', async () => {
    await open('cfg.system.default.yaml');
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    await waitFor('the extension to activate', () => extension.isActive, [vscode.languages.onDidChangeDiagnostics, vscode.window.onDidChangeActiveTextEditor]);
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['driftlens.copySectionHash', 'driftlens.explainSectionHash', 'driftlens.showLog']) assert.ok(commands.includes(id), `${id} is registered`);
    const contributes = extension.packageJSON.contributes;
    assert.ok(contributes.yamlValidation.some((v: { url: string }) => v.url === './schemas/drift-policy.schema.json'));
    assert.ok(contributes.jsonValidation.length > 0);
    assert.equal(vscode.workspace.getConfiguration('driftlens').get('validation.debounceMs'), 200);
    assert.equal(vscode.workspace.getConfiguration('driftlens').get('sectionHash.show'), true);
  });

  test('diagnostics appear at the exact ranges, with source and code', async () => {
    const editor = await open('cfg.broken.yaml');
    const expected = [
      '5:18-5:20 error oneOf',
      '8:20-8:21 error type',
      '9:17-9:24 error enum',
      '10:5-10:13 warning ignored-by-replicas',
      '13:33-13:38 error type',
      '14:30-14:32 error minimum',
      '15:7-15:17 error additionalProperties',
    ];
    const seen = await waitFor('seven diagnostics on cfg.broken.yaml', () => diagnosticsOf(editor.document.uri).length === expected.length && diagnosticsOf(editor.document.uri), [vscode.languages.onDidChangeDiagnostics]);
    assert.deepEqual(seen, expected);
    const enumDiagnostic = vscode.languages.getDiagnostics(editor.document.uri).find((d) => d.code === 'enum');
    assert.equal(enumDiagnostic?.message, '"status" must be one of "active", "draining", "inactive", not the string "drainin".');
  });

  test('a fixed error clears its diagnostic and leaves the others', async () => {
    const editor = await open('cfg.broken.yaml');
    // `active`, not `draining`: a draining default would leave job.default nowhere to go (a warning of its own).
    await replaceText(editor, 'status: drainin', 'status: active');
    const seen = await waitFor('the enum diagnostic to clear', () => {
      const now = diagnosticsOf(editor.document.uri);
      return now.length === 6 && now;
    }, [vscode.languages.onDidChangeDiagnostics]);
    assert.ok(!seen.some((d) => d.endsWith(' enum')));
    await revert(editor);
  });

  test('inline section hashes equal the CLI and follow edits', async () => {
    const editor = await open('cfg.system.default.yaml');
    const expected = cliHashes(editor.document.uri.fsPath);
    assert.deepEqual(Object.keys(expected).sort(), ['pools', 'timeouts']);
    const shown = await waitFor('pools and timeouts lenses', async () => {
      const h = await lensHashes(editor.document.uri);
      return Object.keys(h).length === 2 && h;
    }, [vscode.languages.onDidChangeDiagnostics]);
    assert.deepEqual(shown, expected);
    const titles = (await lensesOf(editor.document.uri)).map((l) => l.command?.title ?? '');
    assert.ok(titles.includes(`$(key) pools sha256 ${expected.pools.slice(0, 12)}…${expected.pools.slice(-4)}`), titles.join(' | '));
    // The lens sits on the section's own key line.
    const poolsLens = (await lensesOf(editor.document.uri)).find((l) => l.command?.arguments?.[1] === 'pools');
    assert.equal(editor.document.lineAt(poolsLens!.range.start.line).text.trim(), 'pools:');

    await replaceText(editor, 'job.default: default', 'job.default: fraud-detection');
    const edited = cliHashesOfText(editor.document.getText(), 'cfg.edited.yaml');
    assert.notEqual(edited.pools, expected.pools);
    assert.equal(edited.timeouts, expected.timeouts);
    const after = await waitFor('the pools lens to show the edited hash', async () => {
      const h = await lensHashes(editor.document.uri);
      return h.pools === edited.pools && h;
    }, [vscode.languages.onDidChangeDiagnostics]);
    assert.equal(after.timeouts, expected.timeouts);
    await revert(editor);
  });

  test('"Explain" opens the exact canonical bytes that were hashed', async () => {
    const editor = await open('cfg.system.default.yaml');
    const expected = cliHashes(editor.document.uri.fsPath);
    await vscode.commands.executeCommand('driftlens.explainSectionHash', editor.document.uri, 'pools');
    const canonical = await waitFor('the canonical bytes editor', () => vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'driftlens-canonical')?.document, [vscode.window.onDidChangeVisibleTextEditors]);
    const text = canonical.getText();
    assert.equal(createHash('sha256').update(text, 'utf8').digest('hex'), expected.pools);
    const cliBytes = execFileSync(process.execPath, [CLI, 'hash', editor.document.uri.fsPath, '--section', 'pools', '--explain'], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, encoding: 'utf8' });
    assert.equal(text, cliBytes);
    assert.match(text, /^\{"pools":\{"default":\{"requires":\[\]\}/);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('a bare section file gets one lens on its first line', async () => {
    const editor = await open('config/timeouts.yaml');
    const lenses = await waitFor('the timeouts lens', async () => {
      const all = (await lensesOf(editor.document.uri)).filter((l) => l.command?.command === 'driftlens.copySectionHash');
      return all.length === 1 && all;
    }, [vscode.languages.onDidChangeDiagnostics]);
    assert.equal(lenses[0].range.start.line, 0);
    assert.match(lenses[0].command?.tooltip ?? '', /5e102673f6609b6d6f16962652cd082132e06c4ed95d48b761d341cd1d78ec12/);
  });

  test('drift policy errors land on their values; unrelated YAML is left alone', async () => {
    const unrelated = await open('unrelated.yaml');
    const policy = await open('bad-duration.drift-policy.yaml');
    const seen = await waitFor('two policy diagnostics', () => diagnosticsOf(policy.document.uri).length === 2 && diagnosticsOf(policy.document.uri), [vscode.languages.onDidChangeDiagnostics]);
    assert.deepEqual(seen, ['8:15-8:25 error pattern', '15:22-15:26 error pattern']);
    assert.deepEqual(diagnosticsOf(unrelated.document.uri), []);
    assert.deepEqual(await lensesOf(unrelated.document.uri), []);
  });

  test('YAML nested 3,000 deep: one diagnostic where 256 levels are passed, and the editor stays usable', async () => {
    let deep = '# driftlens: config\n';
    for (let i = 0; i < 3000; i++) deep += ' '.repeat(i) + 'k:\n';
    const document = await vscode.workspace.openTextDocument({ language: 'yaml', content: deep });
    await vscode.window.showTextDocument(document);
    const seen = await waitFor('the nesting diagnostic', () => diagnosticsOf(document.uri).length > 0 && diagnosticsOf(document.uri), [vscode.languages.onDidChangeDiagnostics]);
    // Line 1 is the modeline; the mapping on line 258 (indented 256) is the 257th level.
    assert.deepEqual(seen, ['258:257-258:258 error nesting-too-deep']);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('bytes that are not UTF-8 are marked on the replacement character, with their byte offset', async () => {
    const uri = workspaceFile('latin1.yaml');
    // The pool job.a names is defined (as U+FFFD, what the byte reads as): the byte is the only problem.
    writeFileSync(uri.fsPath, Buffer.concat([Buffer.from('# driftlens: pools\ntopics:\n  job.a: "caf'), Buffer.from([0xe9]), Buffer.from('"\npools: {"caf\\ufffd": {}}\n')]));
    try {
      const editor = await open('latin1.yaml');
      const seen = await waitFor('the invalid-utf8 diagnostic', () => diagnosticsOf(editor.document.uri).length > 0 && diagnosticsOf(editor.document.uri), [vscode.languages.onDidChangeDiagnostics]);
      assert.deepEqual(seen, ['3:14-3:15 error invalid-utf8']);
      assert.match(vscode.languages.getDiagnostics(editor.document.uri)[0].message, /^Byte 0xE9 at byte offset 40 is not valid UTF-8/);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    } finally {
      rmSync(uri.fsPath, { force: true });
    }
  });

  test('a modeline typed into the head makes a file a DriftLens document, read with the edits made below; removed, it stops being one', async () => {
    // Longer than the head DriftLens classifies by: edits past it do not change what the file is,
    // so DriftLens skips them for a file that is not its document (not even a debounce). Typed back
    // into the head, the modeline must still be seen, and the analysis must read the current text.
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'late-modeline.yaml');
    const notes = Array.from({ length: 200 }, (_, i) => `note-${i}: some text\n`).join('');
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(notes + 'pools: 5\n'));
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document);
    assert.ok(document.offsetAt(new vscode.Position(200, 0)) > 2048, 'the pools line is past the head');
    const poolsValue = (line: number) => new vscode.Range(line, 'pools: '.length, line, document.lineAt(line).text.length);
    const errorOn = (line: number, value: string) => () =>
      vscode.languages.getDiagnostics(uri).find((d) => d.source === 'DriftLens' && d.severity === vscode.DiagnosticSeverity.Error && d.range.start.line === line && document.getText(d.range) === value);

    assert.ok(await editor.edit((b) => b.replace(poolsValue(200), '7')));
    assert.ok(await editor.edit((b) => b.insert(new vscode.Position(0, 0), '# driftlens: config\n')));
    await waitFor('the error on pools: 7, below the modeline', errorOn(201, '7'), [vscode.languages.onDidChangeDiagnostics]);
    // A DriftLens document now: an edit past the head is analysed like any other (a longer value, so
    // that the error's old range, which VS Code keeps where the edit was, cannot pass for the new one).
    assert.ok(await editor.edit((b) => b.replace(poolsValue(201), '"eight"')));
    await waitFor('the error on pools: "eight"', errorOn(201, '"eight"'), [vscode.languages.onDidChangeDiagnostics]);

    assert.ok(await editor.edit((b) => b.delete(new vscode.Range(0, 0, 1, 0))));
    await waitFor('no DriftLens diagnostics once the modeline is gone', () => vscode.languages.getDiagnostics(uri).every((d) => d.source !== 'DriftLens'), [vscode.languages.onDidChangeDiagnostics]);

    // Past the head again while the file is nobody's, then the modeline once more: the new value is read.
    assert.ok(await editor.edit((b) => b.replace(poolsValue(200), '"x"')));
    assert.ok(await editor.edit((b) => b.insert(new vscode.Position(0, 0), '# driftlens: config\n')));
    await waitFor('the error on pools: "x"', errorOn(201, '"x"'), [vscode.languages.onDidChangeDiagnostics]);
    // Its own document again: edits past the head are analysed again too.
    assert.ok(await editor.edit((b) => b.replace(poolsValue(201), '"nine"')));
    await waitFor('the error on pools: "nine"', errorOn(201, '"nine"'), [vscode.languages.onDidChangeDiagnostics]);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await vscode.workspace.fs.delete(uri);
  });

  test('thousands of problems: 1,000 diagnostics, the last one counting the rest (as the CLI lists them)', async () => {
    // A file of its own: VS Code gives a new untitled document the number (and URI) of one just
    // closed, and the earlier test's diagnostics could be read for this one.
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'many-problems.yaml');
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode('# driftlens: config\n' + 'a: 1\n'.repeat(5000)));
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const seen = await waitFor('the capped diagnostics', () => {
      const all = vscode.languages.getDiagnostics(document.uri).filter((d) => d.source === 'DriftLens');
      return all.length > 0 && all;
    }, [vscode.languages.onDidChangeDiagnostics]);
    assert.equal(seen.length, 1000, `the diagnostics seen: ${seen.slice(0, 3).map((d) => `${d.range.start.line + 1}: ${d.code} ${d.message}`).join(' | ')} (document ${document.uri.toString()}, ${document.lineCount} lines)`);
    const note = seen.find((d) => d.code === 'more-problems');
    assert.match(note?.message ?? '', /^… and [\d,]+ more problems not shown \([\d,]+ errors\); DriftLens shows up to 1,000 per file, errors first\.$/);
    assert.equal(seen.filter((d) => d.code === 'duplicate-key').length, 999);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    await vscode.workspace.fs.delete(uri);
  });
});
