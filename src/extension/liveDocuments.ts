import * as vscode from 'vscode';
import type { JsonValue } from '../core/canonical';
import { renderForDiff } from '../core/publishPlan';
import type { DriftDocument, DriftDocuments } from './driftDocuments';
import type { LiveConnection } from './liveConnection';

export const LIVE_SCHEME = 'driftlens-live';
export const NORMALISED_SCHEME = 'driftlens-normalised';

/**
 * Read-only normalised renderings for Compare with Live: the live data map read from Redis
 * (driftlens-live:/<key>.yaml) and the local document's data map (driftlens-normalised:...).
 * Both sorted and styled the same way, so the diff shows data, not formatting.
 */
export class LiveDocumentsProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly connection: LiveConnection,
    private readonly documents: DriftDocuments,
  ) {
    this.subscription = documents.onDidAnalyze((entry) => this.changed.fire(LiveDocumentsProvider.normalisedUri(entry.uri)));
  }

  /** With a section: only that section of the live data (what a bare section file compares with). */
  static liveUri(key: string, revision?: number, section?: string): vscode.Uri {
    const fragment = `${revision === undefined ? '' : String(revision)}${section ? `;${section}` : ''}`;
    return vscode.Uri.from({ scheme: LIVE_SCHEME, path: `/${key.replace(/:/g, '.')}${section ? `.${section}` : ''}.yaml`, query: key, fragment });
  }

  static normalisedUri(source: vscode.Uri): vscode.Uri {
    return vscode.Uri.from({ scheme: NORMALISED_SCHEME, path: source.path.replace(/\.(ya?ml|json)$/i, '') + '.normalised.yaml', query: source.toString() });
  }

  /** Re-reads the live side (after a publish, or before showing a fresh diff). */
  refreshLive(key: string): void {
    for (const doc of vscode.workspace.textDocuments) if (doc.uri.scheme === LIVE_SCHEME && doc.uri.query === key) this.changed.fire(doc.uri);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    if (uri.scheme === NORMALISED_SCHEME) {
      const source = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.query);
      const entry: DriftDocument | undefined = source ? this.documents.get(source) : undefined;
      if (!entry || entry.analysis.data === undefined) return '# the local document is closed or does not parse\n';
      return renderForDiff(entry.analysis.data as JsonValue);
    }
    const key = uri.query;
    try {
      const store = await this.connection.store();
      const live = await store.read(key);
      if (!live) return `# ${key} does not exist in Redis yet\n`;
      // The title names a revision: show that one, from history, once live has moved past it.
      const [revision, section] = uri.fragment.split(';');
      const wanted = revision === '' ? undefined : Number(revision);
      const render = (data: { [key: string]: JsonValue }) => (section ? (data[section] === undefined ? `# ${key} has no ${section} section\n` : renderForDiff(data[section])) : renderForDiff(data));
      if (wanted !== undefined && wanted !== live.envelope.revision) {
        const earlier = (await store.history(key)).find((e) => e.revision === wanted);
        if (earlier) return render(earlier.data);
      }
      return render(live.envelope.data);
    } catch (e) {
      return `# cannot read ${key}: ${e instanceof Error ? e.message : String(e)}\n`;
    }
  }

  dispose(): void {
    this.changed.dispose();
    this.subscription.dispose();
  }
}
