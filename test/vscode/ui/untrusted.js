'use strict';
// Restricted mode: a workspace whose own settings and policy name a Redis server. DriftLens must
// still validate, must not offer publishing, and must not connect to what the workspace names.

const fs = require('fs');
const path = require('path');
const { openFile, waitForText, waitVisible, clickActivityBarItem } = require('../launcher/ui');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const { connectRedis } = require(path.join(ROOT, 'out/src/live/redisConnection'));

module.exports = {
  /** Before the workbench starts: the workspace names the test servers in its settings and policy. */
  prepare(workspace, servers) {
    fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'driftlens.redis.url': servers.redisUrl, 'driftlens.nats.servers': [servers.natsUrl] }, null, 2));
    const policy = fs.readFileSync(path.join(workspace, 'drift-policy.yaml'), 'utf8');
    fs.writeFileSync(path.join(workspace, 'drift-policy.yaml'), `${policy}  connections:\n    redis:\n      url: ${servers.redisUrl}\n`);
  },
  scenarios: [
    {
      name: 'an untrusted workspace still validates, offers no publishing, and connects to nothing it names',
      async run({ page, shot, servers }) {
        await openFile(page, 'cfg.broken.yaml');
        await waitVisible(page.locator('.monaco-editor .squiggly-error').first(), 'an error squiggle (validation works in restricted mode)', 30e3);
        await page.keyboard.press('F1');
        await page.locator('.quick-input-widget .quick-input-box input').fill('>DriftLens: Publish Config');
        // The palette offers other DriftLens commands (so it has loaded them), never Publish Config.
        await waitForText(page, '.quick-input-list .monaco-list-row', 'DriftLens:', { timeoutMs: 10e3, what: 'DriftLens commands in the palette' });
        const rows = await page.locator('.quick-input-list .monaco-list-row').allTextContents();
        if (rows.some((r) => r.includes('Publish Config'))) throw new Error(`the palette offers Publish Config in restricted mode: ${rows.join(' | ')}`);
        await shot('13-untrusted-no-publish');
        await page.keyboard.press('Escape');
        await clickActivityBarItem(page, 'DriftLens');
        await waitForText(page, '.welcome-view-content', 'untrusted workspace', { timeoutMs: 15e3, what: 'the Replicas view asking for trust' });
        await shot('14-untrusted-replicas-view');
        const redis = await connectRedis({ url: servers.redisUrl });
        try {
          const clients = await redis.client('LIST');
          if (/name=driftlens-vscode/.test(String(clients))) throw new Error(`the untrusted workspace connected to Redis:\n${clients}`);
        } finally {
          redis.disconnect();
        }
      },
    },
  ],
};
