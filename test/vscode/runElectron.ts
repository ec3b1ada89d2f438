import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

/**
 * The second launcher of the same in-host suite, for machines with internet:
 * @vscode/test-electron downloads VS Code and runs out/test/vscode/suite/index.js in it.
 * (On the offline CI machines, test/vscode/launcher/runInHostTests.js runs it in code-server.)
 */
async function main(): Promise<void> {
  const root = path.resolve(__dirname, '../../..');
  const report = path.join(root, 'test-results', 'electron-report.json');
  // A scratch copy of the workspace, as scripts/test-all.sh gives the code-server launcher: the
  // suite publishes (which restamps files) and edits, and the repository must stay as it is.
  const workspace = scratchWorkspace(root);
  // VS Code's logs in a known folder: a suite test reads what the extension host logged.
  const logs = mkdtempSync(path.join(tmpdir(), 'dl-electron-logs-'));
  try {
    await runTests({
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(root, 'out/test/vscode/suite/index.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--logsPath', logs],
      extensionTestsEnv: { DRIFTLENS_TEST_REPORT: report, DRIFTLENS_TEST_VSCODE_LOGS: logs },
    });
  } finally {
    rmSync(workspace, { recursive: true, force: true });
    rmSync(logs, { recursive: true, force: true });
  }
}

/** A copy of test/vscode/workspace in a new temporary folder. */
export function scratchWorkspace(root: string): string {
  const workspace = mkdtempSync(path.join(tmpdir(), 'dl-electron-ws-'));
  cpSync(path.join(root, 'test/vscode/workspace'), workspace, { recursive: true });
  return workspace;
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
