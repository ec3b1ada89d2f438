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
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out/test/vscode/suite/index.js'),
    launchArgs: [path.join(root, 'test/vscode/workspace'), '--disable-extensions', '--disable-workspace-trust'],
    extensionTestsEnv: { DRIFTLENS_TEST_REPORT: report },
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
