import * as vscode from 'vscode';
import { findPolicyFiles, POLICY_GLOB } from './liveSettings';

/**
 * "Create Starter Config Document" (the walkthrough's first step): a config document shaped like
 * Cordum's own pools.yaml / timeouts.yaml and, when the workspace has no drift policy yet, a
 * starter policy. Nothing that exists is ever overwritten: an existing file is opened as it is.
 */

export const STARTER_CONFIG = 'cfg.system.default.yaml';
export const STARTER_POLICY = 'drift-policy.yaml';

export interface StarterResult {
  /** The config document shown afterwards (new or existing). */
  config: vscode.Uri;
  created: vscode.Uri[];
  /** Files that were there already and were left as they are. */
  kept: vscode.Uri[];
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch (error) {
    // Only a file that is not there is absent: a file we cannot stat may still be there, and is never overwritten.
    if (error instanceof vscode.FileSystemError && error.code === 'FileNotFound') return false;
    throw error;
  }
}

async function chooseFolder(): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) return folders[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: 'Folder for the starter config document' });
}

async function createStarter(extensionUri: vscode.Uri, target?: vscode.Uri): Promise<StarterResult | undefined> {
  const folder = target ?? (await chooseFolder())?.uri;
  if (!folder) {
    if (!vscode.workspace.workspaceFolders?.length) {
      const choice = await vscode.window.showErrorMessage('Open a folder first: DriftLens creates the starter config document in it.', 'Open Folder');
      if (choice) await vscode.commands.executeCommand('workbench.action.files.openFolder');
    }
    return undefined;
  }
  const templates = vscode.Uri.joinPath(extensionUri, 'media', 'walkthrough', 'starter');
  const result: StarterResult = { config: vscode.Uri.joinPath(folder, STARTER_CONFIG), created: [], kept: [] };
  const place = async (name: string, uri: vscode.Uri) => {
    if (await exists(uri)) {
      result.kept.push(uri);
      return;
    }
    await vscode.workspace.fs.writeFile(uri, await vscode.workspace.fs.readFile(vscode.Uri.joinPath(templates, name)));
    result.created.push(uri);
  };
  await place(STARTER_CONFIG, result.config);
  // A second policy would leave DriftLens unable to choose (it never guesses): keep the one there is.
  // Inside the workspace, one anywhere in it counts (in any root folder, as the policy is resolved);
  // a folder outside it (a command argument) has only its own.
  const inWorkspace = vscode.workspace.getWorkspaceFolder(folder) !== undefined;
  const policies = inWorkspace ? await findPolicyFiles() : await vscode.workspace.findFiles(new vscode.RelativePattern(folder, POLICY_GLOB), '**/node_modules/**', 1);
  if (policies.length > 0) result.kept.push(policies[0]);
  else if (!vscode.workspace.getConfiguration('driftlens', folder).get<string>('policyFile')) await place(STARTER_POLICY, vscode.Uri.joinPath(folder, STARTER_POLICY));

  // Beside the walkthrough when it is what is showing, so both stay in view.
  const activeTab = vscode.window.tabGroups.activeTabGroup.activeTab;
  const beside = activeTab !== undefined && !(activeTab.input instanceof vscode.TabInputText);
  await vscode.window.showTextDocument(result.config, { viewColumn: beside ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active });

  const names = (uris: vscode.Uri[]) => uris.map((u) => vscode.workspace.asRelativePath(u)).join(' and ');
  const created = result.created.length ? `Created ${names(result.created)}.` : '';
  const kept = result.kept.length ? `${names(result.kept)} ${result.kept.length === 1 ? 'exists' : 'exist'} already and ${result.kept.length === 1 ? 'was' : 'were'} left as ${result.kept.length === 1 ? 'it is' : 'they are'}.` : '';
  void vscode.window.showInformationMessage([created, kept].filter(Boolean).join(' '));
  return result;
}

export function registerStarterDocuments(extensionUri: vscode.Uri): vscode.Disposable {
  return vscode.commands.registerCommand('driftlens.createStarterConfig', (target?: vscode.Uri) => createStarter(extensionUri, target instanceof vscode.Uri ? target : undefined));
}
