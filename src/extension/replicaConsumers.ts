import * as vscode from 'vscode';
import type { DriftDocuments } from './driftDocuments';
import type { ReplicaModel } from './replicaModel';
import type { ReplicaTreeNode } from './replicaTree';

/**
 * Who needs live replica data, so that the watcher reads Redis and listens on NATS only then:
 *
 * - the Replicas view while it is visible (collapsed or in a hidden side bar it shows nothing);
 * - a visible editor showing a config document or a bare section file: its section lenses count the replicas running
 *   each hash and its diagnostics show replica rejections (with `driftlens.sectionHash.show` off,
 *   the diagnostics still need it).
 *
 * The status bar summary does not keep the watcher running by itself: it is on screen all the
 * time, and would never let it pause. While paused it says "Replicas paused" instead of aging
 * counts, and a click opens the view, which resumes watching with a fresh read. Background tabs
 * and closed views need nothing: whatever shows the model again triggers a fresh read first.
 */
export function registerReplicaConsumers(view: vscode.TreeView<ReplicaTreeNode>, documents: DriftDocuments, model: ReplicaModel): vscode.Disposable {
  const update = () => {
    const editorNeedsIt = vscode.window.visibleTextEditors.some((editor) => {
      const kind = documents.kindOf(editor.document);
      return kind !== undefined && kind !== 'policy';
    });
    model.setNeeded(view.visible || editorNeedsIt);
  };
  update();
  return vscode.Disposable.from(view.onDidChangeVisibility(update), vscode.window.onDidChangeVisibleTextEditors(update), documents.onDidAnalyze(update));
}
