import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { waitFor } from './waitFor';

/**
 * Completion, hover and quick fixes of DriftLens's own, through the commands VS Code runs them
 * with, in a real workbench with no YAML extension installed. Each test writes its own file (an
 * untitled document's URI is reused by the next one, and with it stale diagnostics).
 */

const ROOT = path.resolve(__dirname, '../../../..');
let counter = 0;
const created: vscode.Uri[] = [];

async function openNew(content: string, name = 'cfg.intel'): Promise<vscode.TextEditor> {
  const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, `${name}-${++counter}.yaml`);
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(content));
  created.push(uri);
  const document = await vscode.workspace.openTextDocument(uri);
  return vscode.window.showTextDocument(document);
}

/** The position of the `at`-th character of the first `marker` in the document. */
function positionOf(document: vscode.TextDocument, marker: string, at = 0): vscode.Position {
  const index = document.getText().indexOf(marker);
  assert.ok(index >= 0, `"${marker}" is in the document`);
  return document.positionAt(index + at);
}

async function completionLabels(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.CompletionItem[]> {
  const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', document.uri, position);
  return list.items;
}

const label = (item: vscode.CompletionItem) => (typeof item.label === 'string' ? item.label : item.label.label);

async function hoverText(document: vscode.TextDocument, position: vscode.Position): Promise<string> {
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, position);
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : c.value))
    .join('\n---\n');
}

function ours(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'DriftLens');
}

/** "line:col-line:col severity code", 1-based. */
function describe(d: vscode.Diagnostic): string {
  return `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.line + 1}:${d.range.end.character + 1} ${['error', 'warning', 'info', 'hint'][d.severity]} ${String(d.code)}`;
}

async function diagnosticsWith(uri: vscode.Uri, code: string): Promise<vscode.Diagnostic[]> {
  return waitFor(`a ${code} diagnostic`, () => {
    const found = ours(uri).filter((d) => d.code === code);
    return found.length > 0 && found;
  }, [vscode.languages.onDidChangeDiagnostics]);
}

async function fixesAt(document: vscode.TextDocument, range: vscode.Range): Promise<vscode.CodeAction[]> {
  return vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', document.uri, range);
}

/** Applies the action titled `title` and waits for the diagnostics of the edited text. */
async function apply(document: vscode.TextDocument, actions: vscode.CodeAction[], title: string | RegExp): Promise<void> {
  const action = actions.find((a) => (typeof title === 'string' ? a.title === title : title.test(a.title)));
  assert.ok(action?.edit, `an action "${String(title)}" among: ${actions.map((a) => a.title).join(' | ')}`);
  const version = document.version;
  assert.ok(await vscode.workspace.applyEdit(action.edit));
  assert.ok(document.version > version);
}

/** The routing mistakes of the CLI test: a missing pool, a topic with only draining or inactive pools, a spare pool. */
const ROUTING = readFileSync(path.join(ROOT, 'test/fixtures/config/cfg.routing.yaml'), 'utf8');

suite('DriftLens completion, hover and quick fixes', () => {
  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const uri of created) await vscode.workspace.fs.delete(uri).then(undefined, () => undefined);
  });

  test('cross-reference diagnostics at the pool name, the topic and the spare pool', async () => {
    const editor = await openNew(ROUTING);
    await diagnosticsWith(editor.document.uri, 'unused-pool');
    assert.deepEqual(ours(editor.document.uri).map(describe).sort(), [
      '16:7-16:12 info unused-pool',
      '6:34-6:42 warning undefined-pool',
      '7:7-7:24 warning topic-not-routable',
    ]);
  });

  test('completion in a topic value offers the pools defined in the document, while it does not parse', async () => {
    // A line being typed below makes the whole document a syntax error: completion reads the text.
    const editor = await openNew(ROUTING.replace('    pools:\n', '      job.new: \n      job.half\n    pools:\n'));
    await diagnosticsWith(editor.document.uri, 'yaml-syntax');
    const labels = (await completionLabels(editor.document, positionOf(editor.document, 'job.new: ', 9))).map(label);
    for (const pool of ['default', 'fraud', 'legacy', 'spare']) assert.ok(labels.includes(pool), `${pool} offered: ${labels.join(', ')}`);
    // Inside a list, the pools already listed are not offered again.
    const inList = (await completionLabels(editor.document, positionOf(editor.document, '[fraud, ', 8))).map(label);
    assert.ok(!inList.includes('fraud') && inList.includes('default'), inList.join(', '));
  });

  test('completion offers the keys a pool lacks, with their descriptions, and status values', async () => {
    const editor = await openNew(ROUTING.replace('        description: GPU workers for fraud scoring\n', '        description: GPU workers for fraud scoring\n        \n'));
    const keys = await completionLabels(editor.document, positionOf(editor.document, 'scoring\n        \n', 16));
    const names = keys.map(label);
    assert.ok(names.includes('status') && names.includes('drain_timeout_seconds'), names.join(', '));
    assert.ok(!names.includes('requires') && !names.includes('description'), 'keys already present are not offered');
    const status = keys.find((k) => label(k) === 'status')!;
    assert.match(String((status.documentation as vscode.MarkdownString).value), /draining and inactive pools are left out of routing/);
    assert.match((status.insertText as vscode.SnippetString).value, /^status: \$\{1\|active,draining,inactive\|\}$/);
    const values = (await completionLabels(editor.document, positionOf(editor.document, 'status: draining', 8))).map(label);
    assert.deepEqual(values.slice(0, 3), ['active', 'draining', 'inactive']);
  });

  test('completion of Go durations in a drift policy', async () => {
    const editor = await openNew('# driftlens: policy\ndrift_control:\n  polling:\n    interval: \n', 'policy');
    const values = (await completionLabels(editor.document, positionOf(editor.document, 'interval: ', 10))).map(label);
    assert.ok(values.includes('30s') && values.includes('1m'), values.join(', '));
  });

  test('hover on a pool in a topic shows its definition and that "p" and ["p"] hash differently', async () => {
    const editor = await openNew(ROUTING);
    await diagnosticsWith(editor.document.uri, 'unused-pool');
    const text = await hoverText(editor.document, positionOf(editor.document, '[fraud', 2));
    assert.match(text, /Pool `fraud`/);
    assert.match(text, /requires: `gpu`/);
    assert.match(text, /description: GPU workers for fraud scoring/);
    assert.match(text, /hash differently/);
    const draining = await hoverText(editor.document, positionOf(editor.document, '[legacy', 2));
    assert.match(draining, /status: `draining`: left out of routing/);
    const missing = await hoverText(editor.document, positionOf(editor.document, 'gpu-farm', 1));
    assert.match(missing, /is not defined/);
    const poolKey = await hoverText(editor.document, positionOf(editor.document, '      fraud:', 7));
    assert.match(poolKey, /1 topic routes to it: `job.fraud.process`/);
  });

  test('hover on a section key shows the hash replicas compute (the lens hash), and schema descriptions elsewhere', async () => {
    const editor = await openNew(ROUTING);
    await diagnosticsWith(editor.document.uri, 'unused-pool');
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri);
    const hash = /[0-9a-f]{64}/.exec(lenses.find((l) => l.command?.command === 'driftlens.copySectionHash')?.command?.tooltip ?? '')?.[0];
    assert.ok(hash);
    const text = await hoverText(editor.document, positionOf(editor.document, '  pools:', 3));
    assert.ok(text.includes(`${hash.slice(0, 12)}…${hash.slice(-4)}`), text);
    assert.match(text, /Job routing/);
    const topics = await hoverText(editor.document, positionOf(editor.document, 'topics:', 2));
    assert.match(topics, /route the same but hash differently/);
  });

  test('quick fix: define the missing pool; the warning goes away', async () => {
    const editor = await openNew(ROUTING);
    const [undefinedPool] = await diagnosticsWith(editor.document.uri, 'undefined-pool');
    await apply(editor.document, await fixesAt(editor.document, undefinedPool.range), 'Define pool "gpu-farm" in pools');
    assert.match(editor.document.getText(), /\n {6}spare:\n {8}requires: \[\]\n {6}gpu-farm:\n {8}requires: \[\]\n$/);
    await waitFor('the undefined-pool warning to go', () => ours(editor.document.uri).every((d) => d.code !== 'undefined-pool') && ours(editor.document.uri).length > 0, [vscode.languages.onDidChangeDiagnostics]);
  });

  test('quick fixes: did-you-mean for a status and a key, 30 seconds to 30s, remove a key replicas ignore', async () => {
    const editor = await openNew(ROUTING.replace('status: draining', 'status: drainin').replace('        requires: [gpu]\n', '        require: [gpu]\n').replace('    pools:\n      default:', '    _comment: old\n    pools:\n      default:'));
    const [status] = await diagnosticsWith(editor.document.uri, 'enum');
    const statusFixes = await fixesAt(editor.document, status.range);
    assert.equal(statusFixes[0].title, 'Did you mean "draining"?');
    assert.equal(statusFixes[0].isPreferred, true);
    await apply(editor.document, statusFixes, 'Did you mean "draining"?');
    // Fixes come from the analysis of the current text: wait for the diagnostics of each edit.
    const gone = (code: string) => waitFor(`the ${code} diagnostic to go`, () => ours(editor.document.uri).length > 0 && ours(editor.document.uri).every((d) => d.code !== code), [vscode.languages.onDidChangeDiagnostics]);
    await gone('enum');
    const [key] = await diagnosticsWith(editor.document.uri, 'additionalProperties');
    await apply(editor.document, await fixesAt(editor.document, key.range), 'Did you mean "requires"?');
    await gone('additionalProperties');
    const [ignored] = await diagnosticsWith(editor.document.uri, 'ignored-by-replicas');
    await apply(editor.document, await fixesAt(editor.document, ignored.range), 'Remove "_comment" (replicas ignore it)');
    await waitFor('no errors left', () => ours(editor.document.uri).length > 0 && ours(editor.document.uri).every((d) => d.severity !== vscode.DiagnosticSeverity.Error && d.code !== 'ignored-by-replicas'), [vscode.languages.onDidChangeDiagnostics]);
    assert.ok(editor.document.getText().includes('status: draining}') && editor.document.getText().includes('requires: [gpu]') && !editor.document.getText().includes('_comment'));

    const policy = await openNew('# driftlens: policy\ndrift_control:\n  source_of_truth: redis\n  config_key: cfg:system:default\n  notifications: {subject: sys.config.changed}\n  polling:\n    interval: 30 seconds\n  hash_gate: {sections: [pools]}\n  convergence_slo: {notification_ok: "<= 5s", notification_lost: "<= 30s"}\n', 'policy');
    const [duration] = await diagnosticsWith(policy.document.uri, 'pattern');
    await apply(policy.document, await fixesAt(policy.document, duration.range), 'Write it as the Go duration 30s');
    assert.match(policy.document.getText(), /\n {4}interval: 30s\n/);
    await waitFor('the policy to validate', () => ours(policy.document.uri).length === 0 && policy.document.version > 1, [vscode.languages.onDidChangeDiagnostics]);
  });

  test('refactor: a topic route written "p" becomes ["p"], the title saying the hash changes', async () => {
    const editor = await openNew(ROUTING);
    await diagnosticsWith(editor.document.uri, 'unused-pool');
    const at = positionOf(editor.document, 'job.default: default', 15);
    const actions = await fixesAt(editor.document, new vscode.Range(at, at));
    await apply(editor.document, actions, /^Convert to the list \[default\] \(routes the same; the pools hash changes\)$/);
    assert.ok(editor.document.getText().includes('job.default: [default]\n'));
  });
});
