'use strict';
// UI scenario of the Replicas view at 1,000 replicas: the sharded simulator (`driftlens replicas
// --count 1000`, 4 processes), 3 of them stalled. The view is open while the fleet comes up all in
// sync, as a person watching it would have it; a publish then leaves the 3 stalled drifted. The line
// above the tree counts every state, the drifted group sits at the top (the service row was drawn
// while nothing was wrong, and must still open onto it), and one click on "Show Problems Only"
// leaves the 3.

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');
const { waitForText, clickActivityBarItem, waitVisible } = require('../launcher/ui');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const { withStore } = require('./liveStore');
const { connectNats } = require(path.join(ROOT, 'out/src/live/natsConnection'));
const { publishConfigChanged } = require(path.join(ROOT, 'out/src/live/notifier'));

const KEY = 'cfg:system:default';
const DRIFTED = ['sim-0017', 'sim-0480', 'sim-0901'];

/** Resolves when the child's stderr so far matches. */
function stderrMatch(child, pattern, what, timeoutMs) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${text}`)), timeoutMs);
    child.stderr.on('data', (d) => {
      text += d.toString();
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before ${what}:\n${text}`)));
  });
}

/** Clicks a title action of the Replicas view (the side bar's title: the view is alone in its container). */
async function clickViewAction(page, title) {
  await page.locator('.part.sidebar').first().hover();
  const action = page.locator(`.part.sidebar .action-label[aria-label^="${title}"]`).first();
  await waitVisible(action, `the "${title}" button in the Replicas view title`, 10e3);
  await action.click();
}

module.exports = [
  {
    name: 'the Replicas view at 1,000 replicas: counts above the tree, problems first, one click leaves the 3 drifted',
    async run({ page, shot, servers, workspace, onCleanup }) {
      // The scenarios before this one published; alone (DRIFTLENS_UI_GREP) it publishes the workspace's document first.
      await withStore(servers, async (store) => {
        if (await store.read(KEY)) return;
        const { data } = YAML.parse(fs.readFileSync(path.join(workspace, 'cfg.system.default.yaml'), 'utf8'));
        await store.write(KEY, { data, expectedRevision: 0, meta: { published_by: 'fleet@ops' } });
      });
      const simulator = spawn(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'replicas', '--key', KEY, '--count', '1000', '--shards', '4', '--heartbeat', '5s', '--poll', '30s', '--ramp', '3s', '--no-table', '--fault', '17,480,901:stall'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, DRIFTLENS_REDIS_URL: servers.redisUrl, DRIFTLENS_NATS_URL: servers.natsUrl },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      onCleanup(async () => {
        if (simulator.exitCode === null) {
          const exited = new Promise((resolve) => simulator.once('exit', resolve));
          simulator.kill('SIGTERM');
          await exited;
        }
      });
      await stderrMatch(simulator, /1000 simulated replicas .* in 4 shards/, 'the 1,000 replicas to start', 90e3);
      await clickActivityBarItem(page, 'DriftLens');
      // A side bar wide enough for the rows' descriptions, as a person would drag it: by the sash on
      // its edge (the bar's own edge is one pixel off it, and a drag there moved nothing).
      const barWidth = async () => (await page.locator('.part.sidebar').first().boundingBox()).width;
      const before = await barWidth();
      const sash = await page.evaluate(() => {
        const bar = document.querySelector('.part.sidebar').getBoundingClientRect();
        const edge = [...document.querySelectorAll('.monaco-sash.vertical')].map((e) => e.getBoundingClientRect()).find((r) => r.height > 0 && Math.abs(r.left + r.width / 2 - bar.right) <= 4);
        return edge && { x: edge.left + edge.width / 2, y: edge.top + edge.height / 2 };
      });
      if (!sash) throw new Error('no sash on the side bar\'s right edge');
      await page.mouse.move(sash.x, sash.y);
      await page.mouse.down();
      await page.mouse.move(sash.x + 260, sash.y, { steps: 8 });
      await page.mouse.up();
      const after = await barWidth();
      if (after < before + 200) throw new Error(`dragging the side bar's sash left it ${after}px wide (was ${before}px)`);
      await waitForText(page, '.part.sidebar', '1000 in sync', { timeoutMs: 60e3, what: 'the whole fleet in sync above the tree' });
      const nats = await connectNats({ servers: [servers.natsUrl] });
      try {
        await withStore(servers, async (store) => {
          const live = (await store.read(KEY)).envelope;
          const data = { ...live.data, timeouts: { ...live.data.timeouts, reconciler: { ...live.data.timeouts.reconciler, dispatch_timeout_seconds: 321 } } };
          await store.write(KEY, { data, expectedRevision: live.revision, meta: { published_by: 'fleet@ops' } });
        });
        await publishConfigChanged(nats, 'sys.config.changed', { scope: 'system', scopeId: 'default', senderId: 'ui-scenario' });
      } finally {
        await nats.close();
      }
      // Every state counted above the tree, worst first; the stalled three are drifted once past the budget.
      await waitForText(page, '.part.sidebar', '3 drifted · 997 in sync', { timeoutMs: 60e3, what: 'the counts per state above the tree' });
      for (const id of DRIFTED) await waitForText(page, '.monaco-list-row', id, { timeoutMs: 30e3, what: `the drifted ${id} at the top of the tree` });
      await clickViewAction(page, 'Show Problems Only');
      await waitForText(page, '.part.sidebar', '3 drifted · 997 in sync — showing problems only: 3 of 1000', { timeoutMs: 10e3, what: 'the filter named above the tree' });
      // The tree redraws just after the line above it: the in-sync group goes.
      await page.waitForFunction(() => ![...document.querySelectorAll('.part.sidebar .monaco-list-row')].some((row) => /^in sync/.test((row.textContent || '').trim())), undefined, { timeout: 10e3 });
      await page.mouse.move(1, 1);
      await shot('13-fleet-problems-only');
      await clickViewAction(page, 'Clear Replica Filter');
      await waitForText(page, '.monaco-list-row', 'in sync', { timeoutMs: 10e3, what: 'the in-sync group back after clearing the filter' });
    },
  },
];
