import * as vscode from 'vscode';
import { rfc3339ToEpochMs } from '../live/replicaReports';
import type { VerificationRecord } from '../live/verificationStore';
import type { LiveConnection } from './liveConnection';
import type { VerificationController } from './verificationController';

/**
 * "DriftLens: Verify Live Revision": measures the live revision (or follows whoever measures it,
 * or shows its stored verdict) with the policy's `verify` checks. Returns the record, for tests.
 */
export function registerVerifyCommand(connection: LiveConnection, verification: VerificationController): vscode.Disposable {
  return vscode.commands.registerCommand('driftlens.verify', async (): Promise<VerificationRecord | undefined> => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('DriftLens queries Prometheus only from a trusted workspace.');
      return undefined;
    }
    const settings = await connection.settings();
    if (!settings.policy.verify) {
      void vscode.window.showInformationMessage('DriftLens: the drift policy has no `verify` block (drift_control.verify): there is nothing to verify with.');
      return undefined;
    }
    const key = settings.configKeyOverride ?? settings.policy.configKey;
    let live;
    try {
      live = (await (await connection.store()).read(key))?.envelope;
    } catch (e) {
      void vscode.window.showErrorMessage(`DriftLens: cannot read ${key}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    if (!live) {
      void vscode.window.showInformationMessage(`DriftLens: ${key} does not exist in Redis: there is no live revision to verify.`);
      return undefined;
    }
    void vscode.commands.executeCommand('driftlens.replicas.focus');
    const record = await verification.start(key, live.revision, rfc3339ToEpochMs(live.updatedAt));
    // Failed and inconclusive verdicts raise their own notification (the controller's, once).
    if (record?.state === 'passed') void vscode.window.showInformationMessage(`DriftLens: revision ${record.revision} of ${key} passed verification (${record.reason}).`);
    if (record?.state === 'superseded') void vscode.window.showInformationMessage(`DriftLens: revision ${record.revision} of ${key} was superseded by a newer publish before its verification ended.`);
    return record;
  });
}
