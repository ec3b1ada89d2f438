import { readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

/**
 * The in-host test entry (the standard VS Code `run()` shape), used by both launchers: code-server
 * (test/vscode/launcher) and @vscode/test-electron (test/vscode/runElectron.ts). The host's console
 * is cut off at exit, so results also go to the file named by DRIFTLENS_TEST_REPORT.
 */
export function run(): Promise<void> {
  // DRIFTLENS_TEST_GREP runs the tests whose title matches (a developer's loop; CI runs them all).
  const mocha = new Mocha({ ui: 'tdd', timeout: 60_000, color: false, reporter: 'spec', grep: process.env.DRIFTLENS_TEST_GREP || undefined });
  for (const file of suiteFiles(__dirname)) mocha.addFile(path.join(__dirname, file));
  const lines: string[] = [];
  const tests: { title: string; state: string; error?: string }[] = [];
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const summary = { passes: tests.filter((t) => t.state === 'passed').length, failures, pending: tests.filter((t) => t.state === 'pending').length, tests };
      const reportFile = process.env.DRIFTLENS_TEST_REPORT;
      if (reportFile) writeFileSync(reportFile, [...lines, JSON.stringify(summary)].join('\n') + '\n');
      if (failures > 0) reject(new Error(`${failures} in-host test(s) failed`));
      else resolve();
    });
    runner.on('pass', (test) => {
      tests.push({ title: test.fullTitle(), state: 'passed' });
      lines.push(`  ✔ ${test.fullTitle()} (${test.duration ?? 0} ms)`);
    });
    runner.on('pending', (test) => {
      tests.push({ title: test.fullTitle(), state: 'pending' });
      lines.push(`  - ${test.fullTitle()} (skipped)`);
    });
    runner.on('fail', (test, error: Error) => {
      tests.push({ title: test.fullTitle(), state: 'failed', error: error.message });
      lines.push(`  ✘ ${test.fullTitle()}\n      ${String(error.stack ?? error.message).split('\n').slice(0, 8).join('\n      ')}`);
    });
  });
}

/** Every `*.test.js` next to this file, in name order: a new suite file runs without being listed here. */
export function suiteFiles(folder: string): string[] {
  return readdirSync(folder)
    .filter((name) => name.endsWith('.test.js'))
    .sort();
}
