import * as vscode from 'vscode';
import type { JsonValue } from '../core/canonical';
import { renderForDiff } from '../core/publishPlan';
import type { LiveConnection } from './liveConnection';

export const LIVE_SCHEME = 'driftlens-live';

/**
 * The live side of Compare with Live (driftlens-live:/<key>.yaml): the data map read from Redis,
 * rendered as the local side is (normalisedDocuments.ts), so the diff shows data, not formatting.
 * Its change event carries only driftlens-live URIs: VS Code ignores (and logs) an event whose
 * scheme is not the provider's own.
 */
export class LiveDocumentsProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly connection: LiveConnection) {}

  /** With a section: only that section of the live data (what a bare section file compares with). */
  static liveUri(key: string, revision?: number, section?: string): vscode.Uri {
    const fragment = `${revision === undefined ? '' : String(revision)}${section ? `;${section}` : ''}`;
    return vscode.Uri.from({ scheme: LIVE_SCHEME, path: `/${key.replace(/:/g, '.')}${section ? `.${section}` : ''}.yaml`, query: key, fragment });
  }

  /** Registers this provider for its own scheme (and only that one). */
  register(): vscode.Disposable {
    return vscode.workspace.registerTextDocumentContentProvider(LIVE_SCHEME, this);
  }

  /** Re-reads the live side (after a publish, or before showing a fresh diff). */
  refreshLive(key: string): void {
    for (const doc of vscode.workspace.textDocuments) if (doc.uri.scheme === LIVE_SCHEME && doc.uri.query === key) this.changed.fire(doc.uri);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
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
  }
}
