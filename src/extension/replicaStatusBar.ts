import { displayText } from '../core/displayText';
import * as vscode from 'vscode';
import type { ReplicaModel } from './replicaModel';
import type { VerificationController } from './verificationController';
import { verifySummary } from './verifyTree';

/**
 * "5/6 in sync, 1 drifted · verify 3/10" at a glance; a warning background when any replica is over
 * budget, an error background when the live revision (or the one rolled back from) failed verification.
 */
export function registerReplicaStatusBar(model: ReplicaModel, verification: VerificationController): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('driftlens.replicas', vscode.StatusBarAlignment.Left, 49);
  item.name = 'DriftLens Replicas';
  item.command = 'driftlens.replicas.focus';
  const render = () => {
    const m = model.model;
    const verify = verification.current;
    if (!m || (m.replicas.length === 0 && !verify)) {
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
    // Red while the failed revision is live; once rolled back, a warning (look at it, nothing is burning).
    const failed = verify?.state === 'failed' && verify.rollback?.outcome !== 'done';
    const rolledBack = verify?.rollback?.outcome === 'done';
    item.text = `$(${failed ? 'error' : rolledBack ? 'history' : problems === 0 ? 'pass' : 'warning'}) ${m.summary}${verify ? ` · ${verifySummary(verify)}` : ''}`;
    item.backgroundColor = failed ? new vscode.ThemeColor('statusBarItem.errorBackground') : rolledBack || m.breaches > 0 || m.counts.rejected > 0 ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    const verifyText = verify ? ` Verification of revision ${verify.revision}: ${verify.state} (${displayText(verify.reason)})${verify.rollback ? `; rollback ${verify.rollback.outcome}` : ''}.` : '';
    item.tooltip = `${m.live?.key ?? ''} revision ${m.live?.revision ?? '—'}: ${m.summary}${m.breaches ? `; ${m.breaches} over the convergence budget` : ''}${m.simulated ? `; ${m.simulated} simulated (not real services)` : ''}.${verifyText} Click to open the Replicas view.`;
    item.show();
  };
  return vscode.Disposable.from(item, model.onDidChange(render), verification.onDidChange(render));
}
