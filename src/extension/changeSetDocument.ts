import * as vscode from 'vscode';
import { changeSet, formatChangeSetMarkdown, type ChangeSet } from '../core/changeSet';
import { cannotReadMessage, withSection } from '../core/publishFlow';
import type { ConfigEnvelope } from '../live/envelope';
import { configTarget, type ConfigTarget } from './configTarget';
import type { DriftDocuments } from './driftDocuments';
import type { LiveConnection } from './liveConnection';
import { PolicyProblem } from './liveSettings';
import { settingsOrShowProblem } from './policyProblems';

export const CHANGE_SET_SCHEME = 'driftlens-changes';

/** The change set a publish of `target` would make over `live`: a section file replaces only its section. */
export function targetChangeSet(target: ConfigTarget, live: ConfigEnvelope | undefined, sections: Parameters<typeof changeSet>[2]): ChangeSet {
  const data = target.section ? withSection(live?.data ?? {}, target.section, target.data) : target.data;
  return changeSet(live?.data, data, sections);
}

/** "cfg:system:default revision 12 → config/cfg.yaml": what the document compares. */
export function changeSetTitle(target: ConfigTarget, live: ConfigEnvelope | undefined): string {
  const what = `${target.key}${target.section ? ` ${target.section}` : ''}`;
  return `${what} ${live ? `revision ${live.revision}` : '(no document yet)'} → ${vscode.workspace.asRelativePath(target.document.uri)}`;
}

/**
 * The change set as a read-only markdown document (driftlens-changes:/<file>.changes.md), shown in
 * the markdown preview: the whole set, one click from the publish dialog, which has room for counts
 * and the first risks only. Each document is a snapshot of the moment it was asked for.
 */
export class ChangeSetDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  register(): vscode.Disposable {
    return vscode.workspace.registerTextDocumentContentProvider(CHANGE_SET_SCHEME, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? '# This change set is no longer available: run DriftLens: Show Change Set again.\n';
  }

  /** Opens (or refreshes) the change set of `source` in the markdown preview; returns its URI. */
  async show(source: vscode.Uri, set: ChangeSet, title: string): Promise<vscode.Uri> {
    const uri = vscode.Uri.from({ scheme: CHANGE_SET_SCHEME, path: `${source.path.replace(/\.(ya?ml|json)$/i, '')}.changes.md` });
    this.contents.set(uri.path, formatChangeSetMarkdown(set, title));
    this.changed.fire(uri);
    try {
      await vscode.commands.executeCommand('markdown.showPreview', uri);
    } catch {
      // No markdown preview (a minimal editor build): the markdown text reads well enough as it is.
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
    }
    return uri;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** DriftLens: Show Change Set: every property the open document would change in live, and the risks. */
export function registerShowChangeSet(documents: DriftDocuments, connection: LiveConnection, changeSets: ChangeSetDocuments): vscode.Disposable {
  return vscode.commands.registerCommand('driftlens.showChangeSet', async (uri?: vscode.Uri): Promise<vscode.Uri | undefined> => {
    const settings = await settingsOrShowProblem(connection);
    if (settings instanceof PolicyProblem) return undefined;
    const target = await configTarget(documents, uri, settings);
    if (typeof target === 'string') {
      void vscode.window.showWarningMessage(`DriftLens: ${target}`);
      return undefined;
    }
    let live: ConfigEnvelope | undefined;
    try {
      live = (await (await connection.store()).read(target.key))?.envelope;
    } catch (e) {
      void vscode.window.showErrorMessage(cannotReadMessage(target.key, e));
      return undefined;
    }
    return changeSets.show(target.document.uri, targetChangeSet(target, live, settings.policy.sections), changeSetTitle(target, live));
  });
}
