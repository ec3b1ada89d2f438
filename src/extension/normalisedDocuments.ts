import * as vscode from 'vscode';
import type { JsonValue } from '../core/canonical';
import { renderForDiff } from '../core/publishPlan';
import type { DriftDocument, DriftDocuments } from './driftDocuments';

export const NORMALISED_SCHEME = 'driftlens-normalised';

/**
 * The local side of Compare with Live (driftlens-normalised:...): the open document's data map,
 * sorted and styled as the live side is, so the diff shows data, not formatting. It re-renders
 * whenever the document is analysed again. Its change event carries only driftlens-normalised
 * URIs: VS Code ignores (and logs) an event whose scheme is not the provider's own.
 */
export class NormalisedDocumentsProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly documents: DriftDocuments) {
    this.subscription = documents.onDidAnalyze((entry) => this.changed.fire(NormalisedDocumentsProvider.normalisedUri(entry.uri)));
  }

  static normalisedUri(source: vscode.Uri): vscode.Uri {
    return vscode.Uri.from({ scheme: NORMALISED_SCHEME, path: source.path.replace(/\.(ya?ml|json)$/i, '') + '.normalised.yaml', query: source.toString() });
  }

  /** Registers this provider for its own scheme (and only that one). */
  register(): vscode.Disposable {
    return vscode.workspace.registerTextDocumentContentProvider(NORMALISED_SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const source = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.query);
    const entry: DriftDocument | undefined = source ? this.documents.get(source) : undefined;
    if (!entry || entry.analysis.data === undefined) return '# the local document is closed or does not parse\n';
    return renderForDiff(entry.analysis.data as JsonValue);
  }

  dispose(): void {
    this.changed.dispose();
    this.subscription.dispose();
  }
}
