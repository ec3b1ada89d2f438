import * as vscode from 'vscode';
import { CANONICAL_SCHEME, CanonicalBytesProvider } from './canonicalBytesProvider';
import { registerDiagnostics } from './diagnostics';
import { DriftDocuments } from './driftDocuments';
import { registerHashCommands } from './hashCommands';
import { Log } from './log';
import { SectionHashLensProvider } from './sectionHashLens';

const DOCUMENT_SELECTOR: vscode.DocumentSelector = [
  { language: 'yaml', scheme: 'file' },
  { language: 'json', scheme: 'file' },
  { language: 'yaml', scheme: 'untitled' },
];

/** Wires the features together; each lives in its own file. */
export function activate(context: vscode.ExtensionContext): void {
  const log = new Log();
  const documents = new DriftDocuments(log.for('documents'));
  const lenses = new SectionHashLensProvider(documents);
  const canonical = new CanonicalBytesProvider(documents);
  context.subscriptions.push(
    log,
    documents,
    registerDiagnostics(documents),
    lenses,
    vscode.languages.registerCodeLensProvider(DOCUMENT_SELECTOR, lenses),
    canonical,
    vscode.workspace.registerTextDocumentContentProvider(CANONICAL_SCHEME, canonical),
    registerHashCommands(documents),
    vscode.commands.registerCommand('driftlens.showLog', () => log.show()),
    registerActiveEditorContext(documents),
  );
  documents.refreshAll();
  log.for('extension').info(`activated (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'untrusted'})`);
}

/** `driftlens.isDriftDocument` scopes the palette commands to the editors they work on. */
function registerActiveEditorContext(documents: DriftDocuments): vscode.Disposable {
  const update = () => {
    const document = vscode.window.activeTextEditor?.document;
    void vscode.commands.executeCommand('setContext', 'driftlens.isDriftDocument', document ? documents.kindOf(document) !== undefined : false);
  };
  update();
  return vscode.Disposable.from(vscode.window.onDidChangeActiveTextEditor(update), documents.onDidAnalyze(update));
}

export function deactivate(): void {}
