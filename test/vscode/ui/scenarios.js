#!/usr/bin/env node
'use strict';
// UI scenarios in the real workbench, driven as a person would (keyboard, palette, clicks).
// Each scenario saves a screenshot to the artifacts folder (git-ignored); a failing step saves
// one too, plus the workbench logs. Prints "ui: N passed, N failed, N skipped" last (skipped: the
// scenarios that need servers, when none are given).
//
//   node test/vscode/ui/scenarios.js [--artifacts <dir>]
//
// Publishing scenarios need DRIFTLENS_TEST_REDIS_URL and DRIFTLENS_TEST_NATS_URL (test-all.sh sets them).

const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { startWorkbench } = require('../launcher/workbench');

const ROOT = path.resolve(__dirname, '..', '..', '..');

async function main() {
  const { values } = parseArgs({ options: { artifacts: { type: 'string' } } });
  const artifacts = path.resolve(values.artifacts ?? path.join(ROOT, 'test-results', 'ui', new Date().toISOString().replace(/[:.]/g, '-')));
  fs.mkdirSync(artifacts, { recursive: true });
  const servers = { redisUrl: process.env.DRIFTLENS_TEST_REDIS_URL, natsUrl: process.env.DRIFTLENS_TEST_NATS_URL };
  const live = Boolean(servers.redisUrl && servers.natsUrl);
  const untrusted = require('./untrusted');
  // Trust is decided when the workbench starts: the restricted-mode scenarios get their own.
  const replicas = require('./replicas');
  const skipped = live ? 0 : require('./publish').length + replicas.scenarios.length + require('./verify').length + require('./changeImpact').length + require('./fleet').length + untrusted.scenarios.length;
  if (!live) console.log(`  (no DRIFTLENS_TEST_REDIS_URL: ${skipped} publishing, replica and trust scenarios not run)`);
  const groups = [
    { untrusted: false, scenarios: [...require('./authoring'), ...require('./intelligence'), ...(live ? [...require('./publish'), ...replicas.scenarios, ...require('./verify'), ...require('./changeImpact'), ...require('./fleet')] : []), ...require('./largeDocuments')], prepare: live ? replicas.prepare : undefined },
    ...(live ? [{ untrusted: true, scenarios: untrusted.scenarios, prepare: untrusted.prepare }] : []),
    // The walkthrough is for the first five minutes: a workbench where nothing is set up yet.
    { untrusted: false, firstRun: true, scenarios: require('./walkthrough') },
  ];
  let passed = 0;
  let failed = 0;
  let index = 0;
  for (const group of groups) {
    // A scratch copy: scenarios publish and edit; the repository stays as it is.
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-ui-ws-'));
    fs.cpSync(path.join(ROOT, 'test/vscode/workspace'), workspace, { recursive: true });
    group.prepare?.(workspace, servers);
    // The workspace holds two drift policies; DriftLens acts only on the one chosen.
    const userSettings = live && !group.untrusted && !group.firstRun ? { 'driftlens.redis.url': servers.redisUrl, 'driftlens.nats.servers': [servers.natsUrl], 'driftlens.policyFile': 'drift-policy.yaml' } : {};
    const workbench = await startWorkbench({ workspaceFolder: workspace, extensionDevelopmentPath: ROOT, artifactsDir: artifacts, userSettings, untrusted: group.untrusted });
    try {
      // DRIFTLENS_UI_GREP: only the scenarios whose name contains it (while iterating on one).
      for (const scenario of group.scenarios.filter((sc) => !process.env.DRIFTLENS_UI_GREP || sc.name.includes(process.env.DRIFTLENS_UI_GREP))) {
        index++;
        const started = Date.now();
        const cleanups = [];
        try {
          await scenario.run({ page: workbench.page, workspace, servers, shot: (name) => workbench.screenshot(name), onCleanup: (f) => cleanups.push(f) });
          passed++;
          console.log(`  ✔ ${scenario.name} (${Date.now() - started} ms)`);
        } catch (e) {
          failed++;
          console.log(`  ✘ ${scenario.name}\n      ${String(e && e.message).split('\n').join('\n      ')}`);
          await workbench.screenshot(`failed-${index}`).catch(() => {});
          await workbench.collectLogs().catch(() => {});
          await workbench.page.keyboard.press('Escape').catch(() => {});
        } finally {
          for (const f of cleanups.reverse()) await f().catch(() => {});
        }
      }
    } finally {
      await workbench.close();
      fs.rmSync(workspace, { recursive: true, force: true });
    }
  }
  console.log(`screenshots: ${artifacts}`);
  console.log(`ui: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

main().catch((e) => {
  console.error(`ui: ${e && e.stack ? e.stack : e}`);
  process.exitCode = 1;
});
