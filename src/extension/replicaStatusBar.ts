import * as vscode from 'vscode';
import type { ReplicaModel } from './replicaModel';

/** "5/6 in sync, 1 drifted" at a glance; a warning background when any replica is over budget. */
export function registerReplicaStatusBar(model: ReplicaModel): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('driftlens.replicas', vscode.StatusBarAlignment.Left, 49);
  item.name = 'DriftLens Replicas';
  item.command = 'driftlens.replicas.focus';
  const render = () => {
    const m = model.model;
    if (!m || m.replicas.length === 0) {
      item.hide();
      return;
    }
    if (model.paused) {
      // Not counts that silently age: say that nothing is watched, and how to resume.
      item.text = '$(debug-pause) Replicas paused';
      item.backgroundColor = undefined;
      item.tooltip = `Watching ${m.live?.key ?? 'the replicas'} is paused: neither the Replicas view nor an editor with section lenses is open. Click to open the Replicas view and resume.`;
      item.show();
      return;
    }
    const problems = m.replicas.length - m.counts['in-sync'];
    item.text = `$(${problems === 0 ? 'pass' : 'warning'}) ${m.summary}`;
    item.backgroundColor = m.breaches > 0 || m.counts.rejected > 0 ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.tooltip = `${m.live?.key ?? ''} revision ${m.live?.revision ?? '—'}: ${m.summary}${m.breaches ? `; ${m.breaches} over the convergence budget` : ''}${m.simulated ? `; ${m.simulated} simulated (not real services)` : ''}. Click to open the Replicas view.`;
    item.show();
  };
  return vscode.Disposable.from(item, model.onDidChange(render));
}
