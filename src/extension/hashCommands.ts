import * as vscode from 'vscode';
import type { SectionInfo } from '../core/analysis';
import { CanonicalBytesProvider } from './canonicalBytesProvider';
import type { DriftDocuments } from './driftDocuments';
import { shortHash } from './sectionHashLens';

/**
 * Finds the section a command is about: the lens passes (uri, section); from the palette, the active
 * editor's sections, asking when there are several.
 */
async function pickSection(documents: DriftDocuments, uri: vscode.Uri | undefined, name: string | undefined): Promise<{ document: vscode.TextDocument; section: SectionInfo } | undefined> {
  const document = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
  if (!document) {
    void vscode.window.showWarningMessage('DriftLens: open a config document first.');
    return undefined;
  }
  // The worker's analysis of this very version has the hashes: a large document is not analysed again to copy one.
  const sections = (documents.current(document) ?? documents.get(document))?.analysis.sections ?? [];
  if (sections.length === 0) {
    void vscode.window.showWarningMessage(`DriftLens: ${vscode.workspace.asRelativePath(document.uri)} has no hash-gated section (pools, timeouts).`);
    return undefined;
  }
  if (name) {
    const section = sections.find((s) => s.name === name);
    return section ? { document, section } : undefined;
  }
  if (sections.length === 1) return { document, section: sections[0] };
  const picked = await vscode.window.showQuickPick(
    sections.map((s) => ({ label: s.name, description: s.hash ? shortHash(s.hash) : 'no hash (invalid)', section: s })),
    { title: 'Which section?' },
  );
  return picked ? { document, section: picked.section } : undefined;
}

export function registerHashCommands(documents: DriftDocuments): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('driftlens.copySectionHash', async (uri?: vscode.Uri, name?: string) => {
      const target = await pickSection(documents, uri, name);
      if (!target) return;
      if (!target.section.hash) {
        void vscode.window.showWarningMessage(`DriftLens: the ${target.section.name} section has no hash: ${target.section.reason ?? 'it is invalid'}`);
        return;
      }
      await vscode.env.clipboard.writeText(target.section.hash);
      vscode.window.setStatusBarMessage(`$(check) Copied ${target.section.name} hash ${shortHash(target.section.hash)}`, 3000);
    }),
    vscode.commands.registerCommand('driftlens.explainSectionHash', async (uri?: vscode.Uri, name?: string) => {
      const target = await pickSection(documents, uri, name);
      if (!target) return;
      const canonical = await vscode.workspace.openTextDocument(CanonicalBytesProvider.uriFor(target.document.uri, target.section.name));
      // Its own language id: JSON colours, and word wrap on (the bytes are one long line).
      await vscode.languages.setTextDocumentLanguage(canonical, 'driftlens-canonical-json');
      await vscode.window.showTextDocument(canonical, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    }),
  );
}
