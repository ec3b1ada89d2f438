'use strict';
// UI scenarios of publishing, against the real redis-server and nats-server test-all.sh starts:
// the modal preview, the published notification, and the conflict flow into Compare with Live.

const fs = require('fs');
const path = require('path');
const { runCommand, openFile, waitForText, waitVisible } = require('../launcher/ui');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const KEY = 'cfg:system:default';
// The compiled live layer (npm run compile-tests), to seed and read Redis as another writer would.
const { withStore } = require('./liveStore');
const { analyzeDocument } = require(path.join(ROOT, 'out/src/core/analysis'));

/** Clicks a notification's button, from its toast or, when no toast shows, from the notification center. */
async function clickNotificationButton(page, message, button) {
  const toast = page.locator('.notification-toast').filter({ hasText: message }).first();
  try {
    await toast.waitFor({ state: 'visible', timeout: 8000 });
    await toast.locator('.monaco-button', { hasText: button }).first().click();
    return;
  } catch {
    // only the bell lit up: open the center
  }
  await runCommand(page, 'Notifications: Show Notifications');
  const item = await waitForText(page, '.notifications-center .notification-list-item', message, { timeoutMs: 10e3, what: `a notification "${message}"` });
  await item.locator('.monaco-button', { hasText: button }).first().click();
}

module.exports = [
  {
    name: 'Publish Config shows a preview, publishes on confirm, and says so',
    async run({ page, shot, servers, workspace }) {
      const local = analyzeDocument(fs.readFileSync(path.join(workspace, 'cfg.system.default.yaml'), 'utf8'), 'yaml', 'config').data;
      // Live holds revision 7 with a longer dispatch timeout, so the preview has a section to show.
      // An ordinary change: a reroute of one of this document's two topics is the many-topics risk,
      // whose second confirmation the change impact scenario drives.
      const reconciler = local.timeouts.reconciler;
      const live = { ...local, timeouts: { ...local.timeouts, reconciler: { ...reconciler, dispatch_timeout_seconds: reconciler.dispatch_timeout_seconds + 30 } } };
      await withStore(servers, async (store, redis) => {
        await redis.del(KEY, `driftlens:history:{${KEY}}`);
        for (let r = 0; r < 7; r++) await store.write(KEY, { data: live, expectedRevision: r, meta: { published_by: 'alice@ops' } });
      });
      await openFile(page, 'cfg.system.default.yaml');
      await runCommand(page, 'DriftLens: Publish Config');
      const dialog = await waitForText(page, '.monaco-dialog-box', `Publish ${KEY} revision 8?`, { timeoutMs: 20e3, what: 'the publish preview dialog' });
      await waitForText(page, '.monaco-dialog-box', 'replicas apply it', { timeoutMs: 5e3, what: 'the per-section preview' });
      await shot('07-publish-preview');
      await dialog.locator('.monaco-button', { hasText: /^Publish$/ }).first().click();
      await waitForText(page, '.notification-toast, .notifications-center', `Published ${KEY} revision 8`, { timeoutMs: 20e3, what: 'the "Published revision 8" notification' }).catch(async () => {
        await runCommand(page, 'Notifications: Show Notifications');
        await waitForText(page, '.notifications-center', `Published ${KEY} revision 8`, { timeoutMs: 10e3, what: 'the "Published revision 8" notification' });
      });
      await shot('08-published');
      const revision = await withStore(servers, async (store) => (await store.read(KEY)).envelope.revision);
      if (revision !== 8) throw new Error(`Redis holds revision ${revision}, expected 8`);
      await page.keyboard.press('Escape');
    },
  },
  {
    name: 'a stale file is a conflict before any preview: it says who changed it and opens Compare with Live',
    async run({ page, shot, servers }) {
      // Bob publishes revision 9 from elsewhere; the local file still says revision 8.
      await withStore(servers, async (store) => {
        const current = (await store.read(KEY)).envelope;
        const data = { ...current.data, timeouts: { ...current.data.timeouts, reconciler: { ...current.data.timeouts.reconciler, scan_interval_seconds: 10 } } };
        await store.write(KEY, { data, expectedRevision: 8, meta: { published_by: 'bob@ops' } });
      });
      await openFile(page, 'cfg.system.default.yaml');
      await runCommand(page, 'DriftLens: Publish Config');
      // Known before writing: no preview promising a revision 9 the write could not create.
      const message = `Revision conflict: ${KEY} is at revision 9`;
      await waitForText(page, '.notification-toast, .notifications-toasts', message, { timeoutMs: 20e3, what: 'the conflict warning' }).catch(() => undefined);
      await shot('09-conflict');
      await clickNotificationButton(page, message, 'Compare with Live');
      await waitVisible(page.locator('.tabs-container .tab').filter({ hasText: `${KEY} (revision 9)` }).first(), 'the Compare with Live diff tab', 20e3);
      await waitForText(page, '.monaco-diff-editor', 'scan_interval_seconds', { timeoutMs: 10e3, what: 'the diff content' });
      await shot('10-compare-with-live');
    },
  },
];
