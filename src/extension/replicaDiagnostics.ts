import * as vscode from 'vscode';
import { displayText } from '../core/displayText';
import type { DriftDocuments } from './driftDocuments';
import { toRange } from './ranges';
import type { ReplicaModel } from './replicaModel';

/**
 * A replica that refused a section (its apply failed for that hash) shows as a diagnostic on the
 * section in every open document whose section has exactly that hash: the person editing it sees
 * that publishing it again will not help until the replica's complaint is fixed.
 */
export function registerReplicaDiagnostics(documents: DriftDocuments, replicas: ReplicaModel): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('driftlens-replicas');
  let signature = '';
  const update = () => {
    const model = replicas.model;
    const rejections = (model?.replicas ?? []).flatMap((r) => (r.lastError?.kind === 'apply-failed' && r.lastError.section && r.lastError.hash ? [{ member: r.member, section: r.lastError.section, hash: r.lastError.hash, message: r.lastError.message }] : []));
    const next = JSON.stringify(rejections) + vscode.workspace.textDocuments.map((d) => `${d.uri}@${d.version}`).join();
    if (next === signature) return;
    signature = next;
    collection.clear();
    if (rejections.length === 0) return;
    for (const document of vscode.workspace.textDocuments) {
      const entry = documents.peek(document);
      if (!entry) continue;
      const found: vscode.Diagnostic[] = [];
      for (const section of entry.analysis.sections) {
        const refused = rejections.filter((x) => x.section === section.name && x.hash === section.hash);
        if (refused.length === 0) continue;
        const names = refused.slice(0, 3).map((x) => `${displayText(x.member)}: ${displayText(x.message)}`).join('; ');
        const diagnostic = new vscode.Diagnostic(
          toRange(document, section.anchor),
          `${refused.length} replica${refused.length === 1 ? '' : 's'} rejected this ${section.name} section (hash ${section.hash?.slice(0, 12)}…): ${names}${refused.length > 3 ? '; …' : ''}`,
          vscode.DiagnosticSeverity.Error,
        );
        diagnostic.source = 'DriftLens';
        diagnostic.code = 'replica-rejected';
        found.push(diagnostic);
      }
      if (found.length) collection.set(document.uri, found);
    }
  };
  return vscode.Disposable.from(collection, replicas.onDidChange(update), documents.onDidAnalyze(update));
}
