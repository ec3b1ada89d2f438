'use strict';
// UI scenario of the Verify stage: a REAL Prometheus (test/support/prometheus, compiled) scrapes an
// exporter this script controls. Publish Config → the Verify node passes; the exporter degrades →
// the next publish fails verification, the notification offers the rollback, clicking it restores.

const fs = require('fs');
const path = require('path');
const { runCommand, openFile, waitForText, clickActivityBarItem } = require('../launcher/ui');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const KEY = 'cfg:system:default';
const METRIC = 'cordum_scheduler_dispatch_latency_p99';
const { startExporter, startPrometheus } = require(path.join(ROOT, 'out/test/support/prometheus'));

const verifyBlock = (url) => `  verify:
    prometheus: ${url}
    initial_delay: 0s
    interval: 1s
    count: 3
    on_failure: notify
    checks:
      - name: dispatch_latency_p99
        query: max(${METRIC})
        max: 0.5
        failure_limit: 0
`;

/** Publishes the open pools file through the palette and the modal preview. */
async function publish(page, what) {
  await runCommand(page, 'DriftLens: Publish Config');
  const dialog = await waitForText(page, '.monaco-dialog-box', `Publish ${KEY} revision`, { timeoutMs: 20e3, what: `the publish preview (${what})` });
  await dialog.locator('.monaco-button', { hasText: /^Publish$/ }).first().click();
  // A change with risks (issue 13: a whole new pools file reroutes many topics) asks a second time.
  const risks = page.locator('.monaco-dialog-box').filter({ hasText: 'Publish it anyway?' }).first();
  if (await risks.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false)) {
    await risks.locator('.monaco-button', { hasText: /^Publish Despite Risks$/ }).first().click();
  }
}

/** Rewrites the pools file on disk (closed in the editor first, so the editor reads the new text). */
async function routeDefaultTo(page, workspace, pool) {
  await runCommand(page, 'View: Close All Editors');
  const file = path.join(workspace, 'config/pools.yaml');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^ {2}job\.default: .*$/m, `  job.default: ${pool}`));
  await openFile(page, 'config/pools.yaml');
}

module.exports = [
  {
    name: 'Verify: a publish passes verification; a degraded one fails, the notification offers the rollback, which restores',
    async run({ page, shot, workspace, onCleanup }) {
      const exporter = await startExporter();
      exporter.set(METRIC, 0.1);
      const prometheus = await startPrometheus([exporter.target], '250ms');
      const policyFile = path.join(workspace, 'drift-policy.yaml');
      const policyBefore = fs.readFileSync(policyFile, 'utf8');
      onCleanup(async () => {
        fs.writeFileSync(policyFile, policyBefore);
        await prometheus.dispose();
        await exporter.close();
      });
      await prometheus.answers(`max(${METRIC})`, '0.1');
      fs.writeFileSync(policyFile, `${policyBefore.trimEnd()}\n${verifyBlock(prometheus.url)}`);
      await clickActivityBarItem(page, 'DriftLens');

      await routeDefaultTo(page, workspace, 'fraud-detection');
      await publish(page, 'the healthy change');
      await waitForText(page, '.monaco-list-row', 'passed · 3/3 measurements', { timeoutMs: 60e3, what: 'the Verify node passed' });
      await waitForText(page, '.monaco-list-row', '(≤ 0.5) 3/3', { timeoutMs: 10e3, what: 'the check against its threshold' });
      await waitForText(page, '.statusbar', 'verify passed', { timeoutMs: 10e3, what: 'the verification in the status bar' });
      await shot('13-verify-passed');

      exporter.set(METRIC, 2);
      await prometheus.answers(`max(${METRIC})`, '2');
      await routeDefaultTo(page, workspace, 'loan-agents');
      await publish(page, 'the change published while latency is high');
      await waitForText(page, '.monaco-list-row', 'failed · 1/3 measurements', { timeoutMs: 60e3, what: 'the Verify node failed' });
      await waitForText(page, '.statusbar', 'verify failed', { timeoutMs: 10e3, what: 'the failed verification in the status bar' });
      // The notification: its toast, or (when the workbench shows no toast) the notification center.
      const message = 'failed verification';
      const notification = await waitForText(page, '.notification-toast', message, { timeoutMs: 8e3, what: 'the failed-verification toast' }).catch(async () => {
        await runCommand(page, 'Notifications: Show Notifications');
        return waitForText(page, '.notifications-center .notification-list-item', message, { timeoutMs: 10e3, what: 'the failed-verification notification' });
      });
      await shot('14-verify-failed-rollback-offered');
      await notification.locator('.monaco-button', { hasText: /^Rollback to Revision \d+$/ }).first().click();
      await waitForText(page, '.notification-toast, .notifications-center', 'rolled back to the data of revision', { timeoutMs: 20e3, what: 'the rollback done message' });
      await waitForText(page, '.monaco-list-row', 'Rolled back to revision', { timeoutMs: 20e3, what: 'the rollback in the tree' });
      await waitForText(page, '.statusbar', 'verify failed, rolled back', { timeoutMs: 10e3, what: 'the rollback in the status bar' });
      await shot('15-verify-rolled-back');
      exporter.set(METRIC, 0.1);
    },
  },
];
