import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { loadedBundles, vscodeActivationTimes } from '../test/vscode/suite/activationTimes';

/**
 * Runs inside the extension host for bench/activation.bench.ts (the test-runner `run()` shape): opens
 * the file DRIFTLENS_BENCH_OPEN names (default notes.yaml, a plain YAML file: opening it activates
 * DriftLens by onLanguage:yaml). Writes VS Code's activation times and the bundles the host evaluated
 * to the file named by DRIFTLENS_TEST_REPORT. For a DriftLens document it also records how long the
 * open took to show the document's section hash lenses (the features load then).
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
  const opened = performance.now();
  const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder.uri, process.env.DRIFTLENS_BENCH_OPEN ?? 'notes.yaml'));
  await vscode.window.showTextDocument(document);
  // Returns the activation the open started (the table below names its event).
  await extension.activate();
  let firstLensMs: number | undefined;
  if (process.env.DRIFTLENS_BENCH_OPEN) {
    // The lens provider answers from the analysis it computes on the spot when none is stored.
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri, 10);
    if (!lenses.some((lens) => /sha256/.test(lens.command?.title ?? ''))) throw new Error(`no section hash lens on ${document.uri.fsPath}`);
    firstLensMs = performance.now() - opened;
  }
  const cpu = process.cpuUsage(cpu0);
  const hostCpuMs = (cpu.user + cpu.system) / 1000;
  const times = await vscodeActivationTimes(extension.id);
  const report = process.env.DRIFTLENS_TEST_REPORT;
  if (!report) throw new Error('DRIFTLENS_TEST_REPORT is not set');
  writeFileSync(report, JSON.stringify({ activeBefore, ...times, hostCpuMs, firstLensMs, bundles: loadedBundles(extension) }) + '\n');
}
