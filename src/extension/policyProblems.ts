import * as vscode from 'vscode';
import type { LiveConnection } from './liveConnection';
import { findPolicyFiles, PolicyProblem } from './liveSettings';

/**
 * What DriftLens says when it will not act on the drift policy, and the way out: an invalid or
 * unreadable policy opens at a click; several policies offer a choice that sets driftlens.policyFile.
 */
/**
 * The connection's settings, or, when the policy is invalid, unreadable or ambiguous, the problem,
 * already shown with its way out: a command never acts with a guessed key or subject.
 */
export async function settingsOrShowProblem(connection: LiveConnection): Promise<Awaited<ReturnType<LiveConnection['settings']>> | PolicyProblem> {
  try {
    return await connection.settings();
  } catch (e) {
    if (!(e instanceof PolicyProblem)) throw e;
    showPolicyProblem(e);
    return e;
  }
}

export function showPolicyProblem(problem: PolicyProblem): void {
  const action = problem.kind === 'ambiguous' ? 'Choose…' : 'Open Policy';
  void vscode.window.showErrorMessage(problem.message, action).then((choice) => {
    if (choice === 'Choose…') return vscode.commands.executeCommand('driftlens.choosePolicy');
    if (choice === 'Open Policy' && problem.uri) return vscode.window.showTextDocument(problem.uri);
    return undefined;
  });
}

/**
 * A DriftLens setting that DriftLens will not act on: the CLI refuses the same value of its flag.
 * `setting` is the one to open (`driftlens.registry.keyPattern`).
 */
export class SettingsProblem extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
    this.name = 'SettingsProblem';
  }
}

export function showSettingsProblem(problem: SettingsProblem): void {
  void vscode.window.showErrorMessage(problem.message, 'Open Settings').then((choice) => (choice === 'Open Settings' ? vscode.commands.executeCommand('workbench.action.openSettings', problem.setting) : undefined));
}

/**
 * driftlens.choosePolicy: picks the policy this workspace uses and stores it in the workspace
 * settings. `uri` skips the picker (the in-host tests; other commands may pass one).
 */
export function registerChoosePolicy(): vscode.Disposable {
  return vscode.commands.registerCommand('driftlens.choosePolicy', async (uri?: vscode.Uri) => {
    let chosen = uri;
    if (!chosen) {
      const files = await findPolicyFiles();
      if (files.length === 0) {
        void vscode.window.showInformationMessage('No drift policy in this workspace: DriftLens uses Cordum\'s defaults. Create a drift-policy.yaml (see the README) to set the key, subject and budgets.');
        return undefined;
      }
      const pick = await vscode.window.showQuickPick(
        files.map((file) => ({ label: vscode.workspace.asRelativePath(file), file })),
        { title: 'The drift policy DriftLens watches and publishes with', placeHolder: 'Stored as driftlens.policyFile in the workspace settings' },
      );
      chosen = pick?.file;
    }
    if (!chosen) return undefined;
    const relative = vscode.workspace.asRelativePath(chosen, false);
    await vscode.workspace.getConfiguration('driftlens').update('policyFile', relative, vscode.ConfigurationTarget.Workspace);
    return relative;
  });
}
