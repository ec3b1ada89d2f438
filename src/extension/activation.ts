/**
 * The extension's entry point (dist/extension.js): the part VS Code loads on activation, kept small.
 *
 * Every YAML file activates DriftLens (`onLanguage:yaml`), and most YAML files are not DriftLens
 * documents. Loading the features (analysis, hashing, the live connection, every provider: about
 * 270 KB of code and Node's net, crypto and worker modules) took 80-280 ms of the extension host per
 * window for people who never use them. So activation registers stand-ins only, and the features
 * (dist/features.js, built from extension.ts) load the first time something needs them:
 *
 * - a DriftLens document is open, opens, or becomes one (a modeline typed, an association set);
 * - a DriftLens command runs (the palette, a menu, the walkthrough): its stand-in loads the
 *   features, which register the real command, then runs it;
 * - the Replicas view asks for its rows (it is shown);
 * - an editor of one of DriftLens's virtual documents (live, normalised, canonical bytes) is open
 *   (restored with the window);
 * - a caller reads the API this returns (the in-host tests).
 *
 * The stand-ins stay until then and are disposed before the features register their own.
 */
import * as vscode from 'vscode';
import type { DriftLensApi } from './extension';
import { CLASSIFY_HEAD_CHARS, documentKind } from './documentKind';

/** The schemes of DriftLens's virtual documents; their providers live in the features. */
const VIRTUAL_SCHEMES = new Set(['driftlens-canonical', 'driftlens-live', 'driftlens-normalised', 'driftlens-section', 'driftlens-changes']);
const CLASSIFY_LANGUAGES = new Set(['yaml', 'json', 'jsonc']);
const REPLICAS_VIEW = 'driftlens.replicas';

interface Features {
  activate(context: vscode.ExtensionContext, shell: Shell): DriftLensApi;
  deactivate(): Promise<void> | undefined;
}

/** What the activation shell hands the features: the view it had to create at once, and why they load now. */
export interface Shell {
  /** What needed the features ("a DriftLens document is open", "command driftlens.publish", …), for the log. */
  reason: string;
  /** performance.now() before dist/features.js was required: the log states the load's cost. */
  loadStarted: number;
  replicaView: vscode.TreeView<unknown>;
  /** Connects the real tree provider to the view created before it existed. */
  provideReplicaTree(provider: vscode.TreeDataProvider<unknown>): void;
}

/**
 * The Replicas view's provider until the features load: its first request loads them, and from then
 * on every call and change event is the real provider's. The view must exist at activation (VS Code
 * shows "no data provider" for a view whose extension is active but registered none).
 */
class DeferredTreeProvider implements vscode.TreeDataProvider<unknown>, vscode.Disposable {
  private target: vscode.TreeDataProvider<unknown> | undefined;
  private readonly changed = new vscode.EventEmitter<unknown>();
  private readonly subscriptions: vscode.Disposable[] = [this.changed];
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly load: (reason: string) => void) {}

  connect(target: vscode.TreeDataProvider<unknown>): void {
    this.target = target;
    if (target.onDidChangeTreeData) this.subscriptions.push(target.onDidChangeTreeData((e) => this.changed.fire(e)));
    // Whatever the view showed came from nobody: ask again, now of the real provider.
    this.changed.fire(undefined);
  }

  private real(): vscode.TreeDataProvider<unknown> {
    if (!this.target) this.load('the Replicas view is shown');
    if (!this.target) throw new Error('DriftLens features did not register the Replicas tree');
    return this.target;
  }

  getTreeItem(element: unknown): vscode.TreeItem | Thenable<vscode.TreeItem> {
    return this.real().getTreeItem(element);
  }

  getChildren(element?: unknown): vscode.ProviderResult<unknown[]> {
    return this.real().getChildren(element);
  }

  getParent(element: unknown): vscode.ProviderResult<unknown> {
    return this.real().getParent?.(element);
  }

  resolveTreeItem(item: vscode.TreeItem, element: unknown, token: vscode.CancellationToken): vscode.ProviderResult<vscode.TreeItem> {
    const real = this.real();
    return real.resolveTreeItem ? real.resolveTreeItem(item, element, token) : item;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
  }
}

let features: Features | undefined;

export function activate(context: vscode.ExtensionContext): DriftLensApi {
  const tree = new DeferredTreeProvider((reason) => load(reason));
  const replicaView = vscode.window.createTreeView(REPLICAS_VIEW, { treeDataProvider: tree, showCollapseAll: true });
  const standIns: vscode.Disposable[] = [];
  let api: DriftLensApi | undefined;

  const load = (reason: string): DriftLensApi => {
    if (api) return api;
    const loadStarted = performance.now();
    for (const standIn of standIns.splice(0)) standIn.dispose();
    // A literal require of a file esbuild leaves external: evaluated here, not at activation.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    features = require('./features.js') as Features;
    api = features.activate(context, { reason, loadStarted, replicaView, provideReplicaTree: (provider) => tree.connect(provider) });
    return api;
  };

  const isDriftDocument = (document: vscode.TextDocument) => VIRTUAL_SCHEMES.has(document.uri.scheme) || documentKind(document) !== undefined;
  const needsFeatures = () =>
    vscode.workspace.textDocuments.some(isDriftDocument) ||
    vscode.window.tabGroups.all.some((group) => group.tabs.some((tab) => tab.input instanceof vscode.TabInputText && VIRTUAL_SCHEMES.has(tab.input.uri.scheme)));

  // Each contributed command: load, then run the real one the features registered under the same id.
  const commands = (context.extension.packageJSON as { contributes?: { commands?: { command: string }[] } }).contributes?.commands ?? [];
  for (const { command } of commands) {
    standIns.push(
      vscode.commands.registerCommand(command, (...args: unknown[]) => {
        load(`command ${command}`);
        return vscode.commands.executeCommand(command, ...args);
      }),
    );
  }
  standIns.push(
    vscode.workspace.onDidOpenTextDocument((document) => isDriftDocument(document) && load('a DriftLens document opened')),
    vscode.workspace.onDidChangeTextDocument(
      ({ document, contentChanges }) =>
        CLASSIFY_LANGUAGES.has(document.languageId) && contentChanges.some((change) => change.rangeOffset < CLASSIFY_HEAD_CHARS) && isDriftDocument(document) && load('a document became a DriftLens document'),
    ),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('driftlens.files.associations') && needsFeatures() && load('the file associations changed')),
  );
  context.subscriptions.push(replicaView, tree, { dispose: () => standIns.splice(0).forEach((d) => d.dispose()) });

  if (needsFeatures()) return load('a DriftLens document is open');
  // The API loads the features when read: the in-host tests read it, nothing else does.
  return {
    get replicaTree() {
      return load('the API was read').replicaTree;
    },
    get replicaModel() {
      return load('the API was read').replicaModel;
    },
    get replicaView() {
      return load('the API was read').replicaView;
    },
    get verification() {
      return load('the API was read').verification;
    },
  };
}

/** Awaited by VS Code: no Redis or NATS socket outlives the extension. */
export function deactivate(): Promise<void> | undefined {
  return features?.deactivate();
}
