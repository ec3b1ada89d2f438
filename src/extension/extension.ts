import * as vscode from 'vscode';
import { CANONICAL_SCHEME, CanonicalBytesProvider } from './canonicalBytesProvider';
import { ChangeSetDocuments, registerShowChangeSet } from './changeSetDocument';
import { registerCompareWithLive } from './compareWithLive';
import { registerConnectionStatusBar } from './connectionStatusBar';
import { registerDiagnostics } from './diagnostics';
import { registerIntelligence } from './intelligence';
import { DriftDocuments } from './driftDocuments';
import { registerHashCommands } from './hashCommands';
import { LiveAheadLensProvider } from './liveAheadLens';
import { LiveConnection, type ConnectionState } from './liveConnection';
import { LiveDocumentsProvider } from './liveDocuments';
import { NormalisedDocumentsProvider } from './normalisedDocuments';
import { Log } from './log';
import { rfc3339ToEpochMs } from '../live/replicaReports';
import { registerPublishCommand } from './publishCommand';
import { registerPullLiveConfig } from './pullLiveConfig';
import { registerChoosePolicy } from './policyProblems';
import { registerReplicaCommands } from './replicaCommands';
import { registerReplicaConsumers } from './replicaConsumers';
import { registerReplicaDiagnostics } from './replicaDiagnostics';
import { ReplicaModel } from './replicaModel';
import { registerReplicaStatusBar } from './replicaStatusBar';
import { ReplicaTreeProvider, type ReplicaTreeNode } from './replicaTree';
import { registerRollbackCommand } from './rollbackCommand';
import type { Shell } from './activation';
import { Secrets } from './secrets';
import { SectionHashLensProvider } from './sectionHashLens';
import { registerStarterDocuments } from './starterDocuments';
import { VerificationController } from './verificationController';
import { registerVerifyCommand } from './verifyCommand';

// The same languages and schemes DriftDocuments.kindOf accepts; it decides per file.
const DOCUMENT_SELECTOR: vscode.DocumentSelector = ['yaml', 'json', 'jsonc'].flatMap((language) => [
  { language, scheme: 'file' },
  { language, scheme: 'untitled' },
]);

/** What activate() returns: the replica tree as the view shows it, for the in-host tests. */
export interface DriftLensApi {
  replicaTree: ReplicaTreeProvider;
  replicaModel: ReplicaModel;
  /** The view itself: its description names the drift policy in use. */
  replicaView: vscode.TreeView<ReplicaTreeNode>;
  /** The Verify stage of this window (the in-host tests await its runs and roll back through it). */
  verification: VerificationController;
}

/**
 * Wires the features together; each lives in its own file. Nothing here connects to a server.
 * Built as dist/features.js and loaded by the activation shell (activation.ts) the first time
 * something needs DriftLens, not on every YAML file; the shell hands over the Replicas view it had
 * to create at activation.
 */
export function activate(context: vscode.ExtensionContext, shell: Shell): DriftLensApi {
  const started = shell.loadStarted;
  const log = new Log();
  const documents = new DriftDocuments(log.for('documents'));
  const canonical = new CanonicalBytesProvider(documents);
  const secrets = new Secrets(context.secrets);
  const connection = new LiveConnection(secrets, log.for('connection'));
  closeConnections = () => connection.close();
  const liveDocs = new LiveDocumentsProvider(connection);
  const normalisedDocs = new NormalisedDocumentsProvider(documents);
  const changeSets = new ChangeSetDocuments();
  const replicaModel = new ReplicaModel(connection, log.for('replicas'));
  const verification = new VerificationController(connection, replicaModel, log.for('verify'));
  const replicaTree = new ReplicaTreeProvider(replicaModel, verification);
  const replicaView = shell.replicaView as vscode.TreeView<ReplicaTreeNode>;
  shell.provideReplicaTree(replicaTree as vscode.TreeDataProvider<unknown>);
  replicaTree.attach(replicaView);
  const lenses = new SectionHashLensProvider(documents, replicaModel);
  const aheadLens = new LiveAheadLensProvider(documents, replicaModel, connection);
  context.subscriptions.push(
    log,
    documents,
    registerDiagnostics(documents),
    lenses,
    vscode.languages.registerCodeLensProvider(DOCUMENT_SELECTOR, lenses),
    aheadLens,
    vscode.languages.registerCodeLensProvider(DOCUMENT_SELECTOR, aheadLens),
    canonical,
    vscode.workspace.registerTextDocumentContentProvider(CANONICAL_SCHEME, canonical),
    registerHashCommands(documents),
    secrets.register(async () => (await connection.settings()).identities),
    connection,
    registerConnectionStatusBar(connection),
    liveDocs,
    liveDocs.register(),
    normalisedDocs,
    normalisedDocs.register(),
    verification,
    // Not awaited: the publish result returns at once; the verdict shows in the Replicas view.
    changeSets,
    changeSets.register(),
    registerShowChangeSet(documents, connection, changeSets),
    registerPublishCommand(documents, connection, liveDocs, changeSets, log.for('publish'), (key, envelope) => void verification.start(key, envelope.revision, rfc3339ToEpochMs(envelope.updatedAt))),
    registerVerifyCommand(connection, verification),
    registerCompareWithLive(documents, connection, liveDocs),
    registerPullLiveConfig(connection),
    registerRollbackCommand(connection, liveDocs, log.for('rollback')),
    replicaModel,
    replicaTree,
    replicaView,
    // Watch replicas only once someone looks: the view is shown (or was left open). It pauses
    // while nothing needs it (replicaConsumers.ts) and resumes with a fresh read.
    replicaView.onDidChangeVisibility((e) => e.visible && void replicaModel.ensureStarted()),
    registerReplicaConsumers(replicaView, documents, replicaModel),
    // Which policy the view watches with, or that it watches nothing because of the policy.
    connection.onDidChangeState((state) => (replicaView.description = policyDescription(state))),
    registerChoosePolicy(),
    registerReplicaCommands(connection, replicaModel, replicaTree, log.for('replicas')),
    registerReplicaStatusBar(replicaModel, verification),
    registerReplicaDiagnostics(documents, replicaModel),
    registerIntelligence(documents, replicaModel),
    vscode.commands.registerCommand('driftlens.showLog', () => log.show()),
    registerStarterDocuments(context.extensionUri),
    registerActiveEditorContext(documents),
  );
  if (replicaView.visible) void replicaModel.ensureStarted();
  documents.refreshAll();
  log.for('extension').info(`features loaded in ${(performance.now() - started).toFixed(0)} ms: ${shell.reason} (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'untrusted'})`);
  return { replicaTree, replicaModel, replicaView, verification };
}

function policyDescription(state: ConnectionState): string | undefined {
  if (state.policyProblemKind === 'ambiguous') return 'several drift policies: choose one';
  if (state.policyProblemKind) return `${state.policyLabel} ${state.policyProblemKind === 'invalid' ? 'is invalid' : 'cannot be read'}`;
  return state.policyLabel || undefined;
}

/** Context keys that scope the palette and menus to the editors the commands work on. */
function registerActiveEditorContext(documents: DriftDocuments): vscode.Disposable {
  const update = () => {
    const document = vscode.window.activeTextEditor?.document;
    const kind = document ? documents.kindOf(document) : undefined;
    void vscode.commands.executeCommand('setContext', 'driftlens.isDriftDocument', kind !== undefined);
    void vscode.commands.executeCommand('setContext', 'driftlens.isConfigDocument', kind === 'config');
    // A bare section file publishes (and compares) as that section of the live document.
    void vscode.commands.executeCommand('setContext', 'driftlens.isPublishable', kind === 'config' || kind === 'pools' || kind === 'timeouts');
  };
  update();
  return vscode.Disposable.from(vscode.window.onDidChangeActiveTextEditor(update), documents.onDidAnalyze(update));
}

let closeConnections: (() => Promise<void>) | undefined;

/** Awaited by VS Code: no Redis or NATS socket outlives the extension. */
export function deactivate(): Promise<void> | undefined {
  return closeConnections?.();
}
