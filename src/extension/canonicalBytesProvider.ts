import * as vscode from 'vscode';
import type { DriftDocuments } from './driftDocuments';

export const CANONICAL_SCHEME = 'driftlens-canonical';

/**
 * Read-only documents holding the exact canonical JSON a section hash covers:
 * driftlens-canonical:/<section>.canonical.json?<source uri>. They follow edits of the source.
 */
export class CanonicalBytesProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly open = new Set<string>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly documents: DriftDocuments) {
    this.subscription = vscode.Disposable.from(
      vscode.workspace.onDidCloseTextDocument((d) => this.open.delete(d.uri.toString())),
      documents.onDidAnalyze((entry) => {
        for (const key of this.open) {
          const uri = vscode.Uri.parse(key);
          if (uri.query === entry.uri.toString()) this.changed.fire(uri);
        }
      }),
    );
  }

  static uriFor(source: vscode.Uri, section: string): vscode.Uri {
    return vscode.Uri.from({ scheme: CANONICAL_SCHEME, path: `/${section}.canonical.json`, query: source.toString() });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    this.open.add(uri.toString());
    const section = uri.path.replace(/^\//, '').replace(/\.canonical\.json$/, '');
    const source = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.query);
    if (!source) return `// The source document is closed: ${uri.query}`;
    const info = this.documents.get(source)?.analysis.sections.find((s) => s.name === section);
    if (!info) return `// The ${section} section is no longer in ${source.uri.path}`;
    // Exactly the hashed bytes: no header, no trailing newline, so copying them reproduces the hash.
    return info.canonical ?? `// No hash: ${info.reason ?? 'the section is invalid'}`;
  }

  dispose(): void {
    this.changed.dispose();
    this.subscription.dispose();
  }
}
