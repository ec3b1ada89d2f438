import * as vscode from 'vscode';
import { pulledYaml } from '../core/pulledDocument';
import { cannotReadMessage } from '../core/publishFlow';
import type { LiveConnection } from './liveConnection';

/** Writes the live document (envelope, with its revision) into a local YAML file and opens it. */
export function registerPullLiveConfig(connection: LiveConnection): vscode.Disposable {
  return vscode.commands.registerCommand('driftlens.pullLiveConfig', async (options?: { key?: string; target?: vscode.Uri }) => {
    const settings = await connection.settings();
    const key = options?.key ?? settings.configKeyOverride ?? settings.policy.configKey;
    let live;
    try {
      live = (await (await connection.store()).read(key))?.envelope;
    } catch (e) {
      void vscode.window.showErrorMessage(cannotReadMessage(key, e));
      return undefined;
    }
    if (!live) {
      void vscode.window.showWarningMessage(`${key} does not exist in Redis.`);
      return undefined;
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const suggested = folder ? vscode.Uri.joinPath(folder, `${key.replace(/:/g, '.')}.yaml`) : undefined;
    const target = options?.target ?? (await vscode.window.showSaveDialog({ defaultUri: suggested, filters: { YAML: ['yaml', 'yml'] }, title: `Save ${key} revision ${live.revision} as` }));
    if (!target) return undefined;
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(pulledYaml(key, live)));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(target));
    return target;
  });
}
