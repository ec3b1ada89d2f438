import * as vscode from 'vscode';
import { cannotReadMessage } from '../core/publishFlow';
import { configTarget } from './configTarget';
import type { DriftDocuments } from './driftDocuments';
import type { LiveConnection } from './liveConnection';
import { LiveDocumentsProvider } from './liveDocuments';
import { NormalisedDocumentsProvider } from './normalisedDocuments';

/** Opens live (left) against local (right), both normalised: only data differences show. A section file compares with that live section. */
export async function openCompareWithLive(liveDocs: LiveDocumentsProvider, source: vscode.Uri, key: string, revision?: number, section?: string): Promise<void> {
  liveDocs.refreshLive(key);
  const left = LiveDocumentsProvider.liveUri(key, revision, section);
  const right = NormalisedDocumentsProvider.normalisedUri(source);
  const title = `${key}${section ? ` ${section}` : ''}${revision === undefined ? '' : ` (revision ${revision})`} ↔ ${vscode.workspace.asRelativePath(source)}`;
  await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview: true });
}

export function registerCompareWithLive(documents: DriftDocuments, connection: LiveConnection, liveDocs: LiveDocumentsProvider): vscode.Disposable {
  return vscode.commands.registerCommand('driftlens.compareWithLive', async (uri?: vscode.Uri) => {
    const settings = await connection.settings();
    const target = await configTarget(documents, uri, settings);
    if (typeof target === 'string') {
      void vscode.window.showWarningMessage(`DriftLens: ${target}`);
      return;
    }
    let revision: number | undefined;
    try {
      revision = (await (await connection.store()).read(target.key))?.envelope.revision;
    } catch (e) {
      void vscode.window.showErrorMessage(cannotReadMessage(target.key, e));
      return;
    }
    await openCompareWithLive(liveDocs, target.document.uri, target.key, revision, target.section);
  });
}
