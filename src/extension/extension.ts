import * as vscode from 'vscode';
import { CANONICAL_SCHEME, CanonicalBytesProvider } from './canonicalBytesProvider';
import { registerCompareWithLive } from './compareWithLive';
import { registerConnectionStatusBar } from './connectionStatusBar';
import { registerDiagnostics } from './diagnostics';
import { DriftDocuments } from './driftDocuments';
import { registerHashCommands } from './hashCommands';
import { LiveConnection } from './liveConnection';
import { LIVE_SCHEME, LiveDocumentsProvider, NORMALISED_SCHEME } from './liveDocuments';
import { Log } from './log';
import { registerPublishCommand } from './publishCommand';
import { registerPullLiveConfig } from './pullLiveConfig';
import { registerRollbackCommand } from './rollbackCommand';
import { Secrets } from './secrets';
import { SectionHashLensProvider } from './sectionHashLens';

const DOCUMENT_SELECTOR: vscode.DocumentSelector = [
  { language: 'yaml', scheme: 'file' },
  { language: 'json', scheme: 'file' },
  { language: 'yaml', scheme: 'untitled' },
];

/** Wires the features together; each lives in its own file. Nothing here connects to a server. */
export function activate(context: vscode.ExtensionContext): void {
  const log = new Log();
  const documents = new DriftDocuments(log.for('documents'));
  const lenses = new SectionHashLensProvider(documents);
  const canonical = new CanonicalBytesProvider(documents);
  const secrets = new Secrets(context.secrets);
  const connection = new LiveConnection(secrets, log.for('connection'));
  const liveDocs = new LiveDocumentsProvider(connection, documents);
  context.subscriptions.push(
    log,
    documents,
    registerDiagnostics(documents),
    lenses,
    vscode.languages.registerCodeLensProvider(DOCUMENT_SELECTOR, lenses),
    canonical,
    vscode.workspace.registerTextDocumentContentProvider(CANONICAL_SCHEME, canonical),
    registerHashCommands(documents),
    secrets.register(),
    connection,
    registerConnectionStatusBar(connection),
    liveDocs,
    vscode.workspace.registerTextDocumentContentProvider(LIVE_SCHEME, liveDocs),
    vscode.workspace.registerTextDocumentContentProvider(NORMALISED_SCHEME, liveDocs),
    registerPublishCommand(documents, connection, liveDocs, log.for('publish')),
    registerCompareWithLive(documents, connection, liveDocs),
    registerPullLiveConfig(connection),
    registerRollbackCommand(connection, liveDocs, log.for('rollback')),
    vscode.commands.registerCommand('driftlens.showLog', () => log.show()),
    registerActiveEditorContext(documents),
  );
  documents.refreshAll();
  log.for('extension').info(`activated (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'untrusted'})`);
}

/** Context keys that scope the palette and menus to the editors the commands work on. */
function registerActiveEditorContext(documents: DriftDocuments): vscode.Disposable {
  const update = () => {
    const document = vscode.window.activeTextEditor?.document;
    const kind = document ? documents.kindOf(document) : undefined;
    void vscode.commands.executeCommand('setContext', 'driftlens.isDriftDocument', kind !== undefined);
    void vscode.commands.executeCommand('setContext', 'driftlens.isConfigDocument', kind === 'config');
  };
  update();
  return vscode.Disposable.from(vscode.window.onDidChangeActiveTextEditor(update), documents.onDidAnalyze(update));
}

export function deactivate(): void {}
