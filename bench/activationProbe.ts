import { writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { loadedBundles, vscodeActivationTimes } from '../test/vscode/suite/activationTimes';

/**
 * Runs inside the extension host for bench/activation.bench.ts (the test-runner `run()` shape): in a
 * workspace with one plain YAML file and no DriftLens document, opening the file activates DriftLens
 * (onLanguage:yaml). Writes VS Code's activation times and the bundles the host evaluated to the file
 * named by DRIFTLENS_TEST_REPORT.
 */
export async function run(): Promise<void> {
  const extension = vscode.extensions.getExtension('driftlens.driftlens');
  if (!extension) throw new Error('driftlens.driftlens is not installed');
  const activeBefore = extension.isActive;
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('no workspace folder');
  // The extension host's CPU time from the open to the end of activation: everything the host did
  // for the open, other extensions activated by the same event included.
  const cpu0 = process.cpuUsage();
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder.uri, 'notes.yaml')));
  // Returns the activation the open started (the table below names its event).
  await extension.activate();
  const cpu = process.cpuUsage(cpu0);
  const hostCpuMs = (cpu.user + cpu.system) / 1000;
  const times = await vscodeActivationTimes(extension.id);
  const report = process.env.DRIFTLENS_TEST_REPORT;
  if (!report) throw new Error('DRIFTLENS_TEST_REPORT is not set');
  writeFileSync(report, JSON.stringify({ activeBefore, ...times, hostCpuMs, bundles: loadedBundles(extension) }) + '\n');
}
