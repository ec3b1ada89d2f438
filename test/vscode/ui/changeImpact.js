'use strict';
// UI scenario of change impact (issue 13), against the real redis-server and nats-server: the
// publish dialog with a risk, the change set document one click away, the second confirmation a
// risk needs, and the lens that says live moved past the file.

const fs = require('fs');
const path = require('path');
const { runCommand, openFile, waitForText, waitVisible } = require('../launcher/ui');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const KEY = 'cfg:system:default';
const FILE = 'cfg.impact.yaml';
const { withStore } = require('./liveStore');
const { analyzeDocument } = require(path.join(ROOT, 'out/src/core/analysis'));
const { connectNats } = require(path.join(ROOT, 'out/src/live/natsConnection'));
const { publishDocument } = require(path.join(ROOT, 'out/src/live/publisher'));

const dialogButton = (dialog, label) => dialog.locator('.monaco-button', { hasText: new RegExp(`^${label}$`) }).first();

module.exports = [
  {
    name: 'a risky publish: counts and the risk in the dialog, the change set one click away, a second confirmation, then live ahead of the file',
    async run({ page, shot, servers, workspace }) {
      // Live at revision 3 holds the workspace's document; the file (same key) cuts a timeout from 120 s to 30 s.
      const original = fs.readFileSync(path.join(workspace, 'cfg.system.default.yaml'), 'utf8');
      const liveData = analyzeDocument(original, 'yaml', 'config').data;
      await withStore(servers, async (store, redis) => {
        await redis.del(KEY, `driftlens:history:{${KEY}}`);
        for (let r = 0; r < 3; r++) await store.write(KEY, { data: liveData, expectedRevision: r, meta: { published_by: 'alice@ops' } });
      });
      const text = original.replace(/^revision: \d+$/m, 'revision: 3').replace('timeout_seconds: 120', 'timeout_seconds: 30').replace('job.default: default', 'job.default: [default]');
      fs.writeFileSync(path.join(workspace, FILE), text);

      await openFile(page, FILE);
      await runCommand(page, 'DriftLens: Publish Config');
      let dialog = await waitForText(page, '.monaco-dialog-box', `Publish ${KEY} revision 4?`, { timeoutMs: 20e3, what: 'the publish preview dialog' });
      await waitForText(page, '.monaco-dialog-box', '2 changes (1 hash-only), 1 risk.', { timeoutMs: 5e3, what: 'the change set counts' });
      await waitForText(page, '.monaco-dialog-box', '⚠ timeout-cut: timeouts.topics["job.fraud-detection.process"].timeout_seconds is cut by more than half', { timeoutMs: 5e3, what: 'the top risk' });
      await shot('impact-01-preview-with-risk');

      // One click to the whole change set; the dialog asks again over it. Cancel to read the document.
      await dialogButton(dialog, 'Show Change Set').click();
      await waitVisible(page.locator('.tabs-container .tab').filter({ hasText: 'Preview cfg.impact.changes.md' }).first(), 'the change set preview tab', 20e3);
      dialog = await waitForText(page, '.monaco-dialog-box', `Publish ${KEY} revision 4?`, { timeoutMs: 20e3, what: 'the dialog again' });
      await dialogButton(dialog, 'Cancel').click();
      await page.locator('.monaco-dialog-box').waitFor({ state: 'hidden', timeout: 10e3 });
      // The preview is a webview: its text is inside nested frames.
      const preview = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
      await waitVisible(preview.locator('h3', { hasText: `${KEY} revision 3 → ${FILE}` }), 'the change set heading', 20e3);
      await waitVisible(preview.locator('li', { hasText: 'timeout-cut' }), 'the risk in the document', 10e3);
      await waitVisible(preview.locator('td', { hasText: 'same pools, written another way' }), 'the hash-only note in the table', 10e3);
      await shot('impact-02-change-set-document');

      // Publish: the risk needs a second, explicit yes.
      await openFile(page, FILE);
      await runCommand(page, 'DriftLens: Publish Config');
      dialog = await waitForText(page, '.monaco-dialog-box', `Publish ${KEY} revision 4?`, { timeoutMs: 20e3, what: 'the publish preview dialog' });
      await dialogButton(dialog, 'Publish').click();
      dialog = await waitForText(page, '.monaco-dialog-box', 'This change has 1 risk. Publish it anyway?', { timeoutMs: 10e3, what: 'the risk confirmation' });
      await shot('impact-03-risk-confirmation');
      await dialogButton(dialog, 'Publish Despite Risks').click();
      await waitForText(page, '.notification-toast, .notifications-center', `Published ${KEY} revision 4`, { timeoutMs: 20e3, what: 'the published notification' }).catch(async () => {
        await runCommand(page, 'Notifications: Show Notifications');
        await waitForText(page, '.notifications-center', `Published ${KEY} revision 4`, { timeoutMs: 10e3, what: 'the published notification' });
      });
      const revision = await withStore(servers, async (store) => (await store.read(KEY)).envelope.revision);
      if (revision !== 4) throw new Error(`Redis holds revision ${revision}, expected 4`);
      await page.keyboard.press('Escape');

      // Bob drains a pool from elsewhere and notifies: the file's first line says live is ahead, who and what.
      const nats = await connectNats({ servers: [servers.natsUrl] });
      try {
        await withStore(servers, async (store) => {
          const current = (await store.read(KEY)).envelope;
          const pools = JSON.parse(JSON.stringify(current.data.pools));
          pools.pools['fraud-detection'].status = 'draining';
          await publishDocument(store, nats, { key: KEY, data: { ...current.data, pools }, expectedRevision: 4, meta: { published_by: 'bob@ops' }, subject: 'sys.config.changed', senderId: 'driftlens-ui-tests' });
        });
      } finally {
        await nats.close();
      }
      await openFile(page, FILE);
      await waitForText(page, '.monaco-editor .codelens-decoration', 'live is revision 5, 1 ahead of this file: pools changed by bob@ops', { timeoutMs: 30e3, what: 'the live-ahead lens' });
      await shot('impact-04-live-ahead-lens');
    },
  },
];
