import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { waitFor } from './waitFor';

/** What activation cost, as VS Code and this extension host see it (the in-host suite and bench/activationProbe.ts). */

/** The extension's bundles this extension host has evaluated, relative to the extension ("dist/extension.js"). */
export function loadedBundles(extension: vscode.Extension<unknown>): string[] {
  const dist = path.join(extension.extensionPath, 'dist') + path.sep;
  return Object.keys(require.cache)
    .filter((file) => file.startsWith(dist) && file.endsWith('.js'))
    .map((file) => path.relative(extension.extensionPath, file))
    .sort();
}

export interface ActivationTimes {
  /** As VS Code's Startup Performance view states them, ms. */
  codeLoadingTime: number;
  activateCallTime: number;
  activateResolvedTime: number;
  activationEvent: string;
}

/**
 * VS Code's own activation times for an extension: the "Extension Activation Stats" table of
 * `Developer: Startup Performance` (the `perf:Startup Performance` document), which reads the
 * activationTimes the extension host reported (Running Extensions shows load + call as one number).
 */
export async function vscodeActivationTimes(extensionId: string): Promise<ActivationTimes> {
  // The workbench registers the `perf` scheme when the view is first shown.
  await vscode.commands.executeCommand('perfview.show');
  const document = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: 'perf', path: 'Startup Performance' }));
  const isHeader = (line: string) => /^\|\s*Extension\s*\|\s*Eager\s*\|\s*Load Code\s*\|/.test(line);
  // The document says "Loading..." until the workbench has gathered its numbers (seen in CI), then changes.
  await waitFor('the Startup Performance document to have its Extension Activation Stats table', () => {
    if (document.getText().split('\n').some(isHeader)) return true;
    throw new Error(document.getText().slice(0, 2000));
  }, [vscode.workspace.onDidChangeTextDocument]);
  await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  const lines = document.getText().split('\n');
  const header = lines.findIndex(isHeader);
  const cells = (line: string) => line.split('|').slice(1, -1).map((c) => c.trim());
  const columns = cells(lines[header]);
  const row = lines.slice(header + 2).map(cells).find((r) => r[0] === extensionId);
  assert.ok(row, `the Extension Activation Stats table has a row for ${extensionId}`);
  const value = (column: string) => row[columns.indexOf(column)];
  return {
    codeLoadingTime: Number(value('Load Code')),
    activateCallTime: Number(value('Call Activate')),
    activateResolvedTime: Number(value('Finish Activate')),
    activationEvent: value('Event'),
  };
}
